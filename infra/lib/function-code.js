'use strict';
// Where each function's code comes from: the `cargo lambda build --release --arm64` output
// (`target/lambda/<binary>/bootstrap`), or a placeholder so the app synthesizes without a build.

const fs = require('node:fs');
const path = require('node:path');
const lambda = require('aws-cdk-lib/aws-lambda');
const { SKIP_BUNDLING_ENV } = require('./contract');

/** The repository root (infra/ is one level below it). */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Where `cargo lambda build` writes one directory per binary. */
const DEFAULT_BUILD_ROOT = path.join(REPO_ROOT, 'target', 'lambda');

/**
 * A directory with a `bootstrap` that exits with an error: deployable, never useful. Tests and
 * offline synth use it; `requireFunctionCode` refuses it.
 */
const PLACEHOLDER_DIR = path.resolve(__dirname, '..', 'placeholder-lambda');

/** True when the environment asks to skip the real function code (`SIRSLACK_SKIP_BUNDLING=1`). */
function skipBundlingFromEnv(env = process.env) {
  return env[SKIP_BUNDLING_ENV] === '1';
}

/**
 * Decides where the code of `binary` comes from.
 * @param {string} binary  the cargo binary name, e.g. `sir-poller`
 * @param {{buildRoot?: string, skipBundling?: boolean, requireFunctionCode?: boolean}} options
 * @returns {{directory: string, placeholder: boolean}}
 */
function resolveFunctionCode(binary, options = {}) {
  const buildRoot = options.buildRoot ?? DEFAULT_BUILD_ROOT;
  const built = path.join(buildRoot, binary);
  const bootstrapExists = fs.existsSync(path.join(built, 'bootstrap'));
  if (!options.skipBundling && bootstrapExists) {
    return { directory: built, placeholder: false };
  }
  if (options.requireFunctionCode) {
    const why = options.skipBundling
      ? `${SKIP_BUNDLING_ENV}=1 is set`
      : `${path.join(built, 'bootstrap')} does not exist (run \`cargo lambda build --release --arm64\`)`;
    throw new Error(`function code for ${binary} is required, but ${why}`);
  }
  return { directory: PLACEHOLDER_DIR, placeholder: true };
}

/** The Lambda code asset for `binary` (see resolveFunctionCode). */
function functionCode(binary, options) {
  const { directory, placeholder } = resolveFunctionCode(binary, options);
  return { code: lambda.Code.fromAsset(directory), placeholder };
}

module.exports = {
  REPO_ROOT,
  DEFAULT_BUILD_ROOT,
  PLACEHOLDER_DIR,
  skipBundlingFromEnv,
  resolveFunctionCode,
  functionCode,
};
