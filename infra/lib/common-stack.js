'use strict';
// AwsSecurityIncidentResponseSampleIntegrationsCommonStack: the DynamoDB table, the integration
// event bus with its archive, and the SIR poller with its two triggers, its DLQ and its alarms.

const { Aws, CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack } = require('aws-cdk-lib');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const events = require('aws-cdk-lib/aws-events');
const targets = require('aws-cdk-lib/aws-events-targets');
const { NagSuppressions } = require('cdk-nag');
const {
  ARCHIVE_EVENT_PATTERN,
  ARCHIVE_RETENTION_DAYS,
  ASYNC_RETRY_ATTEMPTS,
  DEFAULT_ATTACHMENT_RECHECK_MINUTES,
  QUIET_CASE_NUDGES,
  SYNC_FLOOR,
  DEFAULT_POLL_SCHEDULE,
  FUNCTIONS,
  INTEGRATION_EVENT_SOURCE,
  SIR_NATIVE_EVENT_PATTERN,
  TABLE,
} = require('./contract');
const {
  AlarmTopic,
  DeadLetterQueue,
  RustFunction,
  logLevelParameter,
  toCdkEventPattern,
} = require('./building-blocks');
const { grantSir, grantTable } = require('./permissions');

/** How long Lambda keeps retrying an asynchronous poller invocation before it goes to the DLQ. */
const POLLER_MAX_EVENT_AGE = Duration.hours(1);

class CommonStack extends Stack {
  /**
   * @param {import('constructs').Construct} scope
   * @param {string} id  the stack name
   * @param {object} props  StackProps plus `codeOptions` (see function-code.js) and `archiveName`
   */
  constructor(scope, id, props) {
    const { codeOptions, archiveName, existingTableName, ...stackProps } = props;
    super(scope, id, {
      description: 'sirslack common resources: case table, integration event bus, SIR poller',
      ...stackProps,
    });

    const logLevel = logLevelParameter(this);
    const pollSchedule = new CfnParameter(this, 'pollSchedule', {
      type: 'String',
      default: DEFAULT_POLL_SCHEDULE,
      allowedPattern: '^(rate|cron)\\(.+\\)$',
      description: 'How often the poller reconciles every case with SIR (an EventBridge schedule expression).',
    });
    const attachmentRecheckMinutes = new CfnParameter(this, 'attachmentRecheckMinutes', {
      type: 'Number',
      default: DEFAULT_ATTACHMENT_RECHECK_MINUTES,
      minValue: 1,
      maxValue: 1440,
      description: 'Minutes after which the poller looks at an open case\'s attachments again (SIR has no attachment event).',
    });
    const quietHours = new CfnParameter(this, QUIET_CASE_NUDGES.parameter, {
      type: 'Number',
      default: QUIET_CASE_NUDGES.defaultHours,
      minValue: 0,
      maxValue: QUIET_CASE_NUDGES.maxHours,
      description: 'Hours without activity after which an open case gets a nudge in its channel (and not again sooner); 0 turns nudges off.',
    });
    const quietHoursEarly = new CfnParameter(this, QUIET_CASE_NUDGES.earlyParameter, {
      type: 'Number',
      default: QUIET_CASE_NUDGES.earlyDefaultHours,
      minValue: 0,
      maxValue: QUIET_CASE_NUDGES.maxHours,
      description: 'The same for cases still Submitted or Detection and Analysis (never longer than quietCaseNudgeHours); 0: as other cases.',
    });
    const syncFloor = new CfnParameter(this, SYNC_FLOOR.parameter, {
      type: 'String',
      default: '',
      allowedPattern: SYNC_FLOOR.allowedPattern,
      description: 'Open cases last updated before this UTC time (e.g. 2026-01-01T00:00:00Z) get no channel until they are updated; empty: every open case gets one (the deploy sets it from --sync-existing).',
    });

    // One table for everything (docs/data-model.md): items are read by key, never scanned. A
    // table an earlier stack kept (`existingTableName`) is used as it is, links and all.
    this.table = existingTableName
      ? dynamodb.Table.fromTableName(this, 'IntegrationTable', existingTableName)
      : this.newTable();

    this.bus = new events.EventBus(this, 'IntegrationBus', {
      eventBusName: `${Aws.STACK_NAME}-integration`,
      description: 'sirslack integration events (CaseCreated, CaseUpdated, ...) from the SIR poller',
    });
    // Every integration event is archived, so a consumer's bad day can be replayed. The events
    // handler's lazy work shares the bus but is not kept (contract.js).
    this.archive = this.bus.archive('IntegrationArchive', {
      archiveName,
      description: 'Every sirslack integration event, for replay',
      eventPattern: toCdkEventPattern(ARCHIVE_EVENT_PATTERN),
      retention: Duration.days(ARCHIVE_RETENTION_DAYS),
    });

    this.alarms = new AlarmTopic(this, 'Alarms');

    this.pollerDeadLetters = new DeadLetterQueue(this, 'PollerDeadLetters', {
      purpose: 'a poller invocation that failed every retry (or that EventBridge could not deliver)',
      alarmTopic: this.alarms,
    });

    this.poller = new RustFunction(this, 'Poller', {
      spec: FUNCTIONS.poller,
      codeOptions,
      alarmTopic: this.alarms,
      applicationLogLevel: logLevel.applicationLogLevel,
      environment: {
        TABLE_NAME: this.table.tableName,
        EVENT_BUS_NAME: this.bus.eventBusName,
        ATTACHMENT_RECHECK_MINUTES: attachmentRecheckMinutes.valueAsString,
        [SYNC_FLOOR.variable]: syncFloor.valueAsString,
        [QUIET_CASE_NUDGES.variable]: quietHours.valueAsString,
        [QUIET_CASE_NUDGES.earlyVariable]: quietHoursEarly.valueAsString,
        // A reconcile holds its lease for as long as the invocation may run.
        RECONCILE_LEASE_SECONDS: String(FUNCTIONS.poller.timeoutSeconds),
      },
      functionProps: {
        deadLetterQueue: this.pollerDeadLetters.queue,
        retryAttempts: ASYNC_RETRY_ATTEMPTS,
        maxEventAge: POLLER_MAX_EVENT_AGE,
      },
    });
    grantSir(this.poller, 'poller');
    grantTable(this.poller, 'poller', this.table.tableArn);
    // The poller may publish only its own events, and only on the integration bus.
    this.poller.allow('PublishIntegrationEvents', ['events:PutEvents'], [this.bus.eventBusArn], {
      StringEquals: { 'events:source': INTEGRATION_EVENT_SOURCE },
    });

    const pollerTarget = () =>
      new targets.LambdaFunction(this.poller.function, {
        deadLetterQueue: this.pollerDeadLetters.queue,
        retryAttempts: ASYNC_RETRY_ATTEMPTS,
        maxEventAge: POLLER_MAX_EVENT_AGE,
      });
    this.scheduleRule = new events.Rule(this, 'PollScheduleRule', {
      description: 'sirslack: periodic reconcile of every SIR case',
      schedule: events.Schedule.expression(pollSchedule.valueAsString),
      targets: [pollerTarget()],
    });
    // SIR publishes its native events to the account's default bus (no eventBus given).
    this.sirEventsRule = new events.Rule(this, 'SirNativeEventsRule', {
      description: 'sirslack: SIR case events on the default bus wake the poller for that case',
      eventPattern: toCdkEventPattern(SIR_NATIVE_EVENT_PATTERN),
      targets: [pollerTarget()],
    });

    NagSuppressions.addResourceSuppressions(
      this.poller.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'security-ir:ListCases and security-ir:ListMemberships have no resource type (Service Authorization ' +
            'Reference), so IAM requires Resource "*"; case and membership actions are scoped to this ' +
            'account and region with a resource-ID wildcard because the poller reads every case.',
          appliesTo: [
            'Resource::*',
            'Resource::arn:<AWS::Partition>:security-ir:<AWS::Region>:<AWS::AccountId>:case/*',
            'Resource::arn:<AWS::Partition>:security-ir:<AWS::Region>:<AWS::AccountId>:membership/*',
          ],
        },
      ],
      true,
    );

    const output = (id, value, description) => new CfnOutput(this, id, { value, description });
    output('TableName', this.table.tableName, 'DynamoDB table of the integration');
    output('TableArn', this.table.tableArn, 'ARN of the DynamoDB table');
    output('EventBusName', this.bus.eventBusName, 'Integration event bus');
    output('EventBusArn', this.bus.eventBusArn, 'ARN of the integration event bus');
    output('EventArchiveName', this.archive.archiveName, 'Archive of the integration bus (for replays)');
    output('PollerFunctionName', this.poller.function.functionName, 'SIR poller function');
    output('PollerDeadLetterQueueUrl', this.pollerDeadLetters.queue.queueUrl, 'DLQ of the SIR poller');
    output('AlarmTopicArn', this.alarms.topic.topicArn, 'SNS topic of the common stack\'s alarms');
  }

  /** The integration table, created by this stack. */
  newTable() {
    return new dynamodb.Table(this, 'IntegrationTable', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: TABLE.ttlAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Case <-> channel links and sync state outlive a stack deletion (`destroy` records the
      // table's name and the next deploy adopts it; `destroy --delete-data` deletes it).
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

module.exports = { CommonStack };
