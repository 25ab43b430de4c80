//! The events handler's SIR calls (CreateCaseComment, GetCaseAttachmentUploadUrl) go through
//! the shared SIR adapter (`sirslack-sir`), with its errors sorted into "try again" and
//! "give up".

pub use sirslack_sir::{Sir, SirError};
