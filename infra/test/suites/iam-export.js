'use strict';
// The local world runs each function with exactly its synthesized role: crates/local-iam reads
// infra/iam/function-policies.json. This checks that the file is what the app synthesizes now.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');
const {
  DOC_BEGIN,
  DOC_END,
  DOC_FILE,
  REGENERATE,
  functionPolicies,
  functionPoliciesMarkdown,
  functionPoliciesText,
  withIamTable,
} = require('../../lib/iam-export');

const FILE = path.join(__dirname, '..', '..', 'iam', 'function-policies.json');
const DOCS = path.join(__dirname, '..', '..', '..', 'docs');

module.exports = function iamExportSuites({ templates }) {
  describe('IAM: the policies the local world enforces', () => {
    it('infra/iam/function-policies.json is the synthesized roles, byte for byte', () => {
      const committed = fs.readFileSync(FILE, 'utf8');
      assert.equal(committed, functionPoliciesText(templates), `stale: run \`${REGENERATE}\` and commit the result`);
    });

    it(`${DOC_FILE} has the IAM table made from that file, and no other page restates it`, () => {
      const page = fs.readFileSync(path.join(DOCS, '..', DOC_FILE), 'utf8');
      const committed = JSON.parse(fs.readFileSync(FILE, 'utf8'));
      assert.equal(page, withIamTable(page, functionPoliciesMarkdown(committed)), `stale IAM table: run \`${REGENERATE}\` and commit the result`);
      assert.equal(page.split(DOC_BEGIN).length, 2);
      assert.equal(page.split(DOC_END).length, 2);
      // Other pages link to the table instead of listing a function's actions.
      for (const name of fs.readdirSync(DOCS).filter((file) => file.endsWith('.md'))) {
        if (`docs/${name}` === DOC_FILE) continue;
        const text = fs.readFileSync(path.join(DOCS, name), 'utf8');
        assert.doesNotMatch(text, /\| *(SIR poller|Slack client|events handler|command handler) *\|[^\n]*(GetItem|PutItem|UpdateItem)/, `${name} restates the IAM table: link to ${DOC_FILE}#iam-per-function`);
      }
    });

    it('resolves every intrinsic to a placeholder or a literal', () => {
      const text = JSON.stringify(functionPolicies(templates));
      assert.doesNotMatch(text, /Fn::|"Ref"/);
      for (const placeholder of text.matchAll(/\$\{([^}]+)\}/g)) {
        assert.match(placeholder[1], /^(Region|Account|ParameterPrefix|[A-Za-z]+(\.Arn)?)$/);
      }
    });
  });
};
