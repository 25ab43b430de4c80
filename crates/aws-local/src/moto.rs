//! A moto server child process on a free loopback port.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;

use crate::error::LocalAwsError;

/// Environment variable that overrides where the moto virtualenv lives.
pub const VENV_ENV_VAR: &str = "SIRSLACK_VENV";

/// How long [`MotoServer::start`] waits for moto to answer HTTP. A cold start imports a lot of Python.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long dropping a server waits for moto to exit before killing the supervisor outright.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Interval between readiness probes and between exit checks.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Attempts at picking a port: another process can take the port between our probe and moto's bind.
const PORT_ATTEMPTS: usize = 3;

/// The script (relative to the workspace root) whose presence identifies the workspace root.
const SETUP_SCRIPT: &str = "scripts/setup-local-world";

/// Runs moto in the background and stops it when stdin reaches EOF.
///
/// The test process holds the only write end of the supervisor's stdin. When the `MotoServer` is
/// dropped, or when the test process exits in any way (including the never-dropped shared server
/// and SIGKILL), the pipe closes, the watcher kills moto, and the supervisor reaps it: moto never
/// outlives the process that started it and never becomes a zombie.
/// Once the server has been ready (the `ready` marker exists), the supervisor also deletes the log
/// directory on its way out; a server that never became ready keeps its log for the error message.
/// `$0` is the virtualenv's python, `$1` the port, `$2` the log directory, `$3` the launcher
/// ([`SERVE_MOTO`]). Moto gets no stdin and no copy of fd 3.
const SUPERVISOR_SCRIPT: &str = r#"exec 3<&0
"$0" -c "$3" -H 127.0.0.1 -p "$1" </dev/null 3<&- &
moto=$!
(read -r _ <&3; kill "$moto" 2>/dev/null) &
watcher=$!
exec 3<&-
wait "$moto"
status=$?
kill "$watcher" 2>/dev/null
if [ -e "$2/ready" ]; then rm -rf "$2"; fi
exit "$status"
"#;

/// Runs moto's own server with DynamoDB requests serialised (why: see the script's docstring).
const SERVE_MOTO: &str = include_str!("serve_moto.py");

static SHARED: OnceCell<MotoServer> = OnceCell::const_new();
static LOG_DIR_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running `moto_server` bound to 127.0.0.1 on a free port. Stopped (and reaped) on drop.
#[derive(Debug)]
pub struct MotoServer {
    port: u16,
    endpoint_url: String,
    log_dir: PathBuf,
    log_path: PathBuf,
    supervisor: Child,
    supervisor_stdin: Option<ChildStdin>,
}

impl MotoServer {
    /// The server shared by every test in this process, started on first use.
    ///
    /// The server is a child process, not a task, so it outlives the tokio runtime of whichever
    /// `#[tokio::test]` started it. It is never dropped; it stops when the test process exits
    /// (see the supervisor note on [`MotoServer`]). Tests sharing it must use unique resource
    /// names (see [`crate::unique_name`]) and must not call [`MotoServer::reset`].
    pub async fn shared() -> Result<&'static MotoServer, LocalAwsError> {
        SHARED.get_or_try_init(Self::start).await
    }

    /// Starts a server from the default virtualenv (see [`default_venv_dir`]).
    pub async fn start() -> Result<Self, LocalAwsError> {
        Self::start_in(&default_venv_dir()).await
    }

    /// Starts a server from the virtualenv at `venv` (the directory holding `bin/moto_server`).
    pub async fn start_in(venv: &Path) -> Result<Self, LocalAwsError> {
        Self::start_with_timeout(venv, STARTUP_TIMEOUT).await
    }

    async fn start_with_timeout(venv: &Path, timeout: Duration) -> Result<Self, LocalAwsError> {
        let moto_server = venv.join("bin").join("moto_server");
        if !moto_server.is_file() {
            return Err(LocalAwsError::VenvMissing { moto_server });
        }
        let python = venv.join("bin").join("python");
        let log_dir = create_log_dir()?;
        let mut attempt = 1;
        loop {
            match Self::spawn_and_wait(&python, &log_dir, timeout).await {
                Err(LocalAwsError::ServerExited { log, .. })
                    if attempt < PORT_ATTEMPTS && log_mentions_port_in_use(&log) =>
                {
                    tracing::debug!(
                        attempt,
                        "moto_server lost its port to another process; retrying"
                    );
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn spawn_and_wait(
        python: &Path,
        log_dir: &Path,
        timeout: Duration,
    ) -> Result<Self, LocalAwsError> {
        let port = free_loopback_port()?;
        let log_path = log_dir.join(format!("moto_server-{port}.log"));
        let log = File::create(&log_path).map_err(|source| LocalAwsError::Spawn {
            what: "creating the log file",
            source,
        })?;
        let log_for_stderr = log.try_clone().map_err(|source| LocalAwsError::Spawn {
            what: "duplicating the log file handle",
            source,
        })?;
        let mut supervisor = Command::new("sh")
            .arg("-c")
            .arg(SUPERVISOR_SCRIPT)
            .arg(python)
            .arg(port.to_string())
            .arg(log_dir)
            .arg(SERVE_MOTO)
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_for_stderr)
            .spawn()
            .map_err(|source| LocalAwsError::Spawn {
                what: "spawning sh",
                source,
            })?;
        let supervisor_stdin = supervisor.stdin.take();
        let server = Self {
            port,
            endpoint_url: format!("http://127.0.0.1:{port}"),
            log_dir: log_dir.to_path_buf(),
            log_path,
            supervisor,
            supervisor_stdin,
        };
        let server = server.wait_until_ready(timeout).await?;
        if let Err(err) = File::create(log_dir.join("ready")) {
            tracing::debug!(%err, "could not mark the log directory for removal; it will stay");
        }
        tracing::debug!(port, log = %server.log_path.display(), "moto_server ready");
        Ok(server)
    }

    async fn wait_until_ready(mut self, timeout: Duration) -> Result<Self, LocalAwsError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.supervisor.try_wait() {
                let log = self.log_path.clone();
                return Err(LocalAwsError::ServerExited { status, log });
            }
            // Moto's dashboard answers 200. Any other answer is not moto: another process of the
            // test run may have taken the port between `free_loopback_port` and moto's bind (a
            // stand-in answers 404); moto then exits with the port in use and is started again.
            if matches!(http_request(self.port, "GET", "/moto-api/").await, Ok(200)) {
                return Ok(self);
            }
            if Instant::now() >= deadline {
                return Err(LocalAwsError::ServerNotReady {
                    endpoint_url: self.endpoint_url.clone(),
                    timeout,
                    log: self.log_path.clone(),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The port moto listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, the endpoint URL for every AWS SDK client.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    /// moto's combined stdout and stderr. Deleted (with its directory) when the server stops;
    /// kept when the server never became ready, so the startup error can name it.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The PID of the supervising shell whose only child is moto.
    pub fn supervisor_pid(&self) -> u32 {
        self.supervisor.id()
    }

    /// Forgets every resource in this server (`POST /moto-api/reset`).
    ///
    /// Only for a server you own: on [`MotoServer::shared`] it would delete other tests' resources.
    pub async fn reset(&self) -> Result<(), LocalAwsError> {
        const PATH: &str = "/moto-api/reset";
        let status =
            http_request(self.port, "POST", PATH)
                .await
                .map_err(|err| LocalAwsError::MotoApi {
                    path: PATH,
                    reason: err.to_string(),
                })?;
        if status == 200 {
            Ok(())
        } else {
            Err(LocalAwsError::MotoApi {
                path: PATH,
                reason: format!("HTTP status {status}"),
            })
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // EOF on the supervisor's stdin makes it kill moto, wait for it, and exit.
        drop(self.supervisor_stdin.take());
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        let exited = loop {
            match self.supervisor.try_wait() {
                Ok(Some(_)) => break true,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
                Ok(None) | Err(_) => break false,
            }
        };
        if !exited {
            tracing::warn!(
                pid = self.supervisor.id(),
                "moto supervisor did not exit; killing it"
            );
            // Errors here mean the process is already gone; nothing left to clean up.
            let _ = self.supervisor.kill();
            let _ = self.supervisor.wait();
            if self.log_dir.join("ready").exists() {
                let _ = std::fs::remove_dir_all(&self.log_dir);
            }
        }
    }
}

/// The virtualenv holding `bin/moto_server`: `$SIRSLACK_VENV`, else `<workspace root>/.venv`.
pub fn default_venv_dir() -> PathBuf {
    match std::env::var_os(VENV_ENV_VAR) {
        Some(venv) if !venv.is_empty() => PathBuf::from(venv),
        _ => workspace_root().join(".venv"),
    }
}

/// The workspace root: two levels above this crate when built in place, else the nearest
/// ancestor of the current directory that holds `scripts/setup-local-world`.
pub fn workspace_root() -> PathBuf {
    let compiled_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if compiled_in.join(SETUP_SCRIPT).is_file() {
        return compiled_in.canonicalize().unwrap_or(compiled_in);
    }
    // The binary was built elsewhere (or the checkout moved): look around where it runs.
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            cwd.ancestors()
                .find(|dir| dir.join(SETUP_SCRIPT).is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or(compiled_in)
}

fn create_log_dir() -> Result<PathBuf, LocalAwsError> {
    let dir = std::env::temp_dir().join(format!(
        "sirslack-moto-{}-{}",
        std::process::id(),
        LOG_DIR_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|source| LocalAwsError::Spawn {
        what: "creating the log directory",
        source,
    })?;
    Ok(dir)
}

fn free_loopback_port() -> Result<u16, LocalAwsError> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|source| LocalAwsError::Spawn {
            what: "finding a free port",
            source,
        })?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|source| LocalAwsError::Spawn {
            what: "finding a free port",
            source,
        })
}

fn log_mentions_port_in_use(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|text| text.contains("Address already in use"))
}

/// Sends a body-less HTTP/1.1 request to moto and returns the status code.
async fn http_request(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        parse_status(&response)
            .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidData, "not an HTTP/1.x response"))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| std::io::Error::new(ErrorKind::TimedOut, "no HTTP response"))?
}

/// The status code from an `HTTP/1.x NNN ...` status line.
fn parse_status(response: &[u8]) -> Option<u16> {
    let line = response.split(|&byte| byte == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_venv_names_the_binary_and_the_setup_script() {
        let venv = Path::new("/nonexistent/sirslack-venv");

        let err = MotoServer::start_in(venv).await.expect_err("no venv there");

        assert!(matches!(err, LocalAwsError::VenvMissing { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("/nonexistent/sirslack-venv/bin/moto_server"),
            "{message}"
        );
        assert!(
            message.contains("run scripts/setup-local-world"),
            "{message}"
        );
        assert!(message.contains(VENV_ENV_VAR), "{message}");
    }

    /// A venv in a fresh temp directory whose `bin/python` (what the supervisor runs, with the
    /// launcher as `-c`) is the given shell script; `bin/moto_server` only marks the venv as
    /// installed.
    fn fake_venv(script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let venv = create_log_dir().unwrap().join("venv");
        let bin = venv.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["python", "moto_server"] {
            let path = bin.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        venv
    }

    fn remove_temp_parent(path: &Path) {
        let parent = path.parent().expect("created under a temp directory");
        std::fs::remove_dir_all(parent).unwrap();
    }

    #[tokio::test]
    async fn a_server_that_exits_at_once_reports_its_kept_log() {
        // Drops `-c <launcher>` so the log shows the flags moto gets.
        let venv = fake_venv(r#"shift 2; echo "fake moto_server $*" >&2; exit 3"#);

        let err = MotoServer::start_in(&venv)
            .await
            .expect_err("exits at once");

        let LocalAwsError::ServerExited { status, log } = &err else {
            panic!("unexpected error {err:?}");
        };
        assert_eq!(status.code(), Some(3));
        assert!(
            err.to_string().contains(&log.display().to_string()),
            "{err}"
        );
        let logged = std::fs::read_to_string(log).expect("log kept");
        assert!(
            logged.contains("fake moto_server -H 127.0.0.1 -p "),
            "{logged}"
        );
        remove_temp_parent(&venv);
        remove_temp_parent(log);
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out_naming_its_log() {
        let venv = fake_venv("exec sleep 600");

        let err = MotoServer::start_with_timeout(&venv, Duration::from_millis(300))
            .await
            .expect_err("never answers");

        let LocalAwsError::ServerNotReady { log, .. } = &err else {
            panic!("unexpected error {err:?}");
        };
        assert!(log.is_file(), "log kept at {}", log.display());
        assert!(err.to_string().contains("did not answer HTTP"), "{err}");
        remove_temp_parent(&venv);
        remove_temp_parent(log);
    }

    #[test]
    fn workspace_root_holds_the_setup_script() {
        assert!(workspace_root().join(SETUP_SCRIPT).is_file());
    }

    #[test]
    fn status_line_is_parsed_and_garbage_is_not() {
        assert_eq!(
            parse_status(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"),
            Some(200)
        );
        assert_eq!(parse_status(b"HTTP/1.0 404 Not Found\r\n"), Some(404));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }
}
