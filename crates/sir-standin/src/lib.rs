//! An in-process stand-in for the AWS Security Incident Response (SIR) API.
//!
//! It serves the restJson1 wire format of the operations listed in SIR-API.md, so the real
//! `aws-sdk-securityir` client can talk to it through an endpoint override:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sir_standin::{NewCase, SirStandin};
//!
//! let standin = SirStandin::start().await?;
//! let case_id = standin.seed_case(NewCase::default()).expect("valid seed");
//! // Point the SDK at standin.endpoint_url() with any static credentials, then:
//! assert_eq!(standin.call_count("GetCase"), 0);
//! # let _ = case_id;
//! # Ok(())
//! # }
//! ```
//!
//! Besides the API it offers seeding helpers (acting as an AWS responder or the console would),
//! inspection of stored state and recorded calls, fault injection, and a feed of the native
//! events SIR would put on the account's default EventBridge bus
//! ([`SirStandin::subscribe_native_events`]).

mod api;
mod error;
mod faults;
mod model;
mod native_events;
mod pagination;
mod store;
mod validate;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::StandinError;
pub use faults::{
    Fault, FaultKind, PRESIGNED_DOWNLOAD, PRESIGNED_UPLOAD, RecordedCall, UNKNOWN_OPERATION,
};
pub use model::{
    AttachmentRecord, AttachmentStatus, CaseEdit, CaseMetadataEntry, CaseRecord, CaseStatus,
    ClosureCode, CommentRecord, EngagementType, IncidentResponder, InvestigationAction,
    InvestigationFeedback, MembershipRecord, MembershipStatus, NewCase, PendingAction,
    ResolverType, ThreatActorIp, UnknownEnumValue, Watcher,
};
pub use native_events::{NATIVE_EVENT_SOURCE, NativeEvent, NativeEventType};

use store::{Settings, Shared, Store};

/// How a stand-in starts. `Default` binds 127.0.0.1 on an ephemeral port.
#[derive(Clone, Debug)]
pub struct StandinConfig {
    /// Where to listen; use a fixed port for a long-running local demo.
    pub bind_addr: SocketAddr,
    /// Account in case and membership ARNs.
    pub account_id: String,
    /// Region in ARNs and of the membership.
    pub region: String,
    /// Principal credited with everything done through the API (comment `creator`, edit log,
    /// attachment `creator`): the integration's own IAM role in a real account.
    pub caller_principal: String,
    /// Principal credited with seeded changes that name no one else.
    pub responder_principal: String,
    /// Also allow Submitted -> Containment/Post-incident, as some documentation versions do.
    pub lenient_submitted_transitions: bool,
    /// Status an attachment uploaded through a presigned URL ends up with, once SIR has
    /// processed it (see `attachment_verification_delay`).
    pub upload_attachment_status: AttachmentStatus,
    /// IAM as AWS applies it: when set, every API call is refused (403 `AccessDeniedException`,
    /// `UnrecognizedClientException` for an unknown key) unless the policy of the SigV4 access
    /// key's principal allows `security-ir:<Operation>` on the case or membership ARN (`*` for
    /// ListCases, ListMemberships and CreateCase). Presigned URLs are not IAM-checked (as S3's).
    pub authorizer: Option<local_iam::Authorizer>,
    /// How long after its bytes land (the PUT to the upload URL answered 200) an uploaded
    /// attachment stays out of GetCase entirely.
    ///
    /// SIR lists an attachment when it is ready, not when the bytes land, and documents no
    /// delay (SIR-API.md: `CaseAttachmentAttributes` has `attachmentStatus` `Pending`,
    /// `Verified` or `Failed`, and GetCaseAttachmentUploadUrl returns only the URL, no
    /// attachment ID). The stand-in takes the stricter reading of both: an upload is **not
    /// listed at all** for this long (nothing seen right after the upload names it), then it is
    /// listed as `Pending` for `attachment_verification_delay`, then with
    /// `upload_attachment_status`. The listing does not move the case's `lastUpdatedDate` (the
    /// upload itself did) and no native event announces it (SIR documents none). Seeded
    /// attachments ([`SirStandin::add_attachment`]) are listed at once with the status given.
    pub attachment_listing_delay: Duration,
    /// How long a listed upload stays `Pending` before it gets `upload_attachment_status`.
    pub attachment_verification_delay: Duration,
    /// How long a presigned URL (upload or download) works after it is handed out. After that
    /// it answers as S3 does: 403 `AccessDenied`, "Request has expired". SIR does not document
    /// the lifetime of its URLs; the default is 15 minutes, the value the URLs' own
    /// `X-Amz-Expires` has always shown here. Never rely on a URL outliving one attempt.
    pub presigned_url_lifetime: Duration,
}

/// Default of [`StandinConfig::attachment_listing_delay`]: long enough that a listing read right
/// after an upload misses it.
pub const DEFAULT_ATTACHMENT_LISTING_DELAY: Duration = Duration::from_secs(2);
/// Default of [`StandinConfig::attachment_verification_delay`].
pub const DEFAULT_ATTACHMENT_VERIFICATION_DELAY: Duration = Duration::from_secs(1);
/// Default of [`StandinConfig::presigned_url_lifetime`].
pub const DEFAULT_PRESIGNED_URL_LIFETIME: Duration = Duration::from_secs(900);

impl Default for StandinConfig {
    fn default() -> Self {
        StandinConfig {
            bind_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            account_id: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            caller_principal:
                "arn:aws:sts::111122223333:assumed-role/sirslack-integration/sirslack".to_owned(),
            responder_principal: "AWS Responder".to_owned(),
            lenient_submitted_transitions: false,
            upload_attachment_status: AttachmentStatus::Verified,
            authorizer: None,
            attachment_listing_delay: DEFAULT_ATTACHMENT_LISTING_DELAY,
            attachment_verification_delay: DEFAULT_ATTACHMENT_VERIFICATION_DELAY,
            presigned_url_lifetime: DEFAULT_PRESIGNED_URL_LIFETIME,
        }
    }
}

/// A running SIR stand-in. Stops when dropped or on [`SirStandin::shutdown`].
pub struct SirStandin {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SirStandin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SirStandin")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl SirStandin {
    /// Starts a stand-in on 127.0.0.1 with an ephemeral port and default settings.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(StandinConfig::default()).await
    }

    /// Starts a stand-in with the given settings.
    pub async fn start_with(config: StandinConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.bind_addr).await?;
        let local_addr = listener.local_addr()?;
        let endpoint_url = format!("http://{local_addr}");
        let shared = Arc::new(
            Shared::new(Store::new(Settings::from_config(&config, endpoint_url)))
                .with_authorizer(config.authorizer.clone()),
        );
        let router = axum::Router::new()
            .fallback(api::handle)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                // Either an explicit stop or the handle being dropped ends the server.
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(%error, "SIR stand-in server stopped with an error");
            }
        });
        tracing::debug!(%local_addr, "SIR stand-in listening");
        Ok(SirStandin {
            shared,
            local_addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// Base URL for the SDK's endpoint override, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits (up to five seconds) for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
    }

    // ----- Seeding: changes made as if by an AWS responder, the console or SIR itself -----

    /// Creates a case directly in the store and returns its id.
    pub fn seed_case(&self, case: NewCase) -> Result<String, StandinError> {
        self.shared.lock().insert_case(case)
    }

    /// Changes a case as the configured responder principal would. Identity fields (`case_id`,
    /// `case_arn`, `created_date`) are kept; `last_updated_date` is bumped afterwards.
    ///
    /// `change` runs with the store locked: it must not call back into the stand-in.
    pub fn update_case(
        &self,
        case_id: &str,
        change: impl FnOnce(&mut CaseRecord),
    ) -> Result<(), StandinError> {
        let principal = self.shared.lock().settings.responder_principal.clone();
        self.update_case_as(case_id, &principal, change)
    }

    /// Like [`SirStandin::update_case`], crediting `principal` in the edit log.
    pub fn update_case_as(
        &self,
        case_id: &str,
        principal: &str,
        change: impl FnOnce(&mut CaseRecord),
    ) -> Result<(), StandinError> {
        self.shared.lock().mutate_case(
            case_id,
            principal,
            "UpdateCase",
            |_| "Case updated".to_owned(),
            |case, _| change(case),
        )
    }

    /// Sets any status, including AWS-managed ones (`Acknowledged`, `Ready to Close`), without
    /// transition checks. `Closed` also sets `closed_date`; leaving `Closed` clears it.
    pub fn set_case_status(&self, case_id: &str, status: CaseStatus) -> Result<(), StandinError> {
        let mut store = self.shared.lock();
        let principal = store.settings.responder_principal.clone();
        let action = if status == CaseStatus::Closed {
            "CloseCase"
        } else {
            "UpdateCaseStatus"
        };
        store.mutate_case(
            case_id,
            &principal,
            action,
            |case| format!("Case status changed from {} to {status}", case.status),
            |case, now| {
                case.status = status;
                case.closed_date = (status == CaseStatus::Closed).then_some(now);
            },
        )
    }

    pub fn set_case_title(
        &self,
        case_id: &str,
        title: impl Into<String>,
    ) -> Result<(), StandinError> {
        let title = title.into();
        self.update_case(case_id, |case| case.title = title)
    }

    pub fn set_case_description(
        &self,
        case_id: &str,
        description: impl Into<String>,
    ) -> Result<(), StandinError> {
        let description = description.into();
        self.update_case(case_id, |case| case.description = description)
    }

    pub fn set_pending_action(
        &self,
        case_id: &str,
        pending_action: PendingAction,
    ) -> Result<(), StandinError> {
        self.update_case(case_id, |case| case.pending_action = pending_action)
    }

    /// Adds a comment written by `creator` (e.g. `AWS Responder`) and returns its id.
    pub fn add_comment(
        &self,
        case_id: &str,
        body: impl Into<String>,
        creator: &str,
    ) -> Result<String, StandinError> {
        Ok(self
            .shared
            .lock()
            .add_comment(case_id, body.into(), creator)?
            .comment_id)
    }

    /// Rewrites a comment's body as `editor`.
    pub fn edit_comment(
        &self,
        case_id: &str,
        comment_id: &str,
        body: impl Into<String>,
        editor: &str,
    ) -> Result<(), StandinError> {
        self.shared
            .lock()
            .edit_comment(case_id, comment_id, body.into(), editor)
            .map(|_| ())
    }

    /// Attaches a file as the responder principal would and returns the attachment id. The name
    /// must satisfy SIR's rule (1 to 255 of `[a-zA-Z0-9._-]`), as every SIR attachment does.
    pub fn add_attachment(
        &self,
        case_id: &str,
        file_name: impl Into<String>,
        bytes: impl Into<Bytes>,
        status: AttachmentStatus,
    ) -> Result<String, StandinError> {
        let file_name = file_name.into();
        if !validate::is_file_name(&file_name) || file_name.len() > validate::FILE_NAME_MAX {
            return Err(StandinError::InvalidFileName(file_name));
        }
        let mut store = self.shared.lock();
        let creator = store.settings.responder_principal.clone();
        let attachment_id = uuid::Uuid::new_v4().to_string();
        store
            .put_attachment(
                case_id,
                attachment_id,
                file_name,
                bytes.into(),
                status,
                &creator,
                (Duration::ZERO, Duration::ZERO),
            )
            .map(|record| record.attachment_id)
    }

    /// Changes an attachment's status (e.g. Pending -> Verified once "scanned").
    pub fn set_attachment_status(
        &self,
        case_id: &str,
        attachment_id: &str,
        status: AttachmentStatus,
    ) -> Result<(), StandinError> {
        self.shared
            .lock()
            .set_attachment_status(case_id, attachment_id, status)
    }

    /// Status that attachments uploaded through presigned URLs get from now on.
    pub fn set_upload_attachment_status(&self, status: AttachmentStatus) {
        self.shared.lock().settings.upload_attachment_status = status;
    }

    /// Listing and verification delays for uploads whose bytes land from now on (see
    /// [`StandinConfig::attachment_listing_delay`]).
    pub fn set_attachment_delays(&self, listing: Duration, verification: Duration) {
        let mut store = self.shared.lock();
        store.settings.attachment_listing_delay = listing;
        store.settings.attachment_verification_delay = verification;
    }

    /// Lifetime of the presigned URLs handed out from now on.
    pub fn set_presigned_url_lifetime(&self, lifetime: Duration) {
        self.shared.lock().settings.presigned_url_lifetime = lifetime;
    }

    /// The next `count` URLs that `operation` (`GetCaseAttachmentUploadUrl` or
    /// `GetCaseAttachmentDownloadUrl`) hands out have already expired when they are used, as if
    /// the caller had held each one past its lifetime. A replay of an idempotent request
    /// (same `clientToken`) returns the same, still expired, URL. Other operation names are
    /// ignored.
    pub fn hand_out_expired_urls(&self, operation: &str, count: u32) {
        let operation = match operation {
            "GetCaseAttachmentUploadUrl" => "GetCaseAttachmentUploadUrl",
            "GetCaseAttachmentDownloadUrl" => "GetCaseAttachmentDownloadUrl",
            _ => return,
        };
        *self
            .shared
            .lock()
            .settings
            .expired_url_issues
            .entry(operation)
            .or_default() += count;
    }

    /// Records an investigation action on a case (served by ListInvestigations).
    pub fn add_investigation(
        &self,
        case_id: &str,
        action: InvestigationAction,
    ) -> Result<(), StandinError> {
        self.shared.lock().add_investigation(case_id, action)
    }

    /// Id of the membership that exists from the start (Active).
    pub fn membership_id(&self) -> String {
        self.shared
            .lock()
            .memberships
            .first()
            .map(|membership| membership.membership_id.clone())
            .unwrap_or_default()
    }

    /// Adds another membership and returns its id.
    pub fn add_membership(&self, name: impl Into<String>, status: MembershipStatus) -> String {
        self.shared.lock().add_membership(name.into(), status)
    }

    /// Sets the incident response team of the initial membership.
    pub fn set_incident_response_team(&self, team: Vec<IncidentResponder>) {
        let mut store = self.shared.lock();
        if let Some(membership) = store.memberships.first_mut() {
            membership.incident_response_team = team;
        }
    }

    /// Sets the incident response team of a given membership.
    pub fn set_membership_team(
        &self,
        membership_id: &str,
        team: Vec<IncidentResponder>,
    ) -> Result<(), StandinError> {
        self.shared
            .lock()
            .membership_mut(membership_id)?
            .incident_response_team = team;
        Ok(())
    }

    pub fn set_membership_status(
        &self,
        membership_id: &str,
        status: MembershipStatus,
    ) -> Result<(), StandinError> {
        self.shared.lock().membership_mut(membership_id)?.status = status;
        Ok(())
    }

    /// While set, ListMemberships and GetMembership answer 500 InternalServerException.
    pub fn set_membership_failure(&self, failing: bool) {
        self.shared.lock().membership_failure = failing;
    }

    // ----- Native events -----

    /// Receives every native event from now on: one per case creation, case change, comment
    /// added or edited, and closing, made through the API or by a seeding helper (SIR announces
    /// changes whoever made them). Attachments are not announced, as SIR documents no
    /// attachment event. Each call gets its own receiver; dropping it unsubscribes.
    pub fn subscribe_native_events(&self) -> tokio::sync::mpsc::UnboundedReceiver<NativeEvent> {
        self.shared.lock().subscribe_native_events()
    }

    // ----- Fault injection -----

    /// Queues a fault; see [`Fault`] for matching rules.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Uses left across all queued faults.
    pub fn pending_fault_uses(&self) -> u64 {
        self.shared
            .lock()
            .faults
            .iter()
            .map(|fault| u64::from(fault.times))
            .sum()
    }

    // ----- Inspection -----

    /// Every call answered so far, oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    /// Calls to one operation, oldest first.
    pub fn calls_to(&self, operation: &str) -> Vec<RecordedCall> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|call| call.operation == operation)
            .cloned()
            .collect()
    }

    pub fn call_count(&self, operation: &str) -> usize {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|call| call.operation == operation)
            .count()
    }

    pub fn reset_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// Waits until at least `count` calls to `operation` have been answered; `false` on timeout.
    /// Use it instead of sleeping when another task drives the client.
    pub async fn wait_for_calls(&self, operation: &str, count: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.call_recorded.notified();
            tokio::pin!(notified);
            // Register before checking so a call recorded in between still wakes us.
            notified.as_mut().enable();
            if self.call_count(operation) >= count {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.call_count(operation) >= count;
            }
        }
    }

    pub fn case(&self, case_id: &str) -> Option<CaseRecord> {
        self.shared
            .lock()
            .case(case_id)
            .ok()
            .map(|entry| entry.record.clone())
    }

    /// Every case, in creation order.
    pub fn cases(&self) -> Vec<CaseRecord> {
        self.shared
            .lock()
            .cases_in_order()
            .into_iter()
            .map(|entry| entry.record.clone())
            .collect()
    }

    /// A case's comments, oldest first (empty for an unknown case).
    pub fn comments(&self, case_id: &str) -> Vec<CommentRecord> {
        self.shared
            .lock()
            .case(case_id)
            .map(|entry| entry.comments.clone())
            .unwrap_or_default()
    }

    /// Every attachment whose bytes landed on a case, in upload order, listed by GetCase yet or
    /// not (see [`AttachmentRecord::listed`]), with its status as of now (empty for an unknown
    /// case).
    pub fn attachments(&self, case_id: &str) -> Vec<AttachmentRecord> {
        let now = tokio::time::Instant::now();
        self.shared
            .lock()
            .case(case_id)
            .map(|entry| {
                entry
                    .attachments
                    .iter()
                    .map(|attachment| attachment.view(now))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The attachments GetCase lists now, as it lists them.
    pub fn listed_attachments(&self, case_id: &str) -> Vec<AttachmentRecord> {
        self.attachments(case_id)
            .into_iter()
            .filter(|attachment| attachment.listed)
            .collect()
    }

    /// The stored bytes of an attachment (a cheap reference-counted handle).
    pub fn attachment_bytes(&self, case_id: &str, attachment_id: &str) -> Option<Bytes> {
        self.shared
            .lock()
            .case(case_id)
            .ok()?
            .attachment(attachment_id)
            .map(|attachment| attachment.bytes.clone())
    }

    /// A case's edit log, oldest first (empty for an unknown case).
    pub fn case_edits(&self, case_id: &str) -> Vec<CaseEdit> {
        self.shared
            .lock()
            .case(case_id)
            .map(|entry| entry.edits.clone())
            .unwrap_or_default()
    }

    pub fn memberships(&self) -> Vec<MembershipRecord> {
        self.shared.lock().memberships.clone()
    }
}

impl Drop for SirStandin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
