//! In-memory state behind the stand-in, shared by the HTTP handlers and the seeding helpers.
//!
//! Everything sits behind one `std::sync::Mutex`: no lock is ever held across an `.await`, and
//! attachment bytes are `Bytes`, so serving a download clones a reference count, not the data.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::StandinConfig;
use crate::error::StandinError;
use crate::faults::{Fault, FaultKind, RecordedCall};
use crate::model::{
    AttachmentRecord, AttachmentStatus, CaseEdit, CaseRecord, CommentRecord, InvestigationAction,
    MembershipRecord, MembershipStatus, NewCase,
};
use crate::native_events::{NativeEvent, NativeEventType};
use crate::validate::is_case_id;

/// State plus the wake-up used by `SirStandin::wait_for_calls`.
pub(crate) struct Shared {
    store: Mutex<Store>,
    pub(crate) call_recorded: Notify,
    /// IAM for API calls (see `StandinConfig::authorizer`).
    pub(crate) authorizer: Option<local_iam::Authorizer>,
}

impl Shared {
    pub(crate) fn new(store: Store) -> Self {
        Shared {
            store: Mutex::new(store),
            call_recorded: Notify::new(),
            authorizer: None,
        }
    }

    pub(crate) fn with_authorizer(mut self, authorizer: Option<local_iam::Authorizer>) -> Self {
        self.authorizer = authorizer;
        self
    }

    /// A panic in one handler must not take the stand-in down for the rest of a test run.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, call: RecordedCall) {
        self.lock().calls.push(call);
        self.call_recorded.notify_waiters();
    }

    /// Consumes one use of the first matching fault.
    pub(crate) fn take_fault(&self, operation: &str, is_api_operation: bool) -> Option<FaultKind> {
        let mut store = self.lock();
        let fault = store
            .faults
            .iter_mut()
            .find(|fault| fault.matches(operation, is_api_operation))?;
        fault.times -= 1;
        let kind = fault.kind.clone();
        store.faults.retain(|fault| fault.times > 0);
        Some(kind)
    }
}

/// Settings fixed at start (the endpoint is known only once bound) or changed by helpers.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub endpoint_url: String,
    pub account_id: String,
    pub region: String,
    pub caller_principal: String,
    pub responder_principal: String,
    pub lenient_submitted_transitions: bool,
    pub upload_attachment_status: AttachmentStatus,
    pub attachment_listing_delay: Duration,
    pub attachment_verification_delay: Duration,
    pub presigned_url_lifetime: Duration,
    /// Per issuing operation, how many of the next URLs it hands out are already expired.
    pub expired_url_issues: HashMap<&'static str, u32>,
}

impl Settings {
    pub(crate) fn from_config(config: &StandinConfig, endpoint_url: String) -> Self {
        Settings {
            endpoint_url,
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            caller_principal: config.caller_principal.clone(),
            responder_principal: config.responder_principal.clone(),
            lenient_submitted_transitions: config.lenient_submitted_transitions,
            upload_attachment_status: config.upload_attachment_status,
            attachment_listing_delay: config.attachment_listing_delay,
            attachment_verification_delay: config.attachment_verification_delay,
            presigned_url_lifetime: config.presigned_url_lifetime,
            expired_url_issues: HashMap::new(),
        }
    }

    /// When a URL issued now by `operation` stops working: after the configured lifetime, or
    /// at once if a test asked for expired URLs from that operation.
    pub(crate) fn url_expiry(&mut self, operation: &'static str) -> Instant {
        let now = Instant::now();
        match self.expired_url_issues.get_mut(operation) {
            Some(left) if *left > 0 => {
                *left -= 1;
                now
            }
            _ => now + self.presigned_url_lifetime,
        }
    }
}

/// Hands out timestamps that strictly increase, one millisecond apart at least, so that
/// `lastUpdatedDate` moves on every mutation even within one wall-clock millisecond.
#[derive(Debug, Default)]
struct Clock {
    last_millis: i64,
}

impl Clock {
    fn tick(&mut self) -> DateTime<Utc> {
        let next = Utc::now().timestamp_millis().max(self.last_millis + 1);
        self.last_millis = next;
        DateTime::from_timestamp_millis(next).unwrap_or_else(Utc::now)
    }
}

/// An attachment's record and bytes, and when SIR shows it: the bytes landed at once, but GetCase
/// lists it only from `listed_at` (as `Pending`), and with its final status (`record.status`) only
/// from `settled_at`.
pub(crate) struct StoredAttachment {
    pub record: AttachmentRecord,
    pub bytes: Bytes,
    pub listed_at: Instant,
    pub settled_at: Instant,
}

impl StoredAttachment {
    /// The attachment as SIR shows it at `now`: `None` before it is listed.
    pub(crate) fn listed_view(&self, now: Instant) -> Option<AttachmentRecord> {
        (now >= self.listed_at).then(|| self.view(now))
    }

    /// The attachment with its status at `now`, listed or not.
    pub(crate) fn view(&self, now: Instant) -> AttachmentRecord {
        let mut record = self.record.clone();
        if now < self.settled_at {
            record.status = AttachmentStatus::Pending;
        }
        record.listed = now >= self.listed_at;
        record
    }
}

pub(crate) struct CaseEntry {
    pub record: CaseRecord,
    pub comments: Vec<CommentRecord>,
    pub attachments: Vec<StoredAttachment>,
    pub edits: Vec<CaseEdit>,
    pub investigations: Vec<InvestigationAction>,
}

impl CaseEntry {
    pub(crate) fn attachment(&self, attachment_id: &str) -> Option<&StoredAttachment> {
        self.attachments
            .iter()
            .find(|attachment| attachment.record.attachment_id == attachment_id)
    }
}

/// An upload URL handed out by GetCaseAttachmentUploadUrl.
#[derive(Clone, Debug)]
pub(crate) struct UploadTicket {
    pub case_id: String,
    pub attachment_id: String,
    pub file_name: String,
    pub content_length: u64,
    pub creator: String,
    pub signature: String,
    pub expiry: UrlExpiry,
}

/// When a presigned URL was issued and until when it works.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UrlExpiry {
    pub issued_at: DateTime<Utc>,
    pub expires_at: Instant,
    /// What the URL's `X-Amz-Expires` says.
    pub lifetime: Duration,
}

impl UrlExpiry {
    pub(crate) fn has_expired(&self) -> bool {
        Instant::now() >= self.expires_at
    }
}

/// A download URL handed out by GetCaseAttachmentDownloadUrl.
#[derive(Clone, Debug)]
pub(crate) struct DownloadTicket {
    pub case_id: String,
    pub attachment_id: String,
    pub signature: String,
    pub expiry: UrlExpiry,
}

/// The first answer given for an idempotency token, and the request it answered.
#[derive(Clone, Debug)]
pub(crate) struct IdempotentEntry {
    pub fingerprint: Value,
    pub response: Value,
}

pub(crate) struct Store {
    pub settings: Settings,
    clock: Clock,
    next_case_number: u64,
    next_comment_number: u32,
    cases: HashMap<String, CaseEntry>,
    /// Creation order, which is the order ListCases returns.
    case_order: Vec<String>,
    idempotency: HashMap<(String, String), IdempotentEntry>,
    upload_tickets: HashMap<String, UploadTicket>,
    download_tickets: HashMap<String, DownloadTicket>,
    pub memberships: Vec<MembershipRecord>,
    pub membership_failure: bool,
    pub calls: Vec<RecordedCall>,
    pub faults: Vec<Fault>,
    /// Receivers of native events; closed ones are dropped on the next announcement.
    native_event_subscribers: Vec<tokio::sync::mpsc::UnboundedSender<NativeEvent>>,
}

impl Store {
    /// The region and account of this stand-in's ARNs.
    pub(crate) fn arn_scope(&self) -> (String, String) {
        (
            self.settings.region.clone(),
            self.settings.account_id.clone(),
        )
    }

    pub(crate) fn new(settings: Settings) -> Self {
        let mut store = Store {
            clock: Clock::default(),
            next_case_number: 1_000_000_001,
            next_comment_number: 100_001,
            cases: HashMap::new(),
            case_order: Vec::new(),
            idempotency: HashMap::new(),
            upload_tickets: HashMap::new(),
            download_tickets: HashMap::new(),
            memberships: Vec::new(),
            membership_failure: false,
            calls: Vec::new(),
            faults: Vec::new(),
            native_event_subscribers: Vec::new(),
            settings,
        };
        store.add_membership("sirslack-local".to_owned(), MembershipStatus::Active);
        store
    }

    pub(crate) fn case_arn(&self, case_id: &str) -> String {
        format!(
            "arn:aws:security-ir:{}:{}:case/{case_id}",
            self.settings.region, self.settings.account_id
        )
    }

    pub(crate) fn subscribe_native_events(
        &mut self,
    ) -> tokio::sync::mpsc::UnboundedReceiver<NativeEvent> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        self.native_event_subscribers.push(sender);
        receiver
    }

    /// Hands a native event to every subscriber. Sending on an unbounded channel never blocks,
    /// so this is safe under the store lock.
    fn announce(
        &mut self,
        event_type: NativeEventType,
        case_id: &str,
        principal: &str,
        time: DateTime<Utc>,
    ) {
        if self.native_event_subscribers.is_empty() {
            return;
        }
        let event = NativeEvent {
            id: uuid::Uuid::new_v4().to_string(),
            event_type,
            case_id: case_id.to_owned(),
            case_arn: self.case_arn(case_id),
            updated_by: principal.to_owned(),
            time,
            account_id: self.settings.account_id.clone(),
            region: self.settings.region.clone(),
        };
        self.native_event_subscribers
            .retain(|subscriber| subscriber.send(event.clone()).is_ok());
    }

    pub(crate) fn case(&self, case_id: &str) -> Result<&CaseEntry, StandinError> {
        self.cases
            .get(case_id)
            .ok_or_else(|| StandinError::UnknownCase(case_id.to_owned()))
    }

    fn case_mut(&mut self, case_id: &str) -> Result<&mut CaseEntry, StandinError> {
        self.cases
            .get_mut(case_id)
            .ok_or_else(|| StandinError::UnknownCase(case_id.to_owned()))
    }

    /// Cases in creation order.
    pub(crate) fn cases_in_order(&self) -> Vec<&CaseEntry> {
        self.case_order
            .iter()
            .filter_map(|id| self.cases.get(id))
            .collect()
    }

    fn allocate_case_id(&mut self) -> String {
        loop {
            let candidate = self.next_case_number.to_string();
            self.next_case_number += 1;
            if !self.cases.contains_key(&candidate) {
                return candidate;
            }
        }
    }

    fn allocate_comment_id(&mut self) -> String {
        let id = format!("{:06}", self.next_comment_number);
        self.next_comment_number = if self.next_comment_number >= 999_999 {
            100_000
        } else {
            self.next_comment_number + 1
        };
        id
    }

    pub(crate) fn insert_case(&mut self, new: NewCase) -> Result<String, StandinError> {
        let case_id = match new.case_id {
            Some(id) if !is_case_id(&id) => return Err(StandinError::InvalidCaseId(id)),
            Some(id) if self.cases.contains_key(&id) => {
                return Err(StandinError::DuplicateCaseId(id));
            }
            Some(id) => id,
            None => self.allocate_case_id(),
        };
        let now = self.clock.tick();
        let principal = new
            .created_by
            .unwrap_or_else(|| self.settings.responder_principal.clone());
        let record = CaseRecord {
            case_arn: self.case_arn(&case_id),
            case_id: case_id.clone(),
            title: new.title,
            description: new.description,
            status: new.status,
            engagement_type: new.engagement_type,
            resolver_type: new.resolver_type,
            pending_action: new.pending_action,
            closure_code: new.closure_code,
            reported_incident_start_date: new.reported_incident_start_date.unwrap_or(now),
            actual_incident_start_date: new.actual_incident_start_date,
            impacted_accounts: new.impacted_accounts,
            impacted_aws_regions: new.impacted_aws_regions,
            impacted_services: new.impacted_services,
            threat_actor_ip_addresses: new.threat_actor_ip_addresses,
            watchers: new.watchers,
            case_metadata: new.case_metadata,
            tags: new.tags,
            created_date: now,
            last_updated_date: now,
            closed_date: (new.status == crate::CaseStatus::Closed).then_some(now),
        };
        let edit = CaseEdit {
            event_timestamp: now,
            principal: principal.clone(),
            action: "CreateCase".to_owned(),
            message: format!("Case created: {}", record.title),
        };
        self.cases.insert(
            case_id.clone(),
            CaseEntry {
                record,
                comments: Vec::new(),
                attachments: Vec::new(),
                edits: vec![edit],
                investigations: Vec::new(),
            },
        );
        self.case_order.push(case_id.clone());
        self.announce(NativeEventType::CaseCreated, &case_id, &principal, now);
        Ok(case_id)
    }

    /// Applies `change` to the case, then bumps `lastUpdatedDate` and logs the edit. Identity
    /// fields (`case_id`, `case_arn`, `created_date`) are restored if `change` touched them.
    pub(crate) fn mutate_case<T>(
        &mut self,
        case_id: &str,
        principal: &str,
        action: &str,
        message: impl FnOnce(&CaseRecord) -> String,
        change: impl FnOnce(&mut CaseRecord, DateTime<Utc>) -> T,
    ) -> Result<T, StandinError> {
        let now = self.clock.tick();
        let entry = self.case_mut(case_id)?;
        let (case_arn, created_date) = (entry.record.case_arn.clone(), entry.record.created_date);
        let message = message(&entry.record);
        let result = change(&mut entry.record, now);
        entry.record.case_id = case_id.to_owned();
        entry.record.case_arn = case_arn;
        entry.record.created_date = created_date;
        entry.record.last_updated_date = now;
        entry.edits.push(CaseEdit {
            event_timestamp: now,
            principal: principal.to_owned(),
            action: action.to_owned(),
            message,
        });
        let event_type = if action == "CloseCase" {
            NativeEventType::CaseClosed
        } else {
            NativeEventType::CaseUpdated
        };
        self.announce(event_type, case_id, principal, now);
        Ok(result)
    }

    /// Bumps the case and logs an edit for a change to something kept beside the case record.
    fn touch_case(
        &mut self,
        case_id: &str,
        now: DateTime<Utc>,
        principal: &str,
        action: &str,
        message: String,
    ) -> Result<(), StandinError> {
        let entry = self.case_mut(case_id)?;
        entry.record.last_updated_date = now;
        entry.edits.push(CaseEdit {
            event_timestamp: now,
            principal: principal.to_owned(),
            action: action.to_owned(),
            message,
        });
        Ok(())
    }

    pub(crate) fn add_comment(
        &mut self,
        case_id: &str,
        body: String,
        creator: &str,
    ) -> Result<CommentRecord, StandinError> {
        self.case(case_id)?;
        let now = self.clock.tick();
        let comment = CommentRecord {
            comment_id: self.allocate_comment_id(),
            body,
            creator: creator.to_owned(),
            last_updated_by: creator.to_owned(),
            created_date: now,
            last_updated_date: now,
        };
        self.case_mut(case_id)?.comments.push(comment.clone());
        let message = format!("Comment {} added", comment.comment_id);
        self.touch_case(case_id, now, creator, "CreateCaseComment", message)?;
        self.announce(NativeEventType::CaseCommentAdded, case_id, creator, now);
        Ok(comment)
    }

    pub(crate) fn edit_comment(
        &mut self,
        case_id: &str,
        comment_id: &str,
        body: String,
        editor: &str,
    ) -> Result<CommentRecord, StandinError> {
        let now = self.clock.tick();
        let comment = self
            .case_mut(case_id)?
            .comments
            .iter_mut()
            .find(|comment| comment.comment_id == comment_id)
            .ok_or_else(|| StandinError::UnknownComment {
                case_id: case_id.to_owned(),
                comment_id: comment_id.to_owned(),
            })?;
        comment.body = body;
        comment.last_updated_by = editor.to_owned();
        comment.last_updated_date = now;
        let comment = comment.clone();
        self.touch_case(
            case_id,
            now,
            editor,
            "UpdateCaseComment",
            format!("Comment {comment_id} updated"),
        )?;
        self.announce(NativeEventType::CaseCommentUpdated, case_id, editor, now);
        Ok(comment)
    }

    /// Stores (or, for a repeated upload to the same URL, replaces) an attachment's bytes. It is
    /// listed `listing_delay` from now (as `Pending`) and gets `status` `verification_delay`
    /// after that; the timers start again on a replacement.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put_attachment(
        &mut self,
        case_id: &str,
        attachment_id: String,
        file_name: String,
        bytes: Bytes,
        status: AttachmentStatus,
        creator: &str,
        (listing_delay, verification_delay): (Duration, Duration),
    ) -> Result<AttachmentRecord, StandinError> {
        self.case(case_id)?;
        let now = self.clock.tick();
        let record = AttachmentRecord {
            attachment_id: attachment_id.clone(),
            file_name,
            status,
            creator: creator.to_owned(),
            created_date: now,
            size: bytes.len() as u64,
            listed: listing_delay.is_zero(),
        };
        let entry = self.case_mut(case_id)?;
        let listed_at = Instant::now() + listing_delay;
        let stored = StoredAttachment {
            record: record.clone(),
            bytes,
            listed_at,
            settled_at: listed_at + verification_delay,
        };
        match entry
            .attachments
            .iter_mut()
            .find(|existing| existing.record.attachment_id == attachment_id)
        {
            Some(existing) => *existing = stored,
            None => entry.attachments.push(stored),
        }
        let message = format!("Attachment {} uploaded", record.file_name);
        self.touch_case(case_id, now, creator, "UploadCaseAttachment", message)?;
        Ok(record)
    }

    pub(crate) fn set_attachment_status(
        &mut self,
        case_id: &str,
        attachment_id: &str,
        status: AttachmentStatus,
    ) -> Result<(), StandinError> {
        let now = self.clock.tick();
        let attachment = self
            .case_mut(case_id)?
            .attachments
            .iter_mut()
            .find(|attachment| attachment.record.attachment_id == attachment_id)
            .ok_or_else(|| StandinError::UnknownAttachment {
                case_id: case_id.to_owned(),
                attachment_id: attachment_id.to_owned(),
            })?;
        attachment.record.status = status;
        // A status set by hand applies at once, and lists the attachment if it was not yet.
        let instant = Instant::now();
        attachment.listed_at = attachment.listed_at.min(instant);
        attachment.settled_at = instant;
        let message = format!("Attachment {} is now {status}", attachment.record.file_name);
        let principal = self.settings.responder_principal.clone();
        self.touch_case(
            case_id,
            now,
            &principal,
            "UpdateCaseAttachmentStatus",
            message,
        )
    }

    pub(crate) fn add_investigation(
        &mut self,
        case_id: &str,
        action: InvestigationAction,
    ) -> Result<(), StandinError> {
        let now = self.clock.tick();
        let message = format!("Investigation action {} recorded", action.investigation_id);
        self.case_mut(case_id)?.investigations.push(action);
        let principal = "security-ir.amazonaws.com";
        self.touch_case(
            case_id,
            now,
            principal,
            "CreateInvestigationAction",
            message,
        )
    }

    pub(crate) fn idempotent(&self, scope: &str, token: &str) -> Option<&IdempotentEntry> {
        self.idempotency.get(&(scope.to_owned(), token.to_owned()))
    }

    pub(crate) fn remember(&mut self, scope: &str, token: &str, entry: IdempotentEntry) {
        self.idempotency
            .insert((scope.to_owned(), token.to_owned()), entry);
    }

    pub(crate) fn add_upload_ticket(&mut self, ticket_id: String, ticket: UploadTicket) {
        self.upload_tickets.insert(ticket_id, ticket);
    }

    pub(crate) fn upload_ticket(&self, ticket_id: &str) -> Option<&UploadTicket> {
        self.upload_tickets.get(ticket_id)
    }

    pub(crate) fn add_download_ticket(&mut self, ticket_id: String, ticket: DownloadTicket) {
        self.download_tickets.insert(ticket_id, ticket);
    }

    pub(crate) fn download_ticket(&self, ticket_id: &str) -> Option<&DownloadTicket> {
        self.download_tickets.get(ticket_id)
    }

    pub(crate) fn add_membership(&mut self, name: String, status: MembershipStatus) -> String {
        let membership_id = format!("m-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let now = self.clock.tick();
        self.memberships.push(MembershipRecord {
            membership_id: membership_id.clone(),
            membership_name: name,
            account_id: self.settings.account_id.clone(),
            region: self.settings.region.clone(),
            status,
            activation_timestamp: now,
            incident_response_team: Vec::new(),
        });
        membership_id
    }

    pub(crate) fn membership_mut(
        &mut self,
        membership_id: &str,
    ) -> Result<&mut MembershipRecord, StandinError> {
        self.memberships
            .iter_mut()
            .find(|membership| membership.membership_id == membership_id)
            .ok_or_else(|| StandinError::UnknownMembership(membership_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_strictly_increases_within_one_millisecond() {
        let mut clock = Clock::default();
        let mut previous = clock.tick();
        for _ in 0..1000 {
            let next = clock.tick();
            assert!(next > previous);
            previous = next;
        }
    }
}
