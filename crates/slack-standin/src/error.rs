/// Errors of the stand-in's own API (starting it, seeding it). Slack API errors are not Rust
/// errors: they are answered to the client as Slack would.
#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    /// The listener could not be bound or read.
    #[error("could not listen for the Slack stand-in: {0}")]
    Io(#[from] std::io::Error),
    /// A seeding call named a channel that does not exist.
    #[error("unknown channel {0}")]
    UnknownChannel(String),
    /// A seeding call named a user that does not exist.
    #[error("unknown user {0}")]
    UnknownUser(String),
    /// A call named a message that does not exist (channel, `ts`).
    #[error("unknown message {1} in channel {0}")]
    UnknownMessage(String, String),
    /// A call named a view the person does not have open.
    #[error("no open view {0}")]
    UnknownView(String),
    /// An interaction a person could not make in Slack's client (a value the element does not
    /// offer, a required input left empty, a select typed into below its minimum...).
    #[error("not possible in Slack: {0}")]
    Impossible(String),
    /// A seeding call used a name or ID that is already taken.
    #[error("already exists: {0}")]
    AlreadyExists(String),
}
