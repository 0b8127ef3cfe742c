//! What to do about each row that needs something done, in one place: a
//! problem and its next step per row, and the rows grouped by it. The
//! human summary and the HTML report both end with these groups, so a
//! partner reads "3 devices: capture the hash again" rather than three
//! separate errors.

use super::{Action, Cause, Entry, Report};
use crate::portal::state::{DeviceMessage, RegistrationState};

/// A problem and the step that fixes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub problem: String,
    pub step: String,
}

/// Rows that share a fix.
#[derive(Debug)]
pub struct FixGroup<'a> {
    pub fix: Fix,
    pub entries: Vec<&'a Entry>,
}

/// A corporate identifier's next step: one refused, or whose device's
/// enrollment failed, needs a look; one added or already present, none.
fn identifier_fix(e: &Entry) -> Option<Fix> {
    if !e.failed() {
        return None;
    }
    let (problem, step) = match e.identifier {
        Some(crate::report::IdentifierState::Refused) => (
            "Identifier refused",
            "check manufacturer, model and serial number against the device exactly as it reports them, then import the file again",
        ),
        _ => (
            "Enrollment failed",
            "look at the device's enrollment in Intune (Devices > Enrollment failures); the identifier stays in place",
        ),
    };
    Some(Fix {
        problem: problem.to_owned(),
        step: step.to_owned(),
    })
}

/// The next step for a row, or `None` when the row needs nothing.
pub fn next_step(e: &Entry, causes: &[Cause]) -> Option<Fix> {
    let fix = |problem: &str, step: &str| {
        Some(Fix {
            problem: problem.to_owned(),
            step: step.to_owned(),
        })
    };
    if let Some(id) = &e.cause {
        // The cause's error is given once, where the causes are listed.
        let cause = causes.iter().find(|c| &c.id == id);
        let problem = format!("Not sent (cause {id})");
        let step = cause
            .and_then(|c| c.hint.clone())
            .unwrap_or_else(|| "fix the cause above and run apctl again (nothing is sent twice)".into());
        return Some(Fix { problem, step });
    }
    // A corporate identifier: refused, or an enrolment that failed, needs
    // a look; one added or already present needs nothing.
    if e.identifier.is_some() {
        return identifier_fix(e);
    }
    match (e.state, e.action) {
        (None, Action::Invalid) => {
            return fix(
                "Not sent: invalid row",
                "correct the row in the file (`apctl validate FILE` names each problem), then import the file again",
            );
        }
        (None, Action::AnotherRun) => {
            return fix(
                "Left to another apctl run",
                "run apctl again once the other run has finished (nothing is sent twice)",
            );
        }
        (None, Action::WouldSend) => return None,
        (None, _) => return fix("Not sent", "run apctl again (nothing is sent twice)"),
        _ => {}
    }
    if e.failed() {
        let step = match e.message {
            Some(DeviceMessage::DeviceClaimedByAnotherOrganization) => {
                "ask the supplier, or the organization that holds the device, to deregister it; then import it again"
            }
            Some(DeviceMessage::HardwareHashNotValid) => {
                "capture the hardware hash again on the device (Get-WindowsAutopilotInfo) and import the new file"
            }
            Some(DeviceMessage::DeviceNotFound) => {
                "check manufacturer, model and serial number against the device exactly (case counts), or ask the supplier to register the device's hash"
            }
            Some(DeviceMessage::UnexpectedError) => {
                "run apctl again later (nothing is sent twice); if it fails again, contact Microsoft support with the row's request id"
            }
            _ => "read the row's details; correct the file and import it again",
        };
        let problem = e.message.map_or("Registration failed", DeviceMessage::as_str);
        return fix(problem, step);
    }
    if e.state == Some(RegistrationState::RegistrationPending) {
        return fix(
            "Registration pending",
            "run `apctl import` with the same file again later, or `apctl status`, to see the outcome (nothing is sent twice)",
        );
    }
    if e.tag_missing() {
        return fix(
            "Group tag not applied",
            "set the group tag in Intune (Devices > Windows > Enrollment > Devices), or give apctl Graph access and run it again",
        );
    }
    if e.tag_pending() {
        return fix(
            "Group tag not visible yet",
            "nothing now: Intune can take ten minutes or more; the next `apctl import` or `apctl reconcile` checks it and sends it again if needed",
        );
    }
    None
}

/// The report's rows that need something, grouped by their fix, in the
/// order each fix first occurs.
pub fn groups(r: &Report) -> Vec<FixGroup<'_>> {
    let mut out: Vec<FixGroup<'_>> = Vec::new();
    for e in &r.entries {
        let Some(fix) = next_step(e, &r.causes) else {
            continue;
        };
        match out.iter_mut().find(|g| g.fix == fix) {
            Some(g) => g.entries.push(e),
            None => out.push(FixGroup {
                fix,
                entries: vec![e],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::device::RowRef;

    fn entry(state: Option<RegistrationState>, message: Option<DeviceMessage>) -> Entry {
        let row = RowRef {
            file: "f.csv".into(),
            line: 2,
        };
        let mut e = Entry::for_row(&row, "t", None, None);
        e.state = state;
        e.message = message;
        e
    }

    #[test]
    fn each_row_gets_one_next_step_and_rows_group_by_it() {
        let claimed = entry(
            Some(RegistrationState::RegistrationFailed),
            Some(DeviceMessage::DeviceClaimedByAnotherOrganization),
        );
        let fine = entry(Some(RegistrationState::ReadyForUser), None);
        let already = entry(
            Some(RegistrationState::Active),
            Some(DeviceMessage::DeviceAlreadyRegistered),
        );
        assert!(next_step(&fine, &[]).is_none());
        assert!(next_step(&already, &[]).is_none(), "informational");
        let fix = next_step(&claimed, &[]).unwrap();
        assert_eq!(fix.problem, "Device claimed by another organization");
        assert!(fix.step.contains("deregister"), "{}", fix.step);
        let mut invalid = entry(None, None);
        invalid.action = Action::Invalid;
        assert!(next_step(&invalid, &[]).unwrap().step.contains("apctl validate"));
    }
}
