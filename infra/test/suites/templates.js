'use strict';
// Assertions on the two synthesized templates: every function, queue, DLQ, alarm, rule, the API,
// the parameters and the outputs. IAM, secrets and cdk-nag have their own suites.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');
const { Match } = require('aws-cdk-lib/assertions');
const contract = require('../../lib/contract');
const { REPO_ROOT } = require('../../lib/function-code');
const { prefixed } = require('../support/cfn');
const { rustDurationSeconds, rustInteger, rustString } = require('../support/rust-source');
const { logicalId, resources } = require('../support/synth');

const importOf = (pattern) => ({ 'Fn::ImportValue': Match.stringLikeRegexp(pattern) });
const getAttArn = (id) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** The Lambda function with the given description prefix (one per binary). */
function functionId(template, logicalPrefix) {
  return logicalId(template, 'AWS::Lambda::Function', logicalPrefix);
}

/** Asserts runtime, architecture, handler, memory, timeout and the exact environment. */
function assertFunction(template, id, spec, environment) {
  const fn = template.toJSON().Resources[id].Properties;
  assert.equal(fn.Runtime, 'provided.al2023');
  assert.deepEqual(fn.Architectures, ['arm64']);
  assert.equal(fn.Handler, 'bootstrap');
  assert.equal(fn.MemorySize, spec.memoryMiB);
  assert.equal(fn.Timeout, spec.timeoutSeconds);
  template.hasResourceProperties('AWS::Lambda::Function', {
    Description: fn.Description,
    Environment: { Variables: Match.exact(environment) },
  });
  // JSON logs at the `logLevel` parameter's level, through Lambda's logging configuration
  // (Lambda passes both as AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL); no variable of its own.
  assert.equal(fn.LoggingConfig.LogFormat, 'JSON');
  assert.deepEqual(fn.LoggingConfig.ApplicationLogLevel, { 'Fn::FindInMap': ['LogLevels', { Ref: 'logLevel' }, 'application'] });
  assert.deepEqual(template.toJSON().Mappings.LogLevels, {
    info: { application: 'INFO' },
    debug: { application: 'DEBUG' },
    error: { application: 'ERROR' },
  });
  // Each function logs to its own group, which has a retention.
  const logGroupId = fn.LoggingConfig.LogGroup.Ref;
  assert.equal(template.toJSON().Resources[logGroupId].Properties.RetentionInDays, contract.LOG_RETENTION_DAYS);
}

/** Registers the template suites for the synthesized `templates` ({common, slack}). */
module.exports = function templateSuites({ templates }) {
  const common = templates.common;
  const slack = templates.slack;
  const commonJson = common.toJSON();
  const slackJson = slack.toJSON();

  describe('common stack', () => {
    it('has one on-demand table with pk/sk string keys, TTL on expires_at, PITR and encryption', () => {
      common.resourceCountIs('AWS::DynamoDB::Table', 1);
      common.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: {
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
          SSESpecification: { SSEEnabled: true },
          GlobalSecondaryIndexes: Match.absent(),
          LocalSecondaryIndexes: Match.absent(),
        },
      });
    });

    it('uses the key names of the local world (crates/aws-local) and of docs/data-model.md', () => {
      const tableRs = fs.readFileSync(path.join(REPO_ROOT, 'crates', 'aws-local', 'src', 'table.rs'), 'utf8');
      const rustConstant = (name) => {
        const match = tableRs.match(new RegExp(`pub const ${name}: &str = "([^"]+)";`));
        assert.ok(match, `${name} not found in crates/aws-local/src/table.rs`);
        return match[1];
      };
      assert.equal(rustConstant('TABLE_PARTITION_KEY'), contract.TABLE.partitionKey);
      assert.equal(rustConstant('TABLE_SORT_KEY'), contract.TABLE.sortKey);
      assert.equal(rustConstant('TABLE_TTL_ATTRIBUTE'), contract.TABLE.ttlAttribute);
      const dataModel = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'data-model.md'), 'utf8');
      for (const name of Object.values(contract.TABLE)) {
        assert.ok(dataModel.includes(`\`${name}\``), `docs/data-model.md names \`${name}\``);
      }
    });

    it('has the integration bus, named after the stack, with an archive of every integration event', () => {
      common.resourceCountIs('AWS::Events::EventBus', 1);
      common.hasResourceProperties('AWS::Events::EventBus', {
        Name: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, '-integration']] },
      });
      const busId = logicalId(common, 'AWS::Events::EventBus', 'IntegrationBus');
      common.resourceCountIs('AWS::Events::Archive', 1);
      common.hasResourceProperties('AWS::Events::Archive', {
        ArchiveName: 'sirslack-integration-events',
        SourceArn: getAttArn(busId),
        RetentionDays: contract.ARCHIVE_RETENTION_DAYS,
        // The poller's events only: the events handler's lazy work (Slack message text) is not kept.
        EventPattern: Match.exact({ source: ['sirslack.poller'] }),
      });
    });

    it('runs the poller on arm64 provided.al2023 with exactly its environment', () => {
      common.resourceCountIs('AWS::Lambda::Function', 1);
      assertFunction(common, functionId(common, 'PollerFunction'), contract.FUNCTIONS.poller, {
        TABLE_NAME: { Ref: logicalId(common, 'AWS::DynamoDB::Table', 'IntegrationTable') },
        EVENT_BUS_NAME: { Ref: logicalId(common, 'AWS::Events::EventBus', 'IntegrationBus') },
        ATTACHMENT_RECHECK_MINUTES: { Ref: 'attachmentRecheckMinutes' },
        SYNC_CASES_UPDATED_SINCE: { Ref: 'syncCasesUpdatedSince' },
        NUDGE_QUIET_HOURS: { Ref: 'quietCaseNudgeHours' },
        NUDGE_QUIET_HOURS_EARLY: { Ref: 'quietCaseNudgeHoursEarly' },
        RECONCILE_LEASE_SECONDS: '300',
      });
      // docs/poller.md: the reconcile lease is set to the function timeout.
      assert.equal(contract.FUNCTIONS.poller.timeoutSeconds, 300);
    });

    it('sends the poller\'s failed async invocations to its DLQ after 2 retries', () => {
      const dlqId = logicalId(common, 'AWS::SQS::Queue', 'PollerDeadLetters');
      common.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: { TargetArn: getAttArn(dlqId) } });
      common.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionId(common, 'PollerFunction') },
        MaximumRetryAttempts: contract.ASYNC_RETRY_ATTEMPTS,
        MaximumEventAgeInSeconds: 3600,
      });
    });

    it('wakes the poller on a schedule and on SIR native events on the default bus', () => {
      const pollerArn = getAttArn(functionId(common, 'PollerFunction'));
      const dlqArn = getAttArn(logicalId(common, 'AWS::SQS::Queue', 'PollerDeadLetters'));
      const target = [{ Arn: pollerArn, Id: Match.anyValue(), DeadLetterConfig: { Arn: dlqArn }, RetryPolicy: Match.anyValue() }];
      common.resourceCountIs('AWS::Events::Rule', 2);
      common.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: { Ref: 'pollSchedule' },
        EventBusName: Match.absent(),
        Targets: target,
      });
      common.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.exact({
          source: ['aws.security-ir'],
          'detail-type': [{ 'anything-but': ['AWS API Call via CloudTrail'] }],
        }),
        EventBusName: Match.absent(),
        Targets: target,
      });
      assert.deepEqual(commonJson.Parameters.pollSchedule.Default, 'rate(5 minutes)');
      // EventBridge may invoke the poller only from these two rules.
      const permissions = common.findResources('AWS::Lambda::Permission');
      assert.equal(Object.keys(permissions).length, 2);
      for (const permission of Object.values(permissions)) {
        assert.equal(permission.Properties.Principal, 'events.amazonaws.com');
        assert.ok(permission.Properties.SourceArn['Fn::GetAtt'], 'permission scoped to a rule');
      }
    });

    it('has the logLevel, pollSchedule, attachmentRecheckMinutes, syncCasesUpdatedSince, quietCaseNudgeHours(Early) and alarmEmail parameters', () => {
      assert.deepEqual(commonJson.Parameters.logLevel.AllowedValues, ['info', 'debug', 'error']);
      assert.equal(commonJson.Parameters.logLevel.Default, 'error');
      assert.equal(commonJson.Parameters.attachmentRecheckMinutes.Default, 15);
      assert.equal(commonJson.Parameters.alarmEmail.Default, '');
      assert.equal(commonJson.Parameters.syncCasesUpdatedSince.Default, '');
      assert.equal(commonJson.Parameters.quietCaseNudgeHours.Default, 24);
      assert.equal(commonJson.Parameters.quietCaseNudgeHoursEarly.Default, 4);
      assert.equal(commonJson.Parameters.quietCaseNudgeHours.MinValue, 0);
      assert.equal(commonJson.Parameters.quietCaseNudgeHoursEarly.MinValue, 0);
      const floor = new RegExp(commonJson.Parameters.syncCasesUpdatedSince.AllowedPattern);
      for (const good of ['', '2026-01-01T00:00:00Z', '2026-05-04T10:11:12.345Z']) assert.ok(floor.test(good), good);
      for (const bad of ['2026-01-01', 'yesterday', '2026-01-01T00:00:00+01:00']) assert.ok(!floor.test(bad), bad);
      assert.deepEqual(
        Object.keys(commonJson.Parameters).sort(),
        ['BootstrapVersion', 'alarmEmail', 'attachmentRecheckMinutes', 'logLevel', 'pollSchedule', 'quietCaseNudgeHours', 'quietCaseNudgeHoursEarly', 'syncCasesUpdatedSince'],
      );
    });

    it('outputs what the Slack stack and the deploy CLI need', () => {
      for (const output of ['TableName', 'TableArn', 'EventBusName', 'EventBusArn', 'EventArchiveName', 'PollerFunctionName', 'PollerDeadLetterQueueUrl', 'AlarmTopicArn']) {
        assert.ok(commonJson.Outputs[output], `output ${output}`);
      }
    });
  });

  describe('Slack stack', () => {
    const table = importOf('ExportsOutputRefIntegrationTable');
    const bus = importOf('ExportsOutputRefIntegrationBus');

    it('has exactly three functions: Slack client, events handler, command handler', () => {
      slack.resourceCountIs('AWS::Lambda::Function', 3);
    });

    it('runs the Slack client for 15 minutes with 512 MB and exactly its environment', () => {
      assertFunction(slack, functionId(slack, 'SlackClientFunction'), contract.FUNCTIONS.slackClient, {
        TABLE_NAME: table,
        SLACK_BOT_TOKEN_PARAMETER: prefixed('/slackBotToken'),
        CHANNEL_PREFIX_PARAMETER: prefixed('/slackChannelPrefix'),
        CHANNEL_VISIBILITY: { Ref: 'channelVisibility' },
        ARCHIVE_ON_CLOSE: { Ref: 'archiveOnClose' },
        MAX_ATTACHMENT_BYTES: { Ref: 'maxAttachmentBytes' },
        SECRETS_CACHE_TTL_SECONDS: '300',
        GAP_SKIP_RECEIVE_COUNT: '4',
        CASE_WAIT_SECONDS: '20',
        DEADLINE_MARGIN_SECONDS: '10',
        MAX_CONCURRENT_CASES: '4',
        REDELIVERY_FIRST_DELAY_SECONDS: '60',
        REDELIVERY_MAX_DELAY_SECONDS: '600',
      });
      assert.equal(contract.FUNCTIONS.slackClient.timeoutSeconds, 900);
      assert.equal(contract.FUNCTIONS.slackClient.memoryMiB, 512);
    });

    it('runs the events handler for 15 minutes (lazy file transfers) with exactly its environment', () => {
      assertFunction(slack, functionId(slack, 'EventsHandlerFunction'), contract.FUNCTIONS.eventsHandler, {
        TABLE_NAME: table,
        SLACK_SIGNING_SECRET_PARAMETER: prefixed('/slackSigningSecret'),
        SLACK_BOT_TOKEN_PARAMETER: prefixed('/slackBotToken'),
        SLACK_WORKSPACE_ID_PARAMETER: prefixed('/slackWorkspaceId'),
        SLACK_APP_ID: { Ref: 'slackAppId' },
        COMMAND_HANDLER_FUNCTION_NAME: { Ref: functionId(slack, 'CommandHandlerFunction') },
        EVENT_BUS_NAME: bus,
        SECRETS_CACHE_TTL_SECONDS: '300',
      });
      assert.equal(contract.FUNCTIONS.eventsHandler.timeoutSeconds, 900);
    });

    it('reserves the events handler\'s concurrency (parameter, default 10; 0 reserves nothing); no other function reserves any', () => {
      const json = slack.toJSON();
      const id = functionId(slack, 'EventsHandlerFunction');
      const { parameter, reserved, accountUnreservedMinimum } = contract.EVENTS_HANDLER_CONCURRENCY;
      assert.deepEqual(json.Resources[id].Properties.ReservedConcurrentExecutions, {
        'Fn::If': ['ReservesEventsHandlerConcurrency', { Ref: parameter }, { Ref: 'AWS::NoValue' }],
      });
      assert.deepEqual(json.Conditions.ReservesEventsHandlerConcurrency, {
        'Fn::Not': [{ 'Fn::Equals': [{ Ref: parameter }, '0'] }],
      });
      const p = json.Parameters[parameter];
      assert.equal(p.Type, 'Number');
      assert.equal(p.Default, reserved);
      assert.equal(p.MinValue, 0);
      // A modest default: any account whose limit is the usual 1000 keeps far more than Lambda's
      // unreserved minimum.
      assert.ok(reserved > 0 && reserved <= 1000 - accountUnreservedMinimum - 100, `${reserved}`);
      // The deploy CLI passes 0 in an account whose limit is below reserved + minimum.
      const cli = 'crates/cli/src/commands/deploy.rs';
      assert.equal(rustString(cli, 'RESERVED_CONCURRENCY_PARAMETER'), parameter);
      assert.equal(rustInteger(cli, 'RESERVED_CONCURRENCY_DEFAULT'), reserved);
      assert.equal(rustInteger(cli, 'ACCOUNT_UNRESERVED_MINIMUM'), accountUnreservedMinimum);
      for (const [other, resource] of Object.entries(json.Resources)) {
        if (resource.Type === 'AWS::Lambda::Function' && other !== id) {
          assert.equal(resource.Properties.ReservedConcurrentExecutions, undefined, other);
        }
      }
      for (const resource of Object.values(common.toJSON().Resources)) {
        if (resource.Type === 'AWS::Lambda::Function') {
          assert.equal(resource.Properties.ReservedConcurrentExecutions, undefined);
        }
      }
    });

    it('takes the Slack app ID as an optional parameter (empty: api_app_id not checked)', () => {
      const p = slack.toJSON().Parameters.slackAppId;
      assert.equal(p.Default, '');
      const pattern = new RegExp(p.AllowedPattern);
      for (const good of ['', 'A0123456789', 'A0STANDAPP']) assert.ok(pattern.test(good), good);
      for (const bad of ['T0123456789', 'a0123456789', 'A01', 'A0123456789 ']) assert.ok(!pattern.test(bad), bad);
      // The same shape the events handler accepts (crates/events-handler/src/config.rs is_app_id).
      const rust = fs.readFileSync(path.join(REPO_ROOT, 'crates/events-handler/src/config.rs'), 'utf8');
      assert.match(rust, /id\.len\(\) >= 9\s*&& id\.len\(\) <= 16\s*&& id\.starts_with\('A'\)/);
    });

    it('gives the events handler time for its worst-case file transfer; API Gateway keeps its own 29 s', () => {
      // crates/events-handler: each copy is cut at DEFAULT_TRANSFER_TIMEOUT, a transient failure
      // is retried up to TRANSFER_ATTEMPTS in all with doubling pauses from TRANSFER_BACKOFF.
      const copySeconds = rustDurationSeconds('crates/events-handler/src/config.rs', 'DEFAULT_TRANSFER_TIMEOUT');
      const attempts = rustInteger('crates/events-handler/src/listeners/file.rs', 'TRANSFER_ATTEMPTS');
      const firstPause = rustDurationSeconds('crates/events-handler/src/listeners/file.rs', 'TRANSFER_BACKOFF');
      const pauses = firstPause * (2 ** (attempts - 1) - 1);
      // files.info, the upload URL, GetCase, the comment and the ephemeral notes around the copies.
      const surroundingCallsSeconds = 60;
      const needed = attempts * copySeconds + pauses + surroundingCallsSeconds;
      const timeout = contract.FUNCTIONS.eventsHandler.timeoutSeconds;
      assert.ok(timeout >= needed, `events handler timeout ${timeout} s >= ${needed} s`);
      assert.ok(timeout <= 900, 'Lambda allows at most 15 minutes');
      // The ack path stays bounded by API Gateway's integration timeout (29 s, the default).
      const method = Object.values(slack.findResources('AWS::ApiGateway::Method'))[0];
      const integrationTimeout = method.Properties.Integration.TimeoutInMillis ?? 29_000;
      assert.ok(integrationTimeout <= 29_000, `integration timeout ${integrationTimeout} ms`);
    });

    it('runs the command handler for 30 s with exactly its environment', () => {
      assertFunction(slack, functionId(slack, 'CommandHandlerFunction'), contract.FUNCTIONS.commandHandler, {
        TABLE_NAME: table,
        SLACK_BOT_TOKEN_PARAMETER: prefixed('/slackBotToken'),
        COMMAND_POLICY_PARAMETER: prefixed('/slackCommandPolicy'),
        OTP_SECRET_PARAMETER_PREFIX: prefixed('/slackUsers/'),
        SECRETS_CACHE_TTL_SECONDS: '300',
        CHANNEL_VISIBILITY: { Ref: 'channelVisibility' },
        EVENT_BUS_NAME: bus,
      });
      assert.equal(contract.FUNCTIONS.commandHandler.timeoutSeconds, 30);
    });

    it('routes the events handler\'s lazy work from the bus back to it, with retries and a DLQ', () => {
      // The event the handlers publish (crates/bus/src/lazy_work.rs) and the one it accepts.
      const invokeRs = 'crates/bus/src/lazy_work.rs';
      assert.equal(contract.LAZY_WORK_EVENT_SOURCE, rustString(invokeRs, 'LAZY_EVENT_SOURCE'));
      assert.equal(contract.LAZY_WORK_DETAIL_TYPE, rustString(invokeRs, 'LAZY_EVENT_DETAIL_TYPE'));
      const handlerId = functionId(slack, 'EventsHandlerFunction');
      const dlqId = logicalId(slack, 'AWS::SQS::Queue', 'EventsHandlerDeadLetters');
      const ruleId = logicalId(slack, 'AWS::Events::Rule', 'EventsHandlerLazyWorkRule');
      slack.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: bus,
        EventPattern: Match.exact({ source: ['sirslack.slack-events-handler'], 'detail-type': ['Slack Lazy Work'] }),
        Targets: [
          {
            Arn: getAttArn(handlerId),
            Id: Match.anyValue(),
            DeadLetterConfig: { Arn: getAttArn(dlqId) },
            RetryPolicy: { MaximumRetryAttempts: contract.ASYNC_RETRY_ATTEMPTS, MaximumEventAgeInSeconds: 3600 },
          },
        ],
      });
      // A run that crashes or times out is retried by Lambda, then goes to the same DLQ.
      const fn = slackJson.Resources[handlerId].Properties;
      assert.deepEqual(fn.DeadLetterConfig, { TargetArn: getAttArn(dlqId) });
      slack.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: handlerId },
        MaximumRetryAttempts: contract.ASYNC_RETRY_ATTEMPTS,
        MaximumEventAgeInSeconds: 3600,
      });
      // EventBridge may invoke the handler from this rule only, and send to the DLQ for it only.
      slack.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'events.amazonaws.com',
        FunctionName: getAttArn(handlerId),
        SourceArn: getAttArn(ruleId),
      });
      slack.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: dlqId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: 'sqs:SendMessage',
              Principal: { Service: 'events.amazonaws.com' },
              Condition: { ArnEquals: { 'aws:SourceArn': getAttArn(ruleId) } },
            }),
          ]),
        },
      });
      assert.deepEqual(slackJson.Outputs.EventsHandlerDeadLetterQueueUrl.Value, { Ref: dlqId });
    });

    it('sweeps the events handler\'s channel lanes on a schedule, with retries and its DLQ', () => {
      const handlerId = functionId(slack, 'EventsHandlerFunction');
      const dlqId = logicalId(slack, 'AWS::SQS::Queue', 'EventsHandlerDeadLetters');
      const ruleId = logicalId(slack, 'AWS::Events::Rule', 'EventsHandlerLaneSweepRule');
      assert.equal(contract.LANE_SWEEP_SCHEDULE, 'rate(5 minutes)');
      const rule = slackJson.Resources[ruleId].Properties;
      // The account's default bus, as every schedule.
      assert.equal(rule.EventBusName, undefined);
      assert.equal(rule.ScheduleExpression, contract.LANE_SWEEP_SCHEDULE);
      assert.deepEqual(rule.Targets, [
        {
          Arn: getAttArn(handlerId),
          Id: rule.Targets[0].Id,
          DeadLetterConfig: { Arn: getAttArn(dlqId) },
          RetryPolicy: { MaximumRetryAttempts: contract.ASYNC_RETRY_ATTEMPTS, MaximumEventAgeInSeconds: 600 },
        },
      ]);
      slack.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'events.amazonaws.com',
        FunctionName: getAttArn(handlerId),
        SourceArn: getAttArn(ruleId),
      });
      // The handler recognises the Scheduled Event it delivers (crates/events-handler/src/handler.rs).
      const handlerRs = fs.readFileSync(path.join(REPO_ROOT, 'crates/events-handler/src/handler.rs'), 'utf8');
      assert.match(handlerRs, /Some\("aws\.events"\)/);
      assert.match(handlerRs, /Some\("Scheduled Event"\)/);
    });

    it('alarms on repeated wrong one-time codes, from the metric the command handler emits', () => {
      const { SECURITY_REFUSALS } = contract;
      slack.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'sirslack',
        MetricName: 'SecurityRefusals',
        Dimensions: Match.arrayWith([
          { Name: 'Function', Value: 'command-handler' },
          { Name: 'Reason', Value: 'code_invalid' },
        ]),
        Statistic: 'Sum',
        Period: 300,
        Threshold: SECURITY_REFUSALS.wrongCodeAlarmThreshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmDescription: Match.stringLikeRegexp('wrong /security-ir one-time codes'),
      });
      // The names the Rust code emits.
      const authorizeRs = 'crates/command-handler/src/authorize/mod.rs';
      assert.equal(rustString(authorizeRs, 'SECURITY_METRICS_NAMESPACE'), SECURITY_REFUSALS.namespace);
      assert.equal(rustString(authorizeRs, 'SECURITY_REFUSALS_METRIC'), SECURITY_REFUSALS.metricName);
      assert.equal(rustString(authorizeRs, 'METRICS_FUNCTION'), SECURITY_REFUSALS.functionDimension);
      const source = fs.readFileSync(path.join(REPO_ROOT, authorizeRs), 'utf8');
      assert.ok(source.includes(`Self::CodeInvalid => "${SECURITY_REFUSALS.wrongCodeReason}"`));
    });

    it('sends the command handler\'s failed async invocations to its DLQ', () => {
      const dlqId = logicalId(slack, 'AWS::SQS::Queue', 'CommandHandlerDeadLetters');
      const fn = slackJson.Resources[functionId(slack, 'CommandHandlerFunction')].Properties;
      assert.deepEqual(fn.DeadLetterConfig, { TargetArn: getAttArn(dlqId) });
      slack.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionId(slack, 'CommandHandlerFunction') },
        MaximumRetryAttempts: contract.ASYNC_RETRY_ATTEMPTS,
        MaximumEventAgeInSeconds: 900,
      });
    });

    it('routes integration events from the bus to a standard queue with a DLQ (maxReceiveCount 5)', () => {
      const queueId = logicalId(slack, 'AWS::SQS::Queue', 'SlackClientQueue');
      const dlqId = logicalId(slack, 'AWS::SQS::Queue', 'SlackClientDeadLetters');
      const queue = slackJson.Resources[queueId].Properties;
      assert.equal(queue.FifoQueue, undefined, 'a standard queue: per-case order is kept by the app');
      assert.equal(queue.VisibilityTimeout, 900 * 6);
      assert.ok(queue.VisibilityTimeout >= 6 * contract.FUNCTIONS.slackClient.timeoutSeconds);
      assert.deepEqual(queue.RedrivePolicy, { deadLetterTargetArn: getAttArn(dlqId), maxReceiveCount: 5 });
      // This rule, the events handler's lazy-work rule and its lane sweep.
      slack.resourceCountIs('AWS::Events::Rule', 3);
      slack.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: bus,
        EventPattern: Match.exact({
          source: ['sirslack.poller'],
          'detail-type': ['CaseCreated', 'CaseUpdated', 'CommentAdded', 'CommentEdited', 'AttachmentAdded', 'WatchersChanged', 'CaseClosed', 'CaseQuiet'],
        }),
        Targets: [{ Arn: getAttArn(queueId), Id: Match.anyValue(), DeadLetterConfig: { Arn: getAttArn(dlqId) } }],
      });
      // EventBridge may send to the queue only from that rule.
      slack.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
              Principal: { Service: 'events.amazonaws.com' },
              Condition: { ArnEquals: { 'aws:SourceArn': getAttArn(logicalId(slack, 'AWS::Events::Rule', 'SlackClientRule')) } },
            }),
          ]),
        },
      });
    });

    it('tunes the Slack client from the queue it reads: gap skip, visibility, waits', () => {
      const { maxReceiveCount, visibilityTimeoutFactor } = contract.SLACK_CLIENT_QUEUE;
      const settings = contract.SLACK_CLIENT_SETTINGS;
      const timeout = contract.FUNCTIONS.slackClient.timeoutSeconds;
      // A gap is skipped on the last receive before the DLQ (docs/slack-client.md), which is also
      // the crate's own default.
      assert.equal(settings.gapSkipReceiveCount, maxReceiveCount - 1);
      assert.equal(settings.gapSkipReceiveCount, rustInteger('crates/slack-client/src/config.rs', 'DEFAULT_GAP_SKIP_RECEIVE_COUNT'));
      // AWS: visibility >= function timeout. The client: a worker's case lease lasts until its
      // deadline plus LEASE_MARGIN, so a redelivery must not come before the lease is gone.
      const leaseMargin = rustDurationSeconds('crates/slack-client/src/handler.rs', 'LEASE_MARGIN');
      const visibility = slackJson.Resources[logicalId(slack, 'AWS::SQS::Queue', 'SlackClientQueue')].Properties.VisibilityTimeout;
      assert.equal(visibility, timeout * visibilityTimeoutFactor);
      assert.ok(visibility > timeout + leaseMargin, `visibility ${visibility} s > ${timeout} s + ${leaseMargin} s`);
      // Waiting for a busy case and the stop margin leave most of the invocation for work.
      assert.ok(settings.caseWaitSeconds + settings.deadlineMarginSeconds < timeout / 2);
    });

    it('brings a failed event back after a backoff that outlasts a busy case, not the visibility timeout', () => {
      const { maxReceiveCount } = contract.SLACK_CLIENT_QUEUE;
      const settings = contract.SLACK_CLIENT_SETTINGS;
      const timeout = contract.FUNCTIONS.slackClient.timeoutSeconds;
      const redelivery = 'crates/slack-client/src/redelivery.rs';
      // The stacks pass the crate's own defaults: the schedule documented in one place.
      assert.equal(settings.redeliveryFirstDelaySeconds, rustDurationSeconds(redelivery, 'DEFAULT_FIRST_DELAY'));
      assert.equal(settings.redeliveryMaxDelaySeconds, rustDurationSeconds(redelivery, 'DEFAULT_MAX_DELAY'));
      // The schedule (without its jitter, which only adds): delay after the n-th receive.
      const delay = (receive) =>
        Math.min(settings.redeliveryMaxDelaySeconds, settings.redeliveryFirstDelaySeconds * 2 ** (receive - 1));
      const visibility = slackJson.Resources[logicalId(slack, 'AWS::SQS::Queue', 'SlackClientQueue')].Properties.VisibilityTimeout;
      assert.ok(delay(1) < visibility / 10, 'the first retry comes far sooner than the visibility timeout');
      assert.ok(settings.redeliveryMaxDelaySeconds <= visibility, 'the schedule never delays more than the queue would');
      // An event whose case another worker holds spends case_wait per try and then its backoff.
      // Its last try (receive maxReceiveCount) must come after the longest a live worker can hold
      // the lease (its whole invocation plus LEASE_MARGIN), or a busy case would push its events
      // into the DLQ.
      const leaseMargin = rustDurationSeconds('crates/slack-client/src/handler.rs', 'LEASE_MARGIN');
      let lastTry = 0;
      for (let receive = 1; receive < maxReceiveCount; receive += 1) {
        lastTry += settings.caseWaitSeconds + delay(receive);
      }
      assert.ok(lastTry > timeout + leaseMargin, `last try after ${lastTry} s > ${timeout} s + ${leaseMargin} s`);
      // A lost predecessor is skipped on receive gapSkipReceiveCount: within minutes, not hours.
      let gapSkip = 0;
      for (let receive = 1; receive < settings.gapSkipReceiveCount; receive += 1) {
        gapSkip += settings.caseWaitSeconds + delay(receive);
      }
      assert.ok(gapSkip <= 15 * 60, `a gap is skipped after ${gapSkip} s`);
    });

    it('feeds the Slack client in batches of 10 with partial batch failure reporting', () => {
      slack.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      slack.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: getAttArn(logicalId(slack, 'AWS::SQS::Queue', 'SlackClientQueue')),
        FunctionName: { Ref: functionId(slack, 'SlackClientFunction') },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: contract.SLACK_CLIENT_QUEUE.maxConcurrency },
      });
    });

    it('serves POST /slack/events on stage prod through a Lambda proxy integration', () => {
      slack.resourceCountIs('AWS::ApiGateway::RestApi', 1);
      slack.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'slack' });
      slack.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'events' });
      slack.resourceCountIs('AWS::ApiGateway::Method', 1);
      const handlerId = functionId(slack, 'EventsHandlerFunction');
      slack.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'POST',
        AuthorizationType: 'NONE',
        ResourceId: { Ref: logicalId(slack, 'AWS::ApiGateway::Resource', 'SlackEventsApislackevents') },
        Integration: {
          Type: 'AWS_PROXY',
          IntegrationHttpMethod: 'POST',
          Uri: Match.anyValue(),
        },
        RequestParameters: {
          'method.request.header.X-Slack-Signature': true,
          'method.request.header.X-Slack-Request-Timestamp': true,
        },
        RequestValidatorId: { Ref: logicalId(slack, 'AWS::ApiGateway::RequestValidator', 'SlackEventsApiSlackRequestValidator') },
      });
      const method = Object.values(slack.findResources('AWS::ApiGateway::Method'))[0];
      assert.match(JSON.stringify(method.Properties.Integration.Uri), new RegExp(handlerId));
      slack.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestParameters: true, ValidateRequestBody: true });
      slack.hasResourceProperties('AWS::ApiGateway::Model', {
        ContentType: 'application/json',
        Schema: Match.objectLike({ type: 'object', required: ['type'] }),
      });
      // API Gateway may invoke the handler for this method only (no test-invoke permission); the
      // other permissions are the lazy-work rule's and the lane sweep's.
      slack.resourceCountIs('AWS::Lambda::Permission', 3);
      slack.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'apigateway.amazonaws.com',
        FunctionName: getAttArn(handlerId),
        SourceArn: { 'Fn::Join': ['', Match.arrayWith(['/', { Ref: logicalId(slack, 'AWS::ApiGateway::Stage', 'SlackEventsApiDeploymentStageprod') }, '/POST/slack/events'])] },
      });
    });

    it('throttles the stage and logs access without bodies or data trace', () => {
      const stage = Object.values(slack.findResources('AWS::ApiGateway::Stage'));
      assert.equal(stage.length, 1);
      const properties = stage[0].Properties;
      assert.equal(properties.StageName, 'prod');
      assert.deepEqual(properties.MethodSettings, [
        {
          DataTraceEnabled: false,
          HttpMethod: '*',
          LoggingLevel: 'ERROR',
          MetricsEnabled: true,
          ResourcePath: '/*',
          ThrottlingBurstLimit: contract.API_THROTTLING.burstLimit,
          ThrottlingRateLimit: contract.API_THROTTLING.rateLimit,
        },
      ]);
      const format = JSON.parse(properties.AccessLogSetting.Format);
      assert.ok(format.requestId && format.status && format.sourceIp, 'access log has the request essentials');
      for (const value of Object.values(format)) {
        assert.match(value, /^\$context\.(?!.*(body|requestOverride|responseOverride|authorizer))/, `${value} is a safe context variable`);
      }
      assert.match(JSON.stringify(properties.AccessLogSetting.DestinationArn), new RegExp(logicalId(slack, 'AWS::Logs::LogGroup', 'ApiAccessLogs')));
      // The execution log group exists up front so it gets a retention.
      slack.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: logicalId(slack, 'AWS::ApiGateway::RestApi', 'SlackEventsApi') }, '/prod']] },
        RetentionInDays: contract.LOG_RETENTION_DAYS,
      });
    });

    it('sets API Gateway\'s account logging role so access logs work in a fresh account', () => {
      const roleId = logicalId(slack, 'AWS::IAM::Role', 'ApiGatewayCloudWatchRole');
      slack.hasResource('AWS::ApiGateway::Account', {
        Properties: { CloudWatchRoleArn: getAttArn(roleId) },
        DeletionPolicy: 'Retain',
      });
      slack.hasResource('AWS::IAM::Role', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ ManagedPolicyArns: Match.absent() }) });
      const api = slackJson.Resources[logicalId(slack, 'AWS::ApiGateway::RestApi', 'SlackEventsApi')];
      assert.ok(api.DependsOn.includes('ApiGatewayAccount'), 'the API waits for the account role');
      const stage = slackJson.Resources[logicalId(slack, 'AWS::ApiGateway::Stage', 'SlackEventsApiDeploymentStageprod')];
      assert.ok(stage.DependsOn.includes(logicalId(slack, 'AWS::Logs::LogGroup', 'ApiExecutionLogs')), 'the execution log group exists before the stage');
    });

    it('outputs SlackEventsApiEndpoint as the full https URL ending in /prod/slack/events', () => {
      assert.deepEqual(slackJson.Outputs.SlackEventsApiEndpoint.Value, {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: logicalId(slack, 'AWS::ApiGateway::RestApi', 'SlackEventsApi') },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/',
            { Ref: logicalId(slack, 'AWS::ApiGateway::Stage', 'SlackEventsApiDeploymentStageprod') },
            '/slack/events',
          ],
        ],
      });
    });

    it('writes the plain SSM parameters (workspace ID, channel prefix, and always the command policy)', () => {
      slack.resourceCountIs('AWS::SSM::Parameter', 3);
      slack.hasResourceProperties('AWS::SSM::Parameter', { Name: prefixed('/slackWorkspaceId'), Type: 'String', Value: { Ref: 'slackWorkspaceId' } });
      slack.hasResourceProperties('AWS::SSM::Parameter', { Name: prefixed('/slackChannelPrefix'), Type: 'String', Value: { Ref: 'channelPrefix' } });
      // The policy parameter exists whatever is deployed: the handler refuses everything but help
      // when it is missing, so an open policy is the explicit value {"version":1}.
      const [policyParameter] = Object.values(slack.findResources('AWS::SSM::Parameter', {
        Properties: { Name: prefixed('/slackCommandPolicy') },
      }));
      assert.ok(policyParameter, 'the command policy parameter is created');
      assert.equal(policyParameter.Condition, undefined, 'created unconditionally');
      assert.deepEqual(policyParameter.Properties.Value, { Ref: 'commandPolicy' });
      assert.equal(slackJson.Conditions?.HasCommandPolicy, undefined);
      assert.equal(slackJson.Parameters.commandPolicy.Default, contract.OPEN_COMMAND_POLICY);
      assert.equal(slackJson.Parameters.commandPolicy.MinLength, 1);
      const policyRs = 'crates/command-handler/src/authorize/policy.rs';
      const source = fs.readFileSync(path.join(REPO_ROOT, policyRs), 'utf8');
      assert.ok(source.includes(`pub const OPEN_POLICY: &str = r#"${contract.OPEN_COMMAND_POLICY}"#;`), policyRs);
    });

    it('takes only non-secret parameters, with the documented defaults and formats', () => {
      const parameters = slackJson.Parameters;
      assert.deepEqual(Object.keys(parameters).sort(), [
        'BootstrapVersion',
        'alarmEmail',
        'archiveOnClose',
        'channelPrefix',
        'channelVisibility',
        'commandPolicy',
        'eventsHandlerReservedConcurrency',
        'logLevel',
        'maxAttachmentBytes',
        'parameterPrefix',
        'slackAppId',
        'slackWorkspaceId',
      ]);
      assert.equal(parameters.parameterPrefix.Default, '/SecurityIncidentResponse');
      assert.equal(parameters.slackWorkspaceId.AllowedPattern, '^[A-Z0-9]{9,11}$');
      assert.deepEqual(parameters.channelVisibility.AllowedValues, ['private', 'public']);
      assert.equal(parameters.channelVisibility.Default, 'private');
      assert.equal(parameters.channelPrefix.Default, 'aws-security-incident-response-case');
      assert.equal(parameters.archiveOnClose.Default, 'true');
      assert.equal(parameters.maxAttachmentBytes.Default, 104857600);
      assert.equal(parameters.logLevel.Default, 'error');
      assert.equal(parameters.alarmEmail.Default, '');
      for (const [name, parameter] of Object.entries(parameters)) {
        assert.notEqual(parameter.NoEcho, true, `${name} is not a secret`);
      }
    });
  });

  describe('observability, both stacks', () => {
    const both = [
      ['common', common],
      ['slack', slack],
    ];

    /** Alarms of a template, each reduced to metric, dimensions and actions. */
    const alarms = (template) => Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const topicRef = (template) => ({ Ref: logicalId(template, 'AWS::SNS::Topic', 'AlarmsTopic') });

    for (const [name, template] of both) {
      it(`${name}: every alarm notifies the stack's topic on the first breach`, () => {
        const list = alarms(template);
        assert.ok(list.length > 0);
        for (const alarm of list) {
          assert.deepEqual(alarm.AlarmActions, [topicRef(template)]);
          assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
          assert.equal(alarm.TreatMissingData, 'notBreaching');
          assert.ok(alarm.AlarmDescription.startsWith('sirslack: '));
        }
      });

      it(`${name}: every function has an Errors and a Throttles alarm`, () => {
        for (const id of Object.keys(template.findResources('AWS::Lambda::Function'))) {
          for (const metric of ['Errors', 'Throttles']) {
            const found = alarms(template).filter(
              (alarm) =>
                alarm.MetricName === metric &&
                alarm.Namespace === 'AWS/Lambda' &&
                JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: id } }]),
            );
            assert.equal(found.length, 1, `${metric} alarm for ${id}`);
            assert.equal(found[0].Threshold, 1);
          }
        }
      });

      it(`${name}: every dead-letter queue has a depth alarm at one message`, () => {
        const json = template.toJSON();
        const deadLetterIds = new Set();
        for (const [, resource] of resources(template)) {
          const redrive = resource.Type === 'AWS::SQS::Queue' && resource.Properties.RedrivePolicy;
          if (redrive) deadLetterIds.add(redrive.deadLetterTargetArn['Fn::GetAtt'][0]);
          const lambdaDlq = resource.Type === 'AWS::Lambda::Function' && resource.Properties.DeadLetterConfig;
          if (lambdaDlq) deadLetterIds.add(lambdaDlq.TargetArn['Fn::GetAtt'][0]);
          if (resource.Type === 'AWS::Events::Rule') {
            for (const target of resource.Properties.Targets) {
              if (target.DeadLetterConfig) deadLetterIds.add(target.DeadLetterConfig.Arn['Fn::GetAtt'][0]);
            }
          }
        }
        assert.equal(deadLetterIds.size, name === 'common' ? 1 : 3);
        for (const id of deadLetterIds) {
          assert.equal(json.Resources[id].Type, 'AWS::SQS::Queue');
          const found = alarms(template).filter(
            (alarm) =>
              alarm.MetricName === 'ApproximateNumberOfMessagesVisible' &&
              JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }]),
          );
          assert.equal(found.length, 1, `depth alarm for ${id}`);
          assert.equal(found[0].Threshold, 1);
          assert.equal(json.Resources[id].Properties.MessageRetentionPeriod, 14 * 24 * 3600);
        }
      });

      it(`${name}: the alarm topic accepts only SSL and mails the alarmEmail parameter when it is set`, () => {
        template.resourceCountIs('AWS::SNS::Topic', 1);
        template.hasResourceProperties('AWS::SNS::TopicPolicy', {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
        template.hasResource('AWS::SNS::Subscription', {
          Condition: 'HasAlarmEmail',
          Properties: { Protocol: 'email', Endpoint: { Ref: 'alarmEmail' }, TopicArn: topicRef(template) },
        });
      });

      it(`${name}: every log group keeps logs ${contract.LOG_RETENTION_DAYS} days and outlives the stack`, () => {
        const groups = resources(template).filter(([, resource]) => resource.Type === 'AWS::Logs::LogGroup');
        assert.equal(groups.length, name === 'common' ? 1 : 5);
        for (const [id, group] of groups) {
          assert.equal(group.Properties.RetentionInDays, contract.LOG_RETENTION_DAYS, id);
          assert.equal(group.DeletionPolicy, 'Retain', id);
        }
      });

      it(`${name}: every queue is encrypted and accepts only SSL`, () => {
        for (const [id, resource] of resources(template).filter(([, r]) => r.Type === 'AWS::SQS::Queue')) {
          assert.equal(resource.Properties.SqsManagedSseEnabled, true, `${id} encrypted`);
          template.hasResourceProperties('AWS::SQS::QueuePolicy', {
            Queues: [{ Ref: id }],
            PolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
              ]),
            },
          });
        }
      });
    }

    it('slack: the API alarms on 5xx and the Slack client queue on a 15-minute backlog', () => {
      const list = alarms(slack);
      const api5xx = list.filter((alarm) => alarm.MetricName === '5XXError' && alarm.Namespace === 'AWS/ApiGateway');
      assert.equal(api5xx.length, 1);
      assert.deepEqual(
        api5xx[0].Dimensions.map((dimension) => dimension.Name).sort(),
        ['ApiName', 'Stage'],
      );
      const backlog = list.filter((alarm) => alarm.MetricName === 'ApproximateAgeOfOldestMessage');
      assert.equal(backlog.length, 1);
      assert.equal(backlog[0].Threshold, 900);
    });
  });
};
