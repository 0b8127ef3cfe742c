//! The Graph import pipe for one tenant, end to end (SPEC §3.1, §3.2,
//! §3.5): look up what is already registered or staged and never send it
//! again; import the rest in chunks; poll with a deadline until every
//! device is `complete` or `error`; confirm successes and 806s in the
//! registered-device list, which also gives each device's state; resend
//! transient 640s a few times; and delete the staged records this run
//! created once they are final, never anyone else's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::graph::{AutopilotDevice, Graph, ImportItem, ImportedIdentity};
use crate::import::progress::{entry_for, interrupted_cause, warning};
use crate::import::rows::{self, Row};
use crate::import::settings::{IMPORT_ID_PREFIX, LIST_POLL_THRESHOLD};
use crate::import::waiter::{self, Check, Round, Step, Wait};
use crate::import::{Cancel, Event, ImportSettings, Progress, TenantOutcome};
use crate::input::device::{Device, Identity, Pipe};
use crate::portal::outcome::{self, ErrorKind, Verdict};
use crate::portal::state::{DeviceMessage, RegistrationState};
use crate::report::{Action, Cause, Entry, TenantError};
use crate::transport::throttle::TenantGate;
use crate::transport::{CallError, Client};

/// Where a device is in the pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    ToSend,
    Staged,
    Confirm,
    Done,
}

struct Tracked {
    device: Device,
    entry: Entry,
    phase: Phase,
    staged_id: Option<String>,
    /// The staged record was created by apctl and may be deleted.
    ours: bool,
    resends: u32,
    /// The staged record disappeared before its verdict was read.
    vanished: bool,
}

impl Row for Tracked {
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
        self.phase != Phase::ToSend
    }
    fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}

fn snapshot(tracked: &[Tracked], settings: &ImportSettings, progress: &dyn Progress, now: bool) {
    rows::snapshot(tracked, settings, Pipe::Graph, progress, now);
}

/// Imports hash devices into one tenant; every Graph call passes `gate`.
pub async fn import_tenant(
    client: &Client,
    settings: &ImportSettings,
    devices: Vec<Device>,
    gate: &TenantGate,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> TenantOutcome {
    let graph = Graph {
        client,
        root: &settings.graph_root,
        tenant: &settings.tenant,
        gate,
        scope: settings.graph_scope,
    };
    let deadline = client.clock().now() + settings.deadline;
    let mut tracked: Vec<Tracked> = devices.into_iter().map(|d| track(d, settings)).collect();
    if tracked.is_empty() {
        return rows::finish(tracked, None, false);
    }
    if let Some(error) = &settings.preflight_failure {
        return rows::stop_all(tracked, error.clone());
    }
    let leftovers = match lookup(&graph, &mut tracked, settings, progress).await {
        Ok(leftovers) => leftovers,
        Err(e) => return rows::stop_all(tracked, tenant_error(&settings.tenant, &e)),
    };
    snapshot(&tracked, settings, progress, true);
    if !settings.dry_run {
        send_all(&graph, &mut tracked, settings, progress, cancel).await;
        snapshot(&tracked, settings, progress, true);
        if settings.wait {
            settle(&graph, &mut tracked, settings, progress, cancel, deadline).await;
            // Every verdict is on record before the slow part: one
            // write per staged record, paced by the tenant's budget.
            snapshot(&tracked, settings, progress, true);
            cleanup(&graph, &tracked, leftovers, settings, progress).await;
        }
    }
    mark_unfinished(&mut tracked, settings);
    rows::finish(tracked, None, cancel.is_cancelled())
}

fn track(device: Device, settings: &ImportSettings) -> Tracked {
    let entry = entry_for(&device, settings);
    Tracked {
        device,
        entry,
        phase: Phase::ToSend,
        staged_id: None,
        ours: false,
        resends: 0,
        vanished: false,
    }
}

/// Before sending: serials already registered are done; serials already
/// staged are followed instead of sent again. Returns apctl's own staged
/// records of the run's devices that are registered already: an earlier
/// run's leftovers (it was killed before its cleanup), to delete.
async fn lookup(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
    progress: &dyn Progress,
) -> Result<Vec<String>, CallError> {
    let registered = by_serial(graph.list_registered().await?, |d| d.serial_number.clone());
    let all_staged = graph.list_imported().await?;
    let now = graph.client.clock().wall();
    let serials: std::collections::HashSet<&str> = registered.keys().map(String::as_str).collect();
    let mut leftovers: Vec<String> = leftovers(&all_staged, &serials, now.as_second())
        .into_iter()
        .map(|r| r.id.clone())
        .collect();
    let staged = by_serial(all_staged, |s| s.serial_number.clone());
    let (mine, now_epoch) = (settings.marker(), now.as_second());
    progress.event(Event::LookedUp {
        tenant: settings.tenant.clone(),
        registered: registered.len(),
        staged: staged.len(),
    });
    for t in tracked.iter_mut() {
        let Some(serial) = t.device.serial.clone() else {
            continue;
        };
        if let Some(device) = registered.get(&serial) {
            t.entry.action = Action::AlreadyRegistered;
            confirm(
                &mut t.entry,
                device,
                now,
                Some(DeviceMessage::DeviceAlreadyRegistered),
            );
            t.phase = Phase::Done;
        } else if let Some(record) = staged
            .get(&serial)
            .filter(|r| !settings.wait_for_other_runs && another_live_run(r, &mine, now_epoch))
        {
            // Another apctl run (here or on another machine) sent it and
            // may be following it now: not resent, not followed, not
            // deleted under it.
            t.entry.action = Action::AnotherRun;
            t.entry.imported_identity_id = Some(record.id.clone());
            t.entry.details = format!(
                "Another apctl run sent this device and may still be following it (import id `{}`): nothing was sent; run apctl again once it has finished, or add `--wait-for-other-runs` to follow it.",
                record.import_id.as_deref().unwrap_or("")
            );
            t.phase = Phase::Done;
        } else if let Some(record) = staged.get(&serial) {
            // Followed, so not a leftover: it is deleted once settled.
            leftovers.retain(|id| *id != record.id);
            t.entry.action = Action::FollowedStaged;
            t.staged_id = Some(record.id.clone());
            t.entry.imported_identity_id = Some(record.id.clone());
            t.ours = is_apctls(record) && !another_live_run(record, &mine, now_epoch);
            t.phase = Phase::Staged;
            if settings.dry_run {
                t.entry.details =
                    "already staged by an earlier import; it would be followed, not sent again".into();
            }
        } else if settings.dry_run {
            t.entry.action = Action::WouldSend;
            t.entry.details = "would be imported (dry run: nothing was sent)".into();
        }
    }
    Ok(leftovers)
}

/// True for a staged record of another apctl run that may still be going
/// (its marker's end time is still ahead) and whose device has no verdict
/// yet.
fn another_live_run(record: &ImportedIdentity, mine: &str, now_epoch: i64) -> bool {
    let Some(marker) = record.import_id.as_deref().filter(|m| *m != mine) else {
        return false;
    };
    !settled(record) && marker_until(marker).is_some_and(|until| until > now_epoch)
}

/// True once the service has given the record its verdict.
fn settled(record: &ImportedIdentity) -> bool {
    matches!(
        record.state.device_import_status,
        crate::portal::outcome::ImportStatus::Complete | crate::portal::outcome::ImportStatus::Error
    )
}

/// apctl's staged records that nobody needs any more, for whoever sees
/// them to delete: those of a device the tenant has registered (whatever
/// run made them: a run still following one sees it vanish and finds the
/// device registered), and those with a verdict from a run that has ended
/// (its marker's end time passed, or a marker of the older shape).
pub fn leftovers<'a>(
    staged: &'a [ImportedIdentity],
    registered: &std::collections::HashSet<&str>,
    now_epoch: i64,
) -> Vec<&'a ImportedIdentity> {
    staged
        .iter()
        .filter(|r| is_apctls(r))
        .filter(|r| {
            let serial_registered = r.serial_number.as_deref().is_some_and(|s| registered.contains(s));
            let ended = r
                .import_id
                .as_deref()
                .and_then(marker_until)
                .is_none_or(|until| until <= now_epoch);
            serial_registered || (settled(r) && ended)
        })
        .collect()
}

/// The end time in an apctl marker, if it is one of the current shape.
pub fn marker_until(marker: &str) -> Option<i64> {
    let rest = marker.strip_prefix(IMPORT_ID_PREFIX)?;
    let (until, _) = rest.split_once('-')?;
    until.parse().ok()
}

/// A staged record an apctl run created (its `importId` marker).
fn is_apctls(record: &ImportedIdentity) -> bool {
    record
        .import_id
        .as_deref()
        .is_some_and(|i| i.starts_with(IMPORT_ID_PREFIX))
}

fn by_serial<T>(items: Vec<T>, serial: impl Fn(&T) -> Option<String>) -> HashMap<String, T> {
    items
        .into_iter()
        .filter_map(|i| serial(&i).map(|s| (s, i)))
        .collect()
}

/// Records a registered device's state on an entry.
fn confirm(
    entry: &mut Entry,
    device: &AutopilotDevice,
    now: jiff::Timestamp,
    message: Option<DeviceMessage>,
) {
    let enrollment = device
        .enrollment_state
        .clone()
        .unwrap_or(outcome::EnrollmentState::Unknown);
    let state = outcome::registered_state(&enrollment, device.last_contact(), now);
    entry.autopilot_device_id = Some(device.id.clone());
    entry.set(state, message);
    if message.is_none() {
        entry.details = format!("Registered as Autopilot device {}.", device.id);
    }
}

fn import_item(t: &Tracked, marker: &str) -> Option<ImportItem> {
    let Identity::HardwareHash { hash, product_key } = &t.device.identity else {
        return None;
    };
    Some(ImportItem {
        serial_number: t.device.serial.clone()?,
        hardware_identifier: hash.shared(),
        product_key: product_key.clone(),
        group_tag: t.entry.group_tag.clone(),
        assigned_user_principal_name: t.device.assigned_user.clone(),
        import_id: Some(marker.to_owned()),
    })
}

/// Sends every device still to send, in chunks; the chunks go out
/// together, as far as the tenant's concurrency limit lets them.
async fn send_all(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
    progress: &dyn Progress,
    cancel: &Cancel,
) {
    if cancel.is_cancelled() {
        return;
    }
    let todo: Vec<usize> = (0..tracked.len())
        .filter(|&i| tracked[i].phase == Phase::ToSend)
        .collect();
    let chunks: Vec<&[usize]> = todo.chunks(settings.chunk_size.get()).collect();
    let marker = settings.marker();
    let mut posts: futures::stream::FuturesUnordered<_> = chunks
        .iter()
        .enumerate()
        .map(|(k, chunk)| {
            let items = chunk
                .iter()
                .filter_map(|&i| import_item(&tracked[i], &marker))
                .collect();
            async move { (k, post_chunk(graph, items, settings, progress).await) }
        })
        .collect();
    // Each chunk's answer is taken as it comes, and put on record at once:
    // a run killed while later chunks are on the wire knows these.
    while let Some((k, answer)) = futures::StreamExt::next(&mut posts).await {
        let chunk = chunks[k];
        adopt(tracked, chunk, answer.staged);
        for &i in chunk {
            tracked[i].entry.request_id.clone_from(&answer.request_id);
        }
        match answer.failure {
            Some(e) => {
                let unsent: Vec<usize> = chunk
                    .iter()
                    .copied()
                    .filter(|&i| tracked[i].phase == Phase::ToSend)
                    .collect();
                fail_all(tracked, &unsent, &tenant_error(&settings.tenant, &e));
            }
            None => missing_from_answer(tracked, chunk),
        }
        let sent = chunk
            .iter()
            .filter(|&&i| tracked[i].entry.action == Action::Sent)
            .count();
        progress.event(Event::Sent {
            tenant: settings.tenant.clone(),
            count: sent,
        });
        snapshot(tracked, settings, progress, true);
    }
}

/// What one chunk's import came to.
struct ChunkAnswer {
    staged: Vec<ImportedIdentity>,
    request_id: Option<String>,
    failure: Option<CallError>,
}

/// Imports one chunk. A POST that may have been sent is never resent
/// blindly: the staged list is read, and only the devices this run has not
/// staged yet are sent again.
async fn post_chunk(
    graph: &Graph<'_>,
    mut items: Vec<ImportItem>,
    settings: &ImportSettings,
    progress: &dyn Progress,
) -> ChunkAnswer {
    let mut staged = Vec::new();
    let mut request_id = None;
    for _ in 0..2 {
        let e = match graph.import(&items).await {
            Ok((answer, rid)) => {
                staged.extend(answer);
                return ChunkAnswer {
                    staged,
                    request_id: rid,
                    failure: None,
                };
            }
            Err(e) => e,
        };
        let CallError::MayHaveBeenSent {
            cause,
            request_id: rid,
            ..
        } = &e
        else {
            return ChunkAnswer {
                staged,
                request_id: e.request_id().map(str::to_owned),
                failure: Some(e),
            };
        };
        request_id = rid.clone();
        progress.event(warning(
            &settings.tenant,
            format!("import may have been sent ({cause}); looking before resending"),
        ));
        let all = match graph.list_imported().await {
            Ok(all) => all,
            Err(e) => {
                return ChunkAnswer {
                    staged,
                    request_id,
                    failure: Some(e),
                };
            }
        };
        let import_id = items.first().and_then(|i| i.import_id.clone());
        let found: Vec<ImportedIdentity> = all
            .into_iter()
            .filter(|s| {
                s.import_id == import_id
                    && items
                        .iter()
                        .any(|i| s.serial_number.as_ref() == Some(&i.serial_number))
            })
            .collect();
        items.retain(|i| {
            !found
                .iter()
                .any(|s| s.serial_number.as_ref() == Some(&i.serial_number))
        });
        staged.extend(found);
        if items.is_empty() {
            return ChunkAnswer {
                staged,
                request_id,
                failure: None,
            };
        }
    }
    let cause = "the service did not confirm the import twice".into();
    let failure = CallError::MayHaveBeenSent {
        kind: "graph.import",
        cause,
        request_id: request_id.clone(),
    };
    ChunkAnswer {
        staged,
        request_id,
        failure: Some(failure),
    }
}

/// Matches staged records to devices by serial.
fn adopt(tracked: &mut [Tracked], indices: &[usize], staged: Vec<ImportedIdentity>) {
    let mut by = by_serial(staged, |s| s.serial_number.clone());
    for &i in indices {
        let t = &mut tracked[i];
        let Some(record) = t.device.serial.as_ref().and_then(|s| by.remove(s)) else {
            continue;
        };
        t.staged_id = Some(record.id.clone());
        t.entry.imported_identity_id = Some(record.id);
        t.entry.action = Action::Sent;
        t.ours = true;
        t.phase = Phase::Staged;
    }
}

fn missing_from_answer(tracked: &mut [Tracked], indices: &[usize]) {
    for &i in indices {
        let t = &mut tracked[i];
        if t.phase == Phase::ToSend {
            t.entry.action = Action::Sent;
            t.entry.set(
                RegistrationState::RegistrationFailed,
                Some(DeviceMessage::UnexpectedError),
            );
            t.entry.details =
                "the import answer did not list this device; run apctl again to retry it".into();
            t.phase = Phase::Done;
        }
    }
}

/// The import call for these devices failed as a whole: the service gave
/// them no verdict, so they are not sent, for that one reason.
fn fail_all(tracked: &mut [Tracked], indices: &[usize], error: &TenantError) {
    let why = Cause::tenant(error);
    for &i in indices {
        tracked[i].entry.not_sent(&why);
        tracked[i].phase = Phase::Done;
    }
}

/// Polls until every device has its final answer, the deadline passes, or
/// the grace after Ctrl-C ends; resends what a transient error sent back.
async fn settle(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
    progress: &dyn Progress,
    cancel: &Cancel,
    deadline: Duration,
) {
    let wait = Wait {
        clock: &**graph.client.clock(),
        cadence: settings.poll_interval,
        deadline,
        grace: settings.grace,
        cancel,
    };
    let polling = Polling {
        graph,
        tracked,
        settings,
        progress,
        cancel,
    };
    waiter::until(wait, polling).await;
}

/// What one round of waiting reads and does.
struct Polling<'a, 'g> {
    graph: &'a Graph<'g>,
    tracked: &'a mut [Tracked],
    settings: &'a ImportSettings,
    progress: &'a dyn Progress,
    cancel: &'a Cancel,
}

impl Step for Polling<'_, '_> {
    async fn step(&mut self, round: Round) -> Check {
        if round != Round::First {
            self.poll().await;
        }
        rows::report_settled(self.tracked, self.settings.tenant.clone(), self.progress);
        if rows::all_done(self.tracked) {
            Check::Settled
        } else {
            Check::Open
        }
    }
}

impl Polling<'_, '_> {
    /// The staged records, then the registered list, then resends.
    async fn poll(&mut self) {
        let Self {
            graph,
            tracked,
            settings,
            progress,
            cancel,
        } = self;
        let (graph, settings, progress, cancel) = (*graph, *settings, *progress, *cancel);
        let staged = poll_staged(graph, tracked, settings).await;
        snapshot(tracked, settings, progress, false);
        if let Err(e) = staged {
            progress.event(warning(
                &settings.tenant,
                format!("polling staged devices failed: {e}"),
            ));
        }
        if let Err(e) = poll_registered(graph, tracked).await {
            progress.event(warning(
                &settings.tenant,
                format!("reading registered devices failed: {e}"),
            ));
        }
        if !cancel.is_cancelled() && tracked.iter().any(|t| t.phase == Phase::ToSend) {
            send_all(graph, tracked, settings, progress, cancel).await;
        }
    }
}

/// Reads the staged records of unsettled devices: one listing when there
/// are many, one GET each when there are few.
async fn poll_staged(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
) -> Result<(), CallError> {
    let waiting: Vec<usize> = (0..tracked.len())
        .filter(|&i| tracked[i].phase == Phase::Staged)
        .collect();
    if waiting.is_empty() {
        return Ok(());
    }
    let records: HashMap<String, ImportedIdentity> = if waiting.len() > LIST_POLL_THRESHOLD {
        graph
            .list_imported()
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect()
    } else {
        let mut m = HashMap::new();
        for &i in &waiting {
            let id = tracked[i].staged_id.clone().unwrap_or_default();
            match graph.get_imported(&id).await {
                Ok(r) => {
                    m.insert(r.id.clone(), r);
                }
                Err(CallError::Service { error, .. }) if error.status == 404 => {}
                Err(e) => return Err(e),
            }
        }
        m
    };
    for i in waiting {
        let Some(record) = tracked[i].staged_id.as_ref().and_then(|id| records.get(id)) else {
            // Gone before its verdict was read: another run (or an admin)
            // deleted it, most likely once the device was registered. The
            // registered list says; nobody waits for the deadline.
            tracked[i].vanished = true;
            tracked[i].phase = Phase::Confirm;
            continue;
        };
        judge(graph, &mut tracked[i], record, settings).await;
    }
    Ok(())
}

/// Applies one staged record's verdict to its device.
async fn judge(graph: &Graph<'_>, t: &mut Tracked, record: &ImportedIdentity, settings: &ImportSettings) {
    let s = &record.state;
    let verdict = outcome::graph_import_verdict(
        &s.device_import_status,
        s.device_error_code,
        s.device_error_name.as_deref(),
    );
    t.entry.error_code = s.device_error_code.filter(|c| *c != 0).map(|c| c.to_string());
    t.entry.error_name = s
        .device_error_name
        .clone()
        .filter(|n| !n.is_empty() && n != "None");
    match verdict {
        Verdict::Pending => {}
        Verdict::Imported | Verdict::AlreadyRegistered => {
            t.phase = Phase::Confirm;
            if verdict == Verdict::AlreadyRegistered {
                t.entry.message = Some(DeviceMessage::DeviceAlreadyRegistered);
            }
        }
        Verdict::Transient if t.resends < settings.max_resends && t.ours => {
            t.resends += 1;
            if let Some(id) = t.staged_id.take() {
                let _ = graph.delete_imported(&id).await;
            }
            t.phase = Phase::ToSend;
        }
        Verdict::Transient => fail_with(t, ErrorKind::Transient),
        Verdict::Failed(kind) => fail_with(t, kind),
    }
}

fn fail_with(t: &mut Tracked, kind: ErrorKind) {
    rows::fail(&mut t.entry, kind);
    if kind.message().is_none() {
        t.entry.details =
            "ZtdDeviceDuplicated: the same hardware hash was uploaded twice; only one row was processed"
                .into();
    }
    if t.entry.action == Action::FollowedStaged && !t.ours {
        t.entry.details.push_str(" (this is an earlier import's staged record: delete it in Intune under Windows Autopilot devices > Import, then run apctl again)");
    }
    t.phase = Phase::Done;
}

/// Devices accepted by the import are confirmed in the registered list,
/// which also gives their state. 806s are confirmed the same way.
async fn poll_registered(graph: &Graph<'_>, tracked: &mut [Tracked]) -> Result<(), CallError> {
    if !tracked.iter().any(|t| t.phase == Phase::Confirm) {
        return Ok(());
    }
    let registered = by_serial(graph.list_registered().await?, |d| d.serial_number.clone());
    let now = graph.client.clock().wall();
    let mut gone: Option<Arc<Cause>> = None;
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Confirm) {
        let Some(device) = t.device.serial.as_ref().and_then(|s| registered.get(s)) else {
            if t.vanished {
                let why = gone.get_or_insert_with(|| {
                    Cause::tenant(&TenantError {
                        tenant: graph.tenant.to_owned(),
                        error: "the staged records of these devices were deleted before apctl read a verdict (by another run or an admin), and the devices are not registered".into(),
                        hint: Some("run apctl again to send them".into()),
                    })
                });
                let action = t.entry.action;
                t.entry.not_sent(why);
                t.entry.action = action;
                t.phase = Phase::Done;
            }
            continue;
        };
        let message = t.entry.message;
        confirm(&mut t.entry, device, now, message);
        t.phase = Phase::Done;
    }
    Ok(())
}

/// Deletes the staged records this run created (or an earlier apctl run
/// did) once their device is settled, and an earlier run's leftovers:
/// several at once, as the tenant's concurrency limit and write budget
/// allow. A record already gone counts as deleted.
async fn cleanup(
    graph: &Graph<'_>,
    tracked: &[Tracked],
    leftovers: Vec<String>,
    settings: &ImportSettings,
    progress: &dyn Progress,
) {
    use futures::StreamExt as _;
    // A record seen gone (another run or an admin deleted it) is not
    // deleted again.
    let ids: Vec<String> = tracked
        .iter()
        .filter(|t| t.ours && t.phase == Phase::Done && !t.vanished)
        .filter_map(|t| t.staged_id.clone())
        .chain(leftovers)
        .collect();
    let width = settings.limits.concurrency.get() as usize;
    futures::stream::iter(ids)
        .map(|id| async move {
            if let Err(e) = graph.delete_imported(&id).await {
                progress.event(warning(
                    graph.tenant,
                    format!("could not delete staged record `{id}` (the next run will): {e}"),
                ));
            }
        })
        .buffer_unordered(width)
        .collect::<Vec<()>>()
        .await;
}

/// Devices with no final answer at the end keep Registration pending, with
/// a reason.
fn mark_unfinished(tracked: &mut [Tracked], settings: &ImportSettings) {
    for t in tracked.iter_mut().filter(|t| t.phase != Phase::Done) {
        match t.phase {
            Phase::ToSend if !settings.dry_run => t.entry.not_sent(&interrupted_cause()),
            Phase::ToSend => {}
            _ if !settings.wait || settings.dry_run => {
                if t.entry.details.is_empty() {
                    t.entry.details = "accepted for registration; run `apctl import` again (or `apctl status`) to see the outcome".into();
                }
            }
            Phase::Confirm => t.entry.details = "imported, but not yet listed among the tenant's Autopilot devices at the deadline".into(),
            _ => t.entry.details = "still being processed by the service at the deadline; run apctl again to follow it (nothing is sent twice)".into(),
        }
    }
}

fn tenant_error(tenant: &str, e: &CallError) -> TenantError {
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
