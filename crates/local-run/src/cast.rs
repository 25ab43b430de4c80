//! The people of the local world: Slack users whose e-mail addresses SIR knows (as case
//! watchers or as the membership's incident response team), and the AWS responder who writes
//! in SIR.

/// A person with a Slack account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Slack user ID (`U...`).
    pub slack_id: &'static str,
    /// Slack handle.
    pub handle: &'static str,
    /// Real name (what SIR comments and Slack messages show).
    pub real_name: &'static str,
    /// E-mail address (how SIR's watchers are matched to Slack users).
    pub email: &'static str,
    /// Job title (for the incident response team).
    pub job_title: &'static str,
}

/// A security analyst who watches the scenario's case.
pub const ALICE: Person = Person {
    slack_id: "U0ALICE001",
    handle: "alice",
    real_name: "Alice Analyst",
    email: "alice@example.com",
    job_title: "Security Analyst",
};

/// An engineer who watches the scenario's case.
pub const BOB: Person = Person {
    slack_id: "U0BOB00001",
    handle: "bob",
    real_name: "Bob Builder",
    email: "bob@example.com",
    job_title: "Platform Engineer",
};

/// The incident lead: on the membership's incident response team, so a watcher of every case.
pub const CAROL: Person = Person {
    slack_id: "U0CAROL001",
    handle: "carol",
    real_name: "Carol Lead",
    email: "carol@example.com",
    job_title: "Incident Lead",
};

/// The case watchers the scenario creates its case with.
pub const WATCHERS: [Person; 2] = [ALICE, BOB];

/// The membership's incident response team.
pub const RESPONSE_TEAM: [Person; 1] = [CAROL];

/// Everyone with a Slack account.
pub const EVERYONE: [Person; 3] = [ALICE, BOB, CAROL];

/// The principal SIR credits with a responder's comments and attachments.
pub const AWS_RESPONDER: &str = "AWS Responder";
