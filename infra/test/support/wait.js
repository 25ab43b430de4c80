'use strict';
// Waiting on a condition with a deadline: the only way tests wait (never a fixed sleep).

const { setTimeout: delay } = require('node:timers/promises');

const POLL_INTERVAL_MS = 100;

/**
 * Calls `probe` until it returns a truthy value, then resolves to that value. Rejects with a
 * message naming `what` when `timeoutMs` passes first; errors thrown by `probe` propagate.
 */
async function waitFor(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(POLL_INTERVAL_MS);
  }
}

module.exports = { waitFor };
