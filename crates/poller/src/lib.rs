//! The SIR poller: incremental, near-real-time case sync from AWS Security Incident Response
//! to sirslack's integration bus.
//!
//! The poller is the only component that reads cases from SIR. One Lambda binary
//! (`sir-poller`) serves two triggers (see [`trigger`]):
//! - SIR's native events (`source: aws.security-ir`): that one case is synced at once;
//! - a schedule (every 5 minutes by default): a [`reconcile`] lists every case and syncs only
//!   those that changed, plus open cases whose attachments are due for a check.
//!
//! A case sync ([`sync`]) turns the difference between SIR and the stored snapshot into typed
//! integration events, publishes them ([`sirslack_bus`]), and only then advances the snapshot,
//! with conditional writes throughout: events are never lost, and duplicates carry the same
//! idempotency key and sequence number. See `docs/poller.md`.
//!
//! One failing case never stops a run: it is logged with its case ID and retried on the next
//! run, and [`Poller::handle`] returns an error at the end so that the function's error alarm
//! fires.

#![forbid(unsafe_code)]

pub mod config;
mod diagnostic;
pub mod reconcile;
pub mod sir;
pub mod sync;
pub mod trigger;

use std::sync::Mutex;

use chrono::Utc;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use sirslack_bus::{EventPublisher, Publish};
use sirslack_domain::CaseId;
use sirslack_domain::duration::to_chrono;
use sirslack_store::{CaseSnapshot, StoreError, Table};
use tokio::sync::OnceCell;

pub use config::{ConfigError, PollerConfig};
pub use sir::{SirError, SirReader};
pub use sync::{SyncError, SyncKind, SyncOutcome, SyncStatus, Team};
pub use trigger::Trigger;

use crate::reconcile::{ListingWrite, select};
use crate::sync::SyncContext;

/// The CloudWatch namespace of the poller's metrics.
pub const METRICS_NAMESPACE: &str = "sirslack";

/// Name of the lease that keeps scheduled reconciles from overlapping.
const RECONCILE_LEASE: &str = "reconcile";

/// Listing-only snapshot writes done at once.
const LISTING_WRITE_CONCURRENCY: usize = 16;

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum PollerError {
    /// Cases could not be listed: nothing was synced.
    #[error(transparent)]
    List(#[from] SirError),
    /// The table could not be read for the whole run.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Some cases failed (each is logged with its case ID); the others were synced.
    #[error("{} of {} case(s) failed to sync: {}", .report.failures.len(), .report.cases_attempted(), .report.failed_case_ids())]
    PartialFailure {
        /// What the run did.
        report: Box<RunReport>,
    },
}

/// One case that failed in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseFailure {
    /// The case.
    pub case_id: String,
    /// What went wrong.
    pub error: String,
}

/// What one invocation did; returned to Lambda (and logged) as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// `reconcile`, `case`, `ignored`, or `reconcile-skipped` (another reconcile held the lease).
    pub trigger: String,
    /// Cases ListCases returned (reconcile only).
    pub cases_listed: usize,
    /// Cases read from SIR (GetCase).
    pub cases_synced: usize,
    /// Cases stored without events (closed, from their listing or their details).
    pub cases_stored_silently: usize,
    /// Cases skipped because another run was syncing them.
    pub cases_busy: usize,
    /// Cases SIR no longer has (a native event or a listing for a case deleted since):
    /// logged and skipped, not failures.
    pub cases_gone: usize,
    /// Integration events published.
    pub events_published: usize,
    /// Cases that failed; retried on the next run.
    pub failures: Vec<CaseFailure>,
}

impl RunReport {
    fn new(trigger: &str) -> Self {
        Self {
            trigger: trigger.to_owned(),
            ..Self::default()
        }
    }

    fn cases_attempted(&self) -> usize {
        self.cases_synced
            + self.cases_stored_silently
            + self.cases_busy
            + self.cases_gone
            + self.failures.len()
    }

    fn failed_case_ids(&self) -> String {
        self.failures
            .iter()
            .map(|f| f.case_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn add_sync(&mut self, case_id: &CaseId, result: Result<SyncOutcome, SyncError>) {
        match result {
            Ok(outcome) => {
                self.events_published += outcome.events;
                match outcome.status {
                    SyncStatus::Busy => self.cases_busy += 1,
                    SyncStatus::StoredSilently => self.cases_stored_silently += 1,
                    SyncStatus::Unchanged | SyncStatus::Published => self.cases_synced += 1,
                }
            }
            Err(SyncError::Sir(error)) if error.is_not_found() => {
                // Nothing to sync and nothing a retry could find: not a failure, so the native
                // event does not go to the DLQ and raise the alarm.
                tracing::warn!(case_id = %case_id, error = %error, "SIR has no such case (deleted?); skipped");
                self.cases_gone += 1;
            }
            Err(error) => {
                if let SyncError::Sir(sir) = &error
                    && sir.is_access_denied()
                {
                    // Not transient: the poller's role or the account's SIR membership must be
                    // fixed. The run still fails (the Errors alarm fires; a native event goes to
                    // the DLQ for a redrive), and the next reconcile catches up once fixed.
                    tracing::error!(
                        case_id = %case_id,
                        error = %error,
                        security = "sir_access_denied",
                        "SIR refused the poller access to the case: check the poller role's \
                         security-ir permissions and the account's SIR membership"
                    );
                } else {
                    tracing::error!(case_id = %case_id, error = %error, "case sync failed; it is retried on the next run");
                }
                self.failures.push(CaseFailure {
                    case_id: case_id.to_string(),
                    error: error.to_string(),
                });
            }
        }
    }

    /// The run's metrics as one CloudWatch embedded-metric-format line (`SyncFailures`,
    /// `EventsPublished`, `CasesSynced`), for an alarm on `SyncFailures`.
    pub fn metrics_line(&self, function_name: &str) -> String {
        json!({
            "_aws": {
                "Timestamp": Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [["Function"]],
                    "Metrics": [
                        {"Name": "SyncFailures", "Unit": "Count"},
                        {"Name": "EventsPublished", "Unit": "Count"},
                        {"Name": "CasesSynced", "Unit": "Count"}
                    ]
                }]
            },
            "Function": function_name,
            "Trigger": self.trigger,
            "SyncFailures": self.failures.len(),
            "EventsPublished": self.events_published,
            "CasesSynced": self.cases_synced,
        })
        .to_string()
    }
}

/// The poller: SIR reader, table and publisher, shared by every invocation of a warm Lambda.
#[derive(Debug)]
pub struct Poller<P = EventPublisher> {
    sir: SirReader,
    table: Table,
    publisher: P,
    config: PollerConfig,
    /// The active membership, once found (it does not change while the process lives; a failed
    /// read of it forgets it).
    membership_id: Mutex<Option<String>>,
}

impl Poller<EventPublisher> {
    /// A poller with clients built from one SDK configuration (SIR with the SIR adapter's
    /// retry setting, see [`sirslack_sir::sdk_config`]).
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, config: PollerConfig) -> Self {
        let sir = SirReader::from_sdk_config(sdk_config);
        let table = Table::new(
            aws_sdk_dynamodb::Client::new(sdk_config),
            config.table_name.clone(),
        );
        let publisher = EventPublisher::new(
            aws_sdk_eventbridge::Client::new(sdk_config),
            config.event_bus_name.clone(),
        );
        Self::new(sir, table, publisher, config)
    }
}

impl<P: Publish> Poller<P> {
    /// A poller over the given clients.
    pub fn new(sir: SirReader, table: Table, publisher: P, config: PollerConfig) -> Self {
        let membership_id = Mutex::new(config.membership_id.clone());
        Self {
            sir,
            table,
            publisher,
            config,
            membership_id,
        }
    }

    /// The Lambda handler: reads the EventBridge event, runs the reconcile or the case sync,
    /// prints the run's metric line, and fails if any case failed.
    pub async fn handle(&self, event: &Value) -> Result<RunReport, PollerError> {
        let report = match self.run(Trigger::from_event(event)).await {
            Ok(report) => report,
            Err(PollerError::List(error)) if error.is_access_denied() => {
                tracing::error!(
                    error = %error,
                    security = "sir_access_denied",
                    "SIR refused the poller access: check the poller role's security-ir \
                     permissions and the account's SIR membership"
                );
                return Err(PollerError::List(error));
            }
            Err(error) => return Err(error),
        };
        sirslack_lambda::print_metric(&report.metrics_line("sir-poller"));
        if report.failures.is_empty() {
            Ok(report)
        } else {
            Err(PollerError::PartialFailure {
                report: Box::new(report),
            })
        }
    }

    /// Does what `trigger` asks; per-case failures are in the report, not an error.
    pub async fn run(&self, trigger: Trigger) -> Result<RunReport, PollerError> {
        match trigger {
            Trigger::Reconcile => self.reconcile().await,
            Trigger::Case {
                case_id,
                detail_type,
            } => {
                tracing::info!(case_id = %case_id, detail_type = %detail_type, "SIR event: syncing the case");
                Ok(self.sync_one(&case_id).await)
            }
            Trigger::Ignore { reason } => {
                tracing::warn!(%reason, "event ignored");
                Ok(RunReport::new("ignored"))
            }
        }
    }

    /// Syncs one case fully (as a native SIR event does).
    pub async fn sync_one(&self, case_id: &CaseId) -> RunReport {
        let invocation = Invocation::new(self);
        let mut report = RunReport::new("case");
        let result = invocation.sync(case_id, SyncKind::Full).await;
        report.add_sync(case_id, result);
        report
    }

    /// Lists every case and syncs those that changed.
    pub async fn reconcile(&self) -> Result<RunReport, PollerError> {
        let invocation = Invocation::new(self);
        let lease = to_chrono(self.config.reconcile_lease);
        if !self
            .table
            .acquire_lease(RECONCILE_LEASE, &invocation.owner, lease)
            .await?
        {
            tracing::info!("another reconcile is running; this one is skipped");
            return Ok(RunReport::new("reconcile-skipped"));
        }
        let result = self.reconcile_leased(&invocation).await;
        if let Err(error) = self
            .table
            .release_lease(RECONCILE_LEASE, &invocation.owner)
            .await
        {
            tracing::warn!(%error, "could not release the reconcile lease");
        }
        result
    }

    async fn reconcile_leased(
        &self,
        invocation: &Invocation<'_, P>,
    ) -> Result<RunReport, PollerError> {
        let mut report = RunReport::new("reconcile");
        let entries = self.sir.list_cases().await?;
        report.cases_listed = entries.len();
        let ids: Vec<CaseId> = entries.iter().map(|e| e.case_id.clone()).collect();
        let summaries = self.table.snapshot_summaries(&ids).await?;
        let selection = select(
            &entries,
            &summaries,
            Utc::now(),
            self.config.attachment_recheck,
            self.config.attachment_rechecks_per_run,
            self.config.sync_floor,
            &self.config.nudges,
        );
        tracing::info!(
            listed = entries.len(),
            to_sync = selection.syncs.len(),
            stored_from_listing = selection.listings.len(),
            "reconcile selection"
        );

        let listing_results: Vec<(CaseId, Result<(), StoreError>)> =
            futures::stream::iter(selection.listings)
                .map(|write| self.write_listing(write))
                .buffer_unordered(LISTING_WRITE_CONCURRENCY)
                .collect()
                .await;
        for (case_id, result) in listing_results {
            match result {
                Ok(()) => report.cases_stored_silently += 1,
                // A sync of the same case got there first; it stored at least as much.
                Err(StoreError::Conflict { .. }) => report.cases_busy += 1,
                Err(error) => report.add_sync(&case_id, Err(error.into())),
            }
        }

        let sync_results: Vec<(CaseId, Result<SyncOutcome, SyncError>)> =
            futures::stream::iter(selection.syncs)
                .map(|(case_id, kind)| async move {
                    let result = invocation.sync(&case_id, kind).await;
                    (case_id, result)
                })
                .buffer_unordered(self.config.sync_concurrency.max(1))
                .collect()
                .await;
        for (case_id, result) in sync_results {
            report.add_sync(&case_id, result);
        }
        tracing::info!(
            events = report.events_published,
            synced = report.cases_synced,
            failed = report.failures.len(),
            "reconcile done"
        );
        Ok(report)
    }

    async fn write_listing(&self, write: ListingWrite) -> (CaseId, Result<(), StoreError>) {
        match write {
            ListingWrite::Create(entry) => {
                let snapshot = CaseSnapshot::listed(
                    entry.case_id.clone(),
                    entry.status.clone(),
                    entry.last_updated,
                    Utc::now(),
                );
                let result = self
                    .table
                    .put_snapshot(&snapshot, sirslack_store::SnapshotCondition::Absent)
                    .await;
                (entry.case_id, result)
            }
            ListingWrite::Refresh { entry, version } => {
                let result = self
                    .table
                    .update_listing(
                        &entry.case_id,
                        version,
                        entry.status.as_ref(),
                        entry.last_updated,
                    )
                    .await;
                (entry.case_id, result)
            }
        }
    }

    /// Reads the IR team of the active membership.
    async fn read_team(&self) -> Team {
        let known_id = self
            .membership_id
            .lock()
            .ok()
            .and_then(|cached| cached.clone());
        let membership_id = match known_id {
            Some(id) => id,
            None => match self.sir.active_membership_id().await {
                Ok(Some(id)) => {
                    if let Ok(mut cached) = self.membership_id.lock() {
                        *cached = Some(id.clone());
                    }
                    id
                }
                Ok(None) => {
                    tracing::warn!("no active SIR membership; watchers are kept as they are");
                    return Team::Unknown;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot list SIR memberships; watchers are kept as they are");
                    return Team::Unknown;
                }
            },
        };
        match self.sir.ir_team(&membership_id).await {
            Ok(team) => Team::Known(team),
            Err(error) => {
                tracing::warn!(%error, "cannot read the IR team; watchers are kept as they are");
                if self.config.membership_id.is_none()
                    && let Ok(mut cached) = self.membership_id.lock()
                {
                    // The membership may have changed: look it up again next time.
                    *cached = None;
                }
                Team::Unknown
            }
        }
    }
}

/// One invocation: its lease owner ID and its IR team, read at most once and only if a case
/// needs it.
struct Invocation<'a, P> {
    poller: &'a Poller<P>,
    owner: String,
    team: OnceCell<Team>,
}

impl<'a, P: Publish> Invocation<'a, P> {
    fn new(poller: &'a Poller<P>) -> Self {
        Self {
            poller,
            owner: uuid::Uuid::new_v4().to_string(),
            team: OnceCell::new(),
        }
    }

    async fn team(&self) -> Team {
        self.team
            .get_or_init(|| self.poller.read_team())
            .await
            .clone()
    }

    async fn sync(&self, case_id: &CaseId, kind: SyncKind) -> Result<SyncOutcome, SyncError> {
        let context = SyncContext {
            sir: &self.poller.sir,
            table: &self.poller.table,
            publisher: &self.poller.publisher,
            owner: &self.owner,
            lease: self.poller.config.case_lease,
            floor: self.poller.config.sync_floor,
        };
        context.sync_case(case_id, kind, || self.team()).await
    }
}
