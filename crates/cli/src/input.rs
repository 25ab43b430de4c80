//! Where the secrets come from (a flag, an environment variable, standard input, or a prompt
//! without echo) and yes/no confirmations.

use std::io::{BufRead, IsTerminal, Write};

use crate::cli::FROM_STDIN;
use crate::validate::Secret;

/// One secret input: its flag and its environment variable.
#[derive(Debug, Clone, Copy)]
pub struct SecretInput {
    pub flag: &'static str,
    pub env_var: &'static str,
    /// What the prompt asks for.
    pub prompt: &'static str,
}

pub const BOT_TOKEN_INPUT: SecretInput = SecretInput {
    flag: "--bot-token",
    env_var: crate::cli::BOT_TOKEN_ENV,
    prompt: "Slack Bot User OAuth Token (xoxb-..., not echoed): ",
};

pub const SIGNING_SECRET_INPUT: SecretInput = SecretInput {
    flag: "--signing-secret",
    env_var: crate::cli::SIGNING_SECRET_ENV,
    prompt: "Slack App Signing Secret (not echoed): ",
};

/// Reads secrets in the order they are asked for; standard input is read line by line, so
/// `--bot-token - --signing-secret -` takes the token from the first line and the secret from
/// the second.
pub struct SecretReader {
    stdin_is_terminal: bool,
}

impl Default for SecretReader {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretReader {
    pub fn new() -> Self {
        Self {
            stdin_is_terminal: can_ask(),
        }
    }

    /// The secret when one was given (`flag_value`, `-` for standard input, or the environment);
    /// `None` when none was. Never prompts, except for `-` on a terminal. The value is trimmed
    /// of surrounding whitespace (a pasted token often ends in a newline or a space).
    pub fn given(
        &self,
        input: SecretInput,
        flag_value: Option<String>,
    ) -> Result<Option<Secret>, String> {
        let value = match flag_value.as_deref() {
            Some(FROM_STDIN) => self.read_stdin_line(input)?,
            Some(value) => value.to_string(),
            None => match std::env::var(input.env_var) {
                Ok(value) if !value.trim().is_empty() => value,
                _ => return Ok(None),
            },
        };
        Ok(Some(Secret::new(value.trim())))
    }

    /// Asks for the secret without echo on a terminal; without one, the message naming every
    /// way to give it.
    pub fn ask(&self, input: SecretInput) -> Result<Secret, String> {
        if self.stdin_is_terminal {
            return self.prompt(input).map(|value| Secret::new(value.trim()));
        }
        Err(format!(
            "{flag} is required (or set {env}, or pass {flag} - to read it from standard input)",
            flag = input.flag,
            env = input.env_var
        ))
    }

    fn read_stdin_line(&self, input: SecretInput) -> Result<String, String> {
        if self.stdin_is_terminal {
            return self.prompt(input);
        }
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) => Err(format!(
                "{} -: standard input ended before the value",
                input.flag
            )),
            Ok(_) => Ok(line),
            Err(err) => Err(format!(
                "{} -: could not read standard input: {err}",
                input.flag
            )),
        }
    }

    fn prompt(&self, input: SecretInput) -> Result<String, String> {
        // rpassword reads from the terminal device, not from standard input.
        rpassword::prompt_password(input.prompt)
            .map_err(|err| format!("{}: could not read from the terminal: {err}", input.flag))
    }
}

/// Whether a question can be asked: standard input is a terminal.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks `question` on the terminal; only `y`/`yes` is a yes.
pub fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Asks `question` on the terminal; only the exact `expected` text is a yes.
pub fn confirm_by_typing(question: &str, expected: &str) -> bool {
    eprint!("{question} ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    answer.trim() == expected
}
