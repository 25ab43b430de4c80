'use strict';
// IAM, role by role: one role per function, every action named, resources scoped to ARNs, "*"
// only where SIR has no resource type, and each statement exactly as designed.

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');
const { Match } = require('aws-cdk-lib/assertions');
const { QUEUE_ACTIONS, SIR_ACTIONS, SIR_ACTIONS_WITHOUT_RESOURCE, TABLE_ACTIONS } = require('../../lib/permissions');
const { asList, functionRoleId, parameterArn, regionalArnJoin, roleStatements, statementBySid } = require('../support/cfn');
const fs = require('node:fs');
const path = require('node:path');
const { REPO_ROOT } = require('../../lib/function-code');
const { productionCode, readSource } = require('../support/rust-source');
const { logicalId, resources } = require('../support/synth');

const getAttArn = (id) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const importOf = (pattern) => ({ 'Fn::ImportValue': Match.stringLikeRegexp(pattern) });
const sortedActions = (statement) => [...asList(statement.Action)].sort();

/** The shared SIR adapter: every SIR call of every function is a method of it. */
const SIR_ADAPTER = 'crates/sir/src/client.rs';

/** Each function's crate: the SIR calls it makes are the adapter methods it calls (`sir.<method>(`). */
const SIR_CALLERS = Object.freeze({
  poller: 'crates/poller/src',
  slackClient: 'crates/slack-client/src',
  eventsHandler: 'crates/events-handler/src',
  commandHandler: 'crates/command-handler/src',
});

const pascal = (snake) => snake.split('_').map((word) => word[0].toUpperCase() + word.slice(1)).join('');

/**
 * The IAM actions of each method of the SIR adapter: the SDK operations its body calls
 * (`self.client.get_case()` -> `security-ir:GetCase`).
 */
function sirActionsByAdapterMethod() {
  const code = productionCode(readSource(SIR_ADAPTER));
  const methods = [...code.matchAll(/pub async fn ([a-z_]+)\(/g)];
  const byMethod = new Map();
  methods.forEach((method, i) => {
    const body = code.slice(method.index, i + 1 < methods.length ? methods[i + 1].index : code.length);
    const operations = [...body.matchAll(/\.client\s*\.([a-z_]+)\(\)/g)].map(([, op]) => `security-ir:${pascal(op)}`);
    byMethod.set(method[1], new Set(operations));
  });
  return byMethod;
}

/** The `.rs` files under `dir` (from the repository root), recursively. */
function rustFilesUnder(dir) {
  return fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return rustFilesUnder(relative);
    return entry.name.endsWith('.rs') ? [relative] : [];
  });
}

/** The IAM actions of the SIR adapter methods the production code under `dir` calls. */
function sirActionsCalledIn(dir, byMethod) {
  const actions = new Set();
  for (const file of rustFilesUnder(dir)) {
    const code = productionCode(readSource(file));
    for (const [, method] of code.matchAll(/\bsir\s*\.\s*([a-z_]+)\s*\(/g)) {
      for (const action of byMethod.get(method) ?? []) actions.add(action);
    }
  }
  return [...actions].sort();
}

/**
 * The IAM actions of the SQS operations called in `file` (`self.sqs.get_queue_url()` ->
 * `sqs:GetQueueUrl`). A batch operation is authorized by its single action
 * (`change_message_visibility_batch` -> `sqs:ChangeMessageVisibility`).
 */
function sqsActionsCalledIn(file) {
  const operations = [...productionCode(readSource(file)).matchAll(/\.sqs\s*\.([a-z_]+)\(\)/g)].map(([, op]) => op);
  return [...new Set(operations.map((op) => `sqs:${pascal(op).replace(/Batch$/, '')}`))].sort();
}

/** Fails unless `actual` matches the CDK Match pattern `expected`. */
function assertMatches(actual, expected, what) {
  const result = Match.objectLike({ value: expected }).test({ value: actual });
  assert.ok(!result.hasFailed(), `${what}: ${result.toHumanStrings().join('; ')}`);
}

module.exports = function iamSuites({ templates }) {
  const { common, slack } = templates;
  const functions = [
    ['poller', common, 'PollerFunction'],
    ['slackClient', slack, 'SlackClientFunction'],
    ['eventsHandler', slack, 'EventsHandlerFunction'],
    ['commandHandler', slack, 'CommandHandlerFunction'],
  ].map(([key, template, prefix]) => {
    const functionId = logicalId(template, 'AWS::Lambda::Function', prefix);
    const roleId = functionRoleId(template, functionId);
    return { key, template, functionId, roleId, statements: roleStatements(template, roleId) };
  });
  const byKey = Object.fromEntries(functions.map((fn) => [fn.key, fn]));
  const allRoles = [
    ...functions.map((fn) => ({ name: fn.key, statements: fn.statements })),
    { name: 'apiGatewayCloudWatchRole', statements: roleStatements(slack, logicalId(slack, 'AWS::IAM::Role', 'ApiGatewayCloudWatchRole')) },
  ];

  describe('IAM: roles', () => {
    it('gives every function its own role, assumable by Lambda only, with no managed policy', () => {
      assert.equal(new Set(functions.map((fn) => `${fn.template === common ? 'c' : 's'}:${fn.roleId}`)).size, 4);
      for (const fn of functions) {
        const role = fn.template.toJSON().Resources[fn.roleId].Properties;
        assert.deepEqual(role.AssumeRolePolicyDocument.Statement, [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ]);
        assert.equal(role.ManagedPolicyArns, undefined, `${fn.key} has no managed policy`);
      }
      // No role in either stack is shared or unused: the four function roles and API Gateway's.
      assert.equal(Object.keys(common.findResources('AWS::IAM::Role')).length, 1);
      assert.equal(Object.keys(slack.findResources('AWS::IAM::Role')).length, 4);
    });

    it('names every action: no "*" anywhere in an action, only Allow statements', () => {
      for (const role of allRoles) {
        assert.ok(role.statements.length > 0);
        for (const statement of role.statements) {
          assert.equal(statement.Effect, 'Allow');
          assert.equal(statement.NotAction, undefined);
          assert.equal(statement.NotResource, undefined);
          for (const action of asList(statement.Action)) {
            assert.match(action, /^[a-z0-9-]+:[A-Za-z]+$/, `${role.name}: ${action} is one named action`);
          }
        }
      }
    });

    it('uses Resource "*" only for the SIR actions that have no resource type', () => {
      const starStatements = [];
      for (const role of allRoles) {
        for (const statement of role.statements) {
          if (asList(statement.Resource).includes('*')) {
            starStatements.push({ role: role.name, statement });
          }
        }
      }
      const byRole = Object.fromEntries(starStatements.map(({ role, statement }) => [role, statement]));
      assert.deepEqual(Object.keys(byRole).sort(), ['commandHandler', 'poller']);
      for (const statement of Object.values(byRole)) {
        assert.deepEqual(statement.Resource, '*');
        for (const action of asList(statement.Action)) {
          assert.ok(SIR_ACTIONS_WITHOUT_RESOURCE.includes(action), `${action} has a resource type`);
        }
      }
      assert.deepEqual(sortedActions(byRole.poller), ['security-ir:ListCases', 'security-ir:ListMemberships']);
      assert.deepEqual(sortedActions(byRole.commandHandler), ['security-ir:CreateCase']);
    });

    it('grants each function exactly its SIR actions, each named, scoped to case/* or membership/*', () => {
      for (const fn of functions) {
        const expected = SIR_ACTIONS[fn.key];
        const granted = fn.statements.filter((statement) => asList(statement.Action).some((action) => action.startsWith('security-ir:')));
        const caseStatement = granted.find((statement) => statement.Sid === 'SirCases');
        assert.deepEqual(sortedActions(caseStatement), [...expected.case].sort());
        assert.deepEqual(caseStatement.Resource, regionalArnJoin('security-ir', ':case/*'));
        const membership = granted.find((statement) => statement.Sid === 'SirMemberships');
        if (expected.membership.length > 0) {
          assert.deepEqual(sortedActions(membership), [...expected.membership].sort());
          assert.deepEqual(membership.Resource, regionalArnJoin('security-ir', ':membership/*'));
        } else {
          assert.equal(membership, undefined);
        }
        const total = granted.flatMap((statement) => asList(statement.Action)).sort();
        assert.deepEqual(total, [...expected.unscoped, ...expected.case, ...expected.membership].sort(), fn.key);
      }
    });

    it('grants each function exactly the SIR calls its code makes (through crates/sir)', () => {
      const byMethod = sirActionsByAdapterMethod();
      for (const [method, actions] of byMethod) {
        assert.ok(actions.size > 0, `the adapter's ${method} calls SIR`);
      }
      for (const fn of functions) {
        const { unscoped, case: caseActions, membership } = SIR_ACTIONS[fn.key];
        const granted = [...unscoped, ...caseActions, ...membership].sort();
        assert.deepEqual(granted, sirActionsCalledIn(SIR_CALLERS[fn.key], byMethod), fn.key);
      }
      // The events handler records its own uploads in the table before they start: no GetCase.
      assert.ok(!SIR_ACTIONS.eventsHandler.case.includes('security-ir:GetCase'));
    });

    it('grants lambda:InvokeFunction to the events handler only, on the command handler only', () => {
      for (const fn of functions) {
        const invokes = fn.statements.filter((statement) => asList(statement.Action).includes('lambda:InvokeFunction'));
        if (fn.key === 'eventsHandler') {
          assert.equal(invokes.length, 1);
          assert.deepEqual(asList(invokes[0].Action), ['lambda:InvokeFunction']);
          assert.deepEqual(invokes[0].Resource, getAttArn(byKey.commandHandler.functionId));
        } else {
          assert.equal(invokes.length, 0, `${fn.key} cannot invoke functions`);
        }
      }
    });

    it('lets each function write only to its own log group', () => {
      for (const fn of functions) {
        const logs = statementBySid(fn.statements, 'WriteOwnLogs');
        const logGroupId = fn.template.toJSON().Resources[fn.functionId].Properties.LoggingConfig.LogGroup.Ref;
        assert.deepEqual(sortedActions(logs), ['logs:CreateLogStream', 'logs:PutLogEvents']);
        assert.deepEqual(logs.Resource, getAttArn(logGroupId));
        const other = fn.statements.filter((statement) => statement !== logs && asList(statement.Action).some((a) => a.startsWith('logs:')));
        assert.deepEqual(other, []);
      }
    });

    it('gives table access item by item on the table only, and never Scan', () => {
      for (const fn of functions) {
        const table = statementBySid(fn.statements, 'IntegrationTableItems');
        assert.deepEqual(sortedActions(table), [...TABLE_ACTIONS[fn.key]].sort());
        const expectedResource =
          fn.template === common ? getAttArn(logicalId(common, 'AWS::DynamoDB::Table', 'IntegrationTable')) : importOf('ExportsOutputFnGetAttIntegrationTable');
        assertMatches(table.Resource, expectedResource, `${fn.key} table resource`);
        const dynamo = fn.statements.flatMap((statement) => asList(statement.Action)).filter((action) => action.startsWith('dynamodb:'));
        assert.ok(!dynamo.includes('dynamodb:Scan'), `${fn.key} cannot Scan`);
        assert.deepEqual(dynamo.sort(), [...TABLE_ACTIONS[fn.key]].sort());
      }
    });
  });

  describe('IAM: SSM and KMS (secrets by name, decrypted only through SSM)', () => {
    const ssmExpectations = {
      poller: null,
      slackClient: { plain: ['/slackChannelPrefix'], secret: ['/slackBotToken'] },
      eventsHandler: { plain: ['/slackWorkspaceId'], secret: ['/slackSigningSecret', '/slackBotToken'] },
      commandHandler: { plain: ['/slackCommandPolicy'], secret: ['/slackBotToken', '/slackUsers/*'] },
    };

    for (const [key, expected] of Object.entries(ssmExpectations)) {
      it(`${key}: ssm:GetParameter on exactly its parameters${expected ? ', kms:Decrypt via SSM for exactly its SecureStrings' : ' (none)'}`, () => {
        const fn = byKey[key];
        const ssmActions = fn.statements.flatMap((statement) => asList(statement.Action)).filter((action) => action.startsWith('ssm:') || action.startsWith('kms:'));
        if (!expected) {
          assert.deepEqual(ssmActions, []);
          return;
        }
        assert.deepEqual(ssmActions.sort(), ['kms:Decrypt', 'ssm:GetParameter']);
        const read = statementBySid(fn.statements, 'ReadOwnParameters');
        assert.deepEqual(read.Resource, [...expected.plain, ...expected.secret].map(parameterArn));
        const decrypt = statementBySid(fn.statements, 'DecryptOwnSecureStrings');
        assert.deepEqual(decrypt.Resource, regionalArnJoin('kms', ':key/*'));
        assert.deepEqual(decrypt.Condition, {
          StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': expected.secret.map(parameterArn) },
        });
      });
    }
  });

  describe('IAM: EventBridge and SQS', () => {
    it('poller: PutEvents on the integration bus, only with source sirslack.poller', () => {
      const publish = statementBySid(byKey.poller.statements, 'PublishIntegrationEvents');
      assert.deepEqual(publish.Action, 'events:PutEvents');
      assert.deepEqual(publish.Resource, getAttArn(logicalId(common, 'AWS::Events::EventBus', 'IntegrationBus')));
      assert.deepEqual(publish.Condition, { StringEquals: { 'events:source': 'sirslack.poller' } });
    });

    it('events handler and command handler: PutEvents on the bus only with the lazy-work source; the Slack client does not publish', () => {
      const publish = statementBySid(byKey.eventsHandler.statements, 'PublishLazyWork');
      assert.deepEqual(publish.Action, 'events:PutEvents');
      assertMatches(publish.Resource, importOf('ExportsOutputFnGetAttIntegrationBus'), 'events handler bus');
      assert.deepEqual(publish.Condition, { StringEquals: { 'events:source': 'sirslack.slack-events-handler' } });
      // The command handler hands the events handler a forwarded message's files (lazy forward_files).
      const handOff = statementBySid(byKey.commandHandler.statements, 'HandOffLazyWork');
      assert.deepEqual(handOff.Action, 'events:PutEvents');
      assertMatches(handOff.Resource, importOf('ExportsOutputFnGetAttIntegrationBus'), 'command handler bus');
      assert.deepEqual(handOff.Condition, { StringEquals: { 'events:source': 'sirslack.slack-events-handler' } });
      for (const key of ['slackClient']) {
        const putEvents = byKey[key].statements.filter((statement) => asList(statement.Action).includes('events:PutEvents'));
        assert.deepEqual(putEvents, [], `${key} does not publish`);
      }
    });

    it('has no statement without a Sid except the SQS ones CDK writes for DLQs and the event source', () => {
      const unnamed = (fn) => fn.statements.filter((statement) => statement.Sid === undefined);
      const dlqSend = (template, prefix) => [
        { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: getAttArn(logicalId(template, 'AWS::SQS::Queue', prefix)) },
      ];
      assert.deepEqual(unnamed(byKey.poller), dlqSend(common, 'PollerDeadLetters'));
      assert.deepEqual(unnamed(byKey.commandHandler), dlqSend(slack, 'CommandHandlerDeadLetters'));
      assert.deepEqual(unnamed(byKey.eventsHandler), dlqSend(slack, 'EventsHandlerDeadLetters'));
      assert.deepEqual(unnamed(byKey.slackClient), [
        {
          Action: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          Effect: 'Allow',
          Resource: getAttArn(logicalId(slack, 'AWS::SQS::Queue', 'SlackClientQueue')),
        },
      ]);
    });

    it('lists every Sid of every role (nothing unreviewed is granted)', () => {
      const sids = Object.fromEntries(functions.map((fn) => [fn.key, fn.statements.map((s) => s.Sid).filter(Boolean).sort()]));
      assert.deepEqual(sids, {
        poller: ['IntegrationTableItems', 'PublishIntegrationEvents', 'SirActionsWithoutResourceType', 'SirCases', 'SirMemberships', 'WriteOwnLogs'],
        slackClient: ['DecryptOwnSecureStrings', 'IntegrationTableItems', 'ReadOwnParameters', 'ShortenFailedMessagesVisibility', 'SirCases', 'WriteOwnLogs'],
        eventsHandler: ['DecryptOwnSecureStrings', 'IntegrationTableItems', 'InvokeCommandHandler', 'PublishLazyWork', 'ReadOwnParameters', 'SirCases', 'WriteOwnLogs'],
        commandHandler: ['DecryptOwnSecureStrings', 'HandOffLazyWork', 'IntegrationTableItems', 'ReadOwnParameters', 'SirActionsWithoutResourceType', 'SirCases', 'WriteOwnLogs'],
      });
    });

    it('Slack client: ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl on its own queue only, exactly the SQS calls its code makes', () => {
      const queueArn = getAttArn(logicalId(slack, 'AWS::SQS::Queue', 'SlackClientQueue'));
      const shorten = statementBySid(byKey.slackClient.statements, 'ShortenFailedMessagesVisibility');
      assert.deepEqual(sortedActions(shorten), ['sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl']);
      assert.deepEqual(shorten.Resource, queueArn);
      assert.deepEqual(sortedActions(shorten), sqsActionsCalledIn('crates/slack-client/src/redelivery.rs'));
      assert.deepEqual([...QUEUE_ACTIONS.slackClient].sort(), sortedActions(shorten));
      // No other function may change a message's visibility.
      for (const key of ['poller', 'eventsHandler', 'commandHandler']) {
        const changes = byKey[key].statements.filter((statement) => asList(statement.Action).includes('sqs:ChangeMessageVisibility'));
        assert.deepEqual(changes, [], `${key} cannot change message visibility`);
      }
    });

    it('resource policies grant no "*" action: SQS and SNS allow only named actions to services', () => {
      for (const template of [common, slack]) {
        for (const [, resource] of resources(template)) {
          if (!['AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy'].includes(resource.Type)) continue;
          for (const statement of resource.Properties.PolicyDocument.Statement) {
            if (statement.Effect !== 'Allow') continue;
            for (const action of asList(statement.Action)) {
              assert.doesNotMatch(action, /\*/);
            }
            assert.ok(statement.Principal.Service, 'allowed to a service principal');
            assert.ok(statement.Condition?.ArnEquals?.['aws:SourceArn'], 'scoped to one source');
          }
        }
      }
    });
  });

  describe('IAM: API Gateway account logging role', () => {
    it('writes logs only, with named actions', () => {
      const statements = allRoles.find((role) => role.name === 'apiGatewayCloudWatchRole').statements;
      assert.equal(statements.length, 1);
      assert.deepEqual(sortedActions(statements[0]), [
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:DescribeLogGroups',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
      ]);
      assert.deepEqual(statements[0].Resource, regionalArnJoin('logs', ':log-group:*'));
      const role = slack.toJSON().Resources[logicalId(slack, 'AWS::IAM::Role', 'ApiGatewayCloudWatchRole')].Properties;
      assert.deepEqual(role.AssumeRolePolicyDocument.Statement[0].Principal, { Service: 'apigateway.amazonaws.com' });
    });
  });
};
