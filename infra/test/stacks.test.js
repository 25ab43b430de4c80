'use strict';
// In-process checks of the CDK app: one synthesis of the default deployment (with cdk-nag), then
// the suites. They share this process because loading aws-cdk-lib and synthesizing cost most of
// the time; cfn-lint and the moto deployment run in their own files, in parallel.

const { synthesize } = require('./support/synth');

const defaultDeployment = synthesize({ nag: true });

require('./suites/templates')(defaultDeployment);
require('./suites/iam')(defaultDeployment);
require('./suites/iam-export')(defaultDeployment);
require('./suites/environment')(defaultDeployment);
require('./suites/secrets-and-nag')(defaultDeployment);
require('./suites/deployments')(defaultDeployment);
