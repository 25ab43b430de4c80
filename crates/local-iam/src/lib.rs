//! The local world's IAM: each function runs with credentials of its own whose permissions are
//! exactly its role's statements as the CDK app synthesizes them, and every AWS call it makes is
//! checked the way AWS checks it. AWS refuses what the role does not allow, so the local world
//! refuses it too.
//!
//! - [`policy`]: the synthesized policies (`infra/iam/function-policies.json`, written by
//!   `cd infra && npm run iam-policies`, checked against a fresh synthesis by the infra tests),
//!   placeholders filled with a world's own names, and IAM's evaluation (explicit deny, allow,
//!   implicit deny; wildcards; `StringEquals`/`StringLike`/`ArnLike` conditions).
//! - [`request`]: what one AWS request asks IAM for (DynamoDB, EventBridge, SQS, SSM over their
//!   JSON protocols; Lambda `Invoke`), resources read from the request.
//! - [`authorizer`]: credentials per principal, the SigV4 access key of a request, refusals
//!   recorded for tests.
//! - [`gate`]: [`IamGate`], an HTTP gate in front of moto that refuses what the caller's policy
//!   does not allow and forwards the rest (moto itself accepts any credentials).
//!
//! The SIR stand-in and the local Lambda API use the same [`Authorizer`] for their own calls.
//!
//! Not modelled (stricter or equal to AWS for what sirslack calls): SigV4 signatures are not
//! verified (the access key ID names the principal); resource policies, permission boundaries,
//! SCPs and session policies do not exist here; a condition operator the evaluator does not know
//! makes its statement not apply.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authorizer;
pub mod error;
pub mod gate;
pub mod policy;
pub mod request;

pub use authorizer::{Authorizer, Principal, Refusal, access_key_id};
pub use error::{Denial, IamError};
pub use gate::{IamGate, error_response};
pub use policy::{Access, Effect, Policy, PolicyFile, SYNTHESIZED_POLICIES, Statement};
pub use request::Scope;
