#!/usr/bin/env node
'use strict';
// The `cdk` entry point (cdk.json: "app": "node bin/app.js"). Context values are listed in
// README.md; the stacks are built by lib/app.js, the same code the tests synthesize.

const { buildApp } = require('../lib/app');

buildApp().app.synth();
