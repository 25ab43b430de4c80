'use strict';
// The contract between the CDK app and the Rust functions, in one place: stack names, the table's
// keys, the event patterns, environment variable names, SSM parameter names and function sizing.
// Tests assert the synthesized templates against these values, and docs/infrastructure.md
// describes them; change them here, never inline in a stack.

/** Stack names users of the original integration know; a second deployment appends `-<name>`. */
const STACK_NAMES = Object.freeze({
  common: 'AwsSecurityIncidentResponseSampleIntegrationsCommonStack',
  slack: 'AwsSecurityIncidentResponseSlackIntegrationStack',
});

/**
 * The one DynamoDB table (docs/data-model.md). Mirrors crates/aws-local/src/table.rs
 * (TABLE_PARTITION_KEY, TABLE_SORT_KEY, TABLE_TTL_ATTRIBUTE); a test reads that file to keep the
 * two in step.
 */
const TABLE = Object.freeze({
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expires_at',
});

/** What the poller publishes on the integration bus. */
const INTEGRATION_EVENT_SOURCE = 'sirslack.poller';
const INTEGRATION_DETAIL_TYPES = Object.freeze([
  'CaseCreated',
  'CaseUpdated',
  'CommentAdded',
  'CommentEdited',
  'AttachmentAdded',
  'WatchersChanged',
  'CaseClosed',
  'CaseQuiet',
]);

/**
 * The events handler's lazy work (crates/bus/src/lazy_work.rs: LAZY_EVENT_SOURCE,
 * LAZY_EVENT_DETAIL_TYPE; a test reads that file to keep the two in step). With EVENT_BUS_NAME
 * set, the handler publishes work that does not fit Slack's 3 s (file transfers, slow SIR
 * comments) on the integration bus, and a rule hands it back to the same function.
 */
const LAZY_WORK_EVENT_SOURCE = 'sirslack.slack-events-handler';
const LAZY_WORK_DETAIL_TYPE = 'Slack Lazy Work';
const LAZY_WORK_EVENT_PATTERN = Object.freeze({
  source: [LAZY_WORK_EVENT_SOURCE],
  'detail-type': [LAZY_WORK_DETAIL_TYPE],
});

/**
 * What the integration bus archive keeps for replays: the poller's integration events. Not the
 * events handler's lazy work, which carries Slack message text and, replayed, would run again.
 */
const ARCHIVE_EVENT_PATTERN = Object.freeze({ source: [INTEGRATION_EVENT_SOURCE] });

/** The integration bus -> Slack client queue rule. */
const SLACK_CLIENT_EVENT_PATTERN = Object.freeze({
  source: [INTEGRATION_EVENT_SOURCE],
  'detail-type': [...INTEGRATION_DETAIL_TYPES],
});

/**
 * SIR's native events on the account's default bus -> poller. Matching on the source alone keeps
 * the rule right whatever the exact detail-type strings are (SIR-API.md asks to verify them in a
 * real account); CloudTrail's "AWS API Call via CloudTrail" events share the source and are left
 * out, so the integration's own writes to SIR do not wake the poller a second time.
 */
const SIR_EVENT_SOURCE = 'aws.security-ir';
const SIR_NATIVE_EVENT_PATTERN = Object.freeze({
  source: [SIR_EVENT_SOURCE],
  'detail-type': [{ 'anything-but': ['AWS API Call via CloudTrail'] }],
});

/** Reconcile schedule (stack parameter `pollSchedule`). */
const DEFAULT_POLL_SCHEDULE = 'rate(5 minutes)';

/**
 * The explicit open /security-ir policy (every channel member may run every command), the Slack
 * stack's default `commandPolicy`. The parameter always exists: the command handler refuses every
 * command but `help` when it is missing, blank or unreadable (crates/command-handler, OPEN_POLICY).
 */
const OPEN_COMMAND_POLICY = '{"version":1}';

/**
 * Security refusals of the command handler: one embedded-metric-format line each
 * (crates/command-handler/src/authorize/mod.rs), metric `SecurityRefusals` in namespace `sirslack`
 * with dimensions `Function` = `command-handler` and `Reason` (`code_invalid`, `code_reused`,
 * `code_rate_limited`, `policy_denied`, `policy_unavailable`, `not_channel_member`,
 * `code_not_enrolled`). The alarm fires on repeated wrong one-time codes.
 */
const SECURITY_REFUSALS = Object.freeze({
  namespace: 'sirslack',
  metricName: 'SecurityRefusals',
  functionDimension: 'command-handler',
  wrongCodeReason: 'code_invalid',
  /** Wrong codes within 5 minutes, across people, that raise the alarm. */
  wrongCodeAlarmThreshold: 5,
});

/**
 * The events handler's lane sweep: drains any channel lane with waiting Slack messages and nobody
 * draining it (a drain that failed every retry, a drainer that died). Queued messages are given up
 * on (their authors told) after 6 hours and expire after a day, so every 5 minutes is plenty.
 */
const LANE_SWEEP_SCHEDULE = 'rate(5 minutes)';

/** Default of the Slack stack's `parameterPrefix`; a second deployment defaults to `<this>/<name>`. */
const DEFAULT_PARAMETER_PREFIX = '/SecurityIncidentResponse';

/** SSM parameter names, relative to the parameter prefix. */
const PARAMETER_SUFFIXES = Object.freeze({
  botToken: '/slackBotToken', // SecureString, written by the deploy CLI
  signingSecret: '/slackSigningSecret', // SecureString, written by the deploy CLI
  workspaceId: '/slackWorkspaceId', // String, written by the Slack stack
  channelPrefix: '/slackChannelPrefix', // String, written by the Slack stack
  commandPolicy: '/slackCommandPolicy', // String, always written by the Slack stack (default: OPEN_COMMAND_POLICY)
  otpSecretsPath: '/slackUsers/', // SecureStrings `<path><userId>/otpSecret`, written per user
});

const DEFAULT_CHANNEL_PREFIX = 'aws-security-incident-response-case';
/**
 * The `logLevel` stack parameter's values (as users know them) and the Lambda application log
 * level each stands for in the functions' logging configuration (JSON format): Lambda passes it
 * to the function as AWS_LAMBDA_LOG_LEVEL, which the runtime's logging reads (crates/lambda).
 */
const APPLICATION_LOG_LEVELS = Object.freeze({ info: 'INFO', debug: 'DEBUG', error: 'ERROR' });
const LOG_LEVELS = Object.freeze(Object.keys(APPLICATION_LOG_LEVELS));
const DEFAULT_LOG_LEVEL = 'error';
const CHANNEL_VISIBILITIES = Object.freeze(['private', 'public']);
const MAX_ATTACHMENT_BYTES = 104857600; // SIR's limit, 100 MiB
const SECRETS_CACHE_TTL_SECONDS = 300;
const DEFAULT_ATTACHMENT_RECHECK_MINUTES = 15;

/**
 * Quiet-case nudges (crates/poller/src/config.rs, NudgePolicy): the common stack's parameters,
 * in hours (decimals allowed; 0 turns nudges off, or for `early` means "as every other case").
 * An open case with no activity for that long gets one nudge in its channel, and no other
 * before the same time again; `early` applies to cases still Submitted or Detection and Analysis.
 */
const QUIET_CASE_NUDGES = Object.freeze({
  parameter: 'quietCaseNudgeHours',
  variable: 'NUDGE_QUIET_HOURS',
  defaultHours: 24,
  earlyParameter: 'quietCaseNudgeHoursEarly',
  earlyVariable: 'NUDGE_QUIET_HOURS_EARLY',
  earlyDefaultHours: 4,
  maxHours: 8784,
});

/**
 * The poller's sync floor (crates/poller/src/config.rs, SYNC_CASES_UPDATED_SINCE): the common
 * stack's parameter `syncCasesUpdatedSince`, an RFC 3339 UTC time or empty (no floor: every open
 * case gets a channel). A case the poller has never seen whose last update is before it gets no
 * channel until it is updated. The deploy CLI sets it on a first deploy from `--sync-existing`.
 */
const SYNC_FLOOR = Object.freeze({
  parameter: 'syncCasesUpdatedSince',
  variable: 'SYNC_CASES_UPDATED_SINCE',
  allowedPattern: '^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$',
});

/**
 * The four functions: where `cargo lambda build --release --arm64` puts each binary (relative to
 * the repository root) and their sizing. All run on provided.al2023 / arm64, with JSON logs at
 * the `logLevel` stack parameter's level (APPLICATION_LOG_LEVELS).
 */
const FUNCTIONS = Object.freeze({
  poller: Object.freeze({
    binary: 'sir-poller',
    memoryMiB: 256,
    timeoutSeconds: 300,
    description: 'sirslack: syncs SIR cases to the integration bus (schedule and SIR native events)',
  }),
  slackClient: Object.freeze({
    binary: 'slack-client',
    memoryMiB: 512,
    timeoutSeconds: 900,
    description: 'sirslack: applies integration events to the case channels in Slack',
  }),
  // The same function acks Slack (API Gateway cuts that path at 29 s; the handler answers within
  // INLINE_BUDGET_MS) and runs its own lazy work, which includes streaming a file of up to
  // 100 MiB from Slack to SIR: 3 attempts of at most 240 s each (crates/events-handler), plus
  // the Slack and SIR calls around them. 15 minutes covers that worst case.
  eventsHandler: Object.freeze({
    binary: 'slack-events-handler',
    memoryMiB: 512,
    timeoutSeconds: 900,
    description: 'sirslack: verifies and acknowledges Slack events, commands and actions',
  }),
  commandHandler: Object.freeze({
    binary: 'command-handler',
    memoryMiB: 256,
    timeoutSeconds: 30,
    description: 'sirslack: runs /security-ir commands against SIR',
  }),
});

/** The Slack client's SQS delivery. */
const SLACK_CLIENT_QUEUE = Object.freeze({
  batchSize: 10,
  maxReceiveCount: 5,
  /**
   * SQS visibility timeout as a multiple of the function timeout (AWS recommends at least 6). The
   * client needs more than the function timeout plus its case lease's margin (the lease outlives
   * the invocation's deadline by 30 s: LEASE_MARGIN in crates/slack-client/src/handler.rs).
   */
  visibilityTimeoutFactor: 6,
  /** Concurrent Slack client invocations at most, so Slack's per-workspace rate limits hold. */
  maxConcurrency: 5,
});

/**
 * The events handler's reserved concurrency (stack parameter `eventsHandlerReservedConcurrency`).
 * Slack's 3-second acks run in it, so its instances are reserved: the rest of the account (other
 * workloads, the integration's own Slack client and poller) cannot take them all, and Lambda
 * throttling never answers Slack's requests. The reservation is also the function's ceiling, lazy
 * work included (file copies of up to 15 minutes): 10 holds a burst of simultaneous file copies
 * with the acks (milliseconds each) beside them. Lambda refuses a reservation that leaves fewer
 * than 100 of the account's concurrency unreserved, so an account whose limit is below 110 (new
 * accounts may start at 10) deploys with 0, which reserves nothing.
 */
const EVENTS_HANDLER_CONCURRENCY = Object.freeze({
  parameter: 'eventsHandlerReservedConcurrency',
  reserved: 10,
  /** Lambda keeps this much of the account's concurrency unreserved. */
  accountUnreservedMinimum: 100,
});

/**
 * The Slack client's tuning, passed as environment variables (crates/slack-client/src/config.rs)
 * so that the values that depend on the queue and the function are derived from them here.
 */
const SLACK_CLIENT_SETTINGS = Object.freeze({
  /**
   * GAP_SKIP_RECEIVE_COUNT: an event whose predecessor never came is applied anyway on this
   * receive. One less than maxReceiveCount, so the gap is skipped before the event itself would
   * go to the DLQ.
   */
  gapSkipReceiveCount: SLACK_CLIENT_QUEUE.maxReceiveCount - 1,
  /** CASE_WAIT_SECONDS: how long an invocation retries a busy or waiting case before giving it back. */
  caseWaitSeconds: 20,
  /** DEADLINE_MARGIN_SECONDS: work stops this long before the invocation's deadline. */
  deadlineMarginSeconds: 10,
  /** MAX_CONCURRENT_CASES: cases of one batch worked on at once (x maxConcurrency invocations). */
  maxConcurrentCases: 4,
  /**
   * REDELIVERY_FIRST_DELAY_SECONDS and REDELIVERY_MAX_DELAY_SECONDS: an event the client gives
   * back to the queue is made visible again after first * 2^(receiveCount - 1) seconds, at most
   * max (plus up to 25 % jitter, at least a Slack Retry-After), instead of the queue's visibility
   * timeout (crates/slack-client/src/redelivery.rs). With maxReceiveCount 5 the tries of a failing
   * event are about 0, 1, 3, 7 and 15 minutes apart from its first; the last try comes after a
   * case lease held by a live worker (up to the function timeout plus LEASE_MARGIN) has ended,
   * so a busy case cannot push its events into the DLQ (a test holds this).
   */
  redeliveryFirstDelaySeconds: 60,
  redeliveryMaxDelaySeconds: 600,
});

/**
 * Every environment variable each function reads, per binary, and what the runtime and the AWS
 * SDK read in every function: generated from the Rust list (crates/lambda/src/vars.rs; a Rust
 * test fails when this file is stale and says how to regenerate it).
 */
const FUNCTION_ENVIRONMENT = Object.freeze(require('./function-environment.json'));

/**
 * Environment variables a function's code reads but the stacks deliberately leave unset, with
 * the reason (the code's default is right, or Lambda sets them). Every other variable a function
 * reads (FUNCTION_ENVIRONMENT) is set by the stacks, and the stacks set nothing else; a test
 * holds both directions, and docs/infrastructure.md lists the result.
 */
const FUNCTION_VARIABLES_LEFT_UNSET = Object.freeze({
  poller: Object.freeze({
    RECONCILE_ATTACHMENT_RECHECK_MINUTES: 'alias of ATTACHMENT_RECHECK_MINUTES, which is set',
    RECONCILE_ATTACHMENT_RECHECKS_PER_RUN: 'default 25 re-reads per reconcile',
    SYNC_CONCURRENCY: 'default 4 cases synced at once',
    CASE_LEASE_SECONDS: 'default 120 s per-case lease',
    SIR_MEMBERSHIP_ID: 'found with ListMemberships and remembered',
  }),
  slackClient: Object.freeze({
    REMOVE_DEPARTED_WATCHERS: 'default false: people who stop watching are told about, not removed',
    SLACK_API_URL: 'default https://slack.com/api (set only for local stand-ins)',
    CONSOLE_REGION: 'default AWS_REGION',
    AWS_REGION: 'set by Lambda',
  }),
  eventsHandler: Object.freeze({
    SLACK_API_URL: 'default https://slack.com/api (set only for local stand-ins)',
    INLINE_BUDGET_MS: 'default 1200 ms on the ack path',
    LANE_JOB_GIVE_UP_SECONDS: 'default 6 hours before a queued message that still fails is given up on (its author told)',
    AWS_LAMBDA_FUNCTION_NAME: 'set by Lambda; unused while EVENT_BUS_NAME is set',
    SELF_FUNCTION_NAME: 'local runs only; unused while EVENT_BUS_NAME is set',
  }),
  commandHandler: Object.freeze({
    SLACK_API_URL: 'default https://slack.com/api (set only for local stand-ins)',
    CONSOLE_REGION: 'default AWS_REGION',
    AWS_REGION: 'set by Lambda',
    AUTHORIZATION_CACHE_TTL_SECONDS: 'default 60 s, so a removal from a channel or group applies soon',
  }),
});

/** Async invocations (poller, command handler, lazy work): retries after the first failure, before the DLQ. */
const ASYNC_RETRY_ATTEMPTS = 2;

/** DLQs keep messages for the longest time SQS allows, so nothing is lost before a redrive. */
const DLQ_RETENTION_DAYS = 14;

/** Replay window of the integration bus archive. */
const ARCHIVE_RETENTION_DAYS = 30;

/** Log retention of every log group the app creates. */
const LOG_RETENTION_DAYS = 90;

/** API Gateway stage throttling (Slack sends at most 30,000 events per hour per workspace). */
const API_THROTTLING = Object.freeze({ rateLimit: 50, burstLimit: 100 });
const API_STAGE_NAME = 'prod';
const API_EVENTS_PATH = Object.freeze(['slack', 'events']);

/** Context keys the app reads (`cdk synth -c key=value`). */
const CONTEXT_KEYS = Object.freeze({
  deployment: 'deployment',
  parameterPrefix: 'parameterPrefix',
  functionCodeRoot: 'functionCodeRoot',
  requireFunctionCode: 'requireFunctionCode',
  secretsKmsKeyArn: 'secretsKmsKeyArn',
  apiGatewayCloudWatchRole: 'apiGatewayCloudWatchRole',
  // A table kept by an earlier `destroy` (its DeletionPolicy is Retain): the common stack uses it
  // instead of creating an empty one, so open cases keep their channels. The deploy CLI passes it
  // from `<prefix>/retainedTableName`.
  existingTableName: 'existingTableName',
});

/** Environment variable that makes synth use the placeholder code for every function. */
const SKIP_BUNDLING_ENV = 'SIRSLACK_SKIP_BUNDLING';

module.exports = {
  STACK_NAMES,
  TABLE,
  INTEGRATION_EVENT_SOURCE,
  INTEGRATION_DETAIL_TYPES,
  SLACK_CLIENT_EVENT_PATTERN,
  LAZY_WORK_EVENT_SOURCE,
  LAZY_WORK_DETAIL_TYPE,
  LAZY_WORK_EVENT_PATTERN,
  ARCHIVE_EVENT_PATTERN,
  SIR_EVENT_SOURCE,
  SIR_NATIVE_EVENT_PATTERN,
  DEFAULT_POLL_SCHEDULE,
  LANE_SWEEP_SCHEDULE,
  OPEN_COMMAND_POLICY,
  SECURITY_REFUSALS,
  DEFAULT_PARAMETER_PREFIX,
  PARAMETER_SUFFIXES,
  DEFAULT_CHANNEL_PREFIX,
  APPLICATION_LOG_LEVELS,
  LOG_LEVELS,
  DEFAULT_LOG_LEVEL,
  CHANNEL_VISIBILITIES,
  MAX_ATTACHMENT_BYTES,
  SECRETS_CACHE_TTL_SECONDS,
  DEFAULT_ATTACHMENT_RECHECK_MINUTES,
  QUIET_CASE_NUDGES,
  SYNC_FLOOR,
  FUNCTIONS,
  SLACK_CLIENT_QUEUE,
  SLACK_CLIENT_SETTINGS,
  EVENTS_HANDLER_CONCURRENCY,
  FUNCTION_ENVIRONMENT,
  FUNCTION_VARIABLES_LEFT_UNSET,
  ASYNC_RETRY_ATTEMPTS,
  DLQ_RETENTION_DAYS,
  ARCHIVE_RETENTION_DAYS,
  LOG_RETENTION_DAYS,
  API_THROTTLING,
  API_STAGE_NAME,
  API_EVENTS_PATH,
  CONTEXT_KEYS,
  SKIP_BUNDLING_ENV,
};
