//! Declaring a case (issue 19): one [`DeclarationInvocation`] in (a submitted, valid declare
//! modal), one SIR case out.
//!
//! 1. **check** the declaration again (the rules of [`sirslack_domain::declaration`]);
//! 2. **authorize** ([`Authorizer::check_create`](crate::authorize::Authorizer::check_create)):
//!    the policy's `create` rule (class mutating), the rules for public channels and guests;
//!    no channel membership, since there is no case channel yet;
//! 3. **claim** the declaration, keyed by the Slack view: a second submission of the same modal,
//!    or Lambda's retry, creates nothing twice;
//! 4. **step up** with the one-time code typed in the modal, as for `close`;
//! 5. **CreateCase** with the client token [`client_token`] (from the view ID: a repeated call
//!    returns the same case), the declarer and the extra watchers as watchers (their Slack
//!    e-mail addresses, from `users.info`);
//! 6. the **audit comment** (`[Slack Update] ... ran /security-ir create: ...`);
//! 7. **tell** the declarer the case ID at once: a direct message (`chat.postMessage` to their
//!    user ID, with the bot's `chat:write`), else an ephemeral message in the channel they
//!    started from. The case channel itself is made by the usual flow: SIR's `Case Created`
//!    event wakes the poller, and the Slack client creates the channel and invites the
//!    watchers.
//!
//! A refusal is told the same way and calls SIR for nothing.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sirslack_domain::CaseId;
use sirslack_domain::declaration::CREATE_SUBCOMMAND;
use sirslack_domain::marker::command_audit_comment;
use sirslack_mapper::declare::declared_message;
use sirslack_mapper::sir::create_case_request;
use sirslack_slack_router::{DECLARATION_INVOCATION_VERSION, DeclarationInvocation};
use sirslack_store::{Resumable, SyncOrigin};
use slack_morphism::prelude::SlackMessageContent;
use tracing::{error, info, warn};

use super::{
    Asked, COMMAND_SCOPE, CommandHandler, InvocationError, Outcome, claim_ttl, is_slack_id,
    lease_until, log_security_refusal, time_left_until,
};
use crate::authorize::{Access, Refusal};
use crate::slack::Person;

/// How a one-time code is given when declaring, for refusals that ask for one.
const CODE_IN_THE_FORM: &str = "the *One-time code* field of the declare form";

/// The CreateCase client token for a declaration: the same for every submission of one modal
/// (Slack's view ID, with the workspace), so a double submit or a retry makes one case.
pub fn client_token(invocation: &DeclarationInvocation) -> String {
    format!(
        "sirslack-declare-{}-{}",
        invocation.team_id, invocation.view_id
    )
}

/// The claim key of a declaration (scope [`COMMAND_SCOPE`]).
fn claim_key(invocation: &DeclarationInvocation) -> String {
    format!("declare#{}#{}", invocation.team_id, invocation.view_id)
}

/// Checks what becomes part of table keys, tokens and Slack calls.
pub(super) fn validate(invocation: &DeclarationInvocation) -> Result<(), InvocationError> {
    if invocation.version != DECLARATION_INVOCATION_VERSION {
        return Err(InvocationError::Version(invocation.version));
    }
    let origin_ok = invocation
        .origin_channel_id
        .as_deref()
        .is_none_or(is_slack_id);
    for (field, ok) in [
        ("user_id", is_slack_id(&invocation.user_id)),
        ("team_id", is_slack_id(&invocation.team_id)),
        ("view_id", is_slack_id(&invocation.view_id)),
        ("origin_channel_id", origin_ok),
    ] {
        if !ok {
            return Err(InvocationError::Malformed(format!(
                "{field} is not a Slack ID"
            )));
        }
    }
    Ok(())
}

/// How far a declaration got, recorded on its claim so that a retry resumes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeclareProgress {
    /// The case, once SIR created it.
    case_id: Option<CaseId>,
    /// Extra watchers who could not be added (no e-mail address Slack would give).
    #[serde(default)]
    skipped_watchers: Vec<String>,
}

/// One declaration in progress.
struct Declaring<'a> {
    invocation: &'a DeclarationInvocation,
    deadline: SystemTime,
    key: String,
    owner: String,
}

impl Declaring<'_> {
    fn user(&self) -> &str {
        &self.invocation.user_id
    }

    fn time_left(&self) -> Duration {
        time_left_until(self.deadline)
    }

    fn lease(&self) -> chrono::Duration {
        lease_until(self.deadline)
    }
}

impl CommandHandler {
    /// Handles one declaration (see the module documentation); never fails except when time
    /// runs out ([`Outcome::Unfinished`], and Lambda's retry resumes).
    pub async fn handle_declaration(
        &self,
        invocation: &DeclarationInvocation,
        deadline: SystemTime,
    ) -> Outcome {
        if let Err(invalid) = validate(invocation) {
            error!(error = %invalid, "declaration invocation rejected");
            return Outcome::Failed;
        }
        let today = chrono::Utc::now().date_naive();
        if let Err(errors) = invocation.declaration.validate(today) {
            warn!(user = %invocation.user_id, view = %invocation.view_id, %errors, "declaration refused: invalid fields");
            let text = format!(
                "Your security incident could not be declared: {errors} Nothing was created; \
                 please declare it again."
            );
            self.tell(invocation, &SlackMessageContent::new().with_text(text))
                .await;
            return Outcome::Refused;
        }
        let access = match self.authorizer.check_create(&invocation.user_id).await {
            Ok(access) => access,
            Err(refusal) => return self.refuse_declaration(invocation, &refusal).await,
        };
        let run = Declaring {
            invocation,
            deadline,
            key: claim_key(invocation),
            owner: uuid::Uuid::new_v4().simple().to_string(),
        };
        let progress = match self
            .table
            .claim_resumable(COMMAND_SCOPE, &run.key, &run.owner, run.lease(), claim_ttl())
            .await
        {
            Ok(Resumable::Claimed { progress }) => progress.and_then(|progress| {
                serde_json::from_str::<DeclareProgress>(&progress)
                    .map_err(|error| {
                        error!(view = %invocation.view_id, %error, "the recorded progress of an earlier attempt is unreadable; starting again");
                    })
                    .ok()
            }),
            Ok(Resumable::Done) => {
                info!(user = run.user(), view = %invocation.view_id, "the same declaration was handled before; nothing is done again");
                let text = "This declaration was already received and handled; no second case \
                            was created.";
                self.tell(invocation, &SlackMessageContent::new().with_text(text.into()))
                    .await;
                return Outcome::Duplicate;
            }
            Ok(Resumable::Held) => {
                warn!(view = %invocation.view_id, "the declaration is held by another attempt; a retry resumes or finds it done");
                return Outcome::Unfinished;
            }
            Err(store_error) => {
                error!(view = %invocation.view_id, error = %store_error, "the declaration could not be claimed");
                let text = "The integration's table is unavailable right now, so no case was \
                            created. Please declare it again in a moment.";
                self.tell(invocation, &SlackMessageContent::new().with_text(text.into()))
                    .await;
                return Outcome::Failed;
            }
        };
        let progress = match progress {
            Some(progress) => progress,
            None => match self.authorize_declaration(&run, &access).await {
                Ok(progress) => progress,
                Err(outcome) => return outcome,
            },
        };
        match tokio::time::timeout(run.time_left(), self.declare(&run, progress)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                error!(view = %invocation.view_id, "the declaration ran out of time; Lambda's retry resumes it");
                Outcome::Unfinished
            }
        }
    }

    /// The one-time code (used once, so checked after the claim and recorded before SIR is
    /// called: a retry must not need it again).
    async fn authorize_declaration(
        &self,
        run: &Declaring<'_>,
        access: &Access,
    ) -> Result<DeclareProgress, Outcome> {
        let code = run.invocation.one_time_code.as_ref();
        if let Err(refusal) = self
            .authorizer
            .step_up_create(run.user(), code, access)
            .await
        {
            self.release_declaration(run).await;
            return Err(self.refuse_declaration(run.invocation, &refusal).await);
        }
        let progress = DeclareProgress {
            case_id: None,
            skipped_watchers: Vec::new(),
        };
        self.record_declaration(run, &progress).await?;
        Ok(progress)
    }

    /// CreateCase (once), the audit comment, the message to the declarer.
    async fn declare(&self, run: &Declaring<'_>, mut progress: DeclareProgress) -> Outcome {
        let invocation = run.invocation;
        let profile = match self.slack.person(run.user()).await {
            Ok(profile) => profile,
            Err(slack_error) => {
                warn!(user = run.user(), error = %slack_error, "users.info failed for the declarer");
                self.release_declaration(run).await;
                let text = "Slack could not tell the integration your e-mail address (which \
                            AWS Security Incident Response needs to make you a watcher), so no \
                            case was created. Please declare it again in a moment.";
                self.tell(
                    invocation,
                    &SlackMessageContent::new().with_text(text.into()),
                )
                .await;
                return Outcome::Failed;
            }
        };
        let case_id = match progress.case_id.clone() {
            Some(case_id) => case_id,
            None => {
                let (case_id, skipped) = match self.create_case(run, &profile).await {
                    Ok(created) => created,
                    Err(outcome) => return outcome,
                };
                progress.case_id = Some(case_id.clone());
                progress.skipped_watchers = skipped;
                if let Err(outcome) = self.record_declaration(run, &progress).await {
                    return outcome;
                }
                self.write_declaration_audit(run, &case_id, &profile).await;
                case_id
            }
        };
        let message = declared_message(
            &case_id,
            &invocation.declaration.title,
            &self.links,
            &progress.skipped_watchers,
        );
        self.tell(invocation, &message).await;
        match self
            .table
            .complete_claim(COMMAND_SCOPE, &run.key, &run.owner, claim_ttl())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                warn!(case = %case_id, "the declaration claim was taken over before it was marked done")
            }
            Err(store_error) => {
                warn!(case = %case_id, error = %store_error, "the declaration could not be marked done; a retry finds the case recorded");
            }
        }
        Outcome::Created
    }

    /// The watchers' e-mail addresses (the declarer's first), then CreateCase. Returns the case
    /// and the extra watchers left out for want of an e-mail address.
    async fn create_case(
        &self,
        run: &Declaring<'_>,
        profile: &Person,
    ) -> Result<(CaseId, Vec<String>), Outcome> {
        let invocation = run.invocation;
        let Some(declarer_email) = profile.email.clone() else {
            self.release_declaration(run).await;
            warn!(
                user = run.user(),
                "the declarer has no e-mail address in Slack"
            );
            let text = "Your Slack profile shows no e-mail address, and AWS Security Incident \
                        Response names every watcher of a case by e-mail address, so no case \
                        was created. Ask your Slack administrator, or declare the case in the \
                        AWS console.";
            self.tell(
                invocation,
                &SlackMessageContent::new().with_text(text.into()),
            )
            .await;
            return Err(Outcome::Refused);
        };
        let mut emails = vec![declarer_email];
        let mut skipped = Vec::new();
        for watcher in &invocation.declaration.watchers {
            if watcher == run.user() {
                continue;
            }
            match self.slack.person(watcher).await {
                Ok(Person {
                    email: Some(email), ..
                }) => {
                    if !emails
                        .iter()
                        .any(|known| known.eq_ignore_ascii_case(&email))
                    {
                        emails.push(email);
                    }
                }
                Ok(_) => skipped.push(watcher.clone()),
                Err(slack_error) => {
                    warn!(watcher = %watcher, error = %slack_error, "users.info failed for a watcher; left out");
                    skipped.push(watcher.clone());
                }
            }
        }
        let request = match create_case_request(&invocation.declaration, &emails) {
            Ok(request) => request,
            Err(build_error) => {
                error!(view = %invocation.view_id, error = %build_error, "the CreateCase request could not be built");
                self.release_declaration(run).await;
                let text = format!("No case was created: {build_error}.");
                self.tell(invocation, &SlackMessageContent::new().with_text(text))
                    .await;
                return Err(Outcome::Failed);
            }
        };
        match self
            .sir
            .create_case(request, &client_token(invocation))
            .await
        {
            Ok(case_id) => {
                info!(user = run.user(), case = %case_id, view = %invocation.view_id, "case declared from Slack");
                Ok((case_id, skipped))
            }
            Err(sir_error) => {
                self.release_declaration(run).await;
                let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
                warn!(user = run.user(), view = %invocation.view_id, error = %sir_error, reference, "SIR CreateCase failed");
                let text = format!(
                    "No case was created. {} (Reference for your administrator: {reference}.)",
                    sir_error.for_people()
                );
                self.tell(invocation, &SlackMessageContent::new().with_text(text))
                    .await;
                Err(Outcome::Failed)
            }
        }
    }

    /// `[Slack Update] Jane Doe (@jane, Slack ID U...) ran /security-ir create: declared this
    /// case from Slack`, recorded as written from Slack. Best effort: the case exists either
    /// way.
    async fn write_declaration_audit(
        &self,
        run: &Declaring<'_>,
        case_id: &CaseId,
        profile: &Person,
    ) {
        let declaration = &run.invocation.declaration;
        let what = format!(
            "declared this case from Slack ({}, resolver {})",
            declaration.engagement_type, declaration.resolver
        );
        let body = command_audit_comment(
            &profile.author_or(run.user(), run.invocation.user_name.as_deref()),
            CREATE_SUBCOMMAND,
            &what,
        );
        let token = format!("{}-audit", client_token(run.invocation));
        match self.sir.create_comment(case_id, &body, &token).await {
            Ok(comment_id) => {
                if let Err(store_error) = self
                    .table
                    .record_comment(case_id, &comment_id, SyncOrigin::Slack)
                    .await
                {
                    warn!(case = %case_id, error = %store_error, "the declaration's audit comment could not be recorded");
                }
            }
            Err(sir_error) => {
                warn!(case = %case_id, error = %sir_error, "the declaration's audit comment could not be written");
            }
        }
    }

    async fn refuse_declaration(
        &self,
        invocation: &DeclarationInvocation,
        refusal: &Refusal,
    ) -> Outcome {
        if refusal.is_security() {
            log_security_refusal(
                refusal,
                tracing::field::display(&invocation.user_id),
                Asked::InView(&invocation.view_id),
                CREATE_SUBCOMMAND,
            );
        } else {
            warn!(user = %invocation.user_id, view = %invocation.view_id, subcommand = CREATE_SUBCOMMAND, reason = refusal.reason(), "declaration refused");
        }
        let text = format!(
            "{} No case was created.",
            refusal.message_for(CREATE_SUBCOMMAND, CODE_IN_THE_FORM)
        );
        self.tell(invocation, &SlackMessageContent::new().with_text(text))
            .await;
        Outcome::Refused
    }

    /// Tells the declarer: a direct message (`chat.postMessage` to their user ID), else an
    /// ephemeral message in the channel they started from. Whether it was delivered.
    async fn tell(
        &self,
        invocation: &DeclarationInvocation,
        content: &SlackMessageContent,
    ) -> bool {
        self.tell_person(
            &invocation.user_id,
            invocation.origin_channel_id.as_deref(),
            content,
        )
        .await
    }

    async fn record_declaration(
        &self,
        run: &Declaring<'_>,
        progress: &DeclareProgress,
    ) -> Result<(), Outcome> {
        let text = serde_json::to_string(progress).map_err(|error| {
            error!(view = %run.invocation.view_id, %error, "the declaration's progress could not be written down");
            Outcome::Unfinished
        })?;
        match self
            .table
            .record_claim_progress(COMMAND_SCOPE, &run.key, &run.owner, &text, run.lease())
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                warn!(view = %run.invocation.view_id, "another attempt took the declaration over; this one stops");
                Err(Outcome::Unfinished)
            }
            Err(store_error) => {
                error!(view = %run.invocation.view_id, error = %store_error, "the declaration's progress could not be recorded; Lambda's retry resumes it");
                Err(Outcome::Unfinished)
            }
        }
    }

    /// Gives the claim back after a refusal or failure before SIR created anything, so that
    /// the same submission can be tried again.
    async fn release_declaration(&self, run: &Declaring<'_>) {
        if let Err(store_error) = self
            .table
            .release_claim(COMMAND_SCOPE, &run.key, &run.owner)
            .await
        {
            warn!(view = %run.invocation.view_id, error = %store_error, "the declaration claim could not be released; it expires on its own");
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Utc};
    use sirslack_domain::DeclarationDraft;

    use super::*;

    fn invocation(view_id: &str) -> DeclarationInvocation {
        let declaration = DeclarationDraft {
            title: "Compromised IAM key".into(),
            description: "Access key used".into(),
            engagement_type: Some("Security Incident".into()),
            reported_start: Some("2026-12-05".into()),
            impacted_accounts: "111122223333".into(),
            ..DeclarationDraft::default()
        }
        .into_declaration(NaiveDate::from_ymd_opt(2026, 12, 6).expect("date"))
        .expect("valid");
        DeclarationInvocation::new(view_id, "T0TEAM", "U0JANE", declaration, Utc::now())
    }

    #[test]
    fn the_client_token_follows_the_view() {
        let first = invocation("V0VIEW1");
        let mut again = invocation("V0VIEW1");
        again.received_at = first.received_at + chrono::Duration::seconds(3);
        assert_eq!(client_token(&first), client_token(&again));
        assert_eq!(client_token(&first), "sirslack-declare-T0TEAM-V0VIEW1");
        assert_ne!(client_token(&first), client_token(&invocation("V0VIEW2")));
        assert!(client_token(&first).len() <= 255);
    }

    #[test]
    fn invocations_with_odd_ids_are_rejected() {
        assert!(validate(&invocation("V0VIEW1")).is_ok());
        assert!(matches!(
            validate(&invocation("../V0")),
            Err(InvocationError::Malformed(_))
        ));
        let mut bad_channel = invocation("V0VIEW1");
        bad_channel.origin_channel_id = Some("#general".into());
        assert!(validate(&bad_channel).is_err());
        let mut future = invocation("V0VIEW1");
        future.version = 2;
        assert!(matches!(
            validate(&future),
            Err(InvocationError::Version(2))
        ));
    }
}
