//! Every external program the CLI runs goes through this module: `cargo lambda`, `rustc`,
//! `zig`, `node` and the CDK CLI (`npx --no cdk`). Programs are looked up on `PATH`, so tests put
//! fake programs first on `PATH`, and nothing else in the CLI spawns a process.
//!
//! Children never see the Slack secrets: `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET` are removed
//! from their environment, and secrets are never arguments.

use std::ffi::OsStr;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};

use crate::deployment::FUNCTION_BINARIES;

/// Environment variables that may hold a secret and must not reach a child process.
pub const SECRET_ENV_VARS: [&str; 2] = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"];

/// The Rust target the functions are built for.
pub const LAMBDA_TARGET: &str = "aarch64-unknown-linux-gnu";

/// The oldest Node.js the CDK app supports (`infra/package.json` engines).
pub const MIN_NODE_MAJOR: u32 = 20;

/// Environment variable naming the source tree (the repository root holding `infra/cdk.json`).
pub const SOURCE_DIR_ENV: &str = "SIRSLACK_SOURCE_DIR";

/// One program invocation: what the plan prints and what [`Tools::run`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCommand {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// Extra environment for the child (never a secret).
    pub env: Vec<(String, String)>,
}

impl ToolCommand {
    fn new(program: &str, args: &[&str], cwd: &Path) -> Self {
        Self {
            program: program.to_string(),
            args: args.iter().map(|arg| (*arg).to_string()).collect(),
            cwd: cwd.to_path_buf(),
            env: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_string(), value.into()));
        self
    }

    /// The command line as a user would type it (shell-quoted), without the environment.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(shell_quote)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Quotes `word` for a POSIX shell when it has anything but safe characters.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:=@,+-%".contains(&b));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What the tool check found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ToolReport {
    /// One entry per tool found, e.g. `cargo-lambda 1.8.6`.
    pub found: Vec<String>,
    /// One entry per missing or unusable tool, each with how to fix it.
    pub problems: Vec<String>,
}

/// The external programs, run from the source tree.
#[derive(Debug, Clone)]
pub struct Tools {
    source_dir: PathBuf,
    target_dir: PathBuf,
}

impl Tools {
    /// Tools working in `source_dir`; the build output goes to `CARGO_TARGET_DIR` when set
    /// (as cargo does), else `source_dir/target`.
    pub fn new(source_dir: PathBuf) -> Self {
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => source_dir.join(dir),
            _ => source_dir.join("target"),
        };
        Self {
            source_dir,
            target_dir,
        }
    }

    /// The repository root: `SIRSLACK_SOURCE_DIR`, else the tree this binary was built from,
    /// else the nearest ancestor of the working directory that holds `infra/cdk.json`.
    pub fn locate_source_dir() -> anyhow::Result<PathBuf> {
        let is_source_dir = |dir: &Path| dir.join("infra").join("cdk.json").is_file();
        if let Some(dir) = std::env::var_os(SOURCE_DIR_ENV).filter(|dir| !dir.is_empty()) {
            let dir = PathBuf::from(dir);
            if is_source_dir(&dir) {
                return Ok(dir);
            }
            bail!(
                "{SOURCE_DIR_ENV}={} has no infra/cdk.json: point it at the sirslack repository",
                dir.display()
            );
        }
        let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        if is_source_dir(&built_in) {
            return Ok(built_in.canonicalize().unwrap_or(built_in));
        }
        let cwd = std::env::current_dir().context("reading the working directory")?;
        cwd.ancestors()
            .find(|dir| is_source_dir(dir))
            .map(Path::to_path_buf)
            .ok_or_else(|| {
                anyhow!(
                    "cannot find the sirslack repository (a directory with infra/cdk.json): run from inside it or set {SOURCE_DIR_ENV}"
                )
            })
    }

    pub fn source_dir(&self) -> &Path {
        &self.source_dir
    }

    pub fn infra_dir(&self) -> PathBuf {
        self.source_dir.join("infra")
    }

    /// Where `cargo lambda build` puts `<binary>/bootstrap`.
    pub fn function_code_root(&self) -> PathBuf {
        self.target_dir.join("lambda")
    }

    /// `cargo lambda build --release --arm64` for the four function binaries.
    pub fn build_functions(&self) -> ToolCommand {
        let mut command = ToolCommand::new(
            "cargo",
            &["lambda", "build", "--release", "--arm64"],
            &self.source_dir,
        );
        for binary in FUNCTION_BINARIES {
            command = command.arg("--bin").arg(binary);
        }
        command
    }

    /// The built `bootstrap` files that are missing.
    pub fn missing_function_code(&self) -> Vec<PathBuf> {
        FUNCTION_BINARIES
            .iter()
            .map(|binary| self.function_code_root().join(binary).join("bootstrap"))
            .filter(|bootstrap| !bootstrap.is_file())
            .collect()
    }

    /// `npx --no cdk <args>` in `infra/` (the CDK CLI pinned in infra/package.json, never a
    /// download).
    pub fn cdk(&self, args: &[&str]) -> ToolCommand {
        let mut all = vec!["--no", "cdk"];
        all.extend_from_slice(args);
        ToolCommand::new("npx", &all, &self.infra_dir())
    }

    /// Checks every tool the deploy needs and says how to install what is missing.
    pub async fn check(&self) -> ToolReport {
        let mut report = ToolReport::default();
        self.check_cargo_lambda(&mut report).await;
        self.check_lambda_target(&mut report).await;
        self.check_zig(&mut report).await;
        self.check_node(&mut report).await;
        self.check_cdk(&mut report).await;
        report
    }

    async fn check_cargo_lambda(&self, report: &mut ToolReport) {
        match self
            .capture("cargo", &["lambda", "--version"], &self.source_dir)
            .await
        {
            Ok(Captured::Success(version)) => report.found.push(version),
            Ok(Captured::Failure) => report.problems.push(
                "cargo-lambda is missing: install it with `pip install cargo-lambda` (or `cargo install --locked cargo-lambda`)".to_string(),
            ),
            Err(_) => report.problems.push(
                "cargo is missing: install Rust with rustup (https://rustup.rs), then `pip install cargo-lambda`".to_string(),
            ),
        }
    }

    async fn check_lambda_target(&self, report: &mut ToolReport) {
        let missing = format!(
            "the Rust target {LAMBDA_TARGET} is not installed: `rustup target add {LAMBDA_TARGET}`"
        );
        match self
            .capture("rustc", &["--print", "sysroot"], &self.source_dir)
            .await
        {
            Ok(Captured::Success(sysroot)) => {
                let target_lib = Path::new(sysroot.trim())
                    .join("lib")
                    .join("rustlib")
                    .join(LAMBDA_TARGET);
                if target_lib.is_dir() {
                    report.found.push(format!("Rust target {LAMBDA_TARGET}"));
                } else {
                    report.problems.push(missing);
                }
            }
            Ok(Captured::Failure) | Err(_) => report.problems.push(format!(
                "rustc is missing or broken: install Rust with rustup (https://rustup.rs), then `rustup target add {LAMBDA_TARGET}`"
            )),
        }
    }

    async fn check_zig(&self, report: &mut ToolReport) {
        if let Ok(Captured::Success(version)) =
            self.capture("zig", &["version"], &self.source_dir).await
        {
            report.found.push(format!("zig {version}"));
            return;
        }
        // `pip install cargo-lambda` brings zig as the `ziglang` Python package.
        if let Ok(Captured::Success(version)) = self
            .capture("python3", &["-m", "ziglang", "version"], &self.source_dir)
            .await
        {
            report.found.push(format!("zig {version} (Python ziglang)"));
            return;
        }
        report.problems.push(
            "zig is missing (cargo-lambda cross-compiles with it): `pip install ziglang`"
                .to_string(),
        );
    }

    async fn check_node(&self, report: &mut ToolReport) {
        let install = format!("install Node.js {MIN_NODE_MAJOR} or newer (https://nodejs.org)");
        match self.capture("node", &["--version"], &self.source_dir).await {
            Ok(Captured::Success(version)) => {
                let major = version
                    .trim()
                    .trim_start_matches('v')
                    .split('.')
                    .next()
                    .and_then(|major| major.parse::<u32>().ok());
                match major {
                    Some(major) if major >= MIN_NODE_MAJOR => {
                        report.found.push(format!("Node.js {}", version.trim()));
                    }
                    _ => report
                        .problems
                        .push(format!("Node.js {} is too old: {install}", version.trim())),
                }
            }
            Ok(Captured::Failure) | Err(_) => {
                report
                    .problems
                    .push(format!("Node.js is missing: {install}"));
            }
        }
    }

    async fn check_cdk(&self, report: &mut ToolReport) {
        let infra = self.infra_dir();
        let install = format!(
            "the CDK app's packages are not installed: run `npm ci` in {}",
            infra.display()
        );
        match self
            .capture("npx", &["--no", "cdk", "--version"], &infra)
            .await
        {
            Ok(Captured::Success(version)) => report.found.push(format!("AWS CDK {version}")),
            Ok(Captured::Failure) => report.problems.push(install),
            Err(_) => report
                .problems
                .push("npx is missing: it comes with Node.js and npm".to_string()),
        }
    }

    /// Runs `command` with its output going to the terminal; an unsuccessful exit is an error.
    pub async fn run(&self, command: &ToolCommand) -> anyhow::Result<()> {
        // Our own progress lines must come before the child's output.
        let _ = std::io::stdout().flush();
        let status = self
            .base(&command.program, &command.args, &command.cwd)
            .envs(command.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .await
            .map_err(|err| spawn_error(&command.program, err))?;
        if status.success() {
            Ok(())
        } else {
            bail!("`{}` failed ({status})", command.display())
        }
    }

    /// Like [`Tools::run`], and while the child runs, a line every `every` with the time so far
    /// (`      ... still building (1m 30s)`), so a long build or deploy is never silent even
    /// when the child prints nothing.
    pub async fn run_with_heartbeat(
        &self,
        command: &ToolCommand,
        what: &str,
        every: Duration,
    ) -> anyhow::Result<()> {
        let _ = std::io::stdout().flush();
        let started = Instant::now();
        let mut child = self
            .base(&command.program, &command.args, &command.cwd)
            .envs(command.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| spawn_error(&command.program, err))?;
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let status = loop {
            tokio::select! {
                status = child.wait() => break status.with_context(|| format!("waiting for `{}`", command.program))?,
                _ = ticks.tick() => {
                    println!("      ... still {what} ({})", minutes(started.elapsed()));
                    let _ = std::io::stdout().flush();
                }
            }
        };
        if status.success() {
            Ok(())
        } else {
            bail!("`{}` failed ({status})", command.display())
        }
    }

    /// Runs a probe and returns its first output line.
    async fn capture(&self, program: &str, args: &[&str], cwd: &Path) -> anyhow::Result<Captured> {
        let output = self
            .base(program, args, cwd)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|err| spawn_error(program, err))?;
        if output.status.success() {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let first_line = stdout.lines().next().unwrap_or_default().trim();
            Ok(Captured::Success(first_line.to_string()))
        } else {
            Ok(Captured::Failure)
        }
    }

    fn base<S: AsRef<OsStr>>(
        &self,
        program: &str,
        args: &[S],
        cwd: &Path,
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(program);
        command.args(args).current_dir(cwd).kill_on_drop(true);
        for name in SECRET_ENV_VARS {
            command.env_remove(name);
        }
        command
    }
}

/// `45s`, `3m 05s`
pub fn minutes(duration: Duration) -> String {
    let total = duration.as_secs();
    if total < 60 {
        format!("{total}s")
    } else {
        format!("{}m {:02}s", total / 60, total % 60)
    }
}

enum Captured {
    /// Exit 0, with the first line of standard output.
    Success(String),
    /// Ran, but failed.
    Failure,
}

fn spawn_error(program: &str, err: std::io::Error) -> anyhow::Error {
    if err.kind() == ErrorKind::NotFound {
        anyhow!("`{program}` is not installed (not found on PATH)")
    } else {
        anyhow!("could not run `{program}`: {err}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_display_as_shell_lines() {
        let tools = Tools::new(PathBuf::from("/src"));
        assert_eq!(
            tools.build_functions().display(),
            "cargo lambda build --release --arm64 --bin sir-poller --bin slack-client --bin slack-events-handler --bin command-handler"
        );
        let deploy = tools.cdk(&["deploy", "--all"]).arg("-c").arg("x=a b");
        assert_eq!(deploy.display(), "npx --no cdk deploy --all -c 'x=a b'");
        assert_eq!(deploy.cwd, PathBuf::from("/src/infra"));
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn elapsed_time_reads_as_minutes_and_seconds() {
        assert_eq!(minutes(Duration::from_millis(45_900)), "45s");
        assert_eq!(minutes(Duration::from_secs(185)), "3m 05s");
    }
}
