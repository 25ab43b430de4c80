'use strict';
// What each function may do, written down once. The stacks turn these lists into IAM statements
// and the tests compare the synthesized roles with them, so a change here is a reviewed change.
//
// SIR (security-ir) resource types, from the Service Authorization Reference: `case` and
// `membership`. ListCases and ListMemberships have no resource type, so they need Resource "*";
// every other action is scoped to `case/*` or `membership/*` of this account and region.
// CreateCase acts on no existing case, so it has no resource type either (Resource "*").

const { regionalArn } = require('./building-blocks');

/** SIR actions that have no resource type: IAM requires Resource "*". */
const SIR_ACTIONS_WITHOUT_RESOURCE = Object.freeze(['security-ir:CreateCase', 'security-ir:ListCases', 'security-ir:ListMemberships']);

/** SIR actions per function, by the resource type they act on. */
const SIR_ACTIONS = Object.freeze({
  // Incremental sync: list, read changed cases and their comments, read the IR team.
  poller: Object.freeze({
    unscoped: ['security-ir:ListCases', 'security-ir:ListMemberships'],
    case: ['security-ir:GetCase', 'security-ir:ListComments'],
    membership: ['security-ir:GetMembership'],
  }),
  // Copies SIR attachments to Slack, re-reads a case whose channel must be (re)created, and writes
  // `[Slack Update]` system comments (channel created, permanent Slack errors).
  slackClient: Object.freeze({
    unscoped: [],
    case: ['security-ir:CreateCaseComment', 'security-ir:GetCase', 'security-ir:GetCaseAttachmentDownloadUrl'],
    membership: [],
  }),
  // Slack messages, joins/leaves -> comments; Slack files -> attachments (the upload is recorded
  // in the table before it starts, so it needs no GetCase: see its calls of crates/sir).
  eventsHandler: Object.freeze({
    unscoped: [],
    case: ['security-ir:CreateCaseComment', 'security-ir:GetCaseAttachmentUploadUrl'],
    membership: [],
  }),
  // /security-ir: status, summarize (comments, edits), update-*, close, and the audit comment;
  // declaring a case from the declare modal (CreateCase).
  commandHandler: Object.freeze({
    unscoped: ['security-ir:CreateCase'],
    case: [
      'security-ir:CloseCase',
      'security-ir:CreateCaseComment',
      'security-ir:GetCase',
      'security-ir:ListCaseEdits',
      'security-ir:ListComments',
      'security-ir:UpdateCase',
      'security-ir:UpdateCaseStatus',
    ],
    membership: [],
  }),
});

/**
 * Item-level DynamoDB actions on the one table (no index exists), exactly those each function's
 * code calls (through crates/store): the acceptance test `least_privilege` runs every function with
 * its synthesized role and fails on a call AWS would refuse and on an action granted but never used.
 * Transactions are authorized by their items' actions (the Slack client's channel link is an
 * Update and a Put). No function may Scan (the reference integration's defect 7) or manage the
 * table.
 */
const TABLE_ACTIONS = Object.freeze({
  // Snapshots (BatchGetItem for the listing), children, leases, listing refresh of closed cases.
  poller: ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  // Case lease, channel link, applied sequence, markers.
  slackClient: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  // Claims, markers, and the channel lanes (a drain lists the lane's jobs with Query).
  eventsHandler: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  // Channel -> case, once-markers (announcements, one-time codes), resumable command claims.
  commandHandler: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
});

/**
 * SQS actions a function's own code calls on the queue that feeds it (beyond what its event source
 * mapping needs, which CDK grants with the mapping). The Slack client shortens the visibility of
 * the messages it reports as failed: it finds the queue URL from the record's eventSourceARN, reads
 * the queue's visibility timeout (a backoff is never longer) and changes the visibility in batches
 * (crates/slack-client/src/redelivery.rs). Granted on that queue only.
 */
const QUEUE_ACTIONS = Object.freeze({
  slackClient: Object.freeze(['sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl']),
});

/** ARN patterns of the SIR resource types in this stack's account and region. */
function sirCaseArns() {
  return regionalArn('security-ir', 'case/*');
}
function sirMembershipArns() {
  return regionalArn('security-ir', 'membership/*');
}

/**
 * Adds the SIR statements of `functionKey` to `rustFunction`'s role: one statement per resource
 * type, so "*" appears only with the actions that have no resource type.
 */
function grantSir(rustFunction, functionKey) {
  const actions = SIR_ACTIONS[functionKey];
  if (actions.unscoped.length > 0) {
    rustFunction.allow('SirActionsWithoutResourceType', [...actions.unscoped], ['*']);
  }
  if (actions.case.length > 0) {
    rustFunction.allow('SirCases', [...actions.case], [sirCaseArns()]);
  }
  if (actions.membership.length > 0) {
    rustFunction.allow('SirMemberships', [...actions.membership], [sirMembershipArns()]);
  }
}

/**
 * Adds the statement for the SQS calls `functionKey`'s code makes on the queue that feeds it
 * (queue ARN only). Written down even where the event source mapping's grant overlaps, so the
 * code's needs do not hang on how CDK grants a mapping.
 */
function grantOwnQueue(rustFunction, functionKey, queueArn) {
  rustFunction.allow('ShortenFailedMessagesVisibility', [...QUEUE_ACTIONS[functionKey]], [queueArn]);
}

/** Adds the table statement of `functionKey` (table ARN only). */
function grantTable(rustFunction, functionKey, tableArn) {
  rustFunction.allow('IntegrationTableItems', [...TABLE_ACTIONS[functionKey]], [tableArn]);
}

module.exports = {
  QUEUE_ACTIONS,
  SIR_ACTIONS,
  SIR_ACTIONS_WITHOUT_RESOURCE,
  TABLE_ACTIONS,
  grantOwnQueue,
  grantSir,
  grantTable,
  sirCaseArns,
  sirMembershipArns,
};
