'use strict';
// Each function's IAM policy exactly as the CDK app synthesizes it, with CloudFormation's
// intrinsics resolved to named placeholders, for the local world: `infra/iam/function-policies.json`
// is written by `npm run iam-policies` (bin/export-iam.js), the infra tests fail when it differs
// from a fresh synthesis, and the local world (crates/local-iam) gives each function credentials
// whose permissions are these statements, with the placeholders filled in with its own names.
//
// Placeholders: `${Region}`, `${Account}`, `${ParameterPrefix}` (the Slack stack's parameter),
// `${<Resource>.Arn}` for `Fn::GetAtt [<Resource><hash>, Arn]` and `${<Resource>}` for a `Ref`,
// where <Resource> is the logical ID without CDK's 8-character hash (`IntegrationTable`).
// The partition is `aws`. An import (`Fn::ImportValue`) is resolved through the exporting stack.

/** The four functions: key in the file, stack, and the logical-ID prefix of the function. */
const FUNCTIONS = Object.freeze([
  ['poller', 'common', 'PollerFunction'],
  ['slackClient', 'slack', 'SlackClientFunction'],
  ['eventsHandler', 'slack', 'EventsHandlerFunction'],
  ['commandHandler', 'slack', 'CommandHandlerFunction'],
]);

/** The command that regenerates the file, printed in it and in the drift test's message. */
const REGENERATE = 'cd infra && npm run iam-policies';

/** `IntegrationTableBF21FB92` -> `IntegrationTable`. */
function resourceName(logicalId) {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

function asList(value) {
  return Array.isArray(value) ? value : [value];
}

/** Resolves intrinsics in `value` (a template fragment of `stack`) to placeholder strings. */
function resolve(value, stack, templates) {
  if (Array.isArray(value)) {
    return value.map((item) => resolve(item, stack, templates));
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [key] = keys;
    const arg = value[key];
    switch (key) {
      case 'Ref':
        return {
          'AWS::Partition': 'aws',
          'AWS::Region': '${Region}',
          'AWS::AccountId': '${Account}',
          'AWS::URLSuffix': 'amazonaws.com',
          parameterPrefix: '${ParameterPrefix}',
        }[arg] ?? `\${${resourceName(arg)}}`;
      case 'Fn::GetAtt':
        return `\${${resourceName(arg[0])}.${arg[1]}}`;
      case 'Fn::Join':
        return resolve(arg[1], stack, templates).join(arg[0]);
      case 'Fn::ImportValue':
        return resolveImport(resolve(arg, stack, templates), templates);
      default:
        if (key.startsWith('Fn::')) {
          throw new Error(`iam-export: intrinsic ${key} is not resolved yet; teach lib/iam-export.js`);
        }
    }
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, stack, templates)]));
}

/** The exported value named `name`, from whichever stack exports it. */
function resolveImport(name, templates) {
  for (const [stack, template] of Object.entries(templates)) {
    for (const output of Object.values(template.toJSON().Outputs ?? {})) {
      const exported = output.Export && resolve(output.Export.Name, stack, templates);
      const plainName = typeof exported === 'string' ? exported.replace('${AWS::StackName}', '') : exported;
      if (exported === name || plainName === name) {
        return resolve(output.Value, stack, templates);
      }
    }
  }
  throw new Error(`iam-export: no stack exports ${name}`);
}

/** Every statement attached to role `roleId` of `template` (inline policies and AWS::IAM::Policy). */
function roleStatements(template, roleId) {
  const json = template.toJSON();
  const statements = [];
  for (const policy of json.Resources[roleId].Properties.Policies ?? []) {
    statements.push(...policy.PolicyDocument.Statement);
  }
  for (const resource of Object.values(json.Resources)) {
    if (resource.Type === 'AWS::IAM::Policy' && asList(resource.Properties.Roles).some((ref) => ref.Ref === roleId)) {
      statements.push(...resource.Properties.PolicyDocument.Statement);
    }
  }
  return statements;
}

/** One statement in a fixed shape: lists for Action and Resource, sorted keys. */
function normalise(statement) {
  const out = { Effect: statement.Effect, Action: asList(statement.Action), Resource: asList(statement.Resource) };
  if (statement.Sid) out.Sid = statement.Sid;
  if (statement.Condition) out.Condition = statement.Condition;
  return Object.fromEntries(Object.keys(out).sort().map((key) => [key, out[key]]));
}

/**
 * The policies document for synthesized `templates` (`{ common, slack }`, CDK `Template`s).
 * Statements keep the order of the template.
 */
function functionPolicies(templates) {
  const functions = {};
  for (const [key, stack, prefix] of FUNCTIONS) {
    const template = templates[stack];
    const ids = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => id.startsWith(prefix));
    if (ids.length !== 1) {
      throw new Error(`iam-export: expected one function ${prefix}* in the ${stack} stack, found ${JSON.stringify(ids)}`);
    }
    const roleId = template.toJSON().Resources[ids[0]].Properties.Role['Fn::GetAtt'][0];
    functions[key] = {
      role: resourceName(roleId),
      statements: roleStatements(template, roleId).map((statement) => normalise(resolve(statement, stack, templates))),
    };
  }
  return {
    comment: `Generated from the synthesized CDK app by \`${REGENERATE}\`; do not edit. The infra tests fail when it drifts.`,
    functions,
  };
}

/** The file's text for `templates`: what the drift test compares byte for byte. */
function functionPoliciesText(templates) {
  return `${JSON.stringify(functionPolicies(templates), null, 2)}\n`;
}

/** How the docs name each function. */
const FUNCTION_TITLES = Object.freeze({
  poller: 'SIR poller',
  slackClient: 'Slack client',
  eventsHandler: 'events handler',
  commandHandler: 'command handler',
});

/** The page and the markers between which the generated IAM table lives. */
const DOC_FILE = 'docs/security.md';
const DOC_BEGIN = `<!-- iam-table:begin (generated from infra/iam/function-policies.json by \`${REGENERATE}\`; do not edit) -->`;
const DOC_END = '<!-- iam-table:end -->';

function code(text) {
  return `\`${String(text).replace(/\|/g, '\\|')}\``;
}

/**
 * The docs' IAM table for a policies document (`functionPolicies`' shape, e.g. the committed
 * JSON): one row per statement, in the document's order.
 */
function functionPoliciesMarkdown(document) {
  const rows = ['| function | statement | actions | resources | condition |', '|---|---|---|---|---|'];
  for (const [key, { statements }] of Object.entries(document.functions)) {
    for (const statement of statements) {
      rows.push(
        `| ${FUNCTION_TITLES[key] ?? key} | ${statement.Sid ?? '(CDK grant)'} | ${statement.Action.map(code).join(', ')} | ${statement.Resource.map(code).join(', ')} | ${statement.Condition ? code(JSON.stringify(statement.Condition)) : ''} |`,
      );
    }
  }
  return `${rows.join('\n')}\n`;
}

/** `page` with the text between the markers replaced by `table`. */
function withIamTable(page, table) {
  const begin = page.indexOf(DOC_BEGIN);
  const end = page.indexOf(DOC_END);
  if (begin < 0 || end < begin) {
    throw new Error(`${DOC_FILE} lacks the markers ${DOC_BEGIN} ... ${DOC_END}`);
  }
  return `${page.slice(0, begin + DOC_BEGIN.length)}\n${table}${page.slice(end)}`;
}

module.exports = {
  DOC_BEGIN,
  DOC_END,
  DOC_FILE,
  FUNCTIONS,
  REGENERATE,
  functionPolicies,
  functionPoliciesMarkdown,
  functionPoliciesText,
  resourceName,
  withIamTable,
};
