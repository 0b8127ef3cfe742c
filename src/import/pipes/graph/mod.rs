//! The Graph import pipe for one tenant, end to end (SPEC §3.1, §3.2,
//! §3.5): look up what is already registered or staged and never send it
//! again; import the rest in chunks; poll with a deadline until every
//! device is `complete` or `error`; confirm successes and 806s in the
//! registered-device list, which also gives each device's state; resend
//! transient 640s a few times; and delete the staged records this run
//! created once they are final, never anyone else's.

mod cleanup;
mod send;
mod wait;

use cleanup::cleanup;

use send::send_all;
use wait::settle;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::graph::{AutopilotDevice, Graph, ImportItem, ImportedIdentity};
use crate::import::after::profiles::SyncOnce;
use crate::import::after::tags::{TagWork, Wanted};
use crate::import::pipes::engine::{self, Phase, rows};
use crate::import::pipes::engine::{BySerial, by_serial};
use crate::import::pipes::waiter::{self, Check, Round, Step, Wait};
use crate::import::report::progress::{entry_for, interrupted_cause, warning};
use crate::import::run::ledger::Ledger;
use crate::import::run::markers::{another_live_run, is_apctls, leftovers, settled};
use crate::import::settings::LIST_POLL_THRESHOLD;
use crate::import::{Cancel, Event, ImportSettings, Progress, TenantOutcome};
use crate::input::device::{Device, Identity, Pipe};
use crate::portal::details::{Detail, End};
use crate::portal::mapping::{self, ErrorKind, Meaning};
use crate::portal::state::{DeviceMessage, RegistrationState};
use crate::report::{Action, Cause, Entry, TenantError};
use crate::transport::throttle::TenantGate;
use crate::transport::{CallError, Client};

/// What the Graph pipe keeps of a row beside what every pipe does.
#[derive(Default)]
struct GraphRow {
    staged_id: Option<String>,
    /// The staged record was created by this run or by an earlier run on
    /// this machine (which has ended: this run holds the customer's lock):
    /// resent after a 640 and deleted once settled.
    ours: bool,
    /// The staged record already had its verdict when the run looked: the
    /// run that made it has had it, so this run deletes it once reported.
    settled_before: bool,
    resends: u32,
    /// The clock reading before which a device sent back by a transient
    /// error (640) is not sent again.
    resend_at: Duration,
    /// The staged record disappeared before its verdict was read.
    vanished: bool,
    /// The registered device's id, as a `complete` record names it.
    registration_id: Option<String>,
    /// Its staged record was deleted while the run polled.
    deleted: bool,
}

impl GraphRow {
    /// Whether the run deletes the row's staged record once the row is
    /// done: its own, one that had its verdict before the run, or one whose
    /// device the run saw registered (it serves nobody now, whoever made
    /// it).
    fn deletes_record(&self, registered: bool) -> bool {
        !self.vanished
            && !self.deleted
            && self.staged_id.is_some()
            && (self.ours || self.settled_before || registered)
    }
}

type Tracked = engine::Tracked<GraphRow>;

fn snapshot(tracked: &[Tracked], settings: &ImportSettings, progress: &dyn Progress, now: bool) {
    rows::snapshot(tracked, settings, Pipe::Graph, progress, now);
}

/// What a customer's run lends the Graph pipe: this machine's ledger of
/// what it sent, and the customer's one Autopilot sync.
#[derive(Clone, Copy)]
pub struct Lent<'a> {
    pub ledger: &'a Ledger,
    pub sync: &'a SyncOnce,
}

/// Imports hash devices into one tenant; every Graph call passes `gate`.
pub async fn import_tenant(
    client: &Client,
    settings: &ImportSettings,
    devices: Vec<Device>,
    gate: &TenantGate,
    lent: Lent<'_>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> TenantOutcome {
    let service = GraphImport {
        graph: settings.graph(client, gate),
        settings,
        ledger: lent.ledger,
        sync: lent.sync,
        leftovers: Vec::new(),
    };
    engine::run(service, devices, progress, cancel).await
}

/// Graph's import as a service of the engine.
struct GraphImport<'a> {
    graph: Graph<'a>,
    settings: &'a ImportSettings,
    ledger: &'a Ledger,
    /// The customer's one Autopilot sync, asked for once a device this
    /// run sent is registered.
    sync: &'a SyncOnce,
    /// An earlier run's staged records of registered devices, to delete.
    leftovers: Vec<String>,
}

impl engine::Service for GraphImport<'_> {
    type X = GraphRow;
    const PIPE: Pipe = Pipe::Graph;

    fn settings(&self) -> &ImportSettings {
        self.settings
    }

    fn graph(&self) -> &Graph<'_> {
        &self.graph
    }

    fn track(&self, device: Device) -> Tracked {
        track(device, self.settings)
    }

    fn stopped_before(&self) -> Option<TenantError> {
        self.settings.customer.preflight_failure.clone()
    }

    async fn lookup(&mut self, tracked: &mut [Tracked], progress: &dyn Progress) -> Result<(), CallError> {
        self.leftovers = lookup(&self.graph, tracked, self.settings, self.ledger, progress).await?;
        Ok(())
    }

    fn tenant_error(&self, e: &CallError) -> TenantError {
        tenant_error(&self.settings.customer.tenant, e)
    }

    async fn send(&mut self, tracked: &mut [Tracked], progress: &dyn Progress, cancel: &Cancel) {
        send_all(&self.graph, tracked, self.settings, self.ledger, progress, cancel).await;
    }

    async fn settle(&mut self, tracked: &mut [Tracked], progress: &dyn Progress, cancel: &Cancel) {
        settle(self, tracked, progress, cancel).await;
    }

    /// One write per staged record, paced by the tenant's budget, until
    /// the deadline.
    async fn clean_up(&mut self, tracked: &[Tracked], progress: &dyn Progress) -> u64 {
        let leftovers = std::mem::take(&mut self.leftovers);
        cleanup(&self.graph, tracked, leftovers, self.settings, progress).await
    }

    fn mark_unfinished(&self, tracked: &mut [Tracked], interrupted: bool) {
        mark_unfinished(tracked, self.settings, interrupted);
    }
}

fn track(device: Device, settings: &ImportSettings) -> Tracked {
    let entry = entry_for(&device, settings);
    Tracked::new(device, entry, GraphRow::default())
}

/// Before sending: serials already registered are done; serials already
/// staged are followed instead of sent again, whoever staged them. Returns
/// the staged records nobody needs any more, to delete: every record of a
/// serial the tenant has registered (whoever made it), and settled ones of
/// ended apctl runs.
async fn lookup(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
    ledger: &Ledger,
    progress: &dyn Progress,
) -> Result<Vec<String>, CallError> {
    let serials: Vec<String> = tracked.iter().filter_map(|t| t.device.serial.clone()).collect();
    let registered = by_serial(graph.registered_of(&serials).await?, |d| d.serial_number.clone());
    let mut all_staged = graph.list_imported().await?;
    let now = graph.client.clock().wall();
    // Records whose `importId` the service did not keep get the marker
    // they were sent with back, from what this machine put on record.
    let this_machine = ledger.restore(&mut all_staged);
    if let Err(e) = ledger.prune(&all_staged, now.as_second()) {
        progress.event(warning(&settings.customer.label(), e.to_string()));
    }
    let held: std::collections::HashSet<&str> = registered.keys().map(String::as_str).collect();
    let mut leftovers: Vec<String> = leftovers(&all_staged, &held, now.as_second())
        .into_iter()
        .map(|r| r.id.clone())
        .collect();
    let staged = by_serial(all_staged, |s| s.serial_number.clone());
    let mine = settings.run.marker();
    progress.event(Event::LookedUp {
        tenant: settings.customer.label(),
        registered: registered.len(),
        staged: staged.len(),
    });
    let seen = Seen {
        now,
        mine: &mine,
        this_machine: &this_machine,
        dry_run: settings.run.dry_run,
    };
    for t in tracked.iter_mut() {
        let Some(serial) = t.device.serial.clone() else {
            continue;
        };
        if let Some(followed) = decide(t, registered.get(&serial), staged.get(&serial), &seen) {
            // Followed, so not a leftover: it is deleted once settled.
            leftovers.retain(|id| *id != followed);
        }
    }
    Ok(leftovers)
}

/// What a lookup read that every row's decision needs.
struct Seen<'a> {
    now: jiff::Timestamp,
    /// This run's `importId` marker.
    mine: &'a str,
    /// Staged records this machine's earlier runs made (the ledger knows
    /// them): those runs have ended, since this one holds the lock.
    this_machine: &'a std::collections::HashSet<String>,
    dry_run: bool,
}

/// Decides a row before anything is sent, from its serial's registered
/// device and staged record (a pure function): registered → already there
/// (its tag set if it differs); staged → followed to its verdict, never
/// sent again, whoever staged it (a run killed on another agent, a live
/// run, an admin); neither → to send (or, in a dry run, would be). Returns
/// the id of a staged record it follows.
fn decide(
    t: &mut Tracked,
    registered: Option<&AutopilotDevice>,
    staged: Option<&ImportedIdentity>,
    seen: &Seen<'_>,
) -> Option<String> {
    let now_epoch = seen.now.as_second();
    if let Some(device) = registered {
        t.entry.action = Action::AlreadyRegistered;
        confirm(
            &mut t.entry,
            device,
            seen.now,
            Some(DeviceMessage::DeviceAlreadyRegistered),
        );
        // Held with another tag or user: the row's values are set.
        let wanted = Wanted::of(&t.device, t.entry.group_tag.as_deref());
        t.tag = TagWork::needed(device, wanted);
        t.phase = if t.tag.is_some() { Phase::Tag } else { Phase::Done };
        return None;
    }
    let Some(record) = staged else {
        if seen.dry_run {
            t.entry.action = Action::WouldSend;
            // Never sent: no portal state is true of it.
            t.entry.state = None;
            t.entry.say(Detail::WouldImport);
        }
        return None;
    };
    t.entry.imported_identity_id = Some(record.id.as_str().into());
    t.entry.action = Action::FollowedStaged;
    t.x.staged_id = Some(record.id.clone());
    // A live run elsewhere may be following it too: it is read, not
    // resent; whoever sees it settle deletes it.
    t.x.ours = seen.this_machine.contains(&record.id)
        || (is_apctls(record) && !another_live_run(record, seen.mine, now_epoch));
    t.x.settled_before = settled(record);
    t.phase = Phase::Sent;
    if seen.dry_run {
        t.entry.say(Detail::WouldFollowStaged);
    }
    Some(record.id.clone())
}

/// Records a registered device's state on an entry.
fn confirm(
    entry: &mut Entry,
    device: &AutopilotDevice,
    now: jiff::Timestamp,
    message: Option<DeviceMessage>,
) {
    let state = engine::registered_state(entry, device, now);
    if device.deployment_profile_assignment_status.is_some() {
        entry
            .profile_status
            .clone_from(&device.deployment_profile_assignment_status);
    }
    if entry.model.is_none() {
        entry.model = device.model.clone().filter(|m| !m.is_empty());
    }
    entry.set(state, message);
    if message.is_none() {
        entry.say(Detail::Registered {
            id: device.id.clone(),
        });
    }
}

/// Devices with no final answer at the end keep Registration pending, with
/// a reason.
fn mark_unfinished(tracked: &mut [Tracked], settings: &ImportSettings, interrupted: bool) {
    let end = End::of(interrupted);
    for t in tracked.iter_mut().filter(|t| t.phase != Phase::Done) {
        if let (Phase::Tag, Some(work)) = (t.phase, &t.tag) {
            work.at_end(&mut t.entry, settings.run.dry_run);
            continue;
        }
        match t.phase {
            // The service said 640 and the resend did not come before the
            // end: its answer stands.
            Phase::ToSend if t.x.resends > 0 => wait::fail_with(t, ErrorKind::Transient),
            // Sent, no answer by the end: may have taken effect.
            Phase::ToSend if t.posted => t.entry.say(Detail::MayHaveBeenSent),
            Phase::ToSend if !settings.run.dry_run => t.entry.not_sent(&interrupted_cause()),
            Phase::ToSend => {}
            _ if !settings.run.wait || settings.run.dry_run => {
                if t.entry.details.is_empty() {
                    t.entry.say(Detail::AcceptedForRegistration);
                }
            }
            Phase::Confirm => t.entry.say(Detail::NotYetListed { end }),
            _ => t.entry.say(Detail::StillProcessing { end }),
        }
    }
}

pub(crate) fn tenant_error(tenant: &str, e: &CallError) -> TenantError {
    match e {
        CallError::Auth(a) => TenantError {
            tenant: tenant.to_owned(),
            error: a.to_string(),
            hint: Some(a.hint.clone()),
        },
        other => TenantError {
            tenant: tenant.to_owned(),
            error: other.to_string(),
            hint: Some(permission_hint(other)),
        },
    }
}

fn permission_hint(e: &CallError) -> String {
    match e {
        CallError::Service { error, .. } if error.status == 403 || error.status == 401 => {
            rows::GRAPH_PERMISSION.into()
        }
        _ => "check the network and the Graph URL; run again later (nothing is sent twice)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phase: Phase, resends: u32, settings: &ImportSettings) -> Tracked {
        let device = engine::test_device(Some("S-1"), engine::test_hash());
        let mut t = track(device, settings);
        t.phase = phase;
        t.x.resends = resends;
        t
    }

    /// At the end of a run (deadline or Ctrl-C) every unfinished row says
    /// where it stood and what ended the run; a 640 whose resend did not
    /// come keeps the service's answer; a row never sent is not sent.
    #[test]
    fn unfinished_rows_say_where_they_stood_and_what_ended_the_run() {
        let settings = engine::test_settings();
        for (interrupted, end) in engine::ENDS {
            let mut rows = vec![
                row(Phase::ToSend, 0, &settings),
                row(Phase::ToSend, 1, &settings),
                row(Phase::Sent, 0, &settings),
                row(Phase::Confirm, 0, &settings),
            ];
            mark_unfinished(&mut rows, &settings, interrupted);
            assert!(rows[0].entry.unsent(), "never sent");
            assert_eq!(
                rows[1].entry.state,
                Some(RegistrationState::RegistrationFailed),
                "640 stands"
            );
            engine::assert_says(&rows[2].entry, &["still being processed", end]);
            engine::assert_says(&rows[3].entry, &["not yet listed", end]);
        }
    }

    fn staged(import_id: &str, status: &str) -> ImportedIdentity {
        serde_json::from_value(serde_json::json!({
            "id": "rec-1",
            "serialNumber": "S-1",
            "importId": import_id,
            "state": {"deviceImportStatus": status},
        }))
        .unwrap()
    }

    fn registered(tag: &str) -> AutopilotDevice {
        serde_json::from_value(serde_json::json!({
            "id": "ap-1", "serialNumber": "S-1", "groupTag": tag, "enrollmentState": "notContacted",
        }))
        .unwrap()
    }

    fn marker(rest: &str) -> String {
        format!("{}{rest}", crate::import::settings::IMPORT_ID_PREFIX)
    }

    /// One row decided from what the tenant holds, at a fixed time, with
    /// `this_machine` the records this machine's ledger knows.
    fn decided(
        tag: Option<&str>,
        reg: Option<AutopilotDevice>,
        st: Option<ImportedIdentity>,
        dry_run: bool,
        this_machine: &[&str],
    ) -> (Tracked, Option<String>) {
        let settings = engine::test_settings();
        let mine = marker("1800000600-this-run");
        let this_machine = this_machine.iter().map(|s| (*s).to_owned()).collect();
        let seen = Seen {
            now: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            mine: &mine,
            this_machine: &this_machine,
            dry_run,
        };
        let mut t = row(Phase::ToSend, 0, &settings);
        t.entry.group_tag = tag.map(str::to_owned);
        let followed = decide(&mut t, reg.as_ref(), st.as_ref(), &seen);
        (t, followed)
    }

    /// Before anything is sent, each row is decided from what its serial
    /// holds in the tenant: registered wins; nothing there is to send.
    #[test]
    fn a_registered_row_is_done_and_an_absent_one_is_sent() {
        let live = marker("1800000600-other-run");
        let (t, f) = decided(
            None,
            Some(registered("Lab")),
            Some(staged(&live, "pending")),
            false,
            &[],
        );
        assert_eq!(
            (t.phase, t.entry.action, f),
            (Phase::Done, Action::AlreadyRegistered, None),
            "registered wins"
        );
        let (t, _) = decided(Some("Kiosk"), Some(registered("Lab")), None, false, &[]);
        assert_eq!(t.phase, Phase::Tag, "registered with another tag: the tag is set");
        let (t, f) = decided(None, None, None, false, &[]);
        assert_eq!(
            (t.phase, t.entry.action, f),
            (Phase::ToSend, Action::NotSent, None),
            "nothing there: to send"
        );
        let (t, _) = decided(None, None, None, true, &[]);
        assert_eq!(
            (t.entry.action, t.entry.state),
            (Action::WouldSend, None),
            "dry run: would be sent"
        );
    }

    /// A staged record is followed whoever made it, never sent again; it
    /// is the run's to delete when its own, this machine's, settled before
    /// the run, or its device is registered.
    #[test]
    fn a_staged_row_is_followed_whoever_made_it() {
        let live = marker("1800000600-other-run");
        let ended = marker("1799999000-old-run");
        let (t, f) = decided(None, None, Some(staged(&live, "pending")), false, &[]);
        assert_eq!(
            (t.phase, t.entry.action, t.x.ours, f.as_deref()),
            (Phase::Sent, Action::FollowedStaged, false, Some("rec-1")),
            "a live run's record elsewhere is followed, read only"
        );
        assert!(
            !t.x.deletes_record(false),
            "and not deleted while its device is not registered"
        );
        assert!(t.x.deletes_record(true), "but once it is, whoever made it");
        let (t, _) = decided(None, None, Some(staged(&live, "pending")), false, &["rec-1"]);
        assert!(
            t.x.ours,
            "this machine's earlier run has ended: its record is this run's to finish"
        );
        let (t, _) = decided(None, None, Some(staged(&ended, "error")), false, &[]);
        assert_eq!(
            (t.phase, t.x.ours),
            (Phase::Sent, true),
            "an ended apctl run's record is followed and apctl's"
        );
        let (t, _) = decided(None, None, Some(staged("rec-1", "pending")), false, &[]);
        assert_eq!(
            (t.phase, t.x.ours, t.x.settled_before),
            (Phase::Sent, false, false),
            "a record with a rewritten importId is followed, not owned"
        );
        let (t, _) = decided(None, None, Some(staged("rec-1", "error")), false, &[]);
        assert!(
            t.x.settled_before && t.x.deletes_record(false),
            "one with its verdict before the run is deleted once reported"
        );
    }
}
