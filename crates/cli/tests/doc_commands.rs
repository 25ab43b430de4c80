//! Every command line the documentation quotes must exist.
//!
//! README.md and docs/*.md are scanned for command lines (shell code blocks and inline code
//! spans) that run the deploy CLI (`scripts/deploy-integrations-solution ...`, `sirslack ...`,
//! `cargo run ... -p sirslack-cli -- ...`) or one of the project's scripts (`scripts/test`,
//! `scripts/run-local`, any other `scripts/<name>`). Then:
//!
//! - **CLI lines** are run against the built `sirslack` binary twice:
//!   1. with `--help` appended: clap parses every word before it reaches `--help`, so an unknown
//!      subcommand or flag, a flag in the wrong place, or a value outside a flag's choices fails
//!      (exit code 2); the help printed must be the one of the quoted operation;
//!   2. for lines without placeholders (`<...>`, `...`, `$VAR`), for real, in a sandbox that
//!      cannot reach AWS or Slack (every endpoint is loopback port 0, the credentials are fake,
//!      `PATH` is empty) and with `--dry-run` added to a deploy: the CLI's own checks of
//!      every value (token, secret, workspace ID, e-mail, region, deployment name, app name)
//!      and clap's conflicts run, and the exit code must not be 2 ("invalid arguments").
//! - **`scripts/test`** is run with the quoted arguments and `--help` (the script reads every
//!   argument before it does anything, and exits 2 on an unknown one).
//! - **`scripts/run-local`**: that script is being written in another issue. While it does not
//!   exist, its lines are reported and skipped (the only skip in this test). Once it exists,
//!   every `--flag` quoted must appear in the script or in its crate's source (`crates/local-run`):
//!   running it here would start a nested cargo build inside `cargo test`.
//! - **Any other `scripts/<name>`** must exist and be executable (a `scripts/<file>.<ext>` must
//!   exist).
//!
//! `scripts/deploy-integrations-solution` itself is a wrapper (`cargo run ... --bin sirslack`);
//! the test checks that it still wraps this binary, and runs the binary directly.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WRAPPER: &str = "scripts/deploy-integrations-solution";
const OPERATIONS: [&str; 5] = ["manifest", "verify", "rotate", "redrive", "destroy"];
/// Where the sandbox points AWS and Slack: port 0 can never be connected to, so every call fails
/// at once ("connection refused"), and no other process can be listening there.
const UNREACHABLE_ENDPOINT: &str = "http://127.0.0.1:0";
/// A run of the CLI in the sandbox must end within this (every endpoint refuses at once).
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// Well-formed fake values for the sandbox runs (never valid anywhere).
const FAKE_BOT_TOKEN: &str = "xoxb-1111111111-2222222222-DocsTestDocsTestDocsTest";
const FAKE_SIGNING_SECRET: &str = "0123456789abcdef0123456789abcdef";
const FAKE_WORKSPACE_ID: &str = "T0DOCSTEST1";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn sirslack_binary() -> &'static str {
    env!("CARGO_BIN_EXE_sirslack")
}

/// README.md and docs/*.md, in a stable order.
fn documents() -> Vec<(String, String)> {
    let root = repo_root();
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            let name = path
                .strip_prefix(&root)
                .expect("inside the repository")
                .display()
                .to_string();
            (name, text)
        })
        .collect()
}

/// Where a command line was quoted.
#[derive(Debug, Clone)]
struct Quoted {
    document: String,
    line: usize,
    text: String,
}

impl std::fmt::Display for Quoted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: `{}`", self.document, self.line, self.text)
    }
}

/// Fenced block languages whose lines are commands (not output).
fn is_shell_language(language: &str) -> bool {
    matches!(language, "sh" | "bash" | "shell" | "console" | "zsh")
}

/// Shell lines of fenced code blocks (continuations joined) and inline code spans of prose.
fn quoted_snippets(document: &str, text: &str) -> Vec<Quoted> {
    let mut snippets = Vec::new();
    let mut fence: Option<(String, bool)> = None; // (marker, shell?)
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim_start();
        if let Some((marker, shell)) = &fence {
            if trimmed.starts_with(marker.as_str()) && trimmed.trim_end() == marker.as_str() {
                fence = None;
                pending = None;
                continue;
            }
            if !shell {
                continue;
            }
            let (start, mut joined) = pending.take().unwrap_or((number, String::new()));
            match trimmed.trim_end().strip_suffix('\\') {
                Some(part) => {
                    joined.push_str(part);
                    joined.push(' ');
                    pending = Some((start, joined));
                }
                None => {
                    joined.push_str(trimmed.trim_end());
                    snippets.push(Quoted {
                        document: document.to_owned(),
                        line: start,
                        text: joined,
                    });
                }
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("```").or(trimmed.strip_prefix("~~~")) {
            let marker = if trimmed.starts_with("```") {
                "```"
            } else {
                "~~~"
            };
            let language = rest.split_whitespace().next().unwrap_or("");
            fence = Some((marker.to_owned(), is_shell_language(language)));
            continue;
        }
        for span in inline_code_spans(raw) {
            snippets.push(Quoted {
                document: document.to_owned(),
                line: number,
                text: span,
            });
        }
    }
    snippets
}

/// The contents of `` `...` `` and ``` ``...`` ``` spans of one line of prose.
fn inline_code_spans(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut spans = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        if chars[at] != '`' {
            at += 1;
            continue;
        }
        let ticks = chars[at..].iter().take_while(|c| **c == '`').count();
        let open_end = at + ticks;
        let mut search = open_end;
        let mut closed = None;
        while search < chars.len() {
            if chars[search] == '`' {
                let run = chars[search..].iter().take_while(|c| **c == '`').count();
                if run == ticks {
                    closed = Some(search);
                    break;
                }
                search += run;
            } else {
                search += 1;
            }
        }
        match closed {
            Some(close) => {
                let content: String = chars[open_end..close].iter().collect();
                spans.push(content.trim().to_owned());
                at = close + ticks;
            }
            None => break,
        }
    }
    spans
}

/// One simple command of a shell line: its words, quotes removed, no expansion.
type Words = Vec<String>;

/// Splits a shell line into simple commands at `|`, `||`, `&&`, `;` (outside quotes), drops a
/// trailing `# comment`, removes quotes. A leading `$ ` prompt is ignored.
fn simple_commands(line: &str) -> Vec<Words> {
    let line = line.trim();
    let line = line.strip_prefix("$ ").unwrap_or(line);
    let mut commands = Vec::new();
    let mut words: Words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some('"'), '\\') => {
                if let Some(next) = chars.next() {
                    word.get_or_insert_with(String::new).push(next);
                }
            }
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, '#') if word.is_none() => break,
            // `|`, `||`, `&&`, `;` and a lone `&` (background) all end a simple command.
            (None, '|' | ';' | '&') => {
                if c != ';' && chars.peek() == Some(&c) {
                    chars.next();
                }
                words.extend(word.take());
                commands.push(std::mem::take(&mut words));
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    commands.push(words);
    commands
        .into_iter()
        .map(|command| {
            // Leading `NAME=value` assignments are environment, not the command.
            command
                .into_iter()
                .skip_while(|word| {
                    word.split_once('=').is_some_and(|(name, _)| {
                        !name.is_empty()
                            && name
                                .chars()
                                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    })
                })
                .collect::<Words>()
        })
        .filter(|command| !command.is_empty())
        .collect()
}

/// What a quoted simple command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Invocation {
    /// The deploy CLI, with the arguments after the program name.
    Cli(Words),
    /// `scripts/<name>` other than the deploy wrapper, with its arguments.
    Script { name: String, args: Words },
}

fn invocation(words: &[String]) -> Option<Invocation> {
    let program = words.first()?.as_str();
    let program = program.strip_prefix("./").unwrap_or(program);
    if program == WRAPPER || program == "sirslack" {
        return Some(Invocation::Cli(words[1..].to_vec()));
    }
    if program == "cargo"
        && words.get(1).is_some_and(|word| word == "run")
        && words.iter().any(|word| word == "sirslack-cli")
    {
        let args = words
            .iter()
            .position(|word| word == "--")
            .map(|at| words[at + 1..].to_vec())
            .unwrap_or_default();
        return Some(Invocation::Cli(args));
    }
    let name = program.strip_prefix("scripts/")?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some(Invocation::Script {
        name: name.to_owned(),
        args: words[1..].to_vec(),
    })
}

/// Every quoted command line that runs the CLI or a script, in document order.
fn quoted_invocations() -> Vec<(Quoted, Invocation)> {
    let mut found = Vec::new();
    for (document, text) in documents() {
        for snippet in quoted_snippets(&document, &text) {
            for words in simple_commands(&snippet.text) {
                if let Some(invocation) = invocation(&words) {
                    found.push((snippet.clone(), invocation));
                }
            }
        }
    }
    found
}

/// The operation a CLI argument list names (`None`: the deploy), once past `slack`.
fn operation_of(args: &[String]) -> Option<&str> {
    args.get(1)
        .map(String::as_str)
        .filter(|word| OPERATIONS.contains(word))
}

fn has_placeholder(args: &[String]) -> bool {
    args.iter().any(|word| {
        word.contains("...") || word.contains('$') || (word.starts_with('<') && word.ends_with('>'))
    })
}

fn describe(output: &Output) -> String {
    format!(
        "exit status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `command` with `stdin`, killing it after [`RUN_LIMIT`].
fn run_with_limit(mut command: Command, stdin: &str) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    if let Some(mut input) = child.stdin.take() {
        // The CLI may exit before reading everything; a broken pipe is not a failure.
        let _ = input.write_all(stdin.as_bytes());
    }
    let started = Instant::now();
    loop {
        match child.try_wait().expect("wait") {
            Some(_) => return child.wait_with_output().expect("output"),
            None if started.elapsed() > RUN_LIMIT => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("output");
                panic!(
                    "still running after {RUN_LIMIT:?}; killed\n{}",
                    describe(&output)
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A directory that removes itself.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "sirslack-doc-commands-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("scratch dir");
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Phase 1: the arguments plus `--help` must parse and print the quoted operation's help.
fn check_parses(quoted: &Quoted, args: &[String]) -> Result<(), String> {
    let mut command = Command::new(sirslack_binary());
    command
        .args(args)
        .arg("--help")
        .env_remove("SIRSLACK_INVOKED_AS");
    let output = run_with_limit(command, "");
    if output.status.code() != Some(0) {
        return Err(format!(
            "{quoted}\n  is not accepted by the CLI (run with --help appended):\n{}",
            describe(&output)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = match (args.first().map(String::as_str), operation_of(args)) {
        (Some("slack"), Some(operation)) => format!("Usage: sirslack slack {operation} "),
        (Some("slack"), None) => "usage: deploy-integrations-solution slack ".to_owned(),
        _ => "Usage: sirslack ".to_owned(),
    };
    if !stdout.contains(&expected) {
        return Err(format!(
            "{quoted}\n  printed help without {expected:?}: the quoted words do not select what they seem to\n{}",
            describe(&output)
        ));
    }
    Ok(())
}

/// Phase 2: the line run for real in a sandbox; only "invalid arguments" (exit code 2) fails.
fn check_values(quoted: &Quoted, args: &[String]) -> Result<(), String> {
    let root = repo_root();
    let scratch = Scratch::new("run");
    let empty_path = scratch.0.join("empty-path");
    std::fs::create_dir_all(&empty_path).expect("empty PATH dir");

    let is_deploy =
        args.first().is_some_and(|word| word == "slack") && operation_of(args).is_none();
    let mut args = args.to_vec();
    if is_deploy && !args.iter().any(|word| word == "--dry-run") {
        args.push("--dry-run".to_owned());
    }
    // `-` values are read from standard input in order, the bot token first.
    let mut stdin = String::new();
    let flag_reads_stdin = |flag: &str| {
        args.windows(2)
            .any(|pair| pair[0] == flag && pair[1] == "-")
    };
    if flag_reads_stdin("--bot-token") {
        stdin.push_str(FAKE_BOT_TOKEN);
        stdin.push('\n');
    }
    if flag_reads_stdin("--signing-secret") {
        stdin.push_str(FAKE_SIGNING_SECRET);
        stdin.push('\n');
    }

    let mut command = Command::new(sirslack_binary());
    command
        .args(&args)
        .current_dir(&scratch.0)
        .env_clear()
        .env("PATH", &empty_path)
        .env("HOME", &scratch.0)
        .env("SIRSLACK_SOURCE_DIR", &root)
        .env("CARGO_TARGET_DIR", scratch.0.join("target"))
        .env("AWS_ACCESS_KEY_ID", "AKIADOCSTESTDOCSTEST")
        .env("AWS_SECRET_ACCESS_KEY", "docs-test-secret-access-key")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", scratch.0.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.0.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_ENDPOINT_URL", UNREACHABLE_ENDPOINT)
        .env("SLACK_API_URL", format!("{UNREACHABLE_ENDPOINT}/api"))
        .env("SLACK_BOT_TOKEN", FAKE_BOT_TOKEN)
        .env("SLACK_SIGNING_SECRET", FAKE_SIGNING_SECRET)
        .env("SLACK_WORKSPACE_ID", FAKE_WORKSPACE_ID);
    let output = run_with_limit(command, &stdin);
    let code = output.status.code();
    if code == Some(2) {
        return Err(format!(
            "{quoted}\n  has an invalid value (run in a sandbox as `sirslack {}`):\n{}",
            args.join(" "),
            describe(&output)
        ));
    }
    if is_deploy && code != Some(0) {
        return Err(format!(
            "{quoted}\n  fails as a dry run (`sirslack {}`):\n{}",
            args.join(" "),
            describe(&output)
        ));
    }
    Ok(())
}

/// `scripts/test <args> --help`: exits 0 when every argument is one the script knows.
fn check_test_script(quoted: &Quoted, args: &[String]) -> Result<(), String> {
    let root = repo_root();
    let mut command = Command::new("bash");
    command
        .arg(root.join("scripts/test"))
        .args(args)
        .arg("--help")
        .current_dir(&root);
    let output = run_with_limit(command, "");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.code() != Some(0) || !stdout.contains("scripts/test") {
        return Err(format!(
            "{quoted}\n  is not accepted by scripts/test:\n{}",
            describe(&output)
        ));
    }
    Ok(())
}

/// Every `.rs` file under `dir`.
fn rust_sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(rust_sources(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    found
}

/// `scripts/run-local`: every quoted `--flag` must be defined by the script or its crate.
fn check_run_local(quoted: &Quoted, args: &[String]) -> Result<(), String> {
    let root = repo_root();
    let script = std::fs::read_to_string(root.join("scripts/run-local")).unwrap_or_default();
    let mut sources = script.clone();
    for path in rust_sources(&root.join("crates/local-run/src")) {
        sources.push_str(&std::fs::read_to_string(path).unwrap_or_default());
    }
    for flag in args.iter().filter(|word| word.starts_with("--")) {
        let name = flag.split('=').next().unwrap_or(flag);
        let field = name.trim_start_matches('-').replace('-', "_");
        let defined = sources.contains(name)
            || sources.contains(&format!("{field}:"))
            || sources.contains(&format!("long = \"{}\"", name.trim_start_matches('-')));
        if !defined {
            return Err(format!(
                "{quoted}\n  quotes {name}, which neither scripts/run-local nor crates/local-run/src defines"
            ));
        }
    }
    Ok(())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[test]
fn the_deploy_wrapper_runs_this_binary() {
    let wrapper = std::fs::read_to_string(repo_root().join(WRAPPER)).expect("the deploy wrapper");
    assert!(
        wrapper.contains("-p sirslack-cli") && wrapper.contains("--bin sirslack"),
        "{WRAPPER} no longer runs the sirslack binary of sirslack-cli; update this test"
    );
    assert!(is_executable(&repo_root().join(WRAPPER)));
}

#[test]
fn every_quoted_command_line_exists() {
    let invocations = quoted_invocations();
    let cli_lines = invocations
        .iter()
        .filter(|(_, invocation)| matches!(invocation, Invocation::Cli(_)))
        .count();
    // docs/deployment.md alone quotes well over ten; far fewer means the scan broke.
    assert!(
        cli_lines >= 15,
        "found only {cli_lines} CLI command lines: {invocations:#?}"
    );

    let mut failures = Vec::new();
    let mut skipped = BTreeSet::new();
    let mut checked = 0;
    for (quoted, invocation) in &invocations {
        let result = match invocation {
            Invocation::Cli(args) => {
                checked += 1;
                check_parses(quoted, args).and_then(|()| {
                    // A bare program name (`sirslack`) names the binary; it is not a command.
                    if args.is_empty() || has_placeholder(args) {
                        Ok(())
                    } else {
                        check_values(quoted, args)
                    }
                })
            }
            Invocation::Script { name, args } => {
                let path = repo_root().join("scripts").join(name);
                if name == "run-local" && !path.exists() {
                    skipped.insert(quoted.to_string());
                    continue;
                }
                checked += 1;
                // `scripts/requirements-local-world.txt` and the like are files, not commands.
                let is_data_file = name.contains('.');
                if is_data_file {
                    if path.is_file() {
                        Ok(())
                    } else {
                        Err(format!("{quoted}\n  scripts/{name} does not exist"))
                    }
                } else if !is_executable(&path) {
                    Err(format!(
                        "{quoted}\n  scripts/{name} does not exist or is not executable"
                    ))
                } else {
                    match name.as_str() {
                        "test" => check_test_script(quoted, args),
                        "run-local" => check_run_local(quoted, args),
                        _ => Ok(()),
                    }
                }
            }
        };
        if let Err(failure) = result {
            failures.push(failure);
        }
    }
    for line in &skipped {
        eprintln!("skipped (scripts/run-local does not exist yet): {line}");
    }
    eprintln!(
        "checked {checked} quoted command lines ({cli_lines} CLI), skipped {}",
        skipped.len()
    );
    assert!(
        failures.is_empty(),
        "{} quoted command line(s) do not exist:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---- the scanner itself ------------------------------------------------------------------------

#[test]
fn shell_blocks_and_inline_spans_are_scanned_and_output_blocks_are_not() {
    let text = "\
Run `scripts/deploy-integrations-solution slack verify --region us-east-1` first.

```sh
scripts/deploy-integrations-solution slack \\
  --workspace-id T0123456789 \\
  --region us-east-1   # a comment
printf '%s\\n' \"$X\" | scripts/deploy-integrations-solution slack rotate --bot-token -
```

```text
scripts/deploy-integrations-solution slack --bogus
```

   ```bash
   FOO=1 sirslack slack redrive && scripts/test --quick
   ```
";
    let found: Vec<(usize, Invocation)> = quoted_snippets("x.md", text)
        .into_iter()
        .flat_map(|quoted| {
            simple_commands(&quoted.text)
                .into_iter()
                .filter_map(|words| invocation(&words))
                .map(move |invocation| (quoted.line, invocation))
        })
        .collect();
    let words = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Words>()
    };
    assert_eq!(
        found,
        vec![
            (1, Invocation::Cli(words("slack verify --region us-east-1"))),
            (
                4,
                Invocation::Cli(words("slack --workspace-id T0123456789 --region us-east-1"))
            ),
            (7, Invocation::Cli(words("slack rotate --bot-token -"))),
            (15, Invocation::Cli(words("slack redrive"))),
            (
                15,
                Invocation::Script {
                    name: "test".into(),
                    args: words("--quick")
                }
            ),
        ]
    );
}

#[test]
fn quotes_comments_and_cargo_run_are_understood() {
    assert_eq!(
        simple_commands(r#"sirslack slack manifest --app-name "SecOps IR" # note"#),
        vec![vec![
            "sirslack".to_owned(),
            "slack".into(),
            "manifest".into(),
            "--app-name".into(),
            "SecOps IR".into()
        ]]
    );
    let cargo = simple_commands("cargo run -q -p sirslack-cli -- slack verify --help");
    assert_eq!(
        invocation(&cargo[0]),
        Some(Invocation::Cli(vec![
            "slack".into(),
            "verify".into(),
            "--help".into()
        ]))
    );
    assert_eq!(
        invocation(&simple_commands("cargo test -p sirslack-cli")[0]),
        None
    );
    assert_eq!(inline_code_spans("a ``x `y` z`` b `c`"), ["x `y` z", "c"]);
}

#[test]
fn a_made_up_flag_or_operation_is_caught() {
    let quoted = Quoted {
        document: "x.md".into(),
        line: 1,
        text: "made up".into(),
    };
    let args = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Words>()
    };
    assert!(check_parses(&quoted, &args("slack verify --region us-east-1")).is_ok());
    for wrong in [
        "slack verify --regoin us-east-1",
        "slack --region us-east-1 verify",
        "slack frobnicate",
        "slack --log-level warn",
        "slack manifest --format xml",
    ] {
        assert!(
            check_parses(&quoted, &args(wrong)).is_err(),
            "accepted: {wrong}"
        );
    }
    assert!(
        check_values(
            &quoted,
            &args("slack --workspace-id T0123456789 --region us-east-1")
        )
        .is_ok()
    );
    for wrong in [
        "slack --workspace-id t123 --region us-east-1",
        "slack verify --deployment 9lives",
        "slack manifest --endpoint https://x.example/slack/events --no-endpoint",
    ] {
        assert!(
            check_values(&quoted, &args(wrong)).is_err(),
            "accepted: {wrong}"
        );
    }
    assert!(check_test_script(&quoted, &args("--quick")).is_ok());
    assert!(check_test_script(&quoted, &args("--fast")).is_err());
}
