//! Case statuses, the self-managed subset that `UpdateCaseStatus` accepts, and the transitions
//! between them.
//!
//! Transitions follow the SIR documentation (see [`reachable_from`]). The service has the last
//! word: a transition this module allows may still be refused, and the caller reports the
//! service's error as it is.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::preview;

wire_enum! {
    /// The status of a case (`caseStatus`), all seven service values.
    pub enum CaseStatus {
        /// `Submitted`: the case was opened.
        Submitted => "Submitted",
        /// `Acknowledged`: AWS has acknowledged the case (AWS-managed).
        Acknowledged => "Acknowledged",
        /// `Detection and Analysis`.
        DetectionAndAnalysis => "Detection and Analysis",
        /// `Containment, Eradication and Recovery`.
        ContainmentEradicationAndRecovery => "Containment, Eradication and Recovery",
        /// `Post-incident Activities`.
        PostIncidentActivities => "Post-incident Activities",
        /// `Ready to Close`: AWS considers the work done (AWS-managed).
        ReadyToClose => "Ready to Close",
        /// `Closed`: set only through CloseCase.
        Closed => "Closed",
    }
}

impl CaseStatus {
    /// Whether the case is closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }

    /// The same status as a [`SelfManagedStatus`], when `UpdateCaseStatus` can set it.
    pub fn as_self_managed(&self) -> Option<SelfManagedStatus> {
        match self {
            Self::Submitted => Some(SelfManagedStatus::Submitted),
            Self::DetectionAndAnalysis => Some(SelfManagedStatus::DetectionAndAnalysis),
            Self::ContainmentEradicationAndRecovery => {
                Some(SelfManagedStatus::ContainmentEradicationAndRecovery)
            }
            Self::PostIncidentActivities => Some(SelfManagedStatus::PostIncidentActivities),
            Self::Acknowledged | Self::ReadyToClose | Self::Closed | Self::Other(_) => None,
        }
    }
}

/// A status that `UpdateCaseStatus` accepts (`SelfManagedCaseStatus`). `Acknowledged` and
/// `Ready to Close` are set by AWS, and `Closed` only through CloseCase.
///
/// Serialises as the exact wire string; deserialising any other string is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SelfManagedStatus {
    /// `Submitted`.
    #[serde(rename = "Submitted")]
    Submitted,
    /// `Detection and Analysis`.
    #[serde(rename = "Detection and Analysis")]
    DetectionAndAnalysis,
    /// `Containment, Eradication and Recovery`.
    #[serde(rename = "Containment, Eradication and Recovery")]
    ContainmentEradicationAndRecovery,
    /// `Post-incident Activities`.
    #[serde(rename = "Post-incident Activities")]
    PostIncidentActivities,
}

impl SelfManagedStatus {
    /// All four, in the service's order.
    pub const ALL: [Self; 4] = [
        Self::Submitted,
        Self::DetectionAndAnalysis,
        Self::ContainmentEradicationAndRecovery,
        Self::PostIncidentActivities,
    ];

    /// The exact string the SIR API uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "Submitted",
            Self::DetectionAndAnalysis => "Detection and Analysis",
            Self::ContainmentEradicationAndRecovery => "Containment, Eradication and Recovery",
            Self::PostIncidentActivities => "Post-incident Activities",
        }
    }

    /// The short words [`SelfManagedStatus::parse_friendly`] accepts besides the full name, as
    /// a person would type them.
    pub const fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::Submitted => &["submitted"],
            Self::DetectionAndAnalysis => &["detection", "analysis", "triage"],
            Self::ContainmentEradicationAndRecovery => {
                &["containment", "eradication", "recovery", "cer"]
            }
            Self::PostIncidentActivities => &["post-incident", "lessons-learned", "pia"],
        }
    }

    /// The same status as a [`CaseStatus`].
    pub fn to_case_status(self) -> CaseStatus {
        match self {
            Self::Submitted => CaseStatus::Submitted,
            Self::DetectionAndAnalysis => CaseStatus::DetectionAndAnalysis,
            Self::ContainmentEradicationAndRecovery => {
                CaseStatus::ContainmentEradicationAndRecovery
            }
            Self::PostIncidentActivities => CaseStatus::PostIncidentActivities,
        }
    }

    /// Parses what a person types after `/security-ir update-status`.
    ///
    /// Case-insensitive; spaces, dashes, underscores and commas are ignored. Accepted: the full
    /// names (with or without "and"), and the aliases `submitted`; `detection`, `analysis`,
    /// `detection-and-analysis`, `triage`; `containment`, `eradication`, `recovery`,
    /// `containment-eradication-recovery`, `cer`; `post-incident`, `postincident`,
    /// `post-incident-activities`, `lessons-learned`, `pia`.
    ///
    /// A real status that cannot be set this way (`acknowledged`, `ready-to-close`, `closed`,
    /// `close`) is [`StatusParseError::NotSelfManaged`]; anything else is
    /// [`StatusParseError::Unknown`]. Both errors list what can be set.
    pub fn parse_friendly(input: &str) -> Result<Self, StatusParseError> {
        let key: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_' | ',') && !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        let settable = Self::ALL.to_vec();
        let status = match key.as_str() {
            "submitted" => Self::Submitted,
            "detectionandanalysis" | "detectionanalysis" | "detection" | "analysis" | "triage" => {
                Self::DetectionAndAnalysis
            }
            "containmenteradicationandrecovery"
            | "containmenteradicationrecovery"
            | "containment"
            | "eradication"
            | "recovery"
            | "cer" => Self::ContainmentEradicationAndRecovery,
            "postincidentactivities"
            | "postincidentactivity"
            | "postincident"
            | "lessonslearned"
            | "pia" => Self::PostIncidentActivities,
            "acknowledged" => {
                return Err(StatusParseError::NotSelfManaged {
                    status: CaseStatus::Acknowledged,
                    settable,
                });
            }
            "readytoclose" => {
                return Err(StatusParseError::NotSelfManaged {
                    status: CaseStatus::ReadyToClose,
                    settable,
                });
            }
            "closed" | "close" => {
                return Err(StatusParseError::NotSelfManaged {
                    status: CaseStatus::Closed,
                    settable,
                });
            }
            _ => {
                return Err(StatusParseError::Unknown {
                    input: preview(input),
                    settable,
                });
            }
        };
        Ok(status)
    }
}

impl From<SelfManagedStatus> for CaseStatus {
    fn from(status: SelfManagedStatus) -> Self {
        status.to_case_status()
    }
}

impl fmt::Display for SelfManagedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why text after `update-status` is not a status that can be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusParseError {
    /// The status exists but is managed by AWS or set only by closing the case.
    #[error("{}", not_self_managed_message(.status, .settable))]
    NotSelfManaged {
        /// The status the person asked for.
        status: CaseStatus,
        /// What can be set instead.
        settable: Vec<SelfManagedStatus>,
    },
    /// No status goes by that name.
    #[error("`{input}` is not a case status. You can set: {}", describe_settable(.settable))]
    Unknown {
        /// A short preview of what was typed.
        input: String,
        /// What can be set.
        settable: Vec<SelfManagedStatus>,
    },
}

fn not_self_managed_message(status: &CaseStatus, settable: &[SelfManagedStatus]) -> String {
    let why = match status {
        CaseStatus::Closed => "cases are closed with `/security-ir close`".to_owned(),
        other => format!("`{other}` is set by AWS"),
    };
    format!(
        "`{status}` cannot be set with update-status: {why}. You can set: {}",
        describe_settable(settable)
    )
}

/// `Submitted; Detection and Analysis (detection, analysis, triage); ...`
fn describe_settable(settable: &[SelfManagedStatus]) -> String {
    settable
        .iter()
        .map(|status| {
            let aliases: Vec<&str> = status
                .aliases()
                .iter()
                .copied()
                .filter(|alias| !alias.eq_ignore_ascii_case(status.as_str()))
                .collect();
            if aliases.is_empty() {
                status.as_str().to_owned()
            } else {
                format!("{} ({})", status.as_str(), aliases.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The statuses a case may move to from `current` with `UpdateCaseStatus`.
///
/// The self-managed transitions are the documented ones:
///
/// | From | To |
/// |---|---|
/// | Submitted | Detection and Analysis |
/// | Detection and Analysis | Containment, Eradication and Recovery; Post-incident Activities |
/// | Containment, Eradication and Recovery | Detection and Analysis; Post-incident Activities |
/// | Post-incident Activities | Containment, Eradication and Recovery; Detection and Analysis |
///
/// For the AWS-managed statuses, what a responder expects:
///
/// - `Acknowledged` (AWS has taken the case in): analysis starts, so Detection and Analysis;
/// - `Ready to Close` (AWS considers the work done): a responder who disagrees reopens the work
///   at any active phase, Detection and Analysis, Containment, Eradication and Recovery or
///   Post-incident Activities (closing is done with CloseCase, not here);
/// - `Closed`: nothing;
/// - an unknown status: every self-managed status, leaving the decision to the service.
pub fn reachable_from(current: &CaseStatus) -> Vec<SelfManagedStatus> {
    use SelfManagedStatus as S;
    match current {
        CaseStatus::Submitted | CaseStatus::Acknowledged => vec![S::DetectionAndAnalysis],
        CaseStatus::DetectionAndAnalysis => {
            vec![
                S::ContainmentEradicationAndRecovery,
                S::PostIncidentActivities,
            ]
        }
        CaseStatus::ContainmentEradicationAndRecovery => {
            vec![S::DetectionAndAnalysis, S::PostIncidentActivities]
        }
        CaseStatus::PostIncidentActivities => {
            vec![
                S::ContainmentEradicationAndRecovery,
                S::DetectionAndAnalysis,
            ]
        }
        CaseStatus::ReadyToClose => vec![
            S::DetectionAndAnalysis,
            S::ContainmentEradicationAndRecovery,
            S::PostIncidentActivities,
        ],
        CaseStatus::Closed => Vec::new(),
        CaseStatus::Other(_) => S::ALL.to_vec(),
    }
}

/// A status change [`reachable_from`] does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct TransitionError {
    /// The current status.
    pub from: CaseStatus,
    /// The requested status.
    pub to: SelfManagedStatus,
    /// Where the case can go from `from`.
    pub reachable: Vec<SelfManagedStatus>,
}

impl TransitionError {
    /// Whether the case is already in the requested status.
    pub fn is_already(&self) -> bool {
        self.from == self.to.to_case_status()
    }

    fn message(&self) -> String {
        if self.is_already() {
            return format!("The case is already in `{}`.", self.to);
        }
        if self.from.is_closed() {
            return "The case is closed; its status can no longer be changed.".to_owned();
        }
        let options = if self.reachable.is_empty() {
            "nowhere with update-status".to_owned()
        } else {
            self.reachable
                .iter()
                .map(|status| format!("`{status}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        format!(
            "A case in `{}` cannot move to `{}`. From `{}` it can move to {options}.",
            self.from, self.to, self.from
        )
    }
}

/// Checks that a case in `from` may be moved to `to` (see [`reachable_from`]). Moving to the
/// status the case already has is an error ([`TransitionError::is_already`]).
pub fn check_transition(from: &CaseStatus, to: SelfManagedStatus) -> Result<(), TransitionError> {
    let reachable = reachable_from(from);
    if from != &to.to_case_status() && reachable.contains(&to) {
        Ok(())
    } else {
        Err(TransitionError {
            from: from.clone(),
            to,
            reachable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SelfManagedStatus as S;

    #[test]
    fn wire_strings_are_exact() {
        let expected = [
            "Submitted",
            "Acknowledged",
            "Detection and Analysis",
            "Containment, Eradication and Recovery",
            "Post-incident Activities",
            "Ready to Close",
            "Closed",
        ];
        let actual: Vec<&str> = CaseStatus::KNOWN.iter().map(CaseStatus::as_str).collect();
        assert_eq!(actual, expected);
        for status in CaseStatus::KNOWN {
            assert_eq!(&CaseStatus::from(status.as_str()), status);
        }
        assert_eq!(
            CaseStatus::from("Resolved"),
            CaseStatus::Other("Resolved".to_owned())
        );
    }

    #[test]
    fn self_managed_matches_case_status() {
        for status in S::ALL {
            assert_eq!(status.to_case_status().as_self_managed(), Some(status));
            assert_eq!(status.to_case_status().as_str(), status.as_str());
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(serde_json::from_str::<S>(&json).unwrap(), status);
        }
        assert_eq!(CaseStatus::Acknowledged.as_self_managed(), None);
        assert_eq!(CaseStatus::Closed.as_self_managed(), None);
        assert!(serde_json::from_str::<S>(r#""Closed""#).is_err());
        assert!(CaseStatus::Closed.is_closed());
        assert!(!CaseStatus::ReadyToClose.is_closed());
    }

    #[test]
    fn parse_friendly_accepts_names_and_aliases() {
        let cases = [
            ("submitted", S::Submitted),
            ("Submitted", S::Submitted),
            ("Detection and Analysis", S::DetectionAndAnalysis),
            ("detection", S::DetectionAndAnalysis),
            ("ANALYSIS", S::DetectionAndAnalysis),
            ("detection-and-analysis", S::DetectionAndAnalysis),
            ("triage", S::DetectionAndAnalysis),
            (
                "Containment, Eradication and Recovery",
                S::ContainmentEradicationAndRecovery,
            ),
            (
                "containment-eradication-recovery",
                S::ContainmentEradicationAndRecovery,
            ),
            ("containment", S::ContainmentEradicationAndRecovery),
            ("eradication", S::ContainmentEradicationAndRecovery),
            ("recovery", S::ContainmentEradicationAndRecovery),
            ("CER", S::ContainmentEradicationAndRecovery),
            ("Post-incident Activities", S::PostIncidentActivities),
            ("post-incident", S::PostIncidentActivities),
            ("postincident", S::PostIncidentActivities),
            ("post_incident_activities", S::PostIncidentActivities),
            ("lessons-learned", S::PostIncidentActivities),
            ("lessons learned", S::PostIncidentActivities),
            ("pia", S::PostIncidentActivities),
        ];
        for (input, expected) in cases {
            assert_eq!(S::parse_friendly(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn every_documented_alias_parses() {
        for status in S::ALL {
            assert_eq!(S::parse_friendly(status.as_str()), Ok(status));
            for alias in status.aliases() {
                assert_eq!(S::parse_friendly(alias), Ok(status), "{alias}");
            }
        }
    }

    #[test]
    fn parse_friendly_explains_what_cannot_be_set() {
        for (input, status) in [
            ("acknowledged", CaseStatus::Acknowledged),
            ("Ready to Close", CaseStatus::ReadyToClose),
            ("ready-to-close", CaseStatus::ReadyToClose),
            ("closed", CaseStatus::Closed),
        ] {
            match S::parse_friendly(input) {
                Err(StatusParseError::NotSelfManaged {
                    status: actual,
                    settable,
                }) => {
                    assert_eq!(actual, status);
                    assert_eq!(settable, S::ALL.to_vec());
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        let closed = S::parse_friendly("closed").unwrap_err().to_string();
        assert!(closed.contains("/security-ir close"), "{closed}");
    }

    #[test]
    fn unknown_status_lists_statuses_and_aliases() {
        let err = S::parse_friendly("resolved").unwrap_err();
        assert!(matches!(&err, StatusParseError::Unknown { input, .. } if input == "resolved"));
        let message = err.to_string();
        for expected in [
            "`resolved`",
            "Submitted",
            "Detection and Analysis (detection, analysis, triage)",
            "Containment, Eradication and Recovery (containment, eradication, recovery, cer)",
            "Post-incident Activities (post-incident, lessons-learned, pia)",
        ] {
            assert!(message.contains(expected), "{message}");
        }
        assert!(matches!(
            S::parse_friendly(""),
            Err(StatusParseError::Unknown { .. })
        ));
    }

    #[test]
    fn documented_transitions() {
        assert_eq!(
            reachable_from(&CaseStatus::Submitted),
            vec![S::DetectionAndAnalysis]
        );
        assert_eq!(
            reachable_from(&CaseStatus::DetectionAndAnalysis),
            vec![
                S::ContainmentEradicationAndRecovery,
                S::PostIncidentActivities
            ]
        );
        assert_eq!(
            reachable_from(&CaseStatus::ContainmentEradicationAndRecovery),
            vec![S::DetectionAndAnalysis, S::PostIncidentActivities]
        );
        assert_eq!(
            reachable_from(&CaseStatus::PostIncidentActivities),
            vec![
                S::ContainmentEradicationAndRecovery,
                S::DetectionAndAnalysis
            ]
        );
        assert_eq!(
            reachable_from(&CaseStatus::Acknowledged),
            vec![S::DetectionAndAnalysis]
        );
        assert!(reachable_from(&CaseStatus::Closed).is_empty());
        assert_eq!(reachable_from(&CaseStatus::Other("New".into())), S::ALL);
        // No status ever lists itself.
        for status in CaseStatus::KNOWN {
            assert!(
                status
                    .as_self_managed()
                    .is_none_or(|s| !reachable_from(status).contains(&s))
            );
        }
    }

    #[test]
    fn check_transition_explains_refusals() {
        assert!(check_transition(&CaseStatus::Submitted, S::DetectionAndAnalysis).is_ok());

        let already = check_transition(&CaseStatus::DetectionAndAnalysis, S::DetectionAndAnalysis)
            .unwrap_err();
        assert!(already.is_already());
        assert!(already.to_string().contains("already"), "{already}");

        let skip = check_transition(&CaseStatus::Submitted, S::PostIncidentActivities).unwrap_err();
        assert!(!skip.is_already());
        assert_eq!(skip.reachable, vec![S::DetectionAndAnalysis]);
        let message = skip.to_string();
        assert!(message.contains("`Detection and Analysis`"), "{message}");

        let closed = check_transition(&CaseStatus::Closed, S::Submitted).unwrap_err();
        assert!(closed.to_string().contains("closed"), "{closed}");
    }
}
