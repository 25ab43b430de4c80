//! sirslack's per-container caches: what a warm Lambda container remembers between
//! invocations, each kind written once.
//!
//! - [`TtlCache`]: values kept for a fixed time (channel memberships, user groups, people, a
//!   channel's case, a person's cases). Bounded (emptied of expired entries, then of everything,
//!   when full), with one loader per key at a time ([`TtlCache::get_or_try_load`]), and a
//!   [`Clock`] that tests replace ([`ManualClock`]) instead of sleeping.
//! - [`ParameterCache`]: SSM parameters (`GetParameter`, SecureStrings decrypted) over a
//!   [`TtlCache`], with the one [`ParameterError`] that says whether a parameter is missing,
//!   unreadable (retrying will not help) or unavailable (throttled or unreachable: retry).
//!   Values are never logged.
//!
//! Why not a cache crate: `moka`, `mini-moka` and `cached` were considered. None of them lets a
//! test move time (moka's mock clock is internal to its own tests), none serves an expired
//! value while a re-read fails (the SSM caches need that), and the caches here hold a few
//! hundred entries in a process that serves one workspace, so their concurrent eviction
//! machinery would be weight without use. Nothing beyond `std` and `tokio`'s async mutex is
//! needed for what these caches do.
//!
//! ```
//! # async fn demo() -> Result<(), std::convert::Infallible> {
//! use std::time::Duration;
//! use sirslack_cache::TtlCache;
//!
//! let people: TtlCache<String, String> = TtlCache::new(Duration::from_secs(600));
//! let name = people
//!     .get_or_try_load("U1".to_owned(), || async { Ok("Ada".to_owned()) })
//!     .await?;
//! assert_eq!(people.get("U1"), Some(name));
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod parameter;
mod ttl;

pub use clock::{Clock, ManualClock, SystemClock};
pub use parameter::{ParameterCache, ParameterError, WhenUnreadable};
pub use ttl::{Loaded, Lookup, TtlCache};
