//! Windows corporate identifiers (Autopilot device preparation) have their
//! own outcomes: not the portal's five registration states, which describe
//! Autopilot devices. An identifier is added, already present, or refused;
//! Intune then says whether a device matching it enrolled
//! (`enrollmentState`).

use serde::{Deserialize, Serialize};

/// What became of a row sent as a corporate identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentifierState {
    /// Uploaded in this run.
    Added,
    /// The tenant held it already: nothing sent.
    AlreadyPresent,
    /// The service did not take it (the details say what it said).
    Refused,
}

impl IdentifierState {
    pub const ALL: [IdentifierState; 3] = [Self::Added, Self::AlreadyPresent, Self::Refused];

    /// As people read it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "Identifier added",
            Self::AlreadyPresent => "Identifier already present",
            Self::Refused => "Identifier refused",
        }
    }
}

/// An identifier's `enrollmentState` in words: `enrolled`, `not contacted`,
/// `enrollment failed`, …; a value Intune adds later is shown as given.
pub fn enrollment_text(state: &str) -> String {
    match state {
        "enrolled" => "enrolled".into(),
        "notContacted" => "not contacted".into(),
        "failed" => "enrollment failed".into(),
        "pendingReset" => "pending reset".into(),
        other => other.to_owned(),
    }
}
