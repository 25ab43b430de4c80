'use strict';
// Helpers to read synthesized CloudFormation: intrinsic shapes written out literally (so tests do
// not reuse the code under test to compute what they expect) and IAM statement extraction.

/** `arn:<partition>:<service>:<region>:<account>:` + parts, as CDK renders it. */
function regionalArnJoin(service, ...resourceParts) {
  return {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ...resourceParts]],
  };
}

/** ARN of an SSM parameter `<parameterPrefix><suffix>` of the Slack stack. */
function parameterArn(suffix) {
  return regionalArnJoin('ssm', ':parameter', { Ref: 'parameterPrefix' }, suffix);
}

/** `<parameterPrefix><suffix>` as the Slack stack renders it. */
function prefixed(suffix) {
  return { 'Fn::Join': ['', [{ Ref: 'parameterPrefix' }, suffix]] };
}

/** Always an array (IAM's Action/Resource may be a string or a list). */
function asList(value) {
  return Array.isArray(value) ? value : [value];
}

/** Every statement attached to the role `roleId` (inline policies and AWS::IAM::Policy). */
function roleStatements(template, roleId) {
  const json = template.toJSON();
  const role = json.Resources[roleId];
  if (!role || role.Type !== 'AWS::IAM::Role') {
    throw new Error(`${roleId} is not a role`);
  }
  const statements = [];
  for (const policy of role.Properties.Policies ?? []) {
    statements.push(...policy.PolicyDocument.Statement);
  }
  for (const resource of Object.values(json.Resources)) {
    if (resource.Type === 'AWS::IAM::Policy' && asList(resource.Properties.Roles).some((ref) => ref.Ref === roleId)) {
      statements.push(...resource.Properties.PolicyDocument.Statement);
    }
  }
  return statements;
}

/** The statement with `sid` of the role, or an error listing the Sids there are. */
function statementBySid(statements, sid) {
  const found = statements.filter((statement) => statement.Sid === sid);
  if (found.length !== 1) {
    throw new Error(`expected one statement ${sid}, found Sids ${JSON.stringify(statements.map((s) => s.Sid))}`);
  }
  return found[0];
}

/** The role ID of the function `functionId` (from its Role: Fn::GetAtt). */
function functionRoleId(template, functionId) {
  return template.toJSON().Resources[functionId].Properties.Role['Fn::GetAtt'][0];
}

module.exports = {
  asList,
  functionRoleId,
  parameterArn,
  prefixed,
  regionalArnJoin,
  roleStatements,
  statementBySid,
};
