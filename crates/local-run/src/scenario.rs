//! The brief's test scenario, played on a world, with a transcript of what each side saw.
//!
//! A case is created in SIR; its channel appears with the initial message and the watchers; a
//! Slack message becomes a SIR comment and a SIR comment a Slack message; `/security-ir status`,
//! `update-status`, `summarize`; a Slack file becomes a SIR attachment and a SIR attachment a
//! Slack file; `/security-ir close` (and its Close button) closes the case and the channel is
//! archived. Every step waits, with a deadline, until the other side shows what it should.

use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;
use sir_standin::{AttachmentStatus, CaseStatus};
use slack_standin::Message;

use crate::cast::{ALICE, AWS_RESPONDER, CAROL, WATCHERS};
use crate::functions::{InvocationOutcome, InvocationRecord};
use crate::world::{CaseRequest, CommandReply, World};

/// The Close button of the confirmation `close` asks (the command handler's action ID).
const CLOSE_CONFIRM_ACTION: &str = "command_close_confirm";

/// How the scenario runs.
#[derive(Debug, Clone)]
pub struct ScenarioOptions {
    /// How long one observation may take before its step fails.
    pub step_timeout: Duration,
    /// List every function invocation of a step, not only a summary.
    pub verbose: bool,
}

impl Default for ScenarioOptions {
    fn default() -> Self {
        Self {
            step_timeout: Duration::from_secs(30),
            verbose: false,
        }
    }
}

/// How one step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// The step's title.
    pub title: String,
    /// From its first action to its last observation.
    pub elapsed: Duration,
    /// `None` when every observation was made; otherwise what was not seen.
    pub failure: Option<String>,
}

/// What the scenario did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioReport {
    /// Every step played (the scenario stops at the first failed one).
    pub steps: Vec<StepResult>,
    /// The transcript.
    pub transcript: Vec<String>,
    /// The case.
    pub case_id: Option<String>,
}

impl ScenarioReport {
    /// Whether every step passed (and there were steps).
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|step| step.failure.is_none())
    }
}

/// The titles of the steps, in order.
pub const STEPS: [&str; 9] = [
    "A case created in SIR gets its Slack channel",
    "A Slack message becomes a SIR comment",
    "A SIR comment becomes a Slack message",
    "/security-ir status",
    "/security-ir update-status",
    "/security-ir summarize",
    "A Slack file becomes a SIR attachment",
    "A SIR attachment becomes a Slack file",
    "/security-ir close: the case closes and the channel is archived",
];

struct Player<'w> {
    world: &'w World,
    out: &'w mut dyn Write,
    options: ScenarioOptions,
    started: Instant,
    report: ScenarioReport,
    invocations_seen: usize,
}

/// Plays the scenario on `world` (which must have [`World::seed_cast`] done), writing the
/// transcript to `out` as it goes (pass [`std::io::sink`] to only keep it in the report).
pub async fn play(world: &World, options: ScenarioOptions, out: &mut dyn Write) -> ScenarioReport {
    let mut player = Player {
        world,
        out,
        options,
        started: Instant::now(),
        report: ScenarioReport::default(),
        invocations_seen: world.invocations().len(),
    };
    player.run().await;
    player.summary();
    player.report
}

/// The case and channel the later steps act on.
struct Stage {
    case_id: String,
    channel_id: String,
}

type StepOutcome = Result<(), String>;

impl Player<'_> {
    fn say(&mut self, side: &str, text: &str) {
        let at = self.started.elapsed().as_secs_f64();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        let mut line = format!("[{at:7.3}s] {side:<7} {first}");
        for more in lines {
            let _ = write!(line, "\n{:>20}{more}", "");
        }
        self.echo(&line);
        self.report.transcript.push(line);
    }

    /// Writes a line to the output; a broken output does not stop the scenario.
    fn echo(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn heading(&mut self, number: usize, title: &str) {
        let line = format!("\nStep {number}. {title}");
        self.echo(&line);
        self.report.transcript.push(line);
    }

    async fn wait(&mut self, what: &str, condition: impl FnMut(&World) -> bool) -> StepOutcome {
        self.world
            .wait_until(what, self.options.step_timeout, condition)
            .await
            .map(|_| ())
            .map_err(|timeout| timeout.to_string())
    }

    async fn run(&mut self) {
        let mut stage = None;
        for (index, title) in STEPS.iter().enumerate() {
            self.heading(index + 1, title);
            let step_started = Instant::now();
            let outcome = match (index, &stage) {
                (0, _) => match self.case_created().await {
                    Ok(created) => {
                        self.report.case_id = Some(created.case_id.clone());
                        stage = Some(created);
                        Ok(())
                    }
                    Err(error) => Err(error),
                },
                (_, None) => Err("no case to act on".to_owned()),
                (1, Some(stage)) => self.slack_message_to_sir(stage).await,
                (2, Some(stage)) => self.sir_comment_to_slack(stage).await,
                (3, Some(stage)) => self.status(stage).await,
                (4, Some(stage)) => self.update_status(stage).await,
                (5, Some(stage)) => self.summarize(stage).await,
                (6, Some(stage)) => self.slack_file_to_sir(stage).await,
                (7, Some(stage)) => self.sir_attachment_to_slack(stage).await,
                (_, Some(stage)) => self.close(stage).await,
            };
            self.functions_seen();
            let failure = outcome.err();
            if let Some(failure) = &failure {
                self.say("FAILED", failure);
            }
            self.report.steps.push(StepResult {
                title: (*title).to_owned(),
                elapsed: step_started.elapsed(),
                failure: failure.clone(),
            });
            if failure.is_some() {
                return;
            }
        }
    }

    /// What the functions did during the step.
    fn functions_seen(&mut self) {
        let invocations = self.world.invocations();
        let new: Vec<InvocationRecord> = invocations
            .into_iter()
            .skip(self.invocations_seen)
            .collect();
        self.invocations_seen += new.len();
        if new.is_empty() {
            return;
        }
        if self.options.verbose {
            for invocation in &new {
                let outcome = match &invocation.outcome {
                    InvocationOutcome::Succeeded(_) => "ok".to_owned(),
                    InvocationOutcome::Failed(error) => format!("FAILED: {error}"),
                    InvocationOutcome::Crashed => "crashed".to_owned(),
                    InvocationOutcome::TimedOut => "timed out".to_owned(),
                };
                let line = format!(
                    "{} <- {} ({} ms, {outcome})",
                    invocation.function,
                    invocation.trigger,
                    invocation.duration.as_millis()
                );
                self.say("lambda", &line);
            }
            return;
        }
        let mut summary: Vec<(String, usize, bool)> = Vec::new();
        for invocation in &new {
            let name = invocation.function.binary_name().to_owned();
            match summary.iter_mut().find(|(known, _, _)| *known == name) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.2 &= invocation.outcome.is_success();
                }
                None => summary.push((name, 1, invocation.outcome.is_success())),
            }
        }
        let text = summary
            .iter()
            .map(|(name, count, ok)| {
                format!("{name} x{count}{}", if *ok { "" } else { " (some failed)" })
            })
            .collect::<Vec<_>>()
            .join(", ");
        self.say("lambda", &format!("invocations: {text}"));
    }

    fn summary(&mut self) {
        let mut lines = vec![String::new(), "Summary".to_owned()];
        for (index, step) in self.report.steps.iter().enumerate() {
            lines.push(format!(
                "  {}. {:<66} {:>7.3}s  {}",
                index + 1,
                step.title,
                step.elapsed.as_secs_f64(),
                if step.failure.is_none() {
                    "ok"
                } else {
                    "FAILED"
                }
            ));
        }
        let total: Duration = self.report.steps.iter().map(|step| step.elapsed).sum();
        lines.push(format!(
            "  {} of {} steps observed on the other side in {:.3}s",
            self.report
                .steps
                .iter()
                .filter(|step| step.failure.is_none())
                .count(),
            STEPS.len(),
            total.as_secs_f64()
        ));
        for line in lines {
            self.echo(&line);
            self.report.transcript.push(line);
        }
    }

    // ---- the steps ----------------------------------------------------------------------

    async fn case_created(&mut self) -> Result<Stage, String> {
        let request = CaseRequest::default();
        let case_id = self
            .world
            .create_case(&request)
            .await
            .map_err(|error| error.to_string())?;
        self.say(
            "SIR",
            &format!(
                "CreateCase \"{}\" -> case {case_id} (watchers {}; SIR has no severity field)",
                request.title,
                request.watchers.join(", ")
            ),
        );
        let name = World::channel_name_for(&case_id);
        self.wait(&format!("channel #{name}"), |world| {
            world.case_channel(&case_id).is_some()
        })
        .await?;
        let channel = self
            .world
            .case_channel(&case_id)
            .ok_or("the channel disappeared")?;
        self.say(
            "Slack",
            &format!(
                "#{} created ({}), topic: {}",
                channel.name,
                if channel.is_private {
                    "private"
                } else {
                    "public"
                },
                one_line(&channel.topic)
            ),
        );
        let title = request.title.clone();
        let channel_id = channel.id.clone();
        self.wait("the initial message with the case details", |world| {
            world
                .slack()
                .messages(&channel_id)
                .iter()
                .any(|message| is_from_app(message) && mentions(message, &title))
        })
        .await?;
        if let Some(initial) = self
            .world
            .slack()
            .messages(&channel_id)
            .into_iter()
            .find(|message| is_from_app(message) && mentions(message, &title))
        {
            self.say("Slack", &format!("initial message: {}", excerpt(&initial)));
        }
        let expected: Vec<&str> = WATCHERS
            .iter()
            .chain(std::iter::once(&CAROL))
            .map(|person| person.slack_id)
            .collect();
        self.wait(
            "the watchers and the response team in the channel",
            |world| {
                world.slack().channel(&channel_id).is_some_and(|channel| {
                    expected
                        .iter()
                        .all(|member| channel.members.iter().any(|known| known == member))
                })
            },
        )
        .await?;
        let names: Vec<&str> = WATCHERS
            .iter()
            .chain(std::iter::once(&CAROL))
            .map(|person| person.real_name)
            .collect();
        self.say(
            "Slack",
            &format!(
                "invited: {} (watchers, and the membership's response team)",
                names.join(", ")
            ),
        );
        Ok(Stage {
            case_id,
            channel_id,
        })
    }

    async fn slack_message_to_sir(&mut self, stage: &Stage) -> StepOutcome {
        let text = "I'm on it: CloudTrail shows the key used from 203.0.113.7 at 09:14 UTC.";
        self.world
            .post_message(&stage.channel_id, ALICE.slack_id, text)
            .map_err(|error| error.to_string())?;
        self.say("Slack", &format!("{} writes: {text}", ALICE.real_name));
        let case_id = stage.case_id.clone();
        self.wait("the SIR comment", |world| {
            world
                .sir()
                .comments(&case_id)
                .iter()
                .any(|comment| comment.body.contains(text))
        })
        .await?;
        if let Some(comment) = self
            .world
            .sir()
            .comments(&stage.case_id)
            .into_iter()
            .find(|comment| comment.body.contains(text))
        {
            self.say(
                "SIR",
                &format!("comment {}: {}", comment.comment_id, comment.body),
            );
        }
        Ok(())
    }

    async fn sir_comment_to_slack(&mut self, stage: &Stage) -> StepOutcome {
        let text = "AWS has confirmed the access key was used from 203.0.113.7. Rotate it now.";
        let comment_id = self
            .world
            .sir()
            .add_comment(&stage.case_id, text, AWS_RESPONDER)
            .map_err(|error| error.to_string())?;
        self.say(
            "SIR",
            &format!("{AWS_RESPONDER} comments ({comment_id}): {text}"),
        );
        let channel_id = stage.channel_id.clone();
        self.wait("the Slack message", |world| {
            world
                .slack()
                .messages(&channel_id)
                .iter()
                .any(|message| is_from_app(message) && mentions(message, "Rotate it now"))
        })
        .await?;
        if let Some(message) = self
            .world
            .slack()
            .messages(&stage.channel_id)
            .into_iter()
            .find(|message| is_from_app(message) && mentions(message, "Rotate it now"))
        {
            self.say("Slack", &format!("message: {}", excerpt(&message)));
        }
        Ok(())
    }

    async fn command(&mut self, stage: &Stage, text: &str) -> Result<CommandReply, String> {
        let reply = self
            .world
            .slash_command(&ALICE, &stage.channel_id, text)
            .await
            .map_err(|error| error.to_string())?;
        self.say(
            "Slack",
            &format!(
                "{} runs /security-ir {text} -> HTTP {} in {} ms: {}",
                ALICE.real_name,
                reply.ack.status,
                reply.ack.elapsed.as_millis(),
                ack_text(&reply.ack.body)
            ),
        );
        if reply.ack.status != 200 {
            return Err(format!("the endpoint answered {}", reply.ack.status));
        }
        Ok(reply)
    }

    /// Waits for a `response_url` post containing `needle` and prints it.
    async fn response(&mut self, reply: &CommandReply, needle: &str) -> Result<Value, String> {
        let token = reply.response_token.clone();
        let found = |world: &World| {
            world
                .slack()
                .response_posts(&token)
                .into_iter()
                .find(|post| post.body.to_string().contains(needle))
        };
        self.wait(&format!("a response_url post with `{needle}`"), |world| {
            found(world).is_some()
        })
        .await?;
        let post = found(self.world).ok_or("the response disappeared")?;
        self.say(
            "Slack",
            &format!(
                "response ({}): {}",
                post.response_type.as_deref().unwrap_or("ephemeral"),
                one_line(post.text.as_deref().unwrap_or(&post.body.to_string()))
            ),
        );
        Ok(post.body)
    }

    async fn status(&mut self, stage: &Stage) -> StepOutcome {
        let reply = self.command(stage, "status").await?;
        self.response(&reply, &stage.case_id).await?;
        Ok(())
    }

    async fn update_status(&mut self, stage: &Stage) -> StepOutcome {
        let before = self
            .world
            .sir()
            .case(&stage.case_id)
            .map(|case| case.status);
        let reply = self.command(stage, "update-status detection").await?;
        let case_id = stage.case_id.clone();
        self.wait("SIR status Detection and Analysis", |world| {
            world
                .sir()
                .case(&case_id)
                .is_some_and(|case| case.status == CaseStatus::DetectionAndAnalysis)
        })
        .await?;
        self.say(
            "SIR",
            &format!(
                "status {} -> {}",
                before.map_or_else(|| "?".to_owned(), |status| status.to_string()),
                CaseStatus::DetectionAndAnalysis
            ),
        );
        self.response(&reply, "Detection and Analysis").await?;
        Ok(())
    }

    async fn summarize(&mut self, stage: &Stage) -> StepOutcome {
        let reply = self.command(stage, "summarize").await?;
        self.response(&reply, "Summary of case").await?;
        Ok(())
    }

    async fn slack_file_to_sir(&mut self, stage: &Stage) -> StepOutcome {
        let name = "ioc-list.txt";
        let bytes = b"203.0.113.7\nAKIAIOSFODNN7EXAMPLE\n".to_vec();
        let shared = self
            .world
            .share_file(
                &stage.channel_id,
                ALICE.slack_id,
                name,
                bytes.clone(),
                Some("IOCs so far"),
            )
            .map_err(|error| error.to_string())?;
        self.say(
            "Slack",
            &format!(
                "{} shares {name} ({} bytes, file {})",
                ALICE.real_name,
                bytes.len(),
                shared.file_id
            ),
        );
        // SIR names it after the Slack file: `ioc-list-<file ID>.txt`.
        let sir_name = format!("ioc-list-{}.txt", shared.file_id);
        let case_id = stage.case_id.clone();
        let attached = |world: &World| {
            world
                .sir()
                .attachments(&case_id)
                .into_iter()
                .find(|attachment| attachment.file_name == sir_name)
        };
        self.wait("the SIR attachment", |world| attached(world).is_some())
            .await?;
        let attachment = attached(self.world).ok_or("the attachment disappeared")?;
        let stored = self
            .world
            .sir()
            .attachment_bytes(&stage.case_id, &attachment.attachment_id);
        if stored.as_deref() != Some(bytes.as_slice()) {
            return Err("the SIR attachment's bytes differ from the Slack file".to_owned());
        }
        self.say(
            "SIR",
            &format!(
                "attachment {} {} ({} bytes, identical; {})",
                attachment.attachment_id,
                attachment.file_name,
                attachment.size,
                if attachment.listed {
                    format!("listed, {}", attachment.status)
                } else {
                    "SIR lists it once it is ready".to_owned()
                }
            ),
        );
        let case_id = stage.case_id.clone();
        self.wait("the upload comment", |world| {
            world.sir().comments(&case_id).iter().any(|comment| {
                comment.body.contains("uploaded file") && comment.body.contains(&sir_name)
            })
        })
        .await?;
        self.say(
            "SIR",
            &format!("comment: [Slack Update] ... uploaded file: {sir_name}"),
        );
        Ok(())
    }

    async fn sir_attachment_to_slack(&mut self, stage: &Stage) -> StepOutcome {
        let name = "cloudtrail-extract.json";
        let bytes = br#"{"eventName":"CreateAccessKey","sourceIPAddress":"203.0.113.7"}"#.to_vec();
        let attachment_id = self
            .world
            .sir()
            .add_attachment(
                &stage.case_id,
                name,
                bytes.clone(),
                AttachmentStatus::Verified,
            )
            .map_err(|error| error.to_string())?;
        self.say(
            "SIR",
            &format!(
                "{AWS_RESPONDER} attaches {name} ({} bytes, {attachment_id}); SIR announces no \
                 attachment event: a reconcile or the case's next sync finds it",
                bytes.len()
            ),
        );
        let channel_id = stage.channel_id.clone();
        let shared = |world: &World| {
            world
                .slack()
                .files()
                .into_iter()
                .find(|file| file.name == name && file.channels.contains(&channel_id))
        };
        self.wait("the Slack file", |world| shared(world).is_some())
            .await?;
        let file = shared(self.world).ok_or("the file disappeared")?;
        if file.bytes.as_deref() != Some(bytes.as_slice()) {
            return Err("the Slack file's bytes differ from the SIR attachment".to_owned());
        }
        self.say(
            "Slack",
            &format!(
                "file {} {} shared in the channel (identical)",
                file.id, file.name
            ),
        );
        Ok(())
    }

    async fn close(&mut self, stage: &Stage) -> StepOutcome {
        let reply = self.command(stage, "close").await?;
        let question = self.response(&reply, CLOSE_CONFIRM_ACTION).await?;
        let value = find_action_value(&question, CLOSE_CONFIRM_ACTION)
            .ok_or("the confirmation has no Close button")?;
        let click = self
            .world
            .click(
                &ALICE,
                &stage.channel_id,
                "1700000000.000100",
                CLOSE_CONFIRM_ACTION,
                &value,
            )
            .await
            .map_err(|error| error.to_string())?;
        self.say(
            "Slack",
            &format!(
                "{} clicks Close case -> HTTP {} in {} ms",
                ALICE.real_name,
                click.ack.status,
                click.ack.elapsed.as_millis()
            ),
        );
        let case_id = stage.case_id.clone();
        self.wait("SIR status Closed", |world| {
            world
                .sir()
                .case(&case_id)
                .is_some_and(|case| case.status == CaseStatus::Closed)
        })
        .await?;
        self.say("SIR", "status -> Closed");
        self.response(&click, "closed the case").await?;
        let channel_id = stage.channel_id.clone();
        self.wait("the channel archived", |world| {
            world
                .slack()
                .channel(&channel_id)
                .is_some_and(|channel| channel.is_archived)
        })
        .await?;
        let channel = self
            .world
            .slack()
            .channel(&stage.channel_id)
            .ok_or("the channel disappeared")?;
        self.say(
            "Slack",
            &format!(
                "#{} archived, topic: {}",
                channel.name,
                one_line(&channel.topic)
            ),
        );
        Ok(())
    }
}

fn is_from_app(message: &Message) -> bool {
    message.bot_id.is_some()
}

/// Whether the message's text or blocks contain `needle`.
fn mentions(message: &Message, needle: &str) -> bool {
    message
        .text
        .as_deref()
        .is_some_and(|text| text.contains(needle))
        || message
            .blocks
            .as_ref()
            .is_some_and(|blocks| blocks.to_string().contains(needle))
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 110 {
        format!("{}...", line.chars().take(110).collect::<String>())
    } else {
        line
    }
}

fn excerpt(message: &Message) -> String {
    let text = message.text.clone().unwrap_or_default();
    if !text.trim().is_empty() {
        return one_line(&text);
    }
    one_line(
        &message
            .blocks
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default(),
    )
}

/// The text of an immediate answer (`{"text": ...}` or plain text).
fn ack_text(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(value) => one_line(value.get("text").and_then(Value::as_str).unwrap_or(body)),
        Err(_) if body.is_empty() => "(empty)".to_owned(),
        Err(_) => one_line(body),
    }
}

/// The `value` of the button with `action_id` anywhere in a message.
fn find_action_value(message: &Value, action_id: &str) -> Option<String> {
    match message {
        Value::Object(fields) => {
            if fields.get("action_id").and_then(Value::as_str) == Some(action_id) {
                return fields
                    .get("value")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            fields
                .values()
                .find_map(|value| find_action_value(value, action_id))
        }
        Value::Array(items) => items
            .iter()
            .find_map(|value| find_action_value(value, action_id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn buttons_are_found_anywhere_in_the_blocks() {
        let message = json!({"blocks": [{"type": "actions", "elements": [
            {"type": "button", "action_id": "command_close_cancel", "value": "cancel"},
            {"type": "button", "action_id": "command_close_confirm", "value": "close confirm"}
        ]}]});
        assert_eq!(
            find_action_value(&message, CLOSE_CONFIRM_ACTION).as_deref(),
            Some("close confirm")
        );
        assert_eq!(find_action_value(&message, "other"), None);
    }

    #[test]
    fn acks_are_shown_as_their_text() {
        assert_eq!(
            ack_text(r#"{"response_type":"ephemeral","text":"Working on it... `status`"}"#),
            "Working on it... `status`"
        );
        assert_eq!(ack_text(""), "(empty)");
        assert_eq!(one_line(&"x ".repeat(100)).len(), 113);
    }
}
