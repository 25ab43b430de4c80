//! Quiet-case nudges through the full wiring (issue 20 item 2): the scheduled reconcile finds
//! an open case quiet past its threshold and the Slack client posts one nudge in its channel;
//! a second run in the same interval posts nothing; activity (a SIR comment) resets the quiet
//! clock; the nudge's Snooze button holds the next one back for a day; its status menu moves
//! the case like the case message's.
//!
//! The threshold is a few seconds (`NUDGE_QUIET_HOURS=0.002`, 7.2 s) and the schedule is off:
//! each reconcile is a `world.tick()`, and the test waits for the clock to pass a threshold
//! with `wait_until` on a time condition.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sirslack_acceptance::{
    WAIT, app_messages, app_messages_showing, open_case, run, shown, wait_for_app_message,
    wait_for_response, world_with,
};
use sirslack_domain::CaseId;
use sirslack_local_run::cast::{ALICE, AWS_RESPONDER};
use sirslack_local_run::{Function, InvocationOutcome, World, WorldConfig};

/// What every nudge shows.
const NUDGE: &str = "This case has been quiet for";
/// `NUDGE_QUIET_HOURS` in seconds.
const THRESHOLD: Duration = Duration::from_millis(7200);

fn config() -> WorldConfig {
    let mut config = WorldConfig::for_tests()
        .with_env(Function::Poller, "NUDGE_QUIET_HOURS", "0.002")
        .with_env(Function::Poller, "NUDGE_QUIET_HOURS_EARLY", "0");
    config.schedule_interval = None;
    config
}

/// The case's `lastUpdatedDate` in SIR.
fn last_updated(world: &World, case_id: &str) -> DateTime<Utc> {
    world
        .sir()
        .case(case_id)
        .expect("the case exists")
        .last_updated_date
}

/// Waits until the clock is past `time` (plus a little, for second-rounded stored times).
async fn wait_for_time(world: &World, what: &str, time: DateTime<Utc>) {
    let target = time + chrono::Duration::milliseconds(1100);
    world
        .wait_until(what, WAIT, |_| Utc::now() >= target)
        .await
        .expect("the clock moves on");
}

/// One reconcile, then everything it caused applied.
async fn reconcile(world: &World) {
    let outcome = world.tick().await;
    assert!(
        matches!(outcome, InvocationOutcome::Succeeded(_)),
        "the reconcile succeeds: {outcome:?}"
    );
    world
        .wait_until_quiet(Duration::from_millis(300), WAIT)
        .await
        .expect("the world settles");
}

#[test]
fn a_quiet_case_is_nudged_once_per_interval_activity_resets_it_and_snooze_delays_it() {
    run(async {
        let world = world_with(config()).await;
        let case = open_case(&world).await;
        let channel = case.channel.id.clone();
        // Let the channel setup (and the SIR comment naming the channel) be synced.
        world
            .wait_until_quiet(Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");
        reconcile(&world).await;
        assert_eq!(app_messages_showing(&world, &channel, NUDGE), 0);

        // Quiet past the threshold: one nudge, with the status menu and the Snooze button.
        let quiet_since = last_updated(&world, &case.case_id);
        wait_for_time(
            &world,
            "the case to be quiet past the threshold",
            quiet_since + THRESHOLD,
        )
        .await;
        reconcile(&world).await;
        let nudge = wait_for_app_message(&world, &channel, NUDGE).await;
        let rendered = shown(&nudge);
        assert!(rendered.contains("case_status_select"), "{rendered}");
        assert!(rendered.contains("case_snooze"), "{rendered}");
        assert!(rendered.contains("Submitted"), "{rendered}");
        assert_eq!(app_messages_showing(&world, &channel, NUDGE), 1);
        let sir_calls = world.sir().call_count("GetCase");

        // A second run in the same interval posts nothing (and reads nothing from SIR).
        reconcile(&world).await;
        reconcile(&world).await;
        assert_eq!(app_messages_showing(&world, &channel, NUDGE), 1);
        assert_eq!(
            world.sir().call_count("GetCase"),
            sir_calls,
            "a quiet case costs no SIR call"
        );

        // Activity resets the quiet clock: once the nudge's interval is over, a reconcile
        // would nudge again; after a comment in SIR it does not, until the case has been quiet
        // for the threshold again.
        let nudged_at = Utc::now();
        wait_for_time(
            &world,
            "the first nudge's interval to end",
            nudged_at + THRESHOLD,
        )
        .await;
        world
            .sir()
            .add_comment(&case.case_id, "Still looking into the login", AWS_RESPONDER)
            .expect("comment added");
        let active_at = last_updated(&world, &case.case_id);
        reconcile(&world).await;
        wait_for_app_message(&world, &channel, "Still looking into the login").await;
        reconcile(&world).await;
        assert!(
            Utc::now() < active_at + THRESHOLD,
            "the machine is too slow for this threshold"
        );
        assert_eq!(
            app_messages_showing(&world, &channel, NUDGE),
            1,
            "activity reset the quiet clock"
        );
        wait_for_time(
            &world,
            "the case to be quiet past the threshold again",
            active_at + THRESHOLD,
        )
        .await;
        reconcile(&world).await;
        world
            .wait_until("a second nudge", WAIT, |world| {
                app_messages_showing(world, &channel, NUDGE) == 2
            })
            .await
            .expect("the case is nudged again after the threshold");

        // Snooze: the button on the latest nudge holds the next one back for a day.
        let latest = app_messages(&world, &channel)
            .into_iter()
            .rfind(|message| shown(message).contains(NUDGE))
            .expect("the second nudge");
        let snoozed_at = Utc::now();
        let click = world
            .click(&ALICE, &channel, &latest.ts, "case_snooze", &case.case_id)
            .await
            .expect("the click is sent");
        assert_eq!(click.ack.status, 200);
        wait_for_response(&world, &click.response_token, "snoozed").await;
        let snapshot = world
            .table()
            .snapshot(&CaseId::new(&case.case_id).expect("case ID"))
            .await
            .expect("the table answers")
            .expect("the snapshot");
        let until = snapshot.nudge_after.expect("a snooze time");
        assert!(
            until >= snoozed_at + chrono::Duration::hours(23),
            "snoozed for a day: {until}"
        );
        wait_for_time(
            &world,
            "the second nudge's interval to end",
            Utc::now() + THRESHOLD,
        )
        .await;
        reconcile(&world).await;
        reconcile(&world).await;
        assert_eq!(
            app_messages_showing(&world, &channel, NUDGE),
            2,
            "no nudge while snoozed"
        );

        // The nudge's status menu runs the same path as the case message's: the status moves
        // in SIR, and the change is announced once in the channel.
        let choice = world
            .choose_from_menu(
                &ALICE,
                &channel,
                &latest.ts,
                (&format!("case:{}", case.case_id), "case_status_select"),
                "Detection and Analysis",
            )
            .await
            .expect("the choice is sent");
        assert_eq!(choice.ack.status, 200);
        world
            .wait_until("SIR shows the chosen status", WAIT, |world| {
                world.sir().case(&case.case_id).map(|case| case.status)
                    == Some(sir_standin::CaseStatus::DetectionAndAnalysis)
            })
            .await
            .expect("the nudge's menu moves the case");
        world
            .wait_until_quiet(Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");
        assert_eq!(
            app_messages_showing(
                &world,
                &channel,
                "set status to Detection and Analysis (was Submitted)"
            ),
            1,
            "{:#?}",
            app_messages(&world, &channel)
        );
        assert!(
            world.iam_refusals().is_empty(),
            "{:?}",
            world.iam_refusals()
        );
    });
}
