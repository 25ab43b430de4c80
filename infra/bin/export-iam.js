#!/usr/bin/env node
'use strict';
// Writes infra/iam/function-policies.json: each function's IAM statements as synthesized, for the
// local world's IAM checks (see lib/iam-export.js). `npm run iam-policies`.

const fs = require('node:fs');
const path = require('node:path');
const { Template } = require('aws-cdk-lib/assertions');
const { buildApp } = require('../lib/app');
const { functionPoliciesText } = require('../lib/iam-export');
const { tempDir } = require('../test/support/temp');

const built = buildApp({ nag: false, skipBundling: true, outdir: tempDir('cdk-iam-') });
const text = functionPoliciesText({ common: Template.fromStack(built.common), slack: Template.fromStack(built.slack) });
const file = path.join(__dirname, '..', 'iam', 'function-policies.json');
fs.writeFileSync(file, text);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
