'use strict';
// The synthesized templates as files, checked by the two tools of the local world: cfn-lint on
// both templates, and a real CloudFormation deployment of both stacks to a private moto server.
// One file, one synthesis: moto (Python) boots and cfn-lint runs while the other work goes on.
//
// cfn-lint (pinned in scripts/requirements-local-world.txt): no error, and no warning except
// W3005, which CDK's own Function construct causes (it lists the role in DependsOn although
// Role: Fn::GetAtt already orders them; harmless).
//
// moto (pinned likewise, with the three documented patches in support/moto_server_patched.py):
// both stacks reach CREATE_COMPLETE, then the test checks that what CloudFormation created is what
// the local world and the functions use: the table's keys, the bus and archive, the rules and their
// patterns, the queues, the functions' configuration, the plain SSM parameters, and an integration
// event really reaching the Slack client queue.

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');
const { promisify } = require('node:util');
const { DescribeStackResourcesCommand } = require('@aws-sdk/client-cloudformation');
const {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
} = require('@aws-sdk/client-dynamodb');
const {
  DescribeArchiveCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
} = require('@aws-sdk/client-eventbridge');
const { GetFunctionConfigurationCommand, LambdaClient, ListEventSourceMappingsCommand } = require('@aws-sdk/client-lambda');
const { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } = require('@aws-sdk/client-sqs');
const { GetParameterCommand, SSMClient } = require('@aws-sdk/client-ssm');
const contract = require('../lib/contract');
const { LocalDeployer } = require('./support/local-deploy');
const { clientConfig, startMoto, venvTool } = require('./support/moto');
const { synthesize } = require('./support/synth');
const { tempDir } = require('./support/temp');
const { waitFor } = require('./support/wait');

/**
 * Resource types moto 5.2.5's CloudFormation does not implement. moto skips them (a warning in
 * its log), the stack still reaches CREATE_COMPLETE, and a `Ref` to one resolves to None.
 * docs/infrastructure.md lists the same; the test below fails when the list changes.
 */
const MOTO_SKIPPED_TYPES = [
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::Model',
  'AWS::ApiGateway::RequestValidator',
  'AWS::ApiGateway::Stage',
  'AWS::CloudWatch::Alarm',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::SNS::Subscription',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
];

const WORKSPACE_ID = 'T0123456789';
const COMMAND_POLICY = '{"close":["U0123456789"]}';

const TOLERATED_RULES = new Set(['W3005']);

/** A template with a mistake cfn-lint must find (proves the linter and its report are read). */
const BROKEN_TEMPLATE = {
  AWSTemplateFormatVersion: '2010-09-09',
  Resources: {
    Function: {
      Type: 'AWS::Lambda::Function',
      Properties: { Runtime: 'provided.al2023', Handler: 'bootstrap', Code: { ZipFile: 'x' }, MemorySize: 1 },
    },
  },
};

/**
 * Runs cfn-lint once on `files` ({name: path}) and returns its findings per name. cfn-lint exits
 * non-zero whenever it reports anything, so the JSON report is read either way.
 */
async function lint(files) {
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(venvTool('cfn-lint'), ['--format', 'json', '--', ...Object.values(files)], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (error) {
    if (typeof error.stdout !== 'string' || error.stdout.trim() === '') {
      throw error;
    }
    stdout = error.stdout;
  }
  const findings = Object.fromEntries(Object.keys(files).map((name) => [name, []]));
  for (const match of JSON.parse(stdout)) {
    const name = Object.keys(files).find((key) => path.resolve(files[key]) === path.resolve(match.Filename));
    findings[name].push(match);
  }
  return findings;
}

const describeMatch = (match) => `${match.Rule.Id} ${match.Level} ${match.Message} (${match.Location?.Path?.join('/')})`;

// moto (Python) starts first and boots while the app synthesizes; cfn-lint then runs while the
// stacks deploy.
const motoStarting = startMoto();
const synthesized = synthesize({ toDisk: true, nag: false });
const brokenPath = path.join(tempDir('lint-'), 'broken.template.json');
fs.writeFileSync(brokenPath, JSON.stringify(BROKEN_TEMPLATE));
const linting = lint({
  common: path.join(synthesized.assemblyDir, `${synthesized.names.commonStackName}.template.json`),
  slack: path.join(synthesized.assemblyDir, `${synthesized.names.slackStackName}.template.json`),
  broken: brokenPath,
});
// Failures surface in the tests that await these; until then they are not "unhandled".
motoStarting.catch(() => {});
linting.catch(() => {});

describe('cfn-lint', () => {
  let findings;

  before(async () => {
    findings = await linting;
  });

  it('reports the mistake in a broken template (the linter really runs)', () => {
    assert.ok(findings.broken.some((match) => match.Level === 'Error'), 'an error for MemorySize 1');
  });

  for (const stack of ['common', 'slack']) {
    it(`${stack} stack: no error, no warning except the tolerated W3005`, () => {
      const found = findings[stack].filter((match) => !TOLERATED_RULES.has(match.Rule.Id));
      assert.deepEqual(found.map(describeMatch), []);
    });
  }
});

describe('deploying both stacks to moto', () => {
  let moto;
  let commonStack;
  let slackStack;
  let commonOutputs;
  let slackOutputs;
  let clients;

  before(async () => {
    moto = await motoStarting;
    const deployer = new LocalDeployer(moto.endpoint);
    await deployer.bootstrap();
    const { assemblyDir, names } = synthesized;
    commonStack = await deployer.createStack({
      stackName: names.commonStackName,
      templateUrl: await deployer.publishAssets(assemblyDir, names.commonStackName),
      parameters: { alarmEmail: 'secops@example.com' },
    });
    slackStack = await deployer.createStack({
      stackName: names.slackStackName,
      templateUrl: await deployer.publishAssets(assemblyDir, names.slackStackName),
      parameters: { slackWorkspaceId: WORKSPACE_ID, commandPolicy: COMMAND_POLICY, alarmEmail: 'secops@example.com' },
    });
    commonOutputs = LocalDeployer.outputs(commonStack);
    slackOutputs = LocalDeployer.outputs(slackStack);
    const config = clientConfig(moto.endpoint);
    clients = {
      cloudFormation: deployer.cloudFormation,
      dynamodb: new DynamoDBClient(config),
      events: new EventBridgeClient(config),
      lambda: new LambdaClient(config),
      sqs: new SQSClient(config),
      ssm: new SSMClient(config),
    };
  });

  after(async () => {
    await (moto ?? (await motoStarting.catch(() => null)))?.stop();
  });

  const queueAttributes = async (queueUrl) =>
    (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes;

  it('reaches CREATE_COMPLETE for both stacks', () => {
    assert.equal(commonStack.StackStatus, 'CREATE_COMPLETE');
    assert.equal(slackStack.StackStatus, 'CREATE_COMPLETE');
  });

  it('skips exactly the resource types moto does not implement, and creates every other resource', async () => {
    const skipped = new Set();
    for (const [stackName, template] of [
      [commonStack.StackName, synthesized.templates.common.toJSON()],
      [slackStack.StackName, synthesized.templates.slack.toJSON()],
    ]) {
      const { StackResources } = await clients.cloudFormation.send(new DescribeStackResourcesCommand({ StackName: stackName }));
      const created = new Set(StackResources.map((resource) => resource.LogicalResourceId));
      for (const [id, resource] of Object.entries(template.Resources)) {
        if (!created.has(id)) skipped.add(resource.Type);
      }
    }
    assert.deepEqual([...skipped].sort(), MOTO_SKIPPED_TYPES);
  });

  it('creates the table the local world uses: pk/sk strings, on demand, TTL on expires_at, PITR', async () => {
    const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: commonOutputs.TableName }));
    assert.deepEqual(Table.KeySchema, [
      { AttributeName: contract.TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: contract.TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    assert.deepEqual(
      Table.AttributeDefinitions.sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
      [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    );
    assert.equal(Table.BillingModeSummary.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(Table.GlobalSecondaryIndexes ?? [], []);
    const ttl = await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: commonOutputs.TableName }));
    assert.deepEqual(ttl.TimeToLiveDescription, { AttributeName: 'expires_at', TimeToLiveStatus: 'ENABLED' });
    const backups = await clients.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: commonOutputs.TableName }));
    assert.equal(backups.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus, 'ENABLED');
    assert.ok(commonOutputs.TableName.startsWith(`${commonStack.StackName}-`), 'the table name comes from the stack');
  });

  it('creates the integration bus named after the stack, and its archive', async () => {
    const bus = await clients.events.send(new DescribeEventBusCommand({ Name: commonOutputs.EventBusName }));
    assert.equal(bus.Name, `${commonStack.StackName}-integration`);
    assert.equal(bus.Arn, commonOutputs.EventBusArn);
    const archive = await clients.events.send(new DescribeArchiveCommand({ ArchiveName: commonOutputs.EventArchiveName }));
    assert.equal(archive.ArchiveName, 'sirslack-integration-events');
    assert.equal(archive.EventSourceArn, bus.Arn);
    assert.equal(archive.RetentionDays, contract.ARCHIVE_RETENTION_DAYS);
    assert.deepEqual(JSON.parse(archive.EventPattern), contract.ARCHIVE_EVENT_PATTERN);
  });

  it('creates the poller rules on the default bus: the schedule and SIR\'s native events', async () => {
    const poller = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: commonOutputs.PollerFunctionName }));
    const { Rules } = await clients.events.send(new ListRulesCommand({ EventBusName: 'default' }));
    const pollerRules = [];
    for (const rule of Rules) {
      const { Targets } = await clients.events.send(new ListTargetsByRuleCommand({ Rule: rule.Name, EventBusName: 'default' }));
      if (Targets.some((target) => target.Arn === poller.FunctionArn)) pollerRules.push({ rule, Targets });
    }
    assert.equal(pollerRules.length, 2);
    const schedule = pollerRules.find(({ rule }) => rule.ScheduleExpression);
    assert.equal(schedule.rule.ScheduleExpression, 'rate(5 minutes)');
    const native = pollerRules.find(({ rule }) => rule.EventPattern);
    assert.deepEqual(JSON.parse(native.rule.EventPattern), contract.SIR_NATIVE_EVENT_PATTERN);
    const dlqArn = (await queueAttributes(commonOutputs.PollerDeadLetterQueueUrl)).QueueArn;
    for (const { Targets } of pollerRules) {
      assert.equal(Targets[0].DeadLetterConfig.Arn, dlqArn);
    }
  });

  it('creates the integration bus rules: poller events to the Slack client queue, lazy work to the events handler', async () => {
    const listed = await clients.events.send(new ListRulesCommand({ EventBusName: commonOutputs.EventBusName }));
    // The archive brings its own rule, managed by EventBridge; ours are the unmanaged ones.
    assert.ok(listed.Rules.some((rule) => rule.ManagedBy && rule.Name.startsWith('Events-Archive-')), 'the archive\'s rule');
    const rules = listed.Rules.filter((rule) => !rule.ManagedBy);
    assert.equal(rules.length, 2);
    const targetsOf = async (rule) =>
      (await clients.events.send(new ListTargetsByRuleCommand({ Rule: rule.Name, EventBusName: commonOutputs.EventBusName }))).Targets;
    const byPattern = (pattern) => rules.find((rule) => JSON.stringify(JSON.parse(rule.EventPattern)) === JSON.stringify(pattern));

    const slackClientRule = byPattern(contract.SLACK_CLIENT_EVENT_PATTERN);
    assert.ok(slackClientRule, 'the Slack client rule');
    const queue = await queueAttributes(slackOutputs.SlackClientQueueUrl);
    const dlq = await queueAttributes(slackOutputs.SlackClientDeadLetterQueueUrl);
    const queueTargets = await targetsOf(slackClientRule);
    assert.equal(queueTargets.length, 1);
    assert.equal(queueTargets[0].Arn, queue.QueueArn);
    assert.equal(queueTargets[0].DeadLetterConfig.Arn, dlq.QueueArn);

    // moto cannot invoke a function from a rule (it needs Docker), so this rule is checked by its
    // pattern and target; no lazy-work event is sent here.
    const lazyWorkRule = byPattern(contract.LAZY_WORK_EVENT_PATTERN);
    assert.ok(lazyWorkRule, 'the lazy-work rule');
    const handler = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: slackOutputs.EventsHandlerFunctionName }));
    const handlerDlq = await queueAttributes(slackOutputs.EventsHandlerDeadLetterQueueUrl);
    const handlerTargets = await targetsOf(lazyWorkRule);
    assert.equal(handlerTargets.length, 1);
    assert.equal(handlerTargets[0].Arn, handler.FunctionArn);
    assert.equal(handlerTargets[0].DeadLetterConfig.Arn, handlerDlq.QueueArn);
  });

  it('creates the queues as designed: standard, 6x visibility, redrive after 5, SSE, 14-day DLQs', async () => {
    const queue = await queueAttributes(slackOutputs.SlackClientQueueUrl);
    const dlq = await queueAttributes(slackOutputs.SlackClientDeadLetterQueueUrl);
    assert.equal(queue.FifoQueue, undefined);
    assert.equal(queue.VisibilityTimeout, String(6 * contract.FUNCTIONS.slackClient.timeoutSeconds));
    assert.deepEqual(JSON.parse(queue.RedrivePolicy), { deadLetterTargetArn: dlq.QueueArn, maxReceiveCount: 5 });
    assert.equal(queue.SqsManagedSseEnabled, 'true');
    for (const url of [
      slackOutputs.SlackClientDeadLetterQueueUrl,
      slackOutputs.CommandHandlerDeadLetterQueueUrl,
      slackOutputs.EventsHandlerDeadLetterQueueUrl,
      commonOutputs.PollerDeadLetterQueueUrl,
    ]) {
      const attributes = await queueAttributes(url);
      assert.equal(attributes.MessageRetentionPeriod, String(14 * 24 * 3600));
      assert.equal(attributes.SqsManagedSseEnabled, 'true');
    }
  });

  it('delivers a poller event on the bus to the Slack client queue, and nothing else', async () => {
    const marker = `moto-${process.pid}-${Date.now()}`;
    const entry = (source, detailType, kind) => ({
      EventBusName: commonOutputs.EventBusName,
      Source: source,
      DetailType: detailType,
      Detail: JSON.stringify({ marker, kind, caseId: '1234567890', sequence: 1 }),
    });
    const put = await clients.events.send(
      new PutEventsCommand({
        Entries: [
          entry('sirslack.slack', 'CaseCreated', 'other source'),
          entry('sirslack.poller', 'SomethingElse', 'other detail-type'),
          entry('sirslack.poller', 'CaseCreated', 'wanted'),
        ],
      }),
    );
    assert.equal(put.FailedEntryCount, 0);
    const received = [];
    await waitFor('the CaseCreated event in the Slack client queue', 20_000, async () => {
      const { Messages = [] } = await clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: slackOutputs.SlackClientQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      received.push(...Messages.map((message) => JSON.parse(message.Body)));
      return received.some((event) => event.detail.kind === 'wanted');
    });
    const mine = received.filter((event) => event.detail.marker === marker);
    assert.deepEqual(mine.map((event) => [event.source, event['detail-type'], event.detail.kind]), [['sirslack.poller', 'CaseCreated', 'wanted']]);
  });

  // moto's AWS::Lambda::Function handler passes on Code, Handler, Role, Runtime, Description,
  // MemorySize, Timeout and Environment only: Architectures (it reports x86_64), DeadLetterConfig
  // and LoggingConfig are dropped, so those are asserted on the template (suites/templates.js).
  it('configures every function as synthesized, with the real table and bus names in its environment', async () => {
    const expectations = [
      [commonOutputs.PollerFunctionName, contract.FUNCTIONS.poller],
      [slackOutputs.SlackClientFunctionName, contract.FUNCTIONS.slackClient],
      [slackOutputs.EventsHandlerFunctionName, contract.FUNCTIONS.eventsHandler],
      [slackOutputs.CommandHandlerFunctionName, contract.FUNCTIONS.commandHandler],
    ];
    for (const [name, spec] of expectations) {
      const fn = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      assert.equal(fn.Runtime, 'provided.al2023');
      assert.equal(fn.Handler, 'bootstrap');
      assert.equal(fn.MemorySize, spec.memoryMiB);
      assert.equal(fn.Timeout, spec.timeoutSeconds);
      const variables = fn.Environment.Variables;
      assert.equal(variables.TABLE_NAME, commonOutputs.TableName);
      // The log level travels in LoggingConfig (asserted on the template): no variable of its own.
      for (const retired of ['LOG_LEVEL', 'RUST_LOG']) {
        assert.equal(variables[retired], undefined, `${name} sets ${retired}`);
      }
      if (variables.EVENT_BUS_NAME !== undefined) {
        assert.equal(variables.EVENT_BUS_NAME, commonOutputs.EventBusName);
      }
    }
    const variablesOf = async (name) => (await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }))).Environment.Variables;
    const events = await variablesOf(slackOutputs.EventsHandlerFunctionName);
    assert.equal(events.COMMAND_HANDLER_FUNCTION_NAME, slackOutputs.CommandHandlerFunctionName);
    assert.equal(events.SLACK_SIGNING_SECRET_PARAMETER, '/SecurityIncidentResponse/slackSigningSecret');
    // The poller publishes on the bus; the events handler puts its lazy work there, and the command
    // handler the lazy work it hands the events handler (a forwarded message's files).
    assert.equal(events.EVENT_BUS_NAME, commonOutputs.EventBusName);
    assert.equal((await variablesOf(slackOutputs.CommandHandlerFunctionName)).EVENT_BUS_NAME, commonOutputs.EventBusName);
    const slackClient = await variablesOf(slackOutputs.SlackClientFunctionName);
    assert.equal(slackClient.GAP_SKIP_RECEIVE_COUNT, String(contract.SLACK_CLIENT_QUEUE.maxReceiveCount - 1));
  });

  it('maps the Slack client queue to the Slack client in batches of 10 with partial failures', async () => {
    const { EventSourceMappings } = await clients.lambda.send(
      new ListEventSourceMappingsCommand({ FunctionName: slackOutputs.SlackClientFunctionName }),
    );
    assert.equal(EventSourceMappings.length, 1);
    assert.equal(EventSourceMappings[0].EventSourceArn, (await queueAttributes(slackOutputs.SlackClientQueueUrl)).QueueArn);
    assert.equal(EventSourceMappings[0].BatchSize, 10);
    assert.deepEqual(EventSourceMappings[0].FunctionResponseTypes, ['ReportBatchItemFailures']);
  });

  it('writes the plain SSM parameters under the deployment\'s prefix', async () => {
    const value = async (name) => (await clients.ssm.send(new GetParameterCommand({ Name: name }))).Parameter;
    const workspace = await value('/SecurityIncidentResponse/slackWorkspaceId');
    assert.deepEqual([workspace.Type, workspace.Value], ['String', WORKSPACE_ID]);
    assert.equal((await value('/SecurityIncidentResponse/slackChannelPrefix')).Value, contract.DEFAULT_CHANNEL_PREFIX);
    assert.equal((await value('/SecurityIncidentResponse/slackCommandPolicy')).Value, COMMAND_POLICY);
  });

  it('outputs the endpoint URL ending in /slack/events (moto has no Stage, so its stage segment is None)', () => {
    assert.match(slackOutputs.SlackEventsApiEndpoint, /^https:\/\/[a-z0-9]+\.execute-api\.us-east-1\.amazonaws\.com\/None\/slack\/events$/);
  });
});
