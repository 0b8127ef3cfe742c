//! What both pipes share: one phase list, one row type, one tag loop and
//! the helpers every pipe uses the same way. A pipe (Graph's import,
//! Partner Center's device batches) brings its own calls and its own
//! per-row extras ([`Tracked::x`]); where a row stands is said in the same
//! words for both, and both behave the same at Ctrl-C, at the deadline and
//! after a lost answer.

pub(crate) mod outline;
pub(crate) mod rows;

use std::collections::HashMap;
use std::time::Duration;

use crate::graph::Graph;
use crate::import::after::tags::TagWork;
use crate::import::{Cancel, Progress};
use crate::input::device::Device;
use crate::report::Entry;
use crate::transport::CallError;

pub(crate) use outline::{Service, run};
pub(crate) use rows::Row;

/// Where a row is, in either pipe. The order is the outline every pipe
/// follows: look up → send → follow → confirm → tags → done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Not sent (yet, or again after "try again later").
    ToSend,
    /// Sent: waiting for the service's verdict (a staged record, a batch
    /// job).
    Sent,
    /// Accepted: waiting for the device in the tenant's Autopilot list.
    Confirm,
    /// Registered: its group tag (and user) are being set and read back.
    Tag,
    /// Final.
    Done,
}

/// One input row as a pipe tracks it: what both pipes know of every row,
/// and the pipe's own extras in `x`.
pub(crate) struct Tracked<X> {
    pub device: Device,
    pub entry: Entry,
    pub phase: Phase,
    /// The group tag (and user) to set on the registered device.
    pub tag: Option<Box<TagWork>>,
    /// Sent, and no answer has said yet whether it took effect: a report
    /// written now says it may have been sent, never that it was not.
    pub posted: bool,
    pub x: X,
}

impl<X> Tracked<X> {
    pub fn new(device: Device, entry: Entry, x: X) -> Self {
        Self {
            device,
            entry,
            phase: Phase::ToSend,
            tag: None,
            posted: false,
            x,
        }
    }
}

impl<X> Row for Tracked<X> {
    fn entry(&self) -> &Entry {
        &self.entry
    }
    fn entry_mut(&mut self) -> &mut Entry {
        &mut self.entry
    }
    fn into_entry(self) -> Entry {
        self.entry
    }
    fn maybe_sent(&self) -> bool {
        self.phase != Phase::ToSend || self.posted
    }
    fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}

/// Marks rows as sent before their request goes: until an answer says
/// otherwise, a report says they may have been sent.
pub(crate) fn posting<X>(tracked: &mut [Tracked<X>], rows: &[usize]) {
    for &i in rows {
        let t = &mut tracked[i];
        t.posted = true;
        t.entry.action = crate::report::Action::Sent;
        t.entry.say(crate::portal::details::Detail::MayHaveBeenSent);
    }
}

/// Writes or reads back each row's tag once per round; a decided row is
/// done.
pub(crate) async fn tag<X>(graph: &Graph<'_>, tracked: &mut [Tracked<X>], progress: &dyn Progress) {
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Tag) {
        if crate::import::after::tags::decided(&mut t.tag, graph, &mut t.entry, progress).await {
            t.phase = Phase::Done;
        }
    }
}

/// A registered device's portal state, read from its enrollment and last
/// contact, with its id on the row.
pub(crate) fn registered_state(
    entry: &mut Entry,
    device: &crate::graph::AutopilotDevice,
    now: jiff::Timestamp,
) -> crate::portal::state::RegistrationState {
    use crate::portal::mapping;
    let enrollment = device
        .enrollment_state
        .clone()
        .unwrap_or(mapping::EnrollmentState::Unknown);
    entry.autopilot_device_id = Some(device.id.as_str().into());
    mapping::registered_state(&enrollment, device.last_contact(), now)
}

/// A row's device for the pipes' unit tests.
#[cfg(test)]
pub(crate) fn test_device(serial: Option<&str>, identity: crate::input::device::Identity) -> Device {
    Device {
        source: crate::input::device::RowRef {
            file: "f.csv".into(),
            line: 2,
        },
        serial: serial.map(str::to_owned),
        identity,
        group_tag: None,
        assigned_user: None,
        manufacturer: None,
        model: None,
        tenant: None,
    }
}

/// A customer's settings for the pipes' unit tests.
#[cfg(test)]
pub(crate) fn test_settings() -> crate::import::ImportSettings {
    let run = std::sync::Arc::new(crate::import::RunSettings::new(
        &crate::net::endpoint::Cloud::Public.endpoints(),
        "run",
    ));
    crate::import::ImportSettings::new(&run, "t")
}

/// How each way a run ends is named on its unfinished rows.
#[cfg(test)]
pub(crate) const ENDS: [(bool, &str); 2] =
    [(false, "at the deadline"), (true, "when the run was interrupted")];

/// Asserts a row's details say each of `words`.
#[cfg(test)]
pub(crate) fn assert_says(entry: &Entry, words: &[&str]) {
    for w in words {
        assert!(entry.details.contains(w), "`{w}` in: {}", entry.details);
    }
}

/// A hash row's identity for the pipes' unit tests.
#[cfg(test)]
pub(crate) fn test_hash() -> crate::input::device::Identity {
    crate::input::device::Identity::HardwareHash {
        hash: crate::input::device::HardwareHash::new("x".into()),
        product_key: None,
    }
}

/// Items by serial (the last one of a serial wins); items without one are
/// left out.
pub(crate) fn by_serial<T>(items: Vec<T>, serial: impl Fn(&T) -> Option<String>) -> HashMap<String, T> {
    items
        .into_iter()
        .filter_map(|i| serial(&i).map(|s| (s, i)))
        .collect()
}

/// Items looked up by serial (the last one of a serial wins), held once:
/// the index beside them is a few bytes a row, where a map of the items
/// would hold a second copy of a large list while it is built.
pub(crate) struct BySerial<T> {
    items: Vec<T>,
    index: HashMap<String, usize>,
}

impl<T> BySerial<T> {
    pub(crate) fn new(items: Vec<T>, serial: impl Fn(&T) -> Option<&str>) -> Self {
        let mut index = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = serial(item) {
                index.insert(s.to_owned(), i);
            }
        }
        Self { items, index }
    }

    pub(crate) fn get(&self, serial: &str) -> Option<&T> {
        self.index.get(serial).map(|&i| &self.items[i])
    }
}

/// How long a pipe waits after an answer was lost (the write may have
/// taken effect) before it looks at what the service holds.
pub(crate) const LOST_ANSWER_PAUSE: Duration = Duration::from_secs(15);

/// The pause before looking after a lost answer: [`LOST_ANSWER_PAUSE`], or
/// once the run is stopping a quarter of its grace (at most that), so the
/// lookup and the following fit inside the grace.
pub(crate) fn lookup_pause(grace: Duration, stopping: bool) -> Duration {
    if stopping {
        (grace / 4).min(LOST_ANSWER_PAUSE)
    } else {
        LOST_ANSWER_PAUSE
    }
}

/// Why a request's answer is not known when the run stopped while it was
/// awaited.
const ABANDONED: &str = "the run was stopped while its answer was awaited, and the request was abandoned";

/// Awaits a write, or abandons it when the run is asked to stop: a request
/// the service holds does not eat the grace. An abandoned write may have
/// been sent, and is looked up like a lost answer.
pub(crate) async fn unless_stopped<T>(
    kind: &'static str,
    call: impl std::future::Future<Output = Result<T, CallError>>,
    cancel: &Cancel,
) -> Result<T, CallError> {
    tokio::select! {
        biased;
        answer = call => answer,
        () = cancel.cancelled() => Err(CallError::MayHaveBeenSent {
            kind,
            cause: ABANDONED.to_owned(),
            request_id: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_the_outline() {
        let outline = [
            Phase::ToSend,
            Phase::Sent,
            Phase::Confirm,
            Phase::Tag,
            Phase::Done,
        ];
        assert!(outline.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn by_serial_leaves_out_items_without_one() {
        let m = by_serial(vec![("A", 1), ("", 2), ("A", 3)], |(s, _)| {
            Some(s.to_string()).filter(|s| !s.is_empty())
        });
        assert_eq!(m.len(), 1);
        assert_eq!(m["A"].1, 3, "the last of a serial wins");
    }
}
