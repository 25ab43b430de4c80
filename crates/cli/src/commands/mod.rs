//! The operations, one module each, and what they share.

pub mod deploy;
pub mod destroy;
pub mod manifest;
pub mod redrive;
pub mod rotate;
pub mod verify;

use crate::aws::Target;
use crate::cli::TargetArgs;
use crate::deployment::Deployment;
use crate::validate;

/// How a command ended badly.
#[derive(Debug)]
pub enum Failure {
    /// Invalid input: each message names its flag. Exit code 2, as argparse does.
    Usage(Vec<String>),
    /// Something failed at run time. Exit code 1.
    Runtime(anyhow::Error),
    /// The command already printed what went wrong (verify's failed checks). Exit code 1.
    Reported,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::Runtime(error)
    }
}

/// What every command knows about how it was started.
#[derive(Debug, Clone)]
pub struct App {
    /// The command the user typed (the wrapper script, or `sirslack`), for suggested commands.
    pub invoked_as: String,
    /// Slack's Web API base URL (`SLACK_API_URL`).
    pub slack_api_url: String,
}

impl App {
    /// A suggested command line: `<invoked_as> slack [<operation>] <target flags>`.
    pub fn suggest(&self, operation: &str, target: &ResolvedTarget) -> String {
        let mut line = format!("{} slack", self.invoked_as);
        if !operation.is_empty() {
            line.push(' ');
            line.push_str(operation);
        }
        for flag in target.flags() {
            line.push(' ');
            line.push_str(&flag);
        }
        line
    }
}

/// `--region`, `--profile` and `--deployment`, checked.
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    pub aws: Target,
    pub deployment: Deployment,
}

impl ResolvedTarget {
    pub fn from_args(args: &TargetArgs) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if let Some(name) = &args.deployment
            && let Err(problem) = validate::deployment_name(name)
        {
            problems.push(problem);
        }
        if args.region.as_deref().is_some_and(|region| {
            region.is_empty()
                || !region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }) {
            problems.push(format!(
                "--region must be an AWS region code like us-east-1; got {:?}",
                args.region.as_deref().unwrap_or_default()
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            aws: Target {
                region: args.region.clone(),
                profile: args.profile.clone(),
            },
            deployment: Deployment::new(args.deployment.clone()),
        })
    }

    /// The flags that select this target again (for suggested commands).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(region) = &self.aws.region {
            flags.push(format!("--region {region}"));
        }
        if let Some(profile) = &self.aws.profile {
            flags.push(format!("--profile {}", crate::tools::shell_quote(profile)));
        }
        flags.extend(self.deployment.flag());
        flags
    }

    /// The same target with the region made explicit (once it is known).
    pub fn with_region(&self, region: &str) -> Self {
        let mut target = self.clone();
        target.aws.region = Some(region.to_string());
        target
    }
}
