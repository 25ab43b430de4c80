//! Event dedupe markers in the table: one leased claim per key
//! (`ONCE#slack-event#<event_id>`, `ONCE#slack-content#<channel:ts>`), marked done once the
//! event's work is done or handed off.

use std::future::Future;
use std::time::Duration;

use sirslack_domain::duration::to_chrono;
use sirslack_slack_router::{BoxFuture, Claim, DedupeError, DedupeScope, Deduplicator};
use sirslack_store::{Claim as StoredClaim, StoreError, Table};

/// Markers in sirslack's table: claims hold for `lease`, markers expire after `ttl`.
#[derive(Debug, Clone)]
pub struct TableDeduplicator {
    table: Table,
    lease: chrono::Duration,
    ttl: chrono::Duration,
}

impl TableDeduplicator {
    /// Markers in `table` whose claims hold `lease` and which live `ttl`.
    pub fn new(table: Table, lease: Duration, ttl: Duration) -> Self {
        Self {
            table,
            lease: to_chrono(lease),
            ttl: to_chrono(ttl),
        }
    }
}

/// `call` (a store call on the markers), boxed for [`Deduplicator`], its error the router's.
fn marker_call<'a, T>(
    call: impl Future<Output = Result<T, StoreError>> + Send + 'a,
) -> BoxFuture<'a, Result<T, DedupeError>> {
    Box::pin(async move { call.await.map_err(|error| DedupeError(error.to_string())) })
}

impl Deduplicator for TableDeduplicator {
    fn claim<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Claim, DedupeError>> {
        marker_call(async move {
            let found = self
                .table
                .claim_leased(scope.as_str(), key, owner, self.lease, self.ttl)
                .await?;
            Ok(match found {
                StoredClaim::Claimed => Claim::Claimed,
                StoredClaim::Done => Claim::Done,
                StoredClaim::Held => Claim::Held,
            })
        })
    }

    fn complete<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>> {
        marker_call(
            self.table
                .complete_claim(scope.as_str(), key, owner, self.ttl),
        )
    }

    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>> {
        marker_call(self.table.release_claim(scope.as_str(), key, owner))
    }
}
