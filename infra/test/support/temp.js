'use strict';
// Temporary directories for one test process, under one root that is removed when the process
// exits cleanly. After a failure it is kept (the moto log and the templates are in it) and its
// path is printed.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

let root;

/** A fresh directory named `<prefix>...` below this process's temp root. */
function tempDir(prefix) {
  if (!root) {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sirslack-infra-test-'));
    process.once('exit', (code) => {
      if (code === 0 && process.env.SIRSLACK_KEEP_TEMP !== '1') {
        fs.rmSync(root, { recursive: true, force: true });
      } else {
        process.stderr.write(`sirslack infra tests: temporary files kept in ${root}\n`);
      }
    });
  }
  return fs.mkdtempSync(path.join(root, prefix));
}

module.exports = { tempDir };
