'use strict';
// Reads facts the infrastructure must agree with straight from the Rust sources, so a change on
// either side fails a test instead of a deployment: constants (`const NAME: Type = value;`). The
// environment variables each function reads come from the generated contract instead
// (lib/function-environment.json, contract.FUNCTION_ENVIRONMENT).

const fs = require('node:fs');
const path = require('node:path');
const { REPO_ROOT } = require('../../lib/function-code');

/** A file of the workspace, by its path from the repository root. */
function readSource(relativePath) {
  return fs.readFileSync(path.join(REPO_ROOT, relativePath), 'utf8');
}

/** The code of a Rust file without its `#[cfg(test)]` module (tests set variables of their own). */
function productionCode(text) {
  const testModule = text.indexOf('#[cfg(test)]');
  return testModule === -1 ? text : text.slice(0, testModule);
}

/** The value expression of `const NAME: Type = value;` (pub or not) in `relativePath`. */
function rustConstant(relativePath, name) {
  const match = readSource(relativePath).match(new RegExp(`(?:pub(?:\\([a-z]+\\))? )?const ${name}: [^=]+= ([^;]+);`));
  if (!match) {
    throw new Error(`const ${name} not found in ${relativePath}`);
  }
  return match[1].trim();
}

/** `4_096` -> `4096` (Rust's digit separators). */
function withoutDigitSeparators(expression) {
  return expression.replace(/(\d)_(?=\d)/g, '$1');
}

/** A `&str` constant's value. */
function rustString(relativePath, name) {
  const value = rustConstant(relativePath, name);
  const match = value.match(/^"([^"]*)"$/);
  if (!match) throw new Error(`${name} in ${relativePath} is not a string literal: ${value}`);
  return match[1];
}

/** An integer constant's value (`3`, `4_096`). */
function rustInteger(relativePath, name) {
  const value = withoutDigitSeparators(rustConstant(relativePath, name));
  if (!/^\d+$/.test(value)) throw new Error(`${name} in ${relativePath} is not an integer literal: ${value}`);
  return Number(value);
}

/** A `Duration::from_secs(n)` / `from_millis(n)` constant, in seconds. */
function rustDurationSeconds(relativePath, name) {
  const value = withoutDigitSeparators(rustConstant(relativePath, name));
  const match = value.match(/^Duration::from_(secs|millis)\((\d+)\)$/);
  if (!match) throw new Error(`${name} in ${relativePath} is not a literal Duration: ${value}`);
  return match[1] === 'secs' ? Number(match[2]) : Number(match[2]) / 1000;
}

module.exports = {
  productionCode,
  readSource,
  rustConstant,
  rustDurationSeconds,
  rustInteger,
  rustString,
};
