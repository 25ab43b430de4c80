'use strict';
// Two deployments (two Slack workspaces) in one account and region, the context options, and
// where the function code comes from.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');
const { Annotations, Match } = require('aws-cdk-lib/assertions');
const { PLACEHOLDER_WARNING_ID, booleanContext, deploymentNames } = require('../../lib/app');
const { PLACEHOLDER_DIR, resolveFunctionCode, skipBundlingFromEnv } = require('../../lib/function-code');
const { FUNCTIONS } = require('../../lib/contract');
const { roleStatements, statementBySid } = require('../support/cfn');
const { logicalId, resources, synthesize } = require('../support/synth');
const { tempDir } = require('../support/temp');

/**
 * Properties that hold a name unique in the account and region, per type. (Validator and model
 * names are scoped to their REST API.)
 */
const NAME_PROPERTIES = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Events::EventBus': 'Name',
  'AWS::Events::Archive': 'ArchiveName',
  'AWS::Events::Rule': 'Name',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::SSM::Parameter': 'Name',
  'AWS::ApiGateway::RestApi': 'Name',
};

/** Account-wide names a template sets explicitly: `{type, name}` where name is literal or intrinsic. */
function explicitNames(template) {
  const names = [];
  for (const [id, resource] of resources(template)) {
    const property = NAME_PROPERTIES[resource.Type];
    const value = property && resource.Properties?.[property];
    if (value !== undefined) names.push({ id, type: resource.Type, value });
  }
  for (const output of Object.values(template.toJSON().Outputs ?? {})) {
    if (output.Export) names.push({ id: 'export', type: 'Export', value: output.Export.Name });
  }
  return names;
}

/** Makes a directory like `cargo lambda build` output: <root>/<binary>/bootstrap. */
function fakeBuildRoot(binaries) {
  const root = tempDir('build-');
  for (const binary of binaries) {
    fs.mkdirSync(path.join(root, binary));
    fs.writeFileSync(path.join(root, binary, 'bootstrap'), `#!/bin/sh\n# fake ${binary}\n`, { mode: 0o755 });
  }
  return root;
}

module.exports = function deploymentSuites(defaultDeployment) {
  describe('two deployments in one account and region', () => {
    const acme = synthesize({ context: { deployment: 'acme' }, nag: false });

    it('suffixes the stack names and the SSM prefix with the deployment name', () => {
      assert.equal(acme.common.stackName, 'AwsSecurityIncidentResponseSampleIntegrationsCommonStack-acme');
      assert.equal(acme.slack.stackName, 'AwsSecurityIncidentResponseSlackIntegrationStack-acme');
      assert.equal(defaultDeployment.common.stackName, 'AwsSecurityIncidentResponseSampleIntegrationsCommonStack');
      assert.equal(defaultDeployment.slack.stackName, 'AwsSecurityIncidentResponseSlackIntegrationStack');
      assert.equal(acme.templates.slack.toJSON().Parameters.parameterPrefix.Default, '/SecurityIncidentResponse/acme');
    });

    it('sets no account-wide name that the default deployment also uses', () => {
      for (const stack of ['common', 'slack']) {
        const mine = explicitNames(defaultDeployment.templates[stack]);
        const theirs = explicitNames(acme.templates[stack]);
        assert.ok(mine.length > 0);
        const literal = (list) => new Set(list.filter(({ value }) => typeof value === 'string').map(({ type, value }) => `${type}:${value}`));
        const shared = [...literal(mine)].filter((name) => literal(theirs).has(name));
        assert.deepEqual(shared, [], `${stack}: literal names differ`);
        for (const { id, type, value } of mine.filter(({ value: v }) => typeof v !== 'string')) {
          // An intrinsic name must come from the stack name, the SSM prefix, or another resource's
          // generated ID; never from a constant alone.
          assert.match(JSON.stringify(value), /AWS::StackName|parameterPrefix|"Ref":"(?!AWS::)/, `${stack} ${type} ${id}`);
        }
      }
    });

    it('keeps the default deployment\'s names users know', () => {
      assert.deepEqual(deploymentNames(undefined), {
        commonStackName: 'AwsSecurityIncidentResponseSampleIntegrationsCommonStack',
        slackStackName: 'AwsSecurityIncidentResponseSlackIntegrationStack',
        parameterPrefix: '/SecurityIncidentResponse',
        archiveName: 'sirslack-integration-events',
      });
      assert.ok(deploymentNames('a'.repeat(20)).archiveName.length <= 48, 'archive names are at most 48 characters');
    });

    it('refuses a deployment name that cannot be part of a stack name', () => {
      for (const bad of ['1abc', 'has space', 'under_score', 'x'.repeat(21)]) {
        assert.throws(() => deploymentNames(bad), /deployment name/);
      }
    });
  });

  describe('context options', () => {
    // One synthesis with every option set (each changes a different part of the Slack stack).
    const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const options = synthesize({
      context: { parameterPrefix: '/Custom/workspace', secretsKmsKeyArn: keyArn, apiGatewayCloudWatchRole: 'false' },
      nag: true,
    });
    const slack = options.templates.slack;

    it('parameterPrefix sets the default SSM path', () => {
      assert.equal(slack.toJSON().Parameters.parameterPrefix.Default, '/Custom/workspace');
    });

    it('secretsKmsKeyArn pins kms:Decrypt to that key, and cdk-nag needs no acknowledgement for it', () => {
      for (const prefix of ['SlackClientFunction', 'EventsHandlerFunction', 'CommandHandlerFunction']) {
        const functionId = logicalId(slack, 'AWS::Lambda::Function', prefix);
        const roleId = slack.toJSON().Resources[functionId].Properties.Role['Fn::GetAtt'][0];
        assert.equal(statementBySid(roleStatements(slack, roleId), 'DecryptOwnSecureStrings').Resource, keyArn);
      }
      assert.doesNotMatch(JSON.stringify(slack.toJSON()), /:key\/\*/);
      assert.deepEqual(Annotations.fromStack(options.slack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), []);
    });

    it('apiGatewayCloudWatchRole=false leaves the account-level logging role alone', () => {
      slack.resourceCountIs('AWS::ApiGateway::Account', 0);
      assert.equal(Object.keys(slack.findResources('AWS::IAM::Role')).length, 3);
    });

    it('boolean context values must be true or false', () => {
      const app = { node: { tryGetContext: () => 'yes' } };
      assert.throws(() => booleanContext(app, 'apiGatewayCloudWatchRole', true), /must be true or false/);
      assert.equal(booleanContext({ node: { tryGetContext: () => undefined } }, 'x', true), true);
      assert.equal(booleanContext({ node: { tryGetContext: () => 'false' } }, 'x', true), false);
    });
  });

  describe('function code', () => {
    const binaries = Object.values(FUNCTIONS).map((spec) => spec.binary);

    it('binaries are the cargo lambda output names the lead fixed', () => {
      assert.deepEqual(binaries.sort(), ['command-handler', 'sir-poller', 'slack-client', 'slack-events-handler']);
    });

    it('uses target/lambda/<binary> when its bootstrap exists', () => {
      const root = fakeBuildRoot(['sir-poller']);
      assert.deepEqual(resolveFunctionCode('sir-poller', { buildRoot: root }), { directory: path.join(root, 'sir-poller'), placeholder: false });
    });

    it('falls back to the placeholder when the bootstrap is missing or SIRSLACK_SKIP_BUNDLING=1', () => {
      const root = fakeBuildRoot(['sir-poller']);
      assert.deepEqual(resolveFunctionCode('slack-client', { buildRoot: root }), { directory: PLACEHOLDER_DIR, placeholder: true });
      assert.deepEqual(resolveFunctionCode('sir-poller', { buildRoot: root, skipBundling: true }), { directory: PLACEHOLDER_DIR, placeholder: true });
      assert.equal(skipBundlingFromEnv({ SIRSLACK_SKIP_BUNDLING: '1' }), true);
      assert.equal(skipBundlingFromEnv({}), false);
      assert.ok(fs.statSync(path.join(PLACEHOLDER_DIR, 'bootstrap')).mode & 0o111, 'the placeholder bootstrap is executable');
    });

    it('requireFunctionCode refuses the placeholder', () => {
      const root = fakeBuildRoot([]);
      assert.throws(() => resolveFunctionCode('sir-poller', { buildRoot: root, requireFunctionCode: true }), /sir-poller is required.*cargo lambda build/);
      assert.throws(() => resolveFunctionCode('sir-poller', { buildRoot: root, skipBundling: true, requireFunctionCode: true }), /SIRSLACK_SKIP_BUNDLING=1/);
      assert.throws(() => synthesize({ context: { functionCodeRoot: root, requireFunctionCode: 'true' }, skipBundling: false, nag: false }), /is required/);
    });

    it('warns at synth time about every function that carries the placeholder', () => {
      const warnings = (stack) =>
        Annotations.fromStack(stack)
          .findWarning('*', Match.stringLikeRegexp('placeholder code'))
          .map((warning) => warning.entry.data);
      assert.deepEqual(warnings(defaultDeployment.common), [
        `placeholder code for Poller: build with \`cargo lambda build --release --arm64\` before deploying (the deploy CLI passes -c requireFunctionCode=true to refuse placeholders) [ack: ${PLACEHOLDER_WARNING_ID}]`,
      ]);
      assert.match(warnings(defaultDeployment.slack)[0], /placeholder code for CommandHandler, EventsHandler, SlackClient:/);
    });

    it('packages each built binary as its own function\'s code, without a placeholder warning', () => {
      const root = fakeBuildRoot(binaries);
      const built = synthesize({ context: { functionCodeRoot: root, requireFunctionCode: 'true' }, skipBundling: false, nag: false });
      for (const stack of [built.common, built.slack]) {
        assert.deepEqual(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('placeholder')), []);
      }
      const placeholderKey = Object.values(defaultDeployment.templates.common.findResources('AWS::Lambda::Function'))[0].Properties.Code.S3Key;
      const keys = [built.templates.common, built.templates.slack].flatMap((template) =>
        Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Code.S3Key),
      );
      assert.equal(keys.length, 4);
      assert.equal(new Set(keys).size, 4, 'four different code assets');
      assert.ok(!keys.includes(placeholderKey), 'none is the placeholder');
    });
  });

  describe('a table kept by an earlier destroy', () => {
    const kept = 'AwsSecurityIncidentResponseSampleIntegrationsCommonStack-IntegrationTableKEPT-1A2B3C';
    const adopted = synthesize({ context: { existingTableName: kept }, nag: true });

    it('the table the stack creates is retained when the stack is deleted', () => {
      const tables = Object.values(defaultDeployment.templates.common.findResources('AWS::DynamoDB::Table'));
      assert.equal(tables.length, 1);
      assert.equal(tables[0].DeletionPolicy, 'Retain');
      assert.equal(tables[0].UpdateReplacePolicy, 'Retain');
    });

    it('is adopted: no new table, and every function, grant and output names the kept one', () => {
      const { common, slack } = adopted.templates;
      assert.deepEqual(common.findResources('AWS::DynamoDB::Table'), {});
      assert.equal(common.toJSON().Outputs.TableName.Value, kept);
      for (const template of [common, slack]) {
        const functions = Object.values(template.findResources('AWS::Lambda::Function'));
        for (const fn of functions.filter((f) => f.Properties.Environment?.Variables?.TABLE_NAME !== undefined)) {
          assert.equal(fn.Properties.Environment.Variables.TABLE_NAME, kept);
        }
        const tableStatements = Object.values(template.findResources('AWS::IAM::Policy'))
          .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
          .filter((statement) => statement.Sid === 'IntegrationTableItems');
        assert.ok(tableStatements.length > 0);
        for (const statement of tableStatements) {
          assert.match(JSON.stringify(statement.Resource), new RegExp(`:table/${kept}"`));
        }
      }
      assert.equal(Object.values(adopted.templates.slack.findResources('AWS::Lambda::Function')).length, 3);
    });

    it('passes cdk-nag like the default deployment', () => {
      for (const stack of [adopted.common, adopted.slack]) {
        assert.deepEqual(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions')), []);
      }
    });
  });
};
