//! What a row's details say, worded here and nowhere else, the way
//! [`super::state`] words the portal's states and messages: the pipes
//! and the steps after them say *which* detail applies, as data; this
//! module says it in words. A report's `details` field is this text.

use std::fmt;

/// What ended a run for its unfinished rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Deadline,
    Interrupted,
}

impl End {
    pub fn of(interrupted: bool) -> Self {
        if interrupted {
            Self::Interrupted
        } else {
            Self::Deadline
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Deadline => "at the deadline",
            Self::Interrupted => "when the run was interrupted",
        })
    }
}

/// One thing a row's details can say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// `--dry-run`: a hash row would be imported.
    WouldImport,
    /// `--dry-run`: a row would go into a Partner Center batch.
    WouldSendToBatch { batch: String },
    /// `--dry-run`: a staged record would be followed.
    WouldFollowStaged,
    /// `--dry-run`: a tag or user would be set.
    WouldSet { what: String },
    /// Registered (through Graph, or found registered).
    Registered { id: String },
    /// Registered through Partner Center.
    RegisteredThroughPartnerCenter { id: String },
    /// Registered through Partner Center, but Graph could not confirm it.
    NotConfirmedWithoutGraph { why: String },
    /// Found in a Partner Center batch already.
    AlreadyInBatch { batch: String },
    /// Sent without waiting (`--no-wait`), through Graph.
    AcceptedForRegistration,
    /// Sent without waiting, through Partner Center.
    AcceptedInBatch { batch: String },
    /// A staged record still without a verdict at the end.
    StillProcessing { end: End },
    /// A batch job still running at the end.
    StillProcessingBatch { batch: String, end: End },
    /// Imported, not yet in the tenant's list at the end.
    NotYetListed { end: End },
    /// In a batch, not yet in the tenant's list at the end.
    NotYetListedInBatch { batch: String, end: End },
    /// A Partner Center row's tag waits for the device to show.
    TagAfterShowing,
    /// A lost batch answer, the device found in the batch.
    LostAnswerFoundInBatch { cause: String, batch: String },
    /// A failed staged record that an earlier import made.
    EarlierImportsRecord,
    /// The same hash twice in one upload.
    DuplicatedHash,
    /// Sent, with no answer yet that says whether it took effect.
    MayHaveBeenSent,
    /// A final batch job that named no status for the row.
    JobWithoutStatus,
    /// Registered; no deployment profile is assigned yet.
    NoProfileYet { id: String, status: String },
    /// A tag or user was sent and accepted but does not show yet.
    SentNotShown { what: String, still_reads: String },
    /// A tag or user not set yet.
    NotSetYet { what: String },
    /// A tag or user set, and after how long it showed.
    Set { what: String, minutes: u64 },
    /// A tag or user that could not be set.
    NotApplied { what: String, why: String },
    /// Not sent, for a cause shared with other rows.
    NotSent { error: String },
    /// Not sent: its cause is listed once in the report.
    SeeCause { id: String },
}

impl Detail {
    /// The words of what follows the pipes (profiles, tags and users, rows
    /// not sent); `None` for the pipes' own.
    fn after_pipes(&self) -> Option<String> {
        Some(match self {
            Self::NoProfileYet { id, status } => format!(
                "Registered as Autopilot device {id}, but no deployment profile is assigned yet (deploymentProfileAssignmentStatus: {status}): its user would not be guided through setup. Assign a profile to a group this device is in (Intune > Devices > Windows > Enrollment > Deployment profiles), or wait for Intune to assign it, then run `apctl status`."
            ),
            Self::SentNotShown { what, still_reads } => format!(
                "Its {what} was sent and accepted, but the device still reads {still_reads} (Intune can take ten minutes or more to show such a change). The next `apctl import` of this file, or `apctl reconcile`, checks it and sends it once more if it is still missing."
            ),
            Self::NotSetYet { what } => format!(
                "Its {what} is not set yet; the next `apctl import` of this file sets it (nothing is registered twice)."
            ),
            Self::Set { what, minutes } => match minutes {
                0 => format!("Its {what} was set."),
                1 => format!("Its {what} was set (it showed after 1 minute)."),
                n => format!("Its {what} was set (it showed after {n} minutes)."),
            },
            Self::NotApplied { what, why } => format!(
                "Its {what} was NOT applied: {why}. Set it in Intune (Devices > Windows > Enrollment > Devices) or run apctl again once Graph access works."
            ),
            Self::NotSent { error } => format!("Not sent: {error}"),
            Self::SeeCause { id } => format!("Not sent: see cause {id}."),
            _ => return None,
        })
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.after_pipes() {
            return f.write_str(&text);
        }
        match self {
            Self::WouldImport => f.write_str("would be imported (dry run: nothing was sent)"),
            Self::WouldSendToBatch { batch } => write!(
                f,
                "would be sent to Partner Center in device batch `{batch}` (dry run: nothing was sent)"
            ),
            Self::WouldFollowStaged => {
                f.write_str("already staged by an earlier import; it would be followed, not sent again")
            }
            Self::WouldSet { what } => write!(f, "its {what} would be set (dry run: nothing was sent)"),
            Self::Registered { id } => write!(f, "Registered as Autopilot device {id}."),
            Self::RegisteredThroughPartnerCenter { id } => {
                write!(f, "Registered through Partner Center as Autopilot device {id}.")
            }
            Self::NotConfirmedWithoutGraph { why } => write!(
                f,
                "Registered through Partner Center; not confirmed in the tenant's Autopilot list: {why}."
            ),
            Self::AlreadyInBatch { batch } => write!(f, "already in device batch `{batch}`: not sent again"),
            Self::AcceptedForRegistration => f.write_str(
                "accepted for registration; run `apctl import` again (or `apctl status`) to see the outcome",
            ),
            Self::AcceptedInBatch { batch } => write!(
                f,
                "accepted by Partner Center in device batch `{batch}`; run `apctl import` again to see the outcome (nothing is sent twice)"
            ),
            Self::StillProcessing { end } => write!(
                f,
                "still being processed by the service {end}; run apctl again to follow it (nothing is sent twice)"
            ),
            Self::StillProcessingBatch { batch, end } => write!(
                f,
                "Partner Center was still processing device batch `{batch}` {end}; run apctl again to follow it (nothing is sent twice)"
            ),
            Self::NotYetListed { end } => {
                write!(f, "imported, but not yet listed among the tenant's Autopilot devices {end}")
            }
            Self::NotYetListedInBatch { batch, end } => write!(
                f,
                "in device batch `{batch}`, but not yet listed among the tenant's Autopilot devices {end}; run apctl again to confirm it (nothing is sent twice)"
            ),
            Self::TagAfterShowing => f.write_str(
                "Its group tag is set once the device shows in the tenant; the next `apctl import` of this file does it.",
            ),
            Self::LostAnswerFoundInBatch { cause, batch } => write!(
                f,
                "The answer to the batch request was lost ({cause}), but the device is in device batch `{batch}`: followed in the tenant's list."
            ),
            Self::EarlierImportsRecord => f.write_str(
                "(this is an earlier import's staged record: delete it in Intune under Windows Autopilot devices > Import, then run apctl again)",
            ),
            Self::DuplicatedHash => f.write_str(
                "ZtdDeviceDuplicated: the same hardware hash was uploaded twice; only one row was processed",
            ),
            Self::MayHaveBeenSent => f.write_str(
                "may have been sent: no answer had come when this was written; the next `apctl import` looks for it among what the tenant holds before sending anything (nothing is sent twice)",
            ),
            Self::JobWithoutStatus => {
                f.write_str("Partner Center finished the batch job without a status for this device.")
            }
            // Worded by `after_pipes`.
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detail_has_words() {
        let s = String::new;
        let end = End::Deadline;
        let all = [
            Detail::WouldImport,
            Detail::WouldSendToBatch { batch: s() },
            Detail::WouldFollowStaged,
            Detail::WouldSet { what: s() },
            Detail::Registered { id: s() },
            Detail::RegisteredThroughPartnerCenter { id: s() },
            Detail::NotConfirmedWithoutGraph { why: s() },
            Detail::AlreadyInBatch { batch: s() },
            Detail::AcceptedForRegistration,
            Detail::AcceptedInBatch { batch: s() },
            Detail::StillProcessing { end },
            Detail::StillProcessingBatch { batch: s(), end },
            Detail::NotYetListed { end },
            Detail::NotYetListedInBatch { batch: s(), end },
            Detail::TagAfterShowing,
            Detail::LostAnswerFoundInBatch {
                cause: s(),
                batch: s(),
            },
            Detail::EarlierImportsRecord,
            Detail::DuplicatedHash,
            Detail::JobWithoutStatus,
            Detail::MayHaveBeenSent,
            Detail::NoProfileYet { id: s(), status: s() },
            Detail::SentNotShown {
                what: s(),
                still_reads: s(),
            },
            Detail::NotSetYet { what: s() },
            Detail::Set {
                what: s(),
                minutes: 2,
            },
            Detail::NotApplied { what: s(), why: s() },
            Detail::NotSent { error: s() },
            Detail::SeeCause { id: s() },
        ];
        for d in all {
            assert!(d.to_string().len() > 8, "{d:?}");
        }
        assert_eq!(
            Detail::Set {
                what: "group tag `Kiosk`".into(),
                minutes: 1
            }
            .to_string(),
            "Its group tag `Kiosk` was set (it showed after 1 minute)."
        );
    }

    #[test]
    fn the_end_of_a_run_is_worded_for_what_ended_it() {
        let batch = "PO-1".to_owned();
        assert_eq!(
            Detail::StillProcessingBatch {
                batch,
                end: End::of(true)
            }
            .to_string(),
            "Partner Center was still processing device batch `PO-1` when the run was interrupted; run apctl again to follow it (nothing is sent twice)"
        );
        assert_eq!(
            Detail::NotYetListed { end: End::of(false) }.to_string(),
            "imported, but not yet listed among the tenant's Autopilot devices at the deadline"
        );
    }
}
