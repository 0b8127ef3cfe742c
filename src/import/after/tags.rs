//! Group tags and assigned users on registered devices, for both pipes.
//!
//! A device registered through Partner Center, or one the tenant already
//! held with other values, gets the row's group tag and user with
//! `updateDeviceProperties`. Intune shows such a change late: users report
//! an update that answered 204 and still read the old tag ten minutes
//! later. So a tag that does not read back yet is *pending*, not failed:
//! it is read again on each round of the run's wait (never written again
//! at once), written once more if it is still missing [`RESEND_AFTER`]
//! the first write, and left pending at the deadline, for the next run or
//! `apctl reconcile` to find. Only a refusal (401/403) or repeated errors
//! make it *not applied*.

use crate::portal::details::Detail;
use std::time::Duration;

use crate::graph::{AutopilotDevice, Graph};
use crate::input::device::Device;
use crate::report::{Entry, TagStatus};
use crate::transport::CallError;

/// How long after the first write a tag still missing is written again
/// (once): longer than the ten minutes users report before a change shows.
pub const RESEND_AFTER: Duration = Duration::from_secs(15 * 60);

/// Writes per device: the first, and one resend.
const WRITES: u32 = 2;

/// Failed calls per device before its tag is given up as not applied.
const ERRORS: u32 = 3;

/// The group tag and user a row asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub group_tag: Option<String>,
    pub user: Option<String>,
}

impl Wanted {
    /// What a row asks for (an empty value asks for nothing).
    pub fn of(device: &Device, group_tag: Option<&str>) -> Self {
        let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Self {
            group_tag: given(group_tag),
            user: given(device.assigned_user.as_deref()),
        }
    }

    /// True when the device shows everything the row asks for. Users are
    /// compared without case, as Entra ID does.
    pub fn met_by(&self, device: &AutopilotDevice) -> bool {
        let tag_ok = self
            .group_tag
            .as_deref()
            .is_none_or(|w| device.group_tag.as_deref() == Some(w));
        let user_ok = self.user.as_deref().is_none_or(|w| {
            device
                .user_principal_name
                .as_deref()
                .is_some_and(|have| have.eq_ignore_ascii_case(w))
        });
        tag_ok && user_ok
    }

    /// The values to write: only those that differ from the device's.
    pub fn differing(&self, device: Option<&AutopilotDevice>) -> (Option<&str>, Option<&str>) {
        let tag = self
            .group_tag
            .as_deref()
            .filter(|w| device.is_none_or(|d| d.group_tag.as_deref() != Some(*w)));
        let user = self.user.as_deref().filter(|w| {
            device.is_none_or(|d| {
                !d.user_principal_name
                    .as_deref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(w))
            })
        });
        (tag, user)
    }

    /// `group tag `Kiosk` and user `a@b``, for messages.
    pub fn describe(&self) -> String {
        let tag = self.group_tag.as_deref().map(|t| format!("group tag `{t}`"));
        let user = self.user.as_deref().map(|u| format!("user `{u}`"));
        match (tag, user) {
            (Some(t), Some(u)) => format!("{t} and {u}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => "nothing".into(),
        }
    }
}

/// One device's update so far.
#[derive(Clone, Debug, Default)]
pub struct Follow {
    writes: u32,
    errors: u32,
    /// The clock reading of the first write.
    first_write: Option<Duration>,
    /// What the device read last.
    last: Option<AutopilotDevice>,
}

/// Where an update stands after a step.
#[derive(Debug)]
pub enum Progress {
    /// The device shows what the row asks for.
    Applied,
    /// Written, not visible yet.
    Waiting,
    /// A call failed; it is tried again on the next round.
    Retrying(CallError),
    /// Given up: the reason.
    NotApplied(String),
}

impl Follow {
    /// Starts from the device as last read (so a value that already
    /// matches is not written).
    pub fn from(device: &AutopilotDevice) -> Self {
        Self {
            last: Some(device.clone()),
            ..Self::default()
        }
    }

    /// When the first write went out, if it did.
    pub fn first_write(&self) -> Option<Duration> {
        self.first_write
    }

    /// One round: the first write and a read-back; later, a read, and once
    /// the values are still missing [`RESEND_AFTER`] the first write, one
    /// more write (read back on the next round).
    pub async fn step(&mut self, graph: &Graph<'_>, id: &str, wanted: &Wanted, now: Duration) -> Progress {
        if self.writes == 0
            && let Err(e) = self.write(graph, id, wanted, now).await
        {
            return self.failed(e);
        }
        let device = match graph.get_registered(id).await {
            Ok(device) => device,
            Err(e) => return self.failed(e),
        };
        let met = wanted.met_by(&device);
        self.last = Some(device);
        if met {
            return Progress::Applied;
        }
        let due = self
            .first_write
            .is_some_and(|at| now.saturating_sub(at) >= RESEND_AFTER);
        if due
            && self.writes < WRITES
            && let Err(e) = self.write(graph, id, wanted, now).await
        {
            return self.failed(e);
        }
        Progress::Waiting
    }

    async fn write(
        &mut self,
        graph: &Graph<'_>,
        id: &str,
        wanted: &Wanted,
        now: Duration,
    ) -> Result<(), CallError> {
        let (tag, user) = wanted.differing(self.last.as_ref());
        graph.update_device_properties(id, tag, user).await?;
        self.writes += 1;
        self.first_write.get_or_insert(now);
        Ok(())
    }

    fn failed(&mut self, e: CallError) -> Progress {
        self.errors += 1;
        if is_denied(&e) || self.errors >= ERRORS {
            Progress::NotApplied(graph_reason(&e))
        } else {
            Progress::Retrying(e)
        }
    }

    /// What the device read last, for a message: `reads group tag "Old"`.
    pub fn still_reads(&self, wanted: &Wanted) -> String {
        let Some(d) = &self.last else {
            return String::new();
        };
        let mut parts = Vec::new();
        if wanted.group_tag.is_some() {
            parts.push(format!("group tag {:?}", d.group_tag.clone().unwrap_or_default()));
        }
        if wanted.user.is_some() {
            parts.push(format!(
                "user {:?}",
                d.user_principal_name.clone().unwrap_or_default()
            ));
        }
        parts.join(" and ")
    }
}

/// A row's update: the device, what the row asks, how far it came.
#[derive(Debug)]
pub struct TagWork {
    id: String,
    wanted: Wanted,
    follow: Follow,
}

impl TagWork {
    /// The work a registered device needs, if it does not show what the
    /// row asks for already (boxed: most rows need none, and a large run
    /// holds a row per device).
    pub fn needed(device: &AutopilotDevice, wanted: Wanted) -> Option<Box<Self>> {
        (!wanted.met_by(device)).then(|| {
            Box::new(Self {
                id: device.id.clone(),
                wanted,
                follow: Follow::from(device),
            })
        })
    }

    /// What is to be set, for messages.
    pub fn describe(&self) -> String {
        self.wanted.describe()
    }

    /// One round for one row; true when the row's update is decided.
    pub async fn round(
        &mut self,
        graph: &Graph<'_>,
        entry: &mut Entry,
        progress: &dyn crate::import::Progress,
    ) -> bool {
        let now = graph.client.clock().now();
        match self.follow.step(graph, &self.id, &self.wanted, now).await {
            Progress::Applied => {
                entry.group_tag_status = Some(TagStatus::Applied);
                if let Some(at) = self.follow.first_write() {
                    entry.add(Detail::Set {
                        what: self.describe(),
                        minutes: now.saturating_sub(at).as_secs() / 60,
                    });
                }
                true
            }
            Progress::Waiting => {
                entry.group_tag_status = Some(TagStatus::Pending);
                false
            }
            Progress::Retrying(e) => {
                progress.event(crate::import::report::progress::warning(
                    graph.tenant,
                    format!("setting {} failed (tried again): {e}", self.describe()),
                ));
                false
            }
            Progress::NotApplied(why) => {
                not_applied(entry, &self.describe(), &why);
                true
            }
        }
    }

    /// At the end of the run: under `--dry-run` what would be set, else
    /// [`TagWork::unfinished`].
    pub fn at_end(&self, entry: &mut Entry, dry_run: bool) {
        if dry_run {
            entry.say(Detail::WouldSet {
                what: self.describe(),
            });
        } else {
            self.unfinished(entry);
        }
    }

    /// At the end of the run, an update that does not show yet is pending:
    /// the details say what was sent, what the device still reads and
    /// what happens next.
    pub fn unfinished(&self, entry: &mut Entry) {
        entry.group_tag_status = Some(TagStatus::Pending);
        let what = self.describe();
        entry.add(match self.follow.first_write() {
            Some(_) => Detail::SentNotShown {
                what,
                still_reads: self.follow.still_reads(&self.wanted),
            },
            None => Detail::NotSetYet { what },
        });
    }
}

/// One round for a row in its tag phase: true when its update is decided
/// (or it had none).
pub async fn decided(
    work: &mut Option<Box<TagWork>>,
    graph: &Graph<'_>,
    entry: &mut Entry,
    progress: &dyn crate::import::Progress,
) -> bool {
    match work {
        Some(work) => work.round(graph, entry, progress).await,
        None => true,
    }
}

/// Says on a row that its tag (or user) could not be set, and how to fix it.
pub fn not_applied(entry: &mut Entry, what: &str, why: &str) {
    entry.group_tag_status = Some(TagStatus::NotApplied);
    entry.add(Detail::NotApplied {
        what: what.to_owned(),
        why: why.to_owned(),
    });
}

/// Why Graph could not be used, for a row's details.
pub fn graph_reason(e: &CallError) -> String {
    match e {
        CallError::Auth(a) => format!("no Graph token for this tenant ({})", a.summary),
        CallError::Service { error, .. } if error.status == 403 || error.status == 401 => {
            format!(
                "Graph refused the call: {}",
                crate::import::pipes::engine::rows::GRAPH_PERMISSION
            )
        }
        other => other.to_string(),
    }
}

/// A refusal that waiting does not fix.
pub fn is_denied(e: &CallError) -> bool {
    match e {
        CallError::Auth(_) => true,
        CallError::Service { error, .. } => error.status == 401 || error.status == 403,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(tag: Option<&str>, user: Option<&str>) -> AutopilotDevice {
        AutopilotDevice {
            group_tag: tag.map(str::to_owned),
            user_principal_name: user.map(str::to_owned),
            ..AutopilotDevice::default()
        }
    }

    #[test]
    fn a_device_meets_what_is_wanted_by_tag_and_user_without_case() {
        let wanted = Wanted {
            group_tag: Some("Kiosk".into()),
            user: Some("Ada@Contoso.com".into()),
        };
        assert!(wanted.met_by(&device(Some("Kiosk"), Some("ada@contoso.com"))));
        assert!(
            !wanted.met_by(&device(Some("kiosk"), Some("ada@contoso.com"))),
            "tags are exact"
        );
        assert!(!wanted.met_by(&device(Some("Kiosk"), None)));
        assert!(Wanted::default().met_by(&device(None, None)));
        let have = device(Some("Kiosk"), Some("other@contoso.com"));
        assert_eq!(
            wanted.differing(Some(&have)),
            (None, Some("Ada@Contoso.com")),
            "only what differs"
        );
        assert_eq!(wanted.describe(), "group tag `Kiosk` and user `Ada@Contoso.com`");
    }
}
