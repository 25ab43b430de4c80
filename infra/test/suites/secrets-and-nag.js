'use strict';
// No secret ever reaches a template (defect 18), and cdk-nag's AwsSolutions checks pass with
// written reasons for every acknowledged finding.

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');
const { App, Aspects, Stack } = require('aws-cdk-lib');
const { Annotations, Match } = require('aws-cdk-lib/assertions');
const sqs = require('aws-cdk-lib/aws-sqs');
const { AwsSolutionsChecks } = require('cdk-nag');
const { resources } = require('../support/synth');

/** Strings that look like a Slack credential, a signing secret or an AWS key. */
const SECRET_SHAPES = [
  /xox[abeoprs]-/i, // Slack tokens
  /^[0-9a-f]{32}$/i, // a Slack signing secret (32 hex)
  /^[0-9a-f]{64}$/i, // the 64-hex form some docs describe
  /AKIA[0-9A-Z]{16}/, // AWS access key ID
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

/**
 * Every string in a template with the path it sits at, except the ones that are not data the
 * stack carries: CDK metadata and the asset object keys (content hashes of the function code).
 */
function templateStrings(json) {
  const found = [];
  const walk = (value, where) => {
    if (typeof value === 'string') {
      found.push({ value, where });
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${where}[${index}]`));
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key === 'Metadata' || key === 'S3Key') continue;
        walk(item, `${where}.${key}`);
      }
    }
  };
  walk(json, '$');
  return found;
}

function secretLookingStrings(json) {
  return templateStrings(json).filter(({ value }) => SECRET_SHAPES.some((shape) => shape.test(value)));
}

module.exports = function secretsAndNagSuites({ templates, common, slack }) {
  const stacks = [
    ['common', templates.common, common],
    ['slack', templates.slack, slack],
  ];

  describe('secrets', () => {
    it('the scanner finds a token, a signing secret and a 64-hex secret when they are there', () => {
      const planted = {
        Resources: {
          Fn: {
            Properties: {
              Environment: { Variables: { A: 'xoxb-1234-5678-abcdef', B: '0123456789abcdef0123456789abcdef', C: 'f'.repeat(64) } },
            },
          },
        },
      };
      assert.equal(secretLookingStrings(planted).length, 3);
    });

    for (const [name, template] of stacks) {
      it(`${name}: no string in the template looks like a secret`, () => {
        assert.deepEqual(secretLookingStrings(template.toJSON()), []);
      });

      it(`${name}: no parameter takes a secret and no parameter hides its value`, () => {
        for (const [parameterName, parameter] of Object.entries(template.toJSON().Parameters)) {
          assert.doesNotMatch(parameterName, /token|secret|password|signing|otp/i);
          assert.notEqual(parameter.NoEcho, true);
        }
      });
    }

    it('the stack never creates the SecureStrings; functions get their names, not their values', () => {
      const slackJson = templates.slack.toJSON();
      for (const [, resource] of resources(templates.slack).filter(([, r]) => r.Type === 'AWS::SSM::Parameter')) {
        assert.equal(resource.Properties.Type, 'String');
        assert.doesNotMatch(JSON.stringify(resource.Properties.Name), /slackBotToken|slackSigningSecret|slackUsers/);
      }
      for (const [, resource] of resources(templates.slack).filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
        for (const [variable, value] of Object.entries(resource.Properties.Environment.Variables)) {
          if (/TOKEN|SIGNING|OTP/.test(variable)) {
            assert.match(variable, /_PARAMETER(_PREFIX)?$/, `${variable} carries a parameter name`);
            assert.deepEqual(Object.keys(value), ['Fn::Join'], `${variable} is <parameterPrefix>/...`);
          }
        }
      }
      assert.deepEqual(
        Object.keys(slackJson.Outputs).filter((output) => /Token|Secret/.test(output)).sort(),
        ['BotTokenParameterName', 'SigningSecretParameterName'],
      );
    });
  });

  describe('cdk-nag AwsSolutions', () => {
    for (const [name, , stack] of stacks) {
      it(`${name}: no unacknowledged error`, () => {
        const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
        assert.deepEqual(errors.map((error) => `${error.id}: ${error.entry.data}`), []);
      });

      it(`${name}: no unacknowledged warning`, () => {
        const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
        assert.deepEqual(warnings.map((warning) => `${warning.id}: ${warning.entry.data}`), []);
      });
    }

    it('every acknowledged finding carries a written reason and names what it applies to', () => {
      const acknowledged = [];
      for (const [, template] of stacks) {
        for (const [id, resource] of Object.entries(template.toJSON().Resources)) {
          for (const rule of resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) {
            acknowledged.push({ id, rule });
          }
        }
      }
      assert.ok(acknowledged.length > 0);
      for (const { id, rule } of acknowledged) {
        assert.ok(rule.reason.length >= 80, `${id} ${rule.id}: the reason says why (${rule.reason.length} chars)`);
        if (rule.id === 'AwsSolutions-IAM5') {
          assert.ok(rule.applies_to?.length > 0, `${id}: IAM5 is acknowledged per finding, never wholesale`);
        }
      }
      const ruleIds = [...new Set(acknowledged.map(({ rule }) => rule.id))].sort();
      assert.deepEqual(ruleIds, ['AwsSolutions-APIG3', 'AwsSolutions-APIG4', 'AwsSolutions-COG4', 'AwsSolutions-IAM5']);
    });

    it('really runs: an unencrypted queue without DLQ or SSL policy is reported', () => {
      const app = new App();
      const stack = new Stack(app, 'NagProbe');
      new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED });
      Aspects.of(app).add(new AwsSolutionsChecks());
      app.synth();
      const ids = Annotations.fromStack(stack)
        .findError('*', Match.stringLikeRegexp('AwsSolutions-SQS.*'))
        .map((error) => error.entry.data.split(':')[0]);
      assert.deepEqual([...new Set(ids)].sort(), ['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']);
    });
  });
};
