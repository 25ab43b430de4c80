'use strict';
// Each function's environment against what its code reads: the stacks set every variable the
// function's configuration reads (lib/function-environment.json, generated from the Rust list in
// crates/lambda/src/vars.rs and checked there against the code), except the ones contract.js
// leaves unset with a reason, and set nothing the code ignores; what Lambda sets (the log level
// and format among them) the stacks never set. docs/infrastructure.md lists the result.

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');
const { FUNCTIONS, FUNCTION_ENVIRONMENT, FUNCTION_VARIABLES_LEFT_UNSET } = require('../../lib/contract');
const { readSource } = require('../support/rust-source');
const { logicalId } = require('../support/synth');

/** Where each function's code lives: crate directory and stack/logical ID prefix. */
const FUNCTION_SOURCES = Object.freeze({
  poller: { crate: 'poller', stack: 'common', prefix: 'PollerFunction' },
  slackClient: { crate: 'slack-client', stack: 'slack', prefix: 'SlackClientFunction' },
  eventsHandler: { crate: 'events-handler', stack: 'slack', prefix: 'EventsHandlerFunction' },
  commandHandler: { crate: 'command-handler', stack: 'slack', prefix: 'CommandHandlerFunction' },
});

/** The "## Environment variables" section of docs/infrastructure.md. */
function documentedEnvironmentSection() {
  const doc = readSource('docs/infrastructure.md');
  const start = doc.indexOf('## Environment variables');
  assert.ok(start >= 0, 'docs/infrastructure.md has an "Environment variables" section');
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
}

module.exports = function environmentSuites({ templates }) {
  const runtime = FUNCTION_ENVIRONMENT.runtime;
  const functions = Object.entries(FUNCTION_SOURCES).map(([key, source]) => {
    const template = templates[source.stack];
    const id = logicalId(template, 'AWS::Lambda::Function', source.prefix);
    const environment = template.toJSON().Resources[id].Properties.Environment.Variables;
    const reads = FUNCTION_ENVIRONMENT.functions[FUNCTIONS[key].binary] ?? [];
    return {
      key,
      environment,
      reads,
      set: Object.keys(environment).sort(),
      read: reads.map((variable) => variable.name).sort(),
      leftUnset: Object.keys(FUNCTION_VARIABLES_LEFT_UNSET[key]).sort(),
    };
  });

  describe('environment variables against the code that reads them', () => {
    it('the generated contract lists every function and what the runtime reads', () => {
      for (const fn of functions) {
        assert.ok(fn.read.includes('TABLE_NAME'), `${fn.key} reads TABLE_NAME`);
      }
      const runtimeNames = runtime.map((variable) => variable.name);
      for (const name of ['AWS_LAMBDA_LOG_LEVEL', 'AWS_LAMBDA_LOG_FORMAT']) {
        assert.ok(runtimeNames.includes(name), `the runtime's logging reads ${name}`);
      }
    });

    for (const fn of functions) {
      it(`${fn.key}: sets no variable its code does not read`, () => {
        assert.deepEqual(fn.set.filter((name) => !fn.read.includes(name)), []);
      });

      it(`${fn.key}: sets every variable its code reads, except the ones left unset with a reason`, () => {
        assert.deepEqual(fn.read.filter((name) => !fn.set.includes(name) && !fn.leftUnset.includes(name)), []);
        // The list of unset variables is neither stale nor contradicted by the stack.
        assert.deepEqual(fn.leftUnset.filter((name) => !fn.read.includes(name)), [], 'left unset but not read');
        assert.deepEqual(fn.leftUnset.filter((name) => fn.set.includes(name)), [], 'left unset but set');
        for (const [name, reason] of Object.entries(FUNCTION_VARIABLES_LEFT_UNSET[fn.key])) {
          assert.ok(reason.length >= 10, `${fn.key} ${name} says why it is unset`);
        }
        // Every required variable is set by the stack.
        const required = fn.reads.filter((variable) => variable.need === 'required').map((variable) => variable.name);
        assert.deepEqual(required.filter((name) => !fn.set.includes(name)), [], 'required but not set');
      });

      it(`${fn.key}: sets nothing Lambda sets itself (its log level and format come from LoggingConfig)`, () => {
        const lambdaSet = [...runtime, ...fn.reads].filter((variable) => variable.need === 'lambda').map((variable) => variable.name);
        assert.deepEqual(fn.set.filter((name) => lambdaSet.includes(name)), []);
        for (const retired of ['LOG_LEVEL', 'RUST_LOG']) {
          assert.equal(fn.environment[retired], undefined, `${fn.key} sets ${retired}`);
        }
      });
    }

    it('docs/infrastructure.md lists every variable set or left unset, and no other', () => {
      const section = documentedEnvironmentSection();
      for (const fn of functions) {
        for (const name of [...fn.set, ...fn.leftUnset]) {
          assert.ok(section.includes(`\`${name}\``), `docs name ${fn.key}'s ${name}`);
        }
      }
      const known = new Set([...functions.flatMap((fn) => fn.read), ...runtime.map((variable) => variable.name)]);
      const documented = [...section.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`/g)].map(([, name]) => name);
      assert.deepEqual([...new Set(documented.filter((name) => !known.has(name)))], [], 'documented but read by no function');
    });
  });
};
