'use strict';
// Builds the CDK app: both stacks of one deployment. bin/app.js (the `cdk` entry point) and the
// tests call the same function, so what the tests check is what `cdk deploy` deploys.

const path = require('node:path');
const { Annotations, App, Aspects } = require('aws-cdk-lib');
const { AwsSolutionsChecks } = require('cdk-nag');
const { CONTEXT_KEYS, DEFAULT_PARAMETER_PREFIX, STACK_NAMES } = require('./contract');
const { CommonStack } = require('./common-stack');
const { SlackStack } = require('./slack-stack');
const { DEFAULT_BUILD_ROOT, skipBundlingFromEnv } = require('./function-code');

/**
 * Feature flags set in code (not only in cdk.json) so the tests synthesize exactly what
 * `cdk deploy` deploys.
 */
const APP_CONTEXT_DEFAULTS = Object.freeze({
  // Table and bus are shared through CloudFormation exports, which keep the common stack from
  // replacing them while the Slack stack uses them.
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
  '@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard': true,
});

/** Deployment names become part of stack and SSM names. */
const DEPLOYMENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,19}$/;

/** Reads a boolean context value given as `true`/`false` on the command line or as a boolean. */
function booleanContext(app, key, fallback) {
  const value = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') {
    return fallback;
  }
  if (value === true || value === 'true') {
    return true;
  }
  if (value === false || value === 'false') {
    return false;
  }
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * The names of one deployment. The default deployment keeps the names users know; deployment
 * `acme` gets `<stack>-acme` and the SSM prefix `/SecurityIncidentResponse/acme`, so two Slack
 * workspaces can be served from one account and region. The archive gets an explicit name
 * because archive names are limited to 48 characters (less than a stack name).
 */
function deploymentNames(deployment) {
  if (deployment === undefined || deployment === null || deployment === '') {
    return {
      commonStackName: STACK_NAMES.common,
      slackStackName: STACK_NAMES.slack,
      parameterPrefix: DEFAULT_PARAMETER_PREFIX,
      archiveName: 'sirslack-integration-events',
    };
  }
  if (!DEPLOYMENT_NAME_PATTERN.test(deployment)) {
    throw new Error(
      `deployment name ${JSON.stringify(deployment)} must start with a letter and use only letters, digits and - (at most 20)`,
    );
  }
  return {
    commonStackName: `${STACK_NAMES.common}-${deployment}`,
    slackStackName: `${STACK_NAMES.slack}-${deployment}`,
    parameterPrefix: `${DEFAULT_PARAMETER_PREFIX}/${deployment}`,
    archiveName: `sirslack-${deployment}-integration-events`,
  };
}

/** The warning `cdk synth`/`cdk deploy` print when a stack carries placeholder function code. */
const PLACEHOLDER_WARNING_ID = 'sirslack:placeholder-code';

function warnAboutPlaceholderCode(stack) {
  const placeholders = stack.node
    .findAll()
    .filter((construct) => construct.placeholderCode === true)
    .map((construct) => construct.node.id);
  if (placeholders.length > 0) {
    Annotations.of(stack).addWarningV2(
      PLACEHOLDER_WARNING_ID,
      `placeholder code for ${placeholders.join(', ')}: build with \`cargo lambda build --release --arm64\` ` +
        'before deploying (the deploy CLI passes -c requireFunctionCode=true to refuse placeholders)',
    );
  }
}

/**
 * Creates the app and both stacks.
 * @param {object} [options]
 * @param {Record<string, unknown>} [options.context]  CDK context (see CONTEXT_KEYS)
 * @param {string} [options.outdir]  cloud assembly directory
 * @param {boolean} [options.skipBundling]  use the placeholder code (default: SIRSLACK_SKIP_BUNDLING=1)
 * @param {boolean} [options.nag]  run cdk-nag's AwsSolutions checks (default true)
 * @param {object} [options.env]  stack environment (account/region); default environment-agnostic
 */
function buildApp(options = {}) {
  const app = new App({ context: { ...APP_CONTEXT_DEFAULTS, ...options.context }, outdir: options.outdir });
  const names = deploymentNames(app.node.tryGetContext(CONTEXT_KEYS.deployment));
  const codeRoot = app.node.tryGetContext(CONTEXT_KEYS.functionCodeRoot);
  const codeOptions = {
    buildRoot: codeRoot ? path.resolve(codeRoot) : DEFAULT_BUILD_ROOT,
    skipBundling: options.skipBundling ?? skipBundlingFromEnv(),
    requireFunctionCode: booleanContext(app, CONTEXT_KEYS.requireFunctionCode, false),
  };

  const common = new CommonStack(app, names.commonStackName, {
    stackName: names.commonStackName,
    env: options.env,
    codeOptions,
    archiveName: names.archiveName,
    existingTableName: app.node.tryGetContext(CONTEXT_KEYS.existingTableName) || undefined,
  });
  const slack = new SlackStack(app, names.slackStackName, {
    stackName: names.slackStackName,
    env: options.env,
    common,
    codeOptions,
    defaultParameterPrefix: app.node.tryGetContext(CONTEXT_KEYS.parameterPrefix) || names.parameterPrefix,
    secretsKmsKeyArn: app.node.tryGetContext(CONTEXT_KEYS.secretsKmsKeyArn) || undefined,
    apiGatewayCloudWatchRole: booleanContext(app, CONTEXT_KEYS.apiGatewayCloudWatchRole, true),
  });

  for (const stack of [common, slack]) {
    warnAboutPlaceholderCode(stack);
  }
  if (options.nag ?? true) {
    Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  }
  return { app, common, slack, names };
}

module.exports = { APP_CONTEXT_DEFAULTS, PLACEHOLDER_WARNING_ID, buildApp, deploymentNames, booleanContext };
