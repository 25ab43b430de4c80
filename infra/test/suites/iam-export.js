'use strict';
// The local world runs each function with exactly its synthesized role: crates/local-iam reads
// infra/iam/function-policies.json. This checks that the file is what the app synthesizes now.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');
const { REGENERATE, functionPolicies, functionPoliciesText } = require('../../lib/iam-export');

const FILE = path.join(__dirname, '..', '..', 'iam', 'function-policies.json');

module.exports = function iamExportSuites({ templates }) {
  describe('IAM: the policies the local world enforces', () => {
    it('infra/iam/function-policies.json is the synthesized roles, byte for byte', () => {
      const committed = fs.readFileSync(FILE, 'utf8');
      assert.equal(committed, functionPoliciesText(templates), `stale: run \`${REGENERATE}\` and commit the result`);
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
