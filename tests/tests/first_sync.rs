//! What a deploy syncs at first (`--sync-existing`, issue 21), through the full wiring: the poller
//! runs with the sync floor the deploy sets for `--sync-existing none` (the deploy time), as the
//! common stack passes it (`SYNC_CASES_UPDATED_SINCE`); and a redeploy after a destroy that kept
//! the table carries on in the channels the table links (no second channel for an open case).

use std::time::Duration;

use sir_standin::{CaseStatus, NewCase};
use sirslack_acceptance::{
    WAIT, app_messages_showing, comments_containing, open_case, run, wait_for_app_message,
    wait_for_comment, world_with,
};
use sirslack_local_run::cast::ALICE;
use sirslack_local_run::{Function, World, WorldConfig};

/// How far ahead of the world's start the floor lies: the "old" case is seeded before it.
const FLOOR_AHEAD: Duration = Duration::from_secs(5);

fn channels_of(world: &World, case_id: &str) -> usize {
    world
        .slack()
        .channels()
        .iter()
        .filter(|channel| channel.name.ends_with(&format!("-{case_id}")))
        .count()
}

#[test]
fn sync_existing_none_gives_an_old_open_case_no_channel_until_it_is_updated() {
    run(async {
        let floor = chrono::Utc::now() + chrono::Duration::from_std(FLOOR_AHEAD).unwrap();
        let config = WorldConfig::for_tests().with_env(
            Function::Poller,
            "SYNC_CASES_UPDATED_SINCE",
            floor.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
        let world = world_with(config).await;
        // Open in SIR before the deploy (seeded: no native event, as for a case nobody touches).
        let old = world
            .sir()
            .seed_case(NewCase {
                title: "Open since last month".to_owned(),
                status: CaseStatus::DetectionAndAnalysis,
                ..NewCase::default()
            })
            .expect("seed");
        let updated = world.sir().case(&old).expect("the case").last_updated_date;
        assert!(
            updated < floor,
            "the world took longer than {FLOOR_AHEAD:?} to start"
        );
        // The deploy time has passed: what happens from now on is synced.
        world
            .wait_until("the clock to pass the floor", FLOOR_AHEAD + WAIT, |_| {
                chrono::Utc::now() > floor
            })
            .await
            .expect("the clock moves");

        // A new case gets its channel (this waits for it); reconciles have seen the old one.
        let new = open_case(&world).await;
        assert_eq!(channels_of(&world, &new.case_id), 1);
        world.tick().await;
        world
            .wait_until_quiet(Duration::from_secs(3), WAIT)
            .await
            .expect("the world settles");
        assert_eq!(
            channels_of(&world, &old),
            0,
            "the old open case has no channel"
        );

        // Updated after the deploy: it gets its channel.
        world
            .sir()
            .add_comment(&old, "Still investigating", "AWS Responder")
            .expect("comment");
        let channel = world
            .wait_for_case_ready(&old, WAIT)
            .await
            .expect("the updated case gets its channel");
        assert!(channel.name.ends_with(&old), "{}", channel.name);
        assert_eq!(channels_of(&world, &old), 1);
    });
}

#[test]
fn after_destroy_and_redeploy_updates_land_in_the_existing_channel_both_ways() {
    run(async {
        let world = world_with(WorldConfig::for_tests()).await;
        let case = open_case(&world).await;
        world
            .sir()
            .add_comment(&case.case_id, "Before the redeploy", "AWS Responder")
            .expect("comment");
        wait_for_app_message(&world, &case.channel.id, "Before the redeploy").await;
        world
            .wait_until_quiet(Duration::from_secs(2), WAIT)
            .await
            .expect("the world settles");

        // `slack destroy` (the table is kept) then `slack`: parameters written again, every
        // function cold; the first reconcile of the new deployment runs.
        world.redeploy().await.expect("the redeploy");
        world.tick().await;
        world
            .sir()
            .add_comment(&case.case_id, "After the redeploy", "AWS Responder")
            .expect("comment");
        wait_for_app_message(&world, &case.channel.id, "After the redeploy").await;
        world
            .post_message(&case.channel.id, ALICE.slack_id, "Seen after the redeploy")
            .expect("message");
        wait_for_comment(&world, &case.case_id, "Seen after the redeploy").await;
        world
            .wait_until_quiet(Duration::from_secs(2), WAIT)
            .await
            .expect("the world settles");

        assert_eq!(
            channels_of(&world, &case.case_id),
            1,
            "no second channel: {:?}",
            world.slack().channels()
        );
        assert_eq!(
            app_messages_showing(&world, &case.channel.id, "After the redeploy"),
            1
        );
        assert_eq!(
            comments_containing(&world, &case.case_id, "Seen after the redeploy").len(),
            1
        );
        let channel = world.case_channel(&case.case_id).expect("the channel");
        assert_eq!(channel.id, case.channel.id);
        assert!(!channel.is_archived, "{channel:?}");
    });
}
