'use strict';
// Pieces both stacks use: a Rust function with its own role, log group and alarms; a dead-letter
// queue with a depth alarm; the alarm topic; and the stack parameters they share.

const { Aws, CfnCondition, CfnMapping, CfnParameter, Duration, Fn } = require('aws-cdk-lib');
const cloudwatch = require('aws-cdk-lib/aws-cloudwatch');
const cloudwatchActions = require('aws-cdk-lib/aws-cloudwatch-actions');
const iam = require('aws-cdk-lib/aws-iam');
const lambda = require('aws-cdk-lib/aws-lambda');
const logs = require('aws-cdk-lib/aws-logs');
const sns = require('aws-cdk-lib/aws-sns');
const sqs = require('aws-cdk-lib/aws-sqs');
const { Construct } = require('constructs');
const {
  APPLICATION_LOG_LEVELS,
  DEFAULT_LOG_LEVEL,
  DLQ_RETENTION_DAYS,
  LOG_LEVELS,
  LOG_RETENTION_DAYS,
} = require('./contract');
const { functionCode } = require('./function-code');

/** Every alarm looks at 5-minute sums (1 minute for queue depth) and fires on the first breach. */
const ALARM_PERIOD = Duration.minutes(5);

/**
 * The `logLevel` stack parameter (info|debug|error, default error, as users know it) and the
 * Lambda application log level it stands for (INFO|DEBUG|ERROR, through the `LogLevels`
 * mapping). Every function gets it in its logging configuration (JSON), so Lambda itself sets
 * AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT, which the runtime's logging reads
 * (crates/lambda); no function reads a log level variable of its own.
 */
function logLevelParameter(stack) {
  const parameter = new CfnParameter(stack, 'logLevel', {
    type: 'String',
    allowedValues: [...LOG_LEVELS],
    default: DEFAULT_LOG_LEVEL,
    description: 'Log level of the Lambda functions (info, debug or error).',
  });
  const mapping = new CfnMapping(stack, 'LogLevels', {
    mapping: Object.fromEntries(
      Object.entries(APPLICATION_LOG_LEVELS).map(([level, lambdaLevel]) => [level, { application: lambdaLevel }]),
    ),
  });
  return { parameter, applicationLogLevel: mapping.findInMap(parameter.valueAsString, 'application') };
}

/**
 * An SNS topic for the stack's alarms, with an e-mail subscription when the `alarmEmail`
 * parameter is set. Only SSL is accepted (SNS3). Not KMS-encrypted: CloudWatch alarms cannot
 * publish to a topic under the AWS-managed aws/sns key, and notifications carry only the alarm's
 * name, metric and state.
 */
class AlarmTopic extends Construct {
  constructor(scope, id) {
    super(scope, id);
    this.emailParameter = new CfnParameter(scope, 'alarmEmail', {
      type: 'String',
      default: '',
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      constraintDescription: 'an e-mail address, or empty for no subscription',
      description: 'E-mail address that receives alarm notifications (empty: none).',
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'sirslack alarms',
      enforceSSL: true,
    });
    const hasEmail = new CfnCondition(scope, 'HasAlarmEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(this.emailParameter.valueAsString, '')),
    });
    const subscription = new sns.CfnSubscription(this, 'EmailSubscription', {
      topicArn: this.topic.topicArn,
      protocol: 'email',
      endpoint: this.emailParameter.valueAsString,
    });
    subscription.cfnOptions.condition = hasEmail;
    this.action = new cloudwatchActions.SnsAction(this.topic);
  }
}

/** Creates an alarm that notifies `alarmTopic` when `metric` reaches `threshold`. */
function alarmOn(scope, id, { metric, threshold = 1, description, alarmTopic, evaluationPeriods = 1 }) {
  const alarm = new cloudwatch.Alarm(scope, id, {
    metric,
    threshold,
    evaluationPeriods,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: description,
  });
  alarm.addAlarmAction(alarmTopic.action);
  return alarm;
}

/**
 * A dead-letter queue (SSE-SQS, SSL only, 14 days) and an alarm as soon as one message is in it.
 * `purpose` says what lands there, for the alarm description.
 */
class DeadLetterQueue extends Construct {
  constructor(scope, id, { purpose, alarmTopic }) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(DLQ_RETENTION_DAYS),
    });
    this.depthAlarm = alarmOn(this, 'DepthAlarm', {
      metric: this.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      description: `sirslack: ${purpose} landed in the dead-letter queue; inspect, fix, then redrive.`,
      alarmTopic,
    });
  }
}

/**
 * A Rust function (provided.al2023, arm64, handler `bootstrap`) with its own role that holds only
 * the statements added to it, its own log group with a retention, and alarms on errors and
 * throttles.
 */
class RustFunction extends Construct {
  /**
   * @param {object} props
   * @param {{binary: string, memoryMiB: number, timeoutSeconds: number, description: string}} props.spec
   * @param {Record<string,string>} props.environment
   * @param {object} props.codeOptions  see function-code.js
   * @param {AlarmTopic} props.alarmTopic
   * @param {string} props.applicationLogLevel  Lambda's application log level (logLevelParameter)
   * @param {object} [props.functionProps]  extra lambda.Function props
   */
  constructor(scope, id, { spec, environment, codeOptions, alarmTopic, applicationLogLevel, functionProps = {} }) {
    super(scope, id);
    // Retained when the stack is deleted (CDK's default): an incident tool's logs outlive it and
    // expire with their retention.
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: LOG_RETENTION_DAYS });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${spec.binary} function (sirslack)`,
    });
    const { code, placeholder } = functionCode(spec.binary, codeOptions);
    this.placeholderCode = placeholder;
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code,
      memorySize: spec.memoryMiB,
      timeout: Duration.seconds(spec.timeoutSeconds),
      description: spec.description,
      environment,
      role: this.role,
      logGroup: this.logGroup,
      // JSON lines, filtered at the stack's log level: Lambda passes both to the function as
      // AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL.
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: applicationLogLevel,
      ...functionProps,
    });
    // The only log permissions: write to this function's own log group.
    this.allow('WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [this.logGroup.logGroupArn]);

    this.errorsAlarm = alarmOn(this, 'ErrorsAlarm', {
      metric: this.function.metricErrors({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      description: `sirslack: the ${spec.binary} function failed; see its log group.`,
      alarmTopic,
    });
    this.throttlesAlarm = alarmOn(this, 'ThrottlesAlarm', {
      metric: this.function.metricThrottles({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      description: `sirslack: the ${spec.binary} function was throttled; check the account's Lambda concurrency.`,
      alarmTopic,
    });
  }

  /** Adds one Allow statement (explicit actions, explicit resources) to the function's role. */
  allow(sid, actions, resources, conditions) {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions, resources, conditions }),
    );
  }
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>` for this stack's account and region. */
function regionalArn(service, resource) {
  return `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
}

/**
 * An EventBridge pattern as written in CloudFormation (`detail-type`) in the shape aws-events
 * expects (`detailType`); values pass through unchanged.
 */
function toCdkEventPattern(pattern) {
  return Object.fromEntries(
    Object.entries(pattern).map(([key, value]) => [
      key.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase()),
      value,
    ]),
  );
}

module.exports = {
  ALARM_PERIOD,
  AlarmTopic,
  DeadLetterQueue,
  RustFunction,
  alarmOn,
  logLevelParameter,
  regionalArn,
  toCdkEventPattern,
};
