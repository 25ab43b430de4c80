//! The poller's SIR reads go through the shared SIR adapter (`sirslack-sir`): the whole of
//! ListCases, GetCase, ListComments, ListMemberships and GetMembership, with its retry setting.

pub use sirslack_sir::{Sir as SirReader, SirError, sdk_config as sdk_config_for_poller};
