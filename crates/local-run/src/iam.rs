//! Each function's credentials and what they may do: exactly its role's statements as the CDK
//! app synthesizes them (`infra/iam/function-policies.json`, see `crates/local-iam`), with the
//! placeholders filled with this world's names. The functions reach moto through an
//! [`IamGate`]; the SIR stand-in and the local Lambda API check the same [`Authorizer`]. The
//! harness's own calls (provisioning, reading what happened) go to moto directly.

use aws_credential_types::Credentials;
use local_iam::{Authorizer, IamGate, PolicyFile, Principal, Scope};

use crate::error::WorldError;
use crate::lambda_events::{ACCOUNT_ID, REGION};
use crate::names::{Function, ResourceNames};
use crate::provision::Queues;

/// The world's IAM: who may do what, and the gate in front of moto.
pub(crate) struct WorldIam {
    pub(crate) authorizer: Authorizer,
    pub(crate) gate: IamGate,
}

/// The region and account every ARN of the world is in.
pub(crate) fn scope() -> Scope {
    Scope {
        region: REGION.to_owned(),
        account: ACCOUNT_ID.to_owned(),
    }
}

impl Function {
    /// The function's key in `infra/iam/function-policies.json` (as in `infra/lib/permissions.js`).
    pub fn policy_key(self) -> &'static str {
        match self {
            Function::Poller => "poller",
            Function::SlackClient => "slackClient",
            Function::EventsHandler => "eventsHandler",
            Function::CommandHandler => "commandHandler",
        }
    }

    /// The access key ID of the function's credentials (its Lambda role's session).
    pub fn access_key_id(self) -> String {
        let code = match self {
            Function::Poller => "POLLER",
            Function::SlackClient => "SLACKCLIENT",
            Function::EventsHandler => "EVENTSHANDLER",
            Function::CommandHandler => "COMMANDHANDLER",
        };
        format!("ASIALOCAL{code}")
    }

    /// The credentials the function's SDK clients sign with.
    pub fn credentials(self) -> Credentials {
        Credentials::new(
            self.access_key_id(),
            format!("local-secret-of-{}", self.binary_name()),
            Some(format!("local-session-of-{}", self.binary_name())),
            None,
            "sirslack-local-role",
        )
    }
}

/// Fills the policy file's placeholders with this world's names.
fn fill(names: &ResourceNames, queues: &Queues) -> impl Fn(&str) -> Option<String> {
    let scope = scope();
    let names = names.clone();
    let queue_arns = [
        ("SlackClientQueue", queues.slack_client.arn.clone()),
        (
            "SlackClientDeadLettersQueue",
            queues.slack_client_dlq.arn.clone(),
        ),
        ("PollerDeadLettersQueue", queues.poller_dlq.arn.clone()),
        (
            "EventsHandlerDeadLettersQueue",
            queues.events_handler_dlq.arn.clone(),
        ),
        (
            "CommandHandlerDeadLettersQueue",
            queues.command_handler_dlq.arn.clone(),
        ),
    ];
    move |placeholder: &str| {
        let arn = |service: &str, resource: String| Some(scope.arn(service, &resource));
        match placeholder {
            "Region" => Some(scope.region.clone()),
            "Account" => Some(scope.account.clone()),
            "ParameterPrefix" => Some(names.parameter_prefix.clone()),
            "IntegrationTable.Arn" => arn("dynamodb", format!("table/{}", names.table)),
            "IntegrationBus.Arn" => arn("events", format!("event-bus/{}", names.integration_bus)),
            "CommandHandlerFunction.Arn" => arn(
                "lambda",
                format!("function:{}", Function::CommandHandler.binary_name()),
            ),
            other => other.strip_suffix(".Arn").and_then(|resource| {
                queue_arns
                    .iter()
                    .find(|(name, _)| *name == resource)
                    .map(|(_, arn)| arn.clone())
            }),
        }
    }
}

/// An authorizer that already knows the harness: the local credentials
/// ([`aws_local::local_credentials`]) act as the account's administrator (a responder creating
/// cases, the world provisioning and reading what happened).
pub(crate) fn harness_authorizer() -> Authorizer {
    let authorizer = Authorizer::default();
    let credentials = aws_local::local_credentials();
    authorizer.add(Principal {
        name: "harness".to_owned(),
        access_key_id: credentials.access_key_id().to_owned(),
        secret_access_key: credentials.secret_access_key().to_owned(),
        arn: format!("arn:aws:iam::{ACCOUNT_ID}:user/sirslack-local-administrator"),
        policy: local_iam::Policy::allow_all(),
    });
    authorizer
}

impl WorldIam {
    /// Issues the four functions' credentials through `authorizer` (already handed to the SIR
    /// stand-in) and starts the gate in front of `moto_url`.
    pub(crate) async fn start(
        authorizer: Authorizer,
        moto_url: &str,
        names: &ResourceNames,
        queues: &Queues,
    ) -> Result<Self, WorldError> {
        let file = PolicyFile::synthesized().map_err(|error| WorldError::setup("IAM", error))?;
        let fill = fill(names, queues);
        for function in Function::ALL {
            let key = function.policy_key();
            let policy = file
                .policy(key, &fill)
                .map_err(|error| WorldError::setup("IAM", error))?;
            let role = file.role_name(key).unwrap_or(key);
            authorizer.add(Principal {
                name: function.binary_name().to_owned(),
                access_key_id: function.access_key_id(),
                secret_access_key: format!("local-secret-of-{}", function.binary_name()),
                arn: format!(
                    "arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{}",
                    function.binary_name()
                ),
                policy,
            });
        }
        let gate = IamGate::start(moto_url, authorizer.clone(), scope())
            .await
            .map_err(|error| WorldError::setup("IAM gate", error))?;
        Ok(Self { authorizer, gate })
    }
}

/// The actions `function`'s role grants its own code (see [`crate::World::iam_actions_granted`]).
pub(crate) fn code_actions(function: Function) -> std::collections::BTreeSet<String> {
    let Ok(file) = PolicyFile::synthesized() else {
        return Default::default();
    };
    let Ok(policy) = file.policy(function.policy_key(), |_| None) else {
        return Default::default();
    };
    policy
        .statements
        .iter()
        .filter(|statement| {
            statement
                .sid
                .as_deref()
                .is_some_and(|sid| sid != "WriteOwnLogs")
        })
        .flat_map(|statement| statement.actions.iter().cloned())
        .collect()
}
