//! Identity policies as the CDK app synthesizes them (`infra/iam/function-policies.json`), with
//! the placeholders filled in, and IAM's evaluation of one request against them: an explicit
//! `Deny` wins, then any matching `Allow`, else the implicit deny.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::IamError;

/// The policies file, compiled in: what `cd infra && npm run iam-policies` wrote from the
/// synthesized stacks (the infra tests fail when it drifts from them).
pub const SYNTHESIZED_POLICIES: &str = include_str!("../../../infra/iam/function-policies.json");

/// Names a policies file to use instead of the compiled-in one (mutation checks only).
pub const POLICIES_FILE_ENV_VAR: &str = "SIRSLACK_IAM_POLICIES_FILE";

/// Every function's policy, placeholders unfilled.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyFile {
    functions: BTreeMap<String, FunctionEntry>,
}

#[derive(Debug, Clone, Deserialize)]
struct FunctionEntry {
    role: String,
    statements: Vec<RawStatement>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawStatement {
    #[serde(default)]
    sid: Option<String>,
    effect: Effect,
    action: Vec<String>,
    resource: Vec<String>,
    #[serde(default)]
    condition: BTreeMap<String, BTreeMap<String, Value>>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, whatever else grants.
    Deny,
}

impl PolicyFile {
    /// The compiled-in file ([`SYNTHESIZED_POLICIES`]); or, when [`POLICIES_FILE_ENV_VAR`]
    /// names a file, that file (`scripts/check-least-privilege` uses it to run the suite with one
    /// action removed at a time, without rebuilding).
    pub fn synthesized() -> Result<Self, IamError> {
        match std::env::var_os(POLICIES_FILE_ENV_VAR) {
            Some(path) if !path.is_empty() => {
                let text = std::fs::read_to_string(&path).map_err(|error| {
                    IamError::PolicyFile(format!("{}: {error}", path.to_string_lossy()))
                })?;
                Self::parse(&text)
            }
            _ => Self::parse(SYNTHESIZED_POLICIES),
        }
    }

    /// Parses a policies file.
    pub fn parse(text: &str) -> Result<Self, IamError> {
        serde_json::from_str(text).map_err(|error| IamError::PolicyFile(error.to_string()))
    }

    /// The function keys in the file (`poller`, `slackClient`, `eventsHandler`, `commandHandler`).
    pub fn function_keys(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// The role name of `function` (the logical ID without CDK's hash, e.g. `PollerRole`).
    pub fn role_name(&self, function: &str) -> Option<&str> {
        self.functions
            .get(function)
            .map(|entry| entry.role.as_str())
    }

    /// The policy of `function` with every `${Name}` replaced by `fill(Name)`. A placeholder
    /// `fill` does not know stays as `${Name}`, which no real ARN matches: what it names is
    /// refused, the stricter reading.
    pub fn policy(
        &self,
        function: &str,
        fill: impl Fn(&str) -> Option<String>,
    ) -> Result<Policy, IamError> {
        let entry = self
            .functions
            .get(function)
            .ok_or_else(|| IamError::UnknownFunction(function.to_owned()))?;
        let fill_text = |text: &str| substitute(text, &fill);
        let statements = entry
            .statements
            .iter()
            .map(|raw| Statement {
                sid: raw.sid.clone(),
                effect: raw.effect,
                actions: raw.action.clone(),
                resources: raw.resource.iter().map(|r| fill_text(r)).collect(),
                conditions: raw
                    .condition
                    .iter()
                    .flat_map(|(operator, keys)| {
                        keys.iter().map(move |(key, values)| Condition {
                            operator: operator.clone(),
                            key: key.clone(),
                            values: match values {
                                Value::Array(items) => items
                                    .iter()
                                    .map(|item| fill_text(&value_text(item)))
                                    .collect(),
                                other => vec![fill_text(&value_text(other))],
                            },
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok(Policy { statements })
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Replaces `${Name}` in `text` by `fill(Name)` where it knows the name.
fn substitute(text: &str, fill: &impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match fill(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        out.push_str("${");
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// One statement, placeholders filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's `Sid`, if any.
    pub sid: Option<String>,
    /// Allow or deny.
    pub effect: Effect,
    /// Action patterns (`dynamodb:GetItem`, `s3:*`), matched case-insensitively.
    pub actions: Vec<String>,
    /// Resource patterns (`*` and `?` wildcards), matched case-sensitively.
    pub resources: Vec<String>,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
}

/// One condition: `operator` over `key`, true when the request's value matches any of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `StringEquals`, `StringLike`, `StringNotEquals`, `StringNotLike`, `ArnLike`, `ArnEquals`.
    pub operator: String,
    /// The condition key (`events:source`).
    pub key: String,
    /// The values (any one matches).
    pub values: Vec<String>,
}

impl Condition {
    /// Whether the condition holds for `context`. An operator this evaluator does not know
    /// never holds (the statement does not apply: the stricter reading).
    fn holds(&self, context: &BTreeMap<String, String>) -> bool {
        let value = context.get(&self.key);
        let any = |matches: &dyn Fn(&str, &str) -> bool| {
            value.is_some_and(|value| self.values.iter().any(|pattern| matches(pattern, value)))
        };
        match self.operator.as_str() {
            "StringEquals" | "ArnEquals" => any(&|pattern, value| pattern == value),
            "StringLike" | "ArnLike" => any(&glob),
            "StringNotEquals" => !any(&|pattern, value| pattern == value),
            "StringNotLike" => !any(&glob),
            _ => false,
        }
    }
}

/// What one API call asks IAM for: an action on a resource, with the request's condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `service:Action`.
    pub action: String,
    /// The resource ARN, or `*` for actions without a resource type.
    pub resource: String,
    /// Condition keys the request carries (`events:source`).
    pub context: BTreeMap<String, String>,
}

impl Access {
    /// `action` on `resource`, no condition keys.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    /// Adds a condition key.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.context.insert(key.to_owned(), value.into());
        self
    }
}

/// One principal's identity policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The statements, in order (order does not change the outcome).
    pub statements: Vec<Statement>,
}

impl Policy {
    /// A policy that allows everything (the harness's own administrator).
    pub fn allow_all() -> Self {
        Self {
            statements: vec![Statement {
                sid: Some("Administrator".to_owned()),
                effect: Effect::Allow,
                actions: vec!["*".to_owned()],
                resources: vec!["*".to_owned()],
                conditions: Vec::new(),
            }],
        }
    }

    /// IAM's answer for `access`: `true` when some statement allows it and none denies it.
    pub fn allows(&self, access: &Access) -> bool {
        let applies = |statement: &Statement| {
            statement.actions.iter().any(|pattern| {
                glob(
                    &pattern.to_ascii_lowercase(),
                    &access.action.to_ascii_lowercase(),
                )
            }) && statement
                .resources
                .iter()
                .any(|pattern| glob(pattern, &access.resource))
                && statement
                    .conditions
                    .iter()
                    .all(|condition| condition.holds(&access.context))
        };
        let mut allowed = false;
        for statement in self.statements.iter().filter(|s| applies(s)) {
            match statement.effect {
                Effect::Deny => return false,
                Effect::Allow => allowed = true,
            }
        }
        allowed
    }

    /// The actions this policy names (for tests and reports).
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.statements
            .iter()
            .flat_map(|statement| statement.actions.iter().map(String::as_str))
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one character.
pub fn glob(pattern: &str, value: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == value[v]) {
            p += 1;
            v += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, v));
            p += 1;
        } else if let Some((star_p, star_v)) = star {
            p = star_p + 1;
            v = star_v + 1;
            star = Some((star_p, star_v + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_as_iam_does() {
        assert!(glob("*", "anything"));
        assert!(glob(
            "arn:aws:ssm:*:parameter/a/*",
            "arn:aws:ssm:us-east-1:1:parameter/a/b/c"
        ));
        assert!(glob("dynamodb:Get?tem", "dynamodb:GetItem"));
        assert!(!glob(
            "arn:aws:dynamodb:r:a:table/t",
            "arn:aws:dynamodb:r:a:table/t2"
        ));
        assert!(!glob("a*b", "acb c"));
        assert!(glob("", ""));
        assert!(!glob("", "x"));
    }

    fn policy(text: &str) -> Policy {
        PolicyFile::parse(text)
            .unwrap()
            .policy("f", |name| {
                (name == "Table.Arn").then(|| "arn:aws:dynamodb:r:a:table/t".to_owned())
            })
            .unwrap()
    }

    const FILE: &str = r#"{"functions":{"f":{"role":"FRole","statements":[
        {"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem"],"Resource":["${Table.Arn}"]},
        {"Effect":"Allow","Action":["events:PutEvents"],"Resource":["*"],
         "Condition":{"StringEquals":{"events:source":"me"}}},
        {"Effect":"Allow","Action":["ssm:GetParameter"],"Resource":["${Unknown}"]},
        {"Effect":"Deny","Action":["dynamodb:PutItem"],"Resource":["*"]}]}}}"#;

    #[test]
    fn allows_only_what_a_statement_names_and_no_deny_refuses() {
        let policy = policy(FILE);
        let table = "arn:aws:dynamodb:r:a:table/t";
        assert!(policy.allows(&Access::new("dynamodb:GetItem", table)));
        assert!(
            policy.allows(&Access::new("DynamoDB:getitem", table)),
            "actions are case-insensitive"
        );
        assert!(
            !policy.allows(&Access::new("dynamodb:Query", table)),
            "not named"
        );
        assert!(!policy.allows(&Access::new(
            "dynamodb:GetItem",
            "arn:aws:dynamodb:r:a:table/other"
        )));
        assert!(
            !policy.allows(&Access::new("dynamodb:PutItem", table)),
            "explicit deny wins"
        );
    }

    #[test]
    fn conditions_must_hold_and_unknown_placeholders_match_nothing() {
        let policy = policy(FILE);
        let put = Access::new("events:PutEvents", "arn:aws:events:r:a:event-bus/b");
        assert!(!policy.allows(&put), "no events:source in the request");
        assert!(policy.allows(&put.clone().with("events:source", "me")));
        assert!(!policy.allows(&put.with("events:source", "someone-else")));
        assert!(!policy.allows(&Access::new(
            "ssm:GetParameter",
            "arn:aws:ssm:r:a:parameter/x"
        )));
    }

    #[test]
    fn the_synthesized_file_names_the_four_functions() {
        let file = PolicyFile::synthesized().unwrap();
        let keys: Vec<&str> = file.function_keys().collect();
        assert_eq!(
            keys,
            ["commandHandler", "eventsHandler", "poller", "slackClient"]
        );
        assert_eq!(file.role_name("poller"), Some("PollerRole"));
    }
}
