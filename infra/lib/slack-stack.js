'use strict';
// AwsSecurityIncidentResponseSlackIntegrationStack: the Slack client (integration bus -> SQS ->
// Slack), the events handler behind API Gateway, the command handler, their DLQs and alarms, and
// the plain SSM parameters. Secrets never pass through CloudFormation: the deploy CLI writes the
// bot token and signing secret as SecureStrings; this stack only knows their names.

const { Aws, CfnCondition, CfnOutput, CfnParameter, Duration, Fn, RemovalPolicy, Stack } = require('aws-cdk-lib');
const apigateway = require('aws-cdk-lib/aws-apigateway');
const cloudwatch = require('aws-cdk-lib/aws-cloudwatch');
const events = require('aws-cdk-lib/aws-events');
const targets = require('aws-cdk-lib/aws-events-targets');
const iam = require('aws-cdk-lib/aws-iam');
const { SqsEventSource } = require('aws-cdk-lib/aws-lambda-event-sources');
const logs = require('aws-cdk-lib/aws-logs');
const sqs = require('aws-cdk-lib/aws-sqs');
const ssm = require('aws-cdk-lib/aws-ssm');
const { NagSuppressions } = require('cdk-nag');
const {
  API_EVENTS_PATH,
  API_STAGE_NAME,
  API_THROTTLING,
  ASYNC_RETRY_ATTEMPTS,
  CHANNEL_VISIBILITIES,
  DEFAULT_CHANNEL_PREFIX,
  EVENTS_HANDLER_CONCURRENCY,
  FUNCTIONS,
  LAZY_WORK_EVENT_PATTERN,
  LAZY_WORK_EVENT_SOURCE,
  LANE_SWEEP_SCHEDULE,
  LOG_RETENTION_DAYS,
  OPEN_COMMAND_POLICY,
  SECURITY_REFUSALS,
  MAX_ATTACHMENT_BYTES,
  PARAMETER_SUFFIXES,
  SECRETS_CACHE_TTL_SECONDS,
  SLACK_CLIENT_EVENT_PATTERN,
  SLACK_CLIENT_QUEUE,
  SLACK_CLIENT_SETTINGS,
} = require('./contract');
const {
  ALARM_PERIOD,
  AlarmTopic,
  DeadLetterQueue,
  RustFunction,
  alarmOn,
  logLevelParameter,
  regionalArn,
  toCdkEventPattern,
} = require('./building-blocks');
const { grantOwnQueue, grantSir, grantTable } = require('./permissions');

/** A slash command's async invocation is worth retrying while its response_url (30 min) lives. */
const COMMAND_MAX_EVENT_AGE = Duration.minutes(15);

/**
 * Lazy work (a Slack message copied to SIR, a file streamed to a case) is still worth doing an
 * hour late; Lambda retries a crashed or timed-out run within that, then the DLQ takes it.
 */
const LAZY_WORK_MAX_EVENT_AGE = Duration.hours(1);

/** A lane sweep that could not run is superseded by the next one (every 5 minutes). */
const LANE_SWEEP_MAX_EVENT_AGE = Duration.minutes(10);

/** The Slack client queue alarms when its oldest message has waited this long. */
const SLACK_CLIENT_BACKLOG_ALARM_SECONDS = 900;

/**
 * Fields of each API Gateway access log line. Request and response bodies are never logged (Slack
 * bodies carry `response_url`s and message text), nor is any header or query string.
 */
const ACCESS_LOG_FIELDS = Object.freeze({
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  errorMessage: '$context.error.message',
  validationError: '$context.error.validationErrorString',
});

/** Headers every Slack request carries; API Gateway rejects a request without them (400). */
const REQUIRED_SLACK_HEADERS = Object.freeze(['X-Slack-Signature', 'X-Slack-Request-Timestamp']);

class SlackStack extends Stack {
  /**
   * @param {import('constructs').Construct} scope
   * @param {string} id  the stack name
   * @param {object} props  StackProps plus:
   *   common: the CommonStack (table and bus come from it as cross-stack references);
   *   codeOptions: see function-code.js;
   *   defaultParameterPrefix: default of the `parameterPrefix` stack parameter;
   *   secretsKmsKeyArn: the KMS key of the SecureStrings, when it is not the AWS-managed aws/ssm key;
   *   apiGatewayCloudWatchRole: whether this stack sets API Gateway's account-level logging role.
   */
  constructor(scope, id, props) {
    const {
      common,
      codeOptions,
      defaultParameterPrefix,
      secretsKmsKeyArn,
      apiGatewayCloudWatchRole = true,
      ...stackProps
    } = props;
    super(scope, id, {
      description: 'sirslack Slack integration: Slack client, events API, command handler',
      ...stackProps,
    });

    // ---- parameters: nothing secret; the secrets live in SSM SecureStrings written by the CLI.
    const logLevel = logLevelParameter(this);
    const parameterPrefix = new CfnParameter(this, 'parameterPrefix', {
      type: 'String',
      default: defaultParameterPrefix,
      allowedPattern: '^(/[A-Za-z0-9_.-]+)+$',
      constraintDescription: 'an SSM path such as /SecurityIncidentResponse (no trailing slash)',
      description: 'SSM path under which this deployment\'s parameters live (one path per Slack workspace).',
    });
    const workspaceId = new CfnParameter(this, 'slackWorkspaceId', {
      type: 'String',
      allowedPattern: '^[A-Z0-9]{9,11}$',
      constraintDescription: 'a Slack workspace ID such as T1234567890',
      description: 'Slack workspace ID (team_id) every request must come from.',
    });
    const appId = new CfnParameter(this, 'slackAppId', {
      type: 'String',
      default: '',
      allowedPattern: '^(A[A-Z0-9]{8,15})?$',
      constraintDescription: 'empty, or a Slack app ID such as A0123456789',
      description:
        'Slack app ID (api_app_id, under Basic Information > App Credentials) every event, command and ' +
        'action must be for; requests for another app are acknowledged and ignored. Empty: not checked.',
    });
    const eventsHandlerReservedConcurrency = new CfnParameter(this, EVENTS_HANDLER_CONCURRENCY.parameter, {
      type: 'Number',
      default: EVENTS_HANDLER_CONCURRENCY.reserved,
      minValue: 0,
      maxValue: 1000,
      description:
        `Concurrency reserved for the events handler (Slack's 3-second acks, and its lazy work); also its ceiling. ` +
        `0 reserves nothing: needed when the account's Lambda concurrency limit minus this value would fall ` +
        `below ${EVENTS_HANDLER_CONCURRENCY.accountUnreservedMinimum}.`,
    });
    const channelPrefix = new CfnParameter(this, 'channelPrefix', {
      type: 'String',
      default: DEFAULT_CHANNEL_PREFIX,
      allowedPattern: '^[a-z0-9_-]{1,60}$',
      constraintDescription: 'lowercase letters, digits, - and _ (at most 60 characters)',
      description: 'Prefix of case channel names (<prefix>-<caseId>).',
    });
    const channelVisibility = new CfnParameter(this, 'channelVisibility', {
      type: 'String',
      allowedValues: [...CHANNEL_VISIBILITIES],
      default: 'private',
      description: 'Whether case channels are private (default) or public.',
    });
    const commandPolicy = new CfnParameter(this, 'commandPolicy', {
      type: 'String',
      default: OPEN_COMMAND_POLICY,
      minLength: 1,
      maxLength: 4096,
      description:
        '/security-ir authorization policy (JSON). Default {"version":1}: channel members may run every ' +
        'command. Always written: a missing, blank or unreadable policy refuses every command but help.',
    });
    const archiveOnClose = new CfnParameter(this, 'archiveOnClose', {
      type: 'String',
      allowedValues: ['true', 'false'],
      default: 'true',
      description: 'Whether a case channel is archived when the case closes.',
    });
    const maxAttachmentBytes = new CfnParameter(this, 'maxAttachmentBytes', {
      type: 'Number',
      default: MAX_ATTACHMENT_BYTES,
      minValue: 1,
      maxValue: MAX_ATTACHMENT_BYTES,
      description: 'Largest SIR attachment copied to Slack; bigger ones are announced by name and size.',
    });

    // ---- SSM parameter names (and their ARNs) of this deployment.
    const prefix = parameterPrefix.valueAsString;
    const parameterNames = Object.fromEntries(
      Object.entries(PARAMETER_SUFFIXES).map(([key, suffix]) => [key, `${prefix}${suffix}`]),
    );
    const parameterArn = (name) => regionalArn('ssm', `parameter${name}`);
    const otpSecretsPattern = `${parameterNames.otpSecretsPath}*`;

    new ssm.CfnParameter(this, 'WorkspaceIdParameter', {
      name: parameterNames.workspaceId,
      type: 'String',
      value: workspaceId.valueAsString,
      description: 'sirslack: Slack workspace ID (team_id) of this deployment',
    });
    new ssm.CfnParameter(this, 'ChannelPrefixParameter', {
      name: parameterNames.channelPrefix,
      type: 'String',
      value: channelPrefix.valueAsString,
      description: 'sirslack: prefix of case channel names',
    });
    // Always created: an open policy is a value, never an absence (the handler fails closed).
    new ssm.CfnParameter(this, 'CommandPolicyParameter', {
      name: parameterNames.commandPolicy,
      type: 'String',
      value: commandPolicy.valueAsString,
      description: 'sirslack: /security-ir authorization policy',
    });

    const table = common.table;
    const bus = common.bus;
    this.alarms = new AlarmTopic(this, 'Alarms');
    const secretsKey = secretsKmsKeyArn ?? regionalArn('kms', 'key/*');

    // Reading SecureStrings: GetParameter on exactly these names, and kms:Decrypt only through
    // SSM and only for these parameters (SSM passes the parameter ARN as encryption context).
    const allowSecretReads = (rustFunction, plainNames, secretNames, secretPatterns = []) => {
      const secretArns = [...secretNames.map(parameterArn), ...secretPatterns.map(parameterArn)];
      rustFunction.allow('ReadOwnParameters', ['ssm:GetParameter'], [...plainNames.map(parameterArn), ...secretArns]);
      rustFunction.allow('DecryptOwnSecureStrings', ['kms:Decrypt'], [secretsKey], {
        StringEquals: { 'kms:ViaService': `ssm.${Aws.REGION}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': secretArns },
      });
    };
    // ---- command handler: invoked asynchronously by the events handler.
    this.commandDeadLetters = new DeadLetterQueue(this, 'CommandHandlerDeadLetters', {
      purpose: 'a /security-ir command or button action that failed every retry',
      alarmTopic: this.alarms,
    });
    this.commandHandler = new RustFunction(this, 'CommandHandler', {
      spec: FUNCTIONS.commandHandler,
      codeOptions,
      alarmTopic: this.alarms,
      applicationLogLevel: logLevel.applicationLogLevel,
      environment: {
        TABLE_NAME: table.tableName,
        SLACK_BOT_TOKEN_PARAMETER: parameterNames.botToken,
        COMMAND_POLICY_PARAMETER: parameterNames.commandPolicy,
        OTP_SECRET_PARAMETER_PREFIX: parameterNames.otpSecretsPath,
        SECRETS_CACHE_TTL_SECONDS: String(SECRETS_CACHE_TTL_SECONDS),
        // Public case channels: changing a case needs a command policy rule.
        CHANNEL_VISIBILITY: channelVisibility.valueAsString,
        // The events handler's lazy work it hands over (a forwarded message's files) goes on the bus.
        EVENT_BUS_NAME: bus.eventBusName,
      },
      functionProps: {
        deadLetterQueue: this.commandDeadLetters.queue,
        retryAttempts: ASYNC_RETRY_ATTEMPTS,
        maxEventAge: COMMAND_MAX_EVENT_AGE,
      },
    });
    // Repeated wrong one-time codes: someone guessing, or a person locked out. Counted from the
    // handler's embedded-metric lines (no metric filter, no extra permission).
    this.wrongCodesAlarm = alarmOn(this, 'WrongOneTimeCodesAlarm', {
      metric: new cloudwatch.Metric({
        namespace: SECURITY_REFUSALS.namespace,
        metricName: SECURITY_REFUSALS.metricName,
        dimensionsMap: { Function: SECURITY_REFUSALS.functionDimension, Reason: SECURITY_REFUSALS.wrongCodeReason },
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: SECURITY_REFUSALS.wrongCodeAlarmThreshold,
      description:
        'sirslack: repeated wrong /security-ir one-time codes; see the command handler\'s "security refusal" log lines.',
      alarmTopic: this.alarms,
    });
    grantSir(this.commandHandler, 'commandHandler');
    grantTable(this.commandHandler, 'commandHandler', table.tableArn);
    allowSecretReads(this.commandHandler, [parameterNames.commandPolicy], [parameterNames.botToken], [otpSecretsPattern]);
    // "Send to SIR case" with the files asked for: the copy is the events handler's lazy work
    // (forward_files), put on the bus with the events handler's lazy-work source and nothing else.
    // The events handler checks each such job against the table before it copies anything.
    this.commandHandler.allow('HandOffLazyWork', ['events:PutEvents'], [bus.eventBusArn], {
      StringEquals: { 'events:source': LAZY_WORK_EVENT_SOURCE },
    });

    // ---- events handler: behind API Gateway, acknowledges Slack within its 3 s; what does not
    // fit goes out as a lazy-work event on the integration bus and comes back through a rule.
    this.eventsHandlerDeadLetters = new DeadLetterQueue(this, 'EventsHandlerDeadLetters', {
      purpose: 'lazy work of the events handler that failed every retry (or that EventBridge could not deliver)',
      alarmTopic: this.alarms,
    });
    this.eventsHandler = new RustFunction(this, 'EventsHandler', {
      spec: FUNCTIONS.eventsHandler,
      codeOptions,
      alarmTopic: this.alarms,
      applicationLogLevel: logLevel.applicationLogLevel,
      environment: {
        TABLE_NAME: table.tableName,
        SLACK_SIGNING_SECRET_PARAMETER: parameterNames.signingSecret,
        SLACK_BOT_TOKEN_PARAMETER: parameterNames.botToken,
        SLACK_WORKSPACE_ID_PARAMETER: parameterNames.workspaceId,
        // Empty (the default) leaves api_app_id unchecked.
        SLACK_APP_ID: appId.valueAsString,
        COMMAND_HANDLER_FUNCTION_NAME: this.commandHandler.function.functionName,
        // Set: lazy work travels through the bus (and the rule below), not a self-invocation.
        EVENT_BUS_NAME: bus.eventBusName,
        SECRETS_CACHE_TTL_SECONDS: String(SECRETS_CACHE_TTL_SECONDS),
      },
      // Applies to the asynchronous invocations only (the lazy-work rule); API Gateway's are synchronous.
      functionProps: {
        deadLetterQueue: this.eventsHandlerDeadLetters.queue,
        retryAttempts: ASYNC_RETRY_ATTEMPTS,
        maxEventAge: LAZY_WORK_MAX_EVENT_AGE,
      },
    });
    // Reserved (the parameter, default 10) so that the rest of the account cannot starve Slack's
    // acks; 0 leaves the function in the unreserved pool (small accounts).
    const reservesConcurrency = new CfnCondition(this, 'ReservesEventsHandlerConcurrency', {
      expression: Fn.conditionNot(Fn.conditionEquals(eventsHandlerReservedConcurrency.valueAsString, '0')),
    });
    this.eventsHandler.function.node.defaultChild.addPropertyOverride(
      'ReservedConcurrentExecutions',
      Fn.conditionIf(reservesConcurrency.logicalId, eventsHandlerReservedConcurrency.valueAsNumber, Aws.NO_VALUE),
    );
    grantSir(this.eventsHandler, 'eventsHandler');
    grantTable(this.eventsHandler, 'eventsHandler', table.tableArn);
    allowSecretReads(this.eventsHandler, [parameterNames.workspaceId], [parameterNames.signingSecret, parameterNames.botToken]);
    // Its own lazy work only: never the poller's integration events (or anyone else's).
    this.eventsHandler.allow('PublishLazyWork', ['events:PutEvents'], [bus.eventBusArn], {
      StringEquals: { 'events:source': LAZY_WORK_EVENT_SOURCE },
    });
    this.eventsHandlerLazyWorkRule = new events.Rule(this, 'EventsHandlerLazyWorkRule', {
      description: 'sirslack: the events handler\'s lazy work, back to the events handler',
      eventBus: bus,
      eventPattern: toCdkEventPattern(LAZY_WORK_EVENT_PATTERN),
      targets: [
        new targets.LambdaFunction(this.eventsHandler.function, {
          deadLetterQueue: this.eventsHandlerDeadLetters.queue,
          retryAttempts: ASYNC_RETRY_ATTEMPTS,
          maxEventAge: LAZY_WORK_MAX_EVENT_AGE,
        }),
      ],
    });
    // The lane sweep: a schedule on the account's default bus (as the poller's reconcile), straight
    // to the events handler, which owns the lanes. A failed sweep is retried, then parked in the
    // handler's DLQ (whose alarm fires); the Errors alarm sees every failed run.
    this.eventsHandlerLaneSweepRule = new events.Rule(this, 'EventsHandlerLaneSweepRule', {
      description: 'sirslack: the events handler drains channel lanes whose messages wait with nobody draining them',
      schedule: events.Schedule.expression(LANE_SWEEP_SCHEDULE),
      targets: [
        new targets.LambdaFunction(this.eventsHandler.function, {
          deadLetterQueue: this.eventsHandlerDeadLetters.queue,
          retryAttempts: ASYNC_RETRY_ATTEMPTS,
          maxEventAge: LANE_SWEEP_MAX_EVENT_AGE,
        }),
      ],
    });
    // Exactly the command handler's unqualified ARN: no versions, no aliases, no other function.
    this.eventsHandler.allow('InvokeCommandHandler', ['lambda:InvokeFunction'], [this.commandHandler.function.functionArn]);

    // ---- Slack client: integration bus -> rule -> standard SQS queue -> function.
    // Per-case order comes from the events' sequence numbers and a conditional write in the app; a
    // FIFO target would take one static MessageGroupId and serialize every case (docs/infrastructure.md).
    this.slackClientDeadLetters = new DeadLetterQueue(this, 'SlackClientDeadLetters', {
      purpose: 'an integration event the Slack client could not apply (or EventBridge could not enqueue)',
      alarmTopic: this.alarms,
    });
    this.slackClientQueue = new sqs.Queue(this, 'SlackClientQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(FUNCTIONS.slackClient.timeoutSeconds * SLACK_CLIENT_QUEUE.visibilityTimeoutFactor),
      deadLetterQueue: {
        queue: this.slackClientDeadLetters.queue,
        maxReceiveCount: SLACK_CLIENT_QUEUE.maxReceiveCount,
      },
    });
    this.slackClientRule = new events.Rule(this, 'SlackClientRule', {
      description: 'sirslack: integration events from the poller to the Slack client queue',
      eventBus: bus,
      eventPattern: toCdkEventPattern(SLACK_CLIENT_EVENT_PATTERN),
      targets: [new targets.SqsQueue(this.slackClientQueue, { deadLetterQueue: this.slackClientDeadLetters.queue })],
    });
    this.slackClient = new RustFunction(this, 'SlackClient', {
      spec: FUNCTIONS.slackClient,
      codeOptions,
      alarmTopic: this.alarms,
      applicationLogLevel: logLevel.applicationLogLevel,
      environment: {
        TABLE_NAME: table.tableName,
        SLACK_BOT_TOKEN_PARAMETER: parameterNames.botToken,
        CHANNEL_PREFIX_PARAMETER: parameterNames.channelPrefix,
        CHANNEL_VISIBILITY: channelVisibility.valueAsString,
        ARCHIVE_ON_CLOSE: archiveOnClose.valueAsString,
        MAX_ATTACHMENT_BYTES: maxAttachmentBytes.valueAsString,
        SECRETS_CACHE_TTL_SECONDS: String(SECRETS_CACHE_TTL_SECONDS),
        // Derived from the queue's maxReceiveCount: a gap is skipped one receive before the DLQ.
        GAP_SKIP_RECEIVE_COUNT: String(SLACK_CLIENT_SETTINGS.gapSkipReceiveCount),
        CASE_WAIT_SECONDS: String(SLACK_CLIENT_SETTINGS.caseWaitSeconds),
        DEADLINE_MARGIN_SECONDS: String(SLACK_CLIENT_SETTINGS.deadlineMarginSeconds),
        MAX_CONCURRENT_CASES: String(SLACK_CLIENT_SETTINGS.maxConcurrentCases),
        // A failed event comes back after this backoff, not the queue's 90-minute visibility.
        REDELIVERY_FIRST_DELAY_SECONDS: String(SLACK_CLIENT_SETTINGS.redeliveryFirstDelaySeconds),
        REDELIVERY_MAX_DELAY_SECONDS: String(SLACK_CLIENT_SETTINGS.redeliveryMaxDelaySeconds),
      },
    });
    this.slackClient.function.addEventSource(
      new SqsEventSource(this.slackClientQueue, {
        batchSize: SLACK_CLIENT_QUEUE.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: SLACK_CLIENT_QUEUE.maxConcurrency,
      }),
    );
    grantSir(this.slackClient, 'slackClient');
    grantTable(this.slackClient, 'slackClient', table.tableArn);
    grantOwnQueue(this.slackClient, 'slackClient', this.slackClientQueue.queueArn);
    allowSecretReads(this.slackClient, [parameterNames.channelPrefix], [parameterNames.botToken]);
    this.slackClientBacklogAlarm = alarmOn(this, 'SlackClientBacklogAlarm', {
      metric: this.slackClientQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: SLACK_CLIENT_BACKLOG_ALARM_SECONDS,
      evaluationPeriods: 5,
      description: 'sirslack: integration events have waited over 15 minutes for the Slack client.',
      alarmTopic: this.alarms,
    });

    // ---- API Gateway: POST /slack/events -> events handler (Lambda proxy).
    this.api = this.slackEventsApi(apiGatewayCloudWatchRole);
    new CfnOutput(this, 'SlackEventsApiEndpoint', {
      value: this.api.urlForPath(`/${API_EVENTS_PATH.join('/')}`),
      description: 'Request URL for Slack Event Subscriptions, the /security-ir slash command and interactivity',
    });

    // ---- cdk-nag: every remaining wildcard, with its reason.
    const kmsWildcard = secretsKmsKeyArn
      ? []
      : ['Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*'];
    const kmsReason = secretsKmsKeyArn
      ? ''
      : ' kms:Decrypt names no key because the AWS-managed aws/ssm key has a different ID in every ' +
        'account; it is limited by kms:ViaService to SSM and by kms:EncryptionContext:PARAMETER_ARN to ' +
        'exactly this function\'s SecureStrings (pass -c secretsKmsKeyArn=... to pin a customer key).';
    const caseReason =
      'SIR case actions are scoped to case/* of this account and region: the function acts on whichever ' +
      'case a Slack channel or integration event names, and case IDs are not known at deploy time.';
    const suppressWildcards = (rustFunction, extraFindings = [], extraReason = '') =>
      NagSuppressions.addResourceSuppressions(
        rustFunction.role,
        [
          {
            id: 'AwsSolutions-IAM5',
            reason: caseReason + kmsReason + extraReason,
            appliesTo: [
              'Resource::arn:<AWS::Partition>:security-ir:<AWS::Region>:<AWS::AccountId>:case/*',
              ...kmsWildcard,
              ...extraFindings,
            ],
          },
        ],
        true,
      );
    suppressWildcards(this.slackClient);
    suppressWildcards(this.eventsHandler);
    suppressWildcards(
      this.commandHandler,
      ['Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter<parameterPrefix>/slackUsers/*', 'Resource::*'],
      ' The per-user TOTP secrets are SecureStrings under <parameterPrefix>/slackUsers/<userId>/otpSecret, ' +
        'created when a user enrols, so the path is granted, not each name. security-ir:CreateCase (declaring ' +
        'a case from Slack) has no resource type (Service Authorization Reference): the case does not exist ' +
        'yet, so IAM requires Resource "*" for that one action.',
    );

    const output = (outputId, value, description) => new CfnOutput(this, outputId, { value, description });
    output('SlackClientFunctionName', this.slackClient.function.functionName, 'Slack client function');
    output('EventsHandlerFunctionName', this.eventsHandler.function.functionName, 'Slack events handler function');
    output('CommandHandlerFunctionName', this.commandHandler.function.functionName, 'Command handler function');
    output('SlackClientQueueUrl', this.slackClientQueue.queueUrl, 'Queue between the integration bus and the Slack client');
    output('SlackClientDeadLetterQueueUrl', this.slackClientDeadLetters.queue.queueUrl, 'DLQ of the Slack client queue');
    output('CommandHandlerDeadLetterQueueUrl', this.commandDeadLetters.queue.queueUrl, 'DLQ of the command handler');
    output('EventsHandlerDeadLetterQueueUrl', this.eventsHandlerDeadLetters.queue.queueUrl, 'DLQ of the events handler\'s lazy work');
    output('BotTokenParameterName', parameterNames.botToken, 'SecureString the deploy CLI writes: Slack bot token');
    output('SigningSecretParameterName', parameterNames.signingSecret, 'SecureString the deploy CLI writes: Slack signing secret');
    output('AlarmTopicArn', this.alarms.topic.topicArn, 'SNS topic of the Slack stack\'s alarms');
  }

  /** The REST API Slack calls, with throttling, access logs (no bodies) and a 5xx alarm. */
  slackEventsApi(manageAccountRole) {
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: LOG_RETENTION_DAYS });
    const api = new apigateway.RestApi(this, 'SlackEventsApi', {
      restApiName: `${this.stackName}-slack-events`,
      description: 'sirslack: Slack Events API, slash commands and interactivity',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      cloudWatchRole: false,
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: API_THROTTLING.rateLimit,
        throttlingBurstLimit: API_THROTTLING.burstLimit,
        metricsEnabled: true,
        // Execution logs only for errors, and never with request/response data (bodies hold
        // response_urls and message text): dataTraceEnabled stays false.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    // API Gateway creates the execution log group on first use without a retention; creating it
    // here, before the stage, gives it one.
    const executionLogs = new logs.LogGroup(this, 'ApiExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${API_STAGE_NAME}`,
      retention: LOG_RETENTION_DAYS,
    });
    api.deploymentStage.node.addDependency(executionLogs);
    if (manageAccountRole) {
      api.node.addDependency(this.apiGatewayAccountRole());
    }

    // At the edge: the signature headers must be present, and a JSON body must be an Events API
    // envelope (an object with a string `type`). Form-encoded bodies (slash commands,
    // interactivity) have no model and pass through. The handler still verifies everything.
    const validator = api.addRequestValidator('SlackRequestValidator', {
      requestValidatorName: 'slack-request',
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const envelopeModel = api.addModel('SlackEventEnvelope', {
      contentType: 'application/json',
      modelName: 'SlackEventEnvelope',
      description: 'An Events API payload: a JSON object with a string `type`',
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        title: 'SlackEventEnvelope',
        type: apigateway.JsonSchemaType.OBJECT,
        required: ['type'],
        properties: { type: { type: apigateway.JsonSchemaType.STRING } },
      },
    });
    let resource = api.root;
    for (const part of API_EVENTS_PATH) {
      resource = resource.addResource(part);
    }
    resource.addMethod(
      'POST',
      new apigateway.LambdaIntegration(this.eventsHandler.function, { proxy: true, allowTestInvoke: false }),
      {
        authorizationType: apigateway.AuthorizationType.NONE,
        requestValidator: validator,
        requestModels: { 'application/json': envelopeModel },
        requestParameters: Object.fromEntries(
          REQUIRED_SLACK_HEADERS.map((header) => [`method.request.header.${header}`, true]),
        ),
      },
    );

    this.api5xxAlarm = alarmOn(this, 'Api5xxAlarm', {
      metric: api.deploymentStage.metricServerError({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      description: 'sirslack: the Slack events API answered 5xx; Slack retries and may disable the subscription.',
      alarmTopic: this.alarms,
    });

    const authReason =
      'Slack cannot sign requests with AWS credentials or Cognito tokens; every request is authenticated ' +
      'by its X-Slack-Signature HMAC (checked in the events handler over the raw body, 5-minute window) ' +
      'and its team_id; API Gateway already rejects requests without the signature headers.';
    NagSuppressions.addResourceSuppressions(
      api,
      [
        { id: 'AwsSolutions-APIG4', reason: authReason },
        { id: 'AwsSolutions-COG4', reason: authReason },
        {
          id: 'AwsSolutions-APIG3',
          reason:
            'No WAF web ACL: the only route verifies an HMAC signature first, the stage is throttled, and ' +
            'Slack\'s source addresses are not published as a stable list to allow.',
        },
      ],
      true,
    );
    return api;
  }

  /**
   * API Gateway writes logs with one role per account and region (AWS::ApiGateway::Account). This
   * stack sets it so access logging works in a fresh account; the role is retained on deletion
   * because every other REST API in the region relies on the same setting.
   */
  apiGatewayAccountRole() {
    const role = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'Account-level role API Gateway uses to write execution and access logs',
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteApiGatewayLogs',
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:DescribeLogGroups',
          'logs:DescribeLogStreams',
          'logs:PutLogEvents',
        ],
        resources: [regionalArn('logs', 'log-group:*')],
      }),
    );
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'API Gateway uses this one role for every REST API of the account and region, writing to log ' +
            'groups it names per API and stage; narrowing it would break the logging of other APIs.',
          appliesTo: ['Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*'],
        },
      ],
      true,
    );
    const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return account;
  }
}

module.exports = { SlackStack };
