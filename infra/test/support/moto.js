'use strict';
// A private moto server for one test file: the pinned moto from the project venv, started through
// moto_server_patched.py on a 127.0.0.1 port the OS picks, stopped (and reaped) by PID.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { REPO_ROOT } = require('../../lib/function-code');
const { tempDir } = require('./temp');
const { waitFor } = require('./wait');

/** Same override as crates/aws-local: SIRSLACK_VENV, else <repo>/.venv. */
function venvDir() {
  return process.env.SIRSLACK_VENV || path.join(REPO_ROOT, '.venv');
}

/** A venv executable, or an error that says how to get it. */
function venvTool(name) {
  const tool = path.join(venvDir(), 'bin', name);
  if (!fs.existsSync(tool)) {
    throw new Error(`${tool} is missing: run scripts/setup-local-world (it installs moto and cfn-lint)`);
  }
  return tool;
}

// The pinned SDK clients work on Node 20; their notice about future releases needing Node 22
// would only clutter the test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const LOCAL_REGION = 'us-east-1';
const MOTO_ACCOUNT_ID = '123456789012';
const STARTUP_TIMEOUT_MS = 60_000;
const PATCHED_LAUNCHER = path.join(__dirname, 'moto_server_patched.py');
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Runs moto in the background and stops it when its stdin reaches EOF (the same supervisor as
 * crates/aws-local). The test process holds the only write end of that pipe, so moto stops when
 * the test calls stop() and also when the test process dies in any way, SIGKILL included.
 * `$0` is the Python interpreter, the remaining arguments go to the launcher.
 */
const SUPERVISOR_SCRIPT = `exec 3<&0
"$0" "$@" </dev/null 3<&- &
moto=$!
(read -r _ <&3; kill "$moto" 2>/dev/null) &
watcher=$!
exec 3<&-
wait "$moto"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
`;

async function isAnswering(endpoint) {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts moto on a port the OS picks (`-p 0`; werkzeug logs the port it bound), and resolves to
 * `{endpoint, port, logPath, stop()}` once it answers HTTP. The process is spawned before the
 * first `await`, so a caller can start moto, do synchronous work (a synth), then await it.
 */
async function startMoto() {
  const python = venvTool('python');
  venvTool('moto_server');
  const logPath = path.join(tempDir('moto-'), 'moto.log');
  const log = fs.openSync(logPath, 'w');
  const child = spawn('sh', ['-c', SUPERVISOR_SCRIPT, python, PATCHED_LAUNCHER, '-H', '127.0.0.1', '-p', '0'], {
    stdio: ['pipe', log, log],
    env: { ...process.env, AWS_DEFAULT_REGION: LOCAL_REGION },
  });
  fs.closeSync(log);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const readLog = () => fs.readFileSync(logPath, 'utf8');
  try {
    const port = await waitFor(`moto to report its port (log ${logPath})`, STARTUP_TIMEOUT_MS, () => {
      if (exited) {
        throw new Error(`moto exited (${JSON.stringify(exited)}); log ${logPath}:\n${readLog()}`);
      }
      return readLog().match(/Running on http:\/\/127\.0\.0\.1:(\d+)/)?.[1];
    });
    const endpoint = `http://127.0.0.1:${port}`;
    await waitFor(`moto to answer on ${endpoint}`, STARTUP_TIMEOUT_MS, () => isAnswering(endpoint));
    return { endpoint, port: Number(port), logPath, stop: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/**
 * Closes the supervisor's stdin (its watcher then kills moto by PID) and resolves once the
 * supervisor has exited; kills the supervisor outright if that takes longer than 10 s.
 */
function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.stdin.end();
  });
}

/** Client configuration for moto: static test credentials, us-east-1, path-style S3. */
function clientConfig(endpoint) {
  return {
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
    // No SDK retries: a retried CreateStack would hide moto's first answer behind AlreadyExists.
    maxAttempts: 1,
  };
}

module.exports = {
  LOCAL_REGION,
  MOTO_ACCOUNT_ID,
  clientConfig,
  startMoto,
  venvDir,
  venvTool,
};
