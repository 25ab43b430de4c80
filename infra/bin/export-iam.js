#!/usr/bin/env node
'use strict';
// Writes infra/iam/function-policies.json: each function's IAM statements as synthesized, for the
// local world's IAM checks (see lib/iam-export.js), and the table made from it in
// docs/security.md ("IAM per function"). `npm run iam-policies`.

const fs = require('node:fs');
const path = require('node:path');
const { Template } = require('aws-cdk-lib/assertions');
const { buildApp } = require('../lib/app');
const { DOC_FILE, functionPolicies, functionPoliciesMarkdown, functionPoliciesText, withIamTable } = require('../lib/iam-export');
const { tempDir } = require('../test/support/temp');

const built = buildApp({ nag: false, skipBundling: true, outdir: tempDir('cdk-iam-') });
const templates = { common: Template.fromStack(built.common), slack: Template.fromStack(built.slack) };
const file = path.join(__dirname, '..', 'iam', 'function-policies.json');
fs.writeFileSync(file, functionPoliciesText(templates));
console.log(`wrote ${path.relative(process.cwd(), file)}`);
const doc = path.join(__dirname, '..', '..', DOC_FILE);
fs.writeFileSync(doc, withIamTable(fs.readFileSync(doc, 'utf8'), functionPoliciesMarkdown(functionPolicies(templates))));
console.log(`wrote ${path.relative(process.cwd(), doc)}`);
