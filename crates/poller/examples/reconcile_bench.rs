//! Benchmark: SIR calls and wall time of one reconcile.
//!
//! `cargo run --release -p sirslack-poller --example reconcile_bench`
//!
//! For N = 10, 100 and 1000 cases (10% open) in the SIR stand-in, with DynamoDB and
//! EventBridge on moto: an initial reconcile announces the open cases, then one reconcile is
//! measured after 0, 1 and 10 open cases changed (a new title). The poller instance is reused
//! between runs, as a warm Lambda would be. SIR calls are counted from the stand-in's call
//! record; the last column is what the existing integration makes per poll
//! (`ceil(N/25)` ListCases + 4 detail calls per open case).

#[path = "../tests/world/mod.rs"]
mod world;

use std::time::Instant;

use sir_standin::{CaseStatus, NewCase};
use world::{World, scheduled_event};

const SIZES: [usize; 3] = [10, 100, 1000];
const CHANGED: [usize; 3] = [0, 1, 10];

struct Row {
    cases: usize,
    label: String,
    list_calls: usize,
    detail_calls: usize,
    membership_calls: usize,
    events: usize,
    wall_ms: u128,
    existing: usize,
}

async fn measure(
    world: &World,
    poller: &sirslack_poller::Poller,
    cases: usize,
    label: String,
) -> Row {
    world.sir.reset_calls();
    let started = Instant::now();
    let report = poller
        .handle(&scheduled_event())
        .await
        .expect("the reconcile succeeds");
    let wall_ms = started.elapsed().as_millis();
    let count = |operation: &str| world.sir.call_count(operation);
    let open = cases.div_ceil(10);
    Row {
        cases,
        label,
        list_calls: count("ListCases"),
        detail_calls: count("GetCase") + count("ListComments"),
        membership_calls: count("ListMemberships") + count("GetMembership"),
        events: report.events_published,
        wall_ms,
        existing: cases.div_ceil(25) + 4 * open,
    }
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    for cases in SIZES {
        let world = World::new().await;
        let mut open = Vec::new();
        for n in 0..cases {
            let is_open = n % 10 == 0;
            let case_id = world
                .sir
                .seed_case(NewCase {
                    title: format!("Case {n}"),
                    status: if is_open {
                        CaseStatus::DetectionAndAnalysis
                    } else {
                        CaseStatus::Closed
                    },
                    ..NewCase::default()
                })
                .expect("seed");
            if is_open {
                open.push(case_id);
            }
        }
        let poller = world.poller();
        rows.push(measure(&world, &poller, cases, "initial sync".into()).await);
        for changed in CHANGED {
            for case_id in open.iter().take(changed) {
                world
                    .sir
                    .set_case_title(case_id, format!("Renamed for the {changed}-change run"))
                    .expect("title");
            }
            rows.push(measure(&world, &poller, cases, format!("{changed} changed")).await);
        }
    }

    println!(
        "| cases (open) | run | ListCases | GetCase + ListComments | ListMemberships + GetMembership | events | wall ms | existing integration, calls per poll |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
            row.cases,
            row.cases.div_ceil(10),
            row.label,
            row.list_calls,
            row.detail_calls,
            row.membership_calls,
            row.events,
            row.wall_ms,
            row.existing
        );
    }
}
