//! Event dedupe markers in the table: one conditional put with a TTL per key
//! (`ONCE#slack-event#<event_id>`, `ONCE#slack-content#<channel:ts>`).

use std::time::Duration;

use sirslack_slack_router::{BoxFuture, DedupeError, DedupeScope, Deduplicator};
use sirslack_store::Table;

/// Markers in sirslack's table, expiring after `ttl`.
#[derive(Debug, Clone)]
pub struct TableDeduplicator {
    table: Table,
    ttl: chrono::Duration,
}

impl TableDeduplicator {
    /// Markers in `table` that live `ttl`.
    pub fn new(table: Table, ttl: Duration) -> Self {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(1));
        Self { table, ttl }
    }
}

impl Deduplicator for TableDeduplicator {
    fn claim<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>> {
        Box::pin(async move {
            self.table
                .put_once(scope.as_str(), key, self.ttl)
                .await
                .map_err(|error| DedupeError(error.to_string()))
        })
    }

    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), DedupeError>> {
        Box::pin(async move {
            self.table
                .forget_once(scope.as_str(), key)
                .await
                .map_err(|error| DedupeError(error.to_string()))
        })
    }
}
