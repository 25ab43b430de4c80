//! The command handler's SIR calls (GetCase, CreateCase, UpdateCase, UpdateCaseStatus,
//! CloseCase, CreateCaseComment, ListComments, ListCaseEdits) go through the shared SIR adapter
//! (`sirslack-sir`), whose errors say in plain words what a person is told.

pub use sirslack_sir::{CaseEdit, CommentDigest, Sir, SirError};
