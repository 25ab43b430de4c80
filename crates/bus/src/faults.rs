//! Fault injection for tests: make a local EventBridge (moto) reject chosen PutEvents entries.
//!
//! [`RejectEntries`] is an SDK interceptor installed on the EventBridge client a test builds.
//! For each matching entry it blanks the entry's `DetailType` before the request is
//! serialised, so the server really refuses that entry (and never delivers it) while the
//! other entries of the same call go through; then it rewrites the refused entry's result to
//! the error code the test asked for (`InternalFailure`, `ThrottlingException`, or a permanent
//! one such as `InvalidArgument`). The code under test sees exactly what EventBridge returns
//! on a partial failure: HTTP 200, `FailedEntryCount > 0`, one result per entry.
//!
//! ```no_run
//! # fn demo(sdk_config: &aws_sdk_eventbridge::config::Config) {
//! use sirslack_bus::faults::{EntryMatch, RejectEntries};
//! let rejecter = RejectEntries::default();
//! rejecter.reject(EntryMatch::detail_type("CommentAdded"), "InternalFailure", 1);
//! let config = sdk_config.to_builder().interceptor(rejecter.clone()).build();
//! let client = aws_sdk_eventbridge::Client::from_conf(config);
//! # let _ = client;
//! # }
//! ```

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aws_sdk_eventbridge::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextMut,
};
use aws_sdk_eventbridge::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_smithy_types::config_bag::{Storable, StoreReplace};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which entries a rule rejects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryMatch {
    /// Entries with exactly this detail-type (any when `None`).
    pub detail_type: Option<String>,
    /// Entries whose detail contains this text (any when `None`).
    pub detail_contains: Option<String>,
}

impl EntryMatch {
    /// Every entry of one detail-type.
    pub fn detail_type(detail_type: impl Into<String>) -> Self {
        Self {
            detail_type: Some(detail_type.into()),
            detail_contains: None,
        }
    }

    /// Also require the detail to contain `text` (an ID, an idempotency key...).
    #[must_use]
    pub fn containing(mut self, text: impl Into<String>) -> Self {
        self.detail_contains = Some(text.into());
        self
    }

    fn matches(&self, detail_type: &str, detail: &str) -> bool {
        self.detail_type.as_deref().is_none_or(|t| t == detail_type)
            && self
                .detail_contains
                .as_deref()
                .is_none_or(|text| detail.contains(text))
    }
}

#[derive(Debug, Clone)]
struct Rule {
    matcher: EntryMatch,
    error_code: String,
    remaining: u32,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    entries_per_call: Vec<usize>,
    rejected: usize,
}

/// The entries of one call that this interceptor made the server refuse: (index, error code).
#[derive(Debug, Clone)]
struct Rejections(Vec<(usize, String)>);

impl Storable for Rejections {
    type Storer = StoreReplace<Self>;
}

/// An interceptor that makes PutEvents entries fail; clones share their rules and counters.
#[derive(Debug, Clone, Default)]
pub struct RejectEntries {
    state: Arc<Mutex<State>>,
}

impl RejectEntries {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rejects the next `times` entries that match, with `error_code` (`u32::MAX`: always).
    pub fn reject(&self, matcher: EntryMatch, error_code: impl Into<String>, times: u32) {
        self.state().rules.push(Rule {
            matcher,
            error_code: error_code.into(),
            remaining: times,
        });
    }

    /// Drops every rule.
    pub fn clear(&self) {
        self.state().rules.clear();
    }

    /// How many entries each PutEvents call carried, oldest first.
    pub fn entries_per_call(&self) -> Vec<usize> {
        self.state().entries_per_call.clone()
    }

    /// How many entries were rejected so far.
    pub fn rejected(&self) -> usize {
        self.state().rejected
    }
}

impl Intercept for RejectEntries {
    fn name(&self) -> &'static str {
        "RejectEntries"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(input) = context.input_mut().downcast_mut::<PutEventsInput>() else {
            return Ok(());
        };
        let mut state = self.state();
        let entries = input.entries.get_or_insert_with(Vec::new);
        state.entries_per_call.push(entries.len());
        let mut rejections = Vec::new();
        for (index, entry) in entries.iter_mut().enumerate() {
            let detail_type = entry.detail_type.as_deref().unwrap_or_default();
            let detail = entry.detail.as_deref().unwrap_or_default();
            let Some(rule) = state
                .rules
                .iter_mut()
                .find(|rule| rule.remaining > 0 && rule.matcher.matches(detail_type, detail))
            else {
                continue;
            };
            rule.remaining = rule.remaining.saturating_sub(1);
            rejections.push((index, rule.error_code.clone()));
            // Without a detail-type the server refuses the entry (InvalidArgument) and
            // delivers nothing; its siblings are unaffected.
            entry.detail_type = None;
        }
        state.rejected += rejections.len();
        cfg.interceptor_state().store_put(Rejections(rejections));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Rejections(rejections)) = cfg.load::<Rejections>().cloned() else {
            return Ok(());
        };
        let Some(Ok(output)) = context.output_or_error_mut() else {
            return Ok(());
        };
        let Some(output) = output.downcast_mut::<PutEventsOutput>() else {
            return Ok(());
        };
        let results = output.entries.get_or_insert_with(Vec::new);
        for (index, error_code) in rejections {
            if let Some(result) = results.get_mut(index) {
                result.event_id = None;
                result.error_message = Some(format!("injected {error_code}"));
                result.error_code = Some(error_code);
            }
        }
        let failed = results.iter().filter(|r| r.error_code.is_some()).count();
        output.failed_entry_count = i32::try_from(failed).unwrap_or(i32::MAX);
        Ok(())
    }
}
