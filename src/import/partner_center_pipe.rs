//! The Partner Center pipe for one customer, end to end (SPEC §3.3, §3.4):
//! Manufacturer+Model+Serial and product-key rows go into the device batch
//! named by the order id. Before sending, apctl reads the tenant's
//! registered devices (Graph) and the batch's devices (Partner Center) and
//! never sends a device found in either; then it creates the batch or adds
//! to it in chunks, follows each `Location` until the job is final, reads
//! every device's status and string error code (a `finished` job can hold
//! a failed device), waits for registered devices to appear in the tenant's
//! Autopilot list, and sets and verifies their group tags there with
//! `updateDeviceProperties`. A tag that could not be set is said so on the
//! row, never passed over.

use std::collections::HashMap;
use std::time::Duration;

use crate::graph::{AutopilotDevice, Graph};
use crate::import::progress::{entry_for, interrupted_cause, warning};
use crate::import::rows::{self, Row};
use crate::import::waiter::{self, Check, Round, Step, Wait};
use crate::import::{Cancel, Event, ImportSettings, Progress, TenantOutcome};
use crate::input::device::{Device, Identity, Pipe};
use crate::partner_center::{Accepted, BatchDevice, ListedDevice, PartnerCenter};
use crate::portal::outcome::{self, ErrorKind, Verdict};
use crate::portal::state::{DeviceMessage, RegistrationState};
use crate::report::{Action, Cause, Entry, TenantError};
use crate::transport::throttle::TenantGate;
use crate::transport::{CallError, Client};

/// Where a device is in the pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    ToSend,
    /// Sent: waiting for the batch job's verdict.
    InBatch,
    /// Registered by Partner Center: waiting for it in the tenant's list.
    Appear,
    /// In the tenant's list: its group tag is to be set and verified.
    Tag,
    Done,
}

struct Tracked {
    device: Device,
    entry: Entry,
    phase: Phase,
    /// Index into the accepted requests whose job status decides it.
    job: Option<usize>,
    /// Tag attempts made.
    tag_attempts: u32,
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

/// What the pipe needs from the Graph side of the same tenant.
struct Ctx<'a> {
    pc: PartnerCenter<'a>,
    graph: Graph<'a>,
    settings: &'a ImportSettings,
    batch: String,
    /// Why Graph could not be read for this tenant, once known.
    graph_unavailable: Option<String>,
}

/// Least time between two reads of the tenant's list while waiting for
/// devices Partner Center registered to show in it.
const MIN_LIST_INTERVAL: Duration = Duration::from_secs(10);

/// Tag writes tried per device before the row says the tag was not applied.
const TAG_ATTEMPTS: u32 = 3;

/// Registers tuple and product-key devices in one customer through
/// Partner Center. `gate` is the tenant's Graph gate (shared with the Graph
/// pipe); Partner Center calls pass a gate of their own.
pub async fn import_customer(
    client: &Client,
    settings: &ImportSettings,
    gate: &TenantGate,
    devices: Vec<Device>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> TenantOutcome {
    let mut tracked: Vec<Tracked> = devices.into_iter().map(|d| track(d, settings)).collect();
    if tracked.is_empty() {
        return rows::finish(tracked, None, false);
    }
    let pc_settings = &settings.partner_center;
    if let Some(error) = &pc_settings.preflight_failure {
        return rows::stop_all(tracked, error.clone());
    }
    // Partner Center is another service with its own throttling: its own
    // gate for the customer, beside the tenant's Graph gate.
    let pc_gate = client.gate_with(
        &format!("partner-center:{}", pc_settings.customer_id),
        settings.limits,
    );
    let mut ctx = Ctx {
        pc: PartnerCenter {
            client,
            root: &pc_settings.root,
            partner_tenant: &pc_settings.partner_tenant,
            customer: &pc_settings.customer_id,
            gate: &pc_gate,
        },
        graph: Graph {
            client,
            root: &settings.graph_root,
            tenant: &settings.tenant,
            gate,
            scope: settings.graph_scope,
        },
        settings,
        batch: pc_settings.batch_id.clone(),
        graph_unavailable: None,
    };
    let deadline = client.clock().now() + settings.deadline;
    let batch_exists = match lookup(&mut ctx, &mut tracked, progress).await {
        Ok(exists) => exists,
        Err(e) => return rows::stop_all(tracked, tenant_error(&settings.tenant, &e)),
    };
    let mut jobs = Vec::new();
    snapshot(&tracked, settings, progress, true);
    if !settings.dry_run && !cancel.is_cancelled() {
        send(&ctx, &mut tracked, &mut jobs, batch_exists, progress).await;
        snapshot(&tracked, settings, progress, true);
        if settings.wait {
            settle(&mut ctx, &mut tracked, &jobs, progress, cancel, deadline).await;
        }
    }
    mark_unfinished(&ctx, &mut tracked);
    rows::finish(tracked, None, cancel.is_cancelled())
}

fn snapshot(tracked: &[Tracked], settings: &ImportSettings, progress: &dyn Progress, now: bool) {
    rows::snapshot(tracked, settings, Pipe::PartnerCenter, progress, now);
}

fn track(device: Device, settings: &ImportSettings) -> Tracked {
    let mut entry = entry_for(&device, settings);
    entry.batch_id = Some(settings.partner_center.batch_id.clone());
    Tracked {
        device,
        entry,
        phase: Phase::ToSend,
        job: None,
        tag_attempts: 0,
    }
}

/// The device as a batch takes it.
fn batch_device(d: &Device) -> BatchDevice {
    match &d.identity {
        Identity::Tuple { manufacturer, model } => BatchDevice {
            serial_number: d.serial.clone(),
            oem_manufacturer_name: Some(manufacturer.clone()),
            model_name: Some(model.clone()),
            ..BatchDevice::default()
        },
        Identity::ProductKey(key) => BatchDevice {
            product_key: Some(key.clone()),
            serial_number: d.serial.clone(),
            ..BatchDevice::default()
        },
        Identity::HardwareHash { hash, product_key } => BatchDevice {
            serial_number: d.serial.clone(),
            hardware_hash: Some(hash.expose().to_owned()),
            product_key: product_key.clone(),
            ..BatchDevice::default()
        },
    }
}

/// True when a device listed in the batch is this row's device: the same
/// product key, or the same serial, manufacturer and model (exactly, as
/// Partner Center matches them).
fn same_device(d: &Device, listed: &ListedDevice) -> bool {
    match &d.identity {
        Identity::ProductKey(key) => listed.product_key.as_deref() == Some(key.as_str()),
        Identity::Tuple { manufacturer, model } => {
            listed.serial_number.is_some()
                && listed.serial_number == d.serial
                && listed.oem_manufacturer_name.as_deref() == Some(manufacturer.as_str())
                && listed.model_name.as_deref() == Some(model.as_str())
        }
        Identity::HardwareHash { .. } => listed.serial_number.is_some() && listed.serial_number == d.serial,
    }
}

/// Reads what is already there: the tenant's registered devices and the
/// batch's devices. Returns whether the batch exists.
async fn lookup(
    ctx: &mut Ctx<'_>,
    tracked: &mut [Tracked],
    progress: &dyn Progress,
) -> Result<bool, CallError> {
    let batches = ctx.pc.list_batches().await?;
    let exists = batches.iter().any(|b| b.id == ctx.batch);
    let in_batch = if exists {
        ctx.pc.list_batch_devices(&ctx.batch).await?
    } else {
        Vec::new()
    };
    let registered = match ctx.graph.list_registered().await {
        Ok(list) => by_serial(list),
        Err(e) => {
            ctx.graph_unavailable = Some(graph_reason(&e));
            HashMap::new()
        }
    };
    progress.event(Event::LookedUpBatch {
        tenant: label(ctx.settings),
        registered: registered.len(),
        batch: ctx.batch.clone(),
        in_batch: in_batch.len(),
    });
    let now = ctx.graph.client.clock().wall();
    for t in tracked.iter_mut() {
        if let Some(device) = find_registered(&t.device, &registered) {
            t.entry.action = Action::AlreadyRegistered;
            confirm(t, device, now, Some(DeviceMessage::DeviceAlreadyRegistered));
        } else if in_batch.iter().any(|l| same_device(&t.device, l)) {
            t.entry.action = Action::AlreadyRegistered;
            t.entry.message = Some(DeviceMessage::DeviceAlreadyRegistered);
            t.entry.details = format!("already in device batch `{}`: not sent again", ctx.batch);
            t.phase = Phase::Appear;
        } else if ctx.settings.dry_run {
            t.entry.action = Action::WouldSend;
            t.entry.details = format!(
                "would be sent to Partner Center in device batch `{}` (dry run: nothing was sent)",
                ctx.batch
            );
        }
    }
    Ok(exists)
}

/// The row's device among registered ones: by serial, or for a product-key
/// row without one, by product key.
fn find_registered<'a>(
    d: &Device,
    registered: &'a HashMap<String, AutopilotDevice>,
) -> Option<&'a AutopilotDevice> {
    if let Some(serial) = &d.serial {
        return registered.get(serial).filter(|r| listed_matches(d, r));
    }
    let Identity::ProductKey(key) = &d.identity else {
        return None;
    };
    registered
        .values()
        .find(|r| r.product_key.as_deref() == Some(key.as_str()))
}

/// A registered device is this row's when its serial matches and, for a
/// tuple, so do manufacturer and model where Graph lists them.
fn listed_matches(d: &Device, r: &AutopilotDevice) -> bool {
    match &d.identity {
        Identity::Tuple { manufacturer, model } => {
            r.manufacturer.as_deref().is_none_or(|m| m == manufacturer)
                && r.model.as_deref().is_none_or(|m| m == model)
        }
        _ => true,
    }
}

fn by_serial(list: Vec<AutopilotDevice>) -> HashMap<String, AutopilotDevice> {
    list.into_iter()
        .filter_map(|d| d.serial_number.clone().map(|s| (s, d)))
        .collect()
}

/// Sends every device still to send: the first chunk creates the batch
/// when it does not exist, the others are added to it. A request that may
/// have reached the service is checked against the batch before anything
/// is sent again.
async fn send(
    ctx: &Ctx<'_>,
    tracked: &mut [Tracked],
    jobs: &mut Vec<Accepted>,
    mut batch_exists: bool,
    progress: &dyn Progress,
) {
    let todo: Vec<usize> = (0..tracked.len())
        .filter(|&i| tracked[i].phase == Phase::ToSend)
        .collect();
    for chunk in todo.chunks(ctx.settings.chunk_size.get()) {
        let devices: Vec<BatchDevice> = chunk.iter().map(|&i| batch_device(&tracked[i].device)).collect();
        let answer = if batch_exists {
            ctx.pc.add_devices(&ctx.batch, &devices).await
        } else {
            ctx.pc.create_batch(&ctx.batch, &devices).await
        };
        match answer {
            Ok(accepted) => {
                batch_exists = true;
                for &i in chunk {
                    let t = &mut tracked[i];
                    t.entry.action = Action::Sent;
                    t.entry.request_id = accepted.request_id.clone();
                    t.job = Some(jobs.len());
                    t.phase = Phase::InBatch;
                }
                jobs.push(accepted);
                progress.event(Event::Sent {
                    tenant: label(ctx.settings),
                    count: chunk.len(),
                });
            }
            Err(CallError::MayHaveBeenSent {
                request_id, cause, ..
            }) => {
                // Look before sending again: whatever reached the batch is
                // followed in the tenant's list, the rest fails for this run.
                let listed = ctx.pc.list_batch_devices(&ctx.batch).await.unwrap_or_default();
                let lost = Cause::tenant(&TenantError {
                    tenant: ctx.settings.tenant.clone(),
                    error: format!(
                        "Partner Center: the answer to a batch request was lost ({cause}) and its devices are not in device batch `{}`",
                        ctx.batch
                    ),
                    hint: Some(
                        "run apctl again to send them: it looks in the batch first, so nothing is sent twice"
                            .into(),
                    ),
                });
                batch_exists = batch_exists || !listed.is_empty();
                for &i in chunk {
                    let t = &mut tracked[i];
                    t.entry.request_id = request_id.clone();
                    if listed.iter().any(|l| same_device(&t.device, l)) {
                        t.entry.action = Action::Sent;
                        t.entry.details = format!(
                            "The answer to the batch request was lost ({cause}), but the device is in device batch `{}`: followed in the tenant's list.",
                            ctx.batch
                        );
                        t.phase = Phase::Appear;
                    } else {
                        t.entry.not_sent(&lost);
                        t.phase = Phase::Done;
                    }
                }
            }
            Err(e) => {
                // Partner Center refused the batch as a whole: its devices
                // got no verdict.
                let why = Cause::tenant(&tenant_error(&ctx.settings.tenant, &e));
                for &i in chunk {
                    let t = &mut tracked[i];
                    t.entry.request_id = e.request_id().map(str::to_owned);
                    t.entry.not_sent(&why);
                    t.phase = Phase::Done;
                }
            }
        }
    }
}

/// Polls the batch jobs and the tenant's list until every device has its
/// final answer (tag included), the deadline passes, or the grace after
/// Ctrl-C ends.
async fn settle(
    ctx: &mut Ctx<'_>,
    tracked: &mut [Tracked],
    jobs: &[Accepted],
    progress: &dyn Progress,
    cancel: &Cancel,
    deadline: Duration,
) {
    let clock = ctx.graph.client.clock().clone();
    let wait = Wait {
        clock: &*clock,
        cadence: ctx.settings.poll_interval,
        deadline,
        grace: ctx.settings.grace,
        cancel,
    };
    let polling = Polling {
        ctx,
        tracked,
        jobs,
        progress,
        next_list: Duration::ZERO,
    };
    waiter::until(wait, polling).await;
}

/// What one round of waiting reads and does.
struct Polling<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
    tracked: &'a mut [Tracked],
    jobs: &'a [Accepted],
    progress: &'a dyn Progress,
    /// When the tenant's list may be read again.
    next_list: Duration,
}

impl Step for Polling<'_, '_> {
    async fn step(&mut self, round: Round) -> Check {
        if round != Round::First {
            self.poll().await;
        }
        loop {
            if self.ctx.graph_unavailable.is_some() {
                settle_without_graph(self.ctx, self.tracked);
            }
            snapshot(self.tracked, self.ctx.settings, self.progress, false);
            rows::report_settled(self.tracked, label(self.ctx.settings), self.progress);
            if rows::all_done(self.tracked) {
                return Check::Settled;
            }
            if !self.tracked.iter().any(|t| t.phase == Phase::Tag) {
                return Check::Open;
            }
            tag(self.ctx, self.tracked, self.progress).await;
        }
    }
}

impl Polling<'_, '_> {
    /// The batch jobs, then (less often) the tenant's list.
    async fn poll(&mut self) {
        let ctx = &mut *self.ctx;
        let progress = self.progress;
        if let Err(e) = poll_jobs(ctx, self.tracked, self.jobs).await {
            progress.event(warning(
                &ctx.settings.tenant,
                format!("reading batch status failed: {e}"),
            ));
        }
        let clock = ctx.graph.client.clock().clone();
        let look = self.tracked.iter().any(|t| t.phase == Phase::Appear) && ctx.graph_unavailable.is_none();
        if look && clock.now() >= self.next_list {
            // Partner Center's registrations reach Intune in minutes, not
            // seconds: the list (maybe many pages) is read less often.
            self.next_list = clock.now() + ctx.settings.poll_interval.max(MIN_LIST_INTERVAL);
            match ctx.graph.list_registered().await {
                Ok(list) => appear(self.tracked, &by_serial(list), clock.wall()),
                Err(e) if is_denied(&e) => ctx.graph_unavailable = Some(graph_reason(&e)),
                Err(e) => progress.event(warning(
                    &ctx.settings.tenant,
                    format!("reading registered devices failed: {e}"),
                )),
            }
        }
    }
}

/// Reads each unfinished job once and applies every device's status.
async fn poll_jobs(ctx: &Ctx<'_>, tracked: &mut [Tracked], jobs: &[Accepted]) -> Result<(), CallError> {
    for (j, job) in jobs.iter().enumerate() {
        if !tracked
            .iter()
            .any(|t| t.job == Some(j) && t.phase == Phase::InBatch)
        {
            continue;
        }
        let status = ctx.pc.batch_status(&job.location).await?;
        for t in tracked
            .iter_mut()
            .filter(|t| t.job == Some(j) && t.phase == Phase::InBatch)
        {
            let element = status.devices_status.iter().find(|d| {
                let by_key = matches!(&t.device.identity, Identity::ProductKey(key) if d.product_key.as_deref() == Some(key.as_str()));
                by_key || (d.serial_number.is_some() && d.serial_number == t.device.serial)
            });
            let Some(d) = element else {
                if status.is_final() {
                    fail(t, ErrorKind::Other);
                    t.entry
                        .details
                        .push_str(" Partner Center finished the batch job without a status for this device.");
                }
                continue;
            };
            if t.device.serial.is_none() {
                // A product-key row learns its serial from the job.
                t.device.serial = d.serial_number.clone().filter(|s| !s.is_empty());
                t.entry.serial_number.clone_from(&t.device.serial);
            }
            let code = d
                .error_code
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty() && *c != "0");
            t.entry.error_code = code.map(str::to_owned);
            t.entry.error_name = d.error_description.clone().filter(|n| !n.is_empty());
            match outcome::partner_center_verdict(
                &d.status,
                d.error_code.as_deref(),
                d.error_description.as_deref(),
            ) {
                Verdict::Pending => {}
                Verdict::Imported => t.phase = Phase::Appear,
                Verdict::AlreadyRegistered => {
                    t.entry.message = Some(DeviceMessage::DeviceAlreadyRegistered);
                    t.phase = Phase::Appear;
                }
                Verdict::Transient => fail(t, ErrorKind::Transient),
                Verdict::Failed(kind) => fail(t, kind),
            }
        }
    }
    Ok(())
}

/// Devices Partner Center registered that now show in the tenant's list
/// take their state from it; those with a tag to set move on to tagging.
fn appear(tracked: &mut [Tracked], registered: &HashMap<String, AutopilotDevice>, now: jiff::Timestamp) {
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Appear) {
        let Some(device) = find_registered(&t.device, registered) else {
            continue;
        };
        let message = t.entry.message;
        confirm(t, device, now, message);
    }
}

/// Records a registered device's state; a tag that differs is to be set.
fn confirm(t: &mut Tracked, device: &AutopilotDevice, now: jiff::Timestamp, message: Option<DeviceMessage>) {
    let enrollment = device
        .enrollment_state
        .clone()
        .unwrap_or(outcome::EnrollmentState::Unknown);
    let state = outcome::registered_state(&enrollment, device.last_contact(), now);
    t.entry.autopilot_device_id = Some(device.id.clone());
    if t.device.serial.is_none() {
        // A product-key row learns its serial from the tenant's list.
        t.device.serial.clone_from(&device.serial_number);
        t.entry.serial_number.clone_from(&device.serial_number);
    }
    let details = std::mem::take(&mut t.entry.details);
    t.entry.set(state, message);
    if message.is_none() {
        t.entry.details = format!(
            "Registered through Partner Center as Autopilot device {}.",
            device.id
        );
    } else if !details.is_empty() && t.entry.details.is_empty() {
        t.entry.details = details;
    }
    let wanted = t.entry.group_tag.clone();
    match wanted {
        Some(tag) if device.group_tag.as_deref() != Some(tag.as_str()) => t.phase = Phase::Tag,
        Some(_) => {
            t.entry.group_tag_applied = Some(true);
            t.phase = Phase::Done;
        }
        None => t.phase = Phase::Done,
    }
}

/// Sets each wanted group tag with `updateDeviceProperties` and reads the
/// device back to verify it.
async fn tag(ctx: &mut Ctx<'_>, tracked: &mut [Tracked], progress: &dyn Progress) {
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Tag) {
        let (Some(id), Some(wanted)) = (t.entry.autopilot_device_id.clone(), t.entry.group_tag.clone())
        else {
            t.phase = Phase::Done;
            continue;
        };
        t.tag_attempts += 1;
        let result = async {
            ctx.graph
                .update_device_properties(&id, Some(&wanted), t.device.assigned_user.as_deref())
                .await?;
            ctx.graph.get_registered(&id).await
        }
        .await;
        match result {
            Ok(device) if device.group_tag.as_deref() == Some(wanted.as_str()) => {
                t.entry.group_tag_applied = Some(true);
                t.phase = Phase::Done;
            }
            Ok(device) if t.tag_attempts >= TAG_ATTEMPTS => {
                tag_not_applied(
                    t,
                    &format!(
                        "the device still reads group tag {:?} after {TAG_ATTEMPTS} updates",
                        device.group_tag.unwrap_or_default()
                    ),
                );
            }
            Ok(_) => {}
            Err(e) if is_denied(&e) || t.tag_attempts >= TAG_ATTEMPTS => {
                tag_not_applied(t, &graph_reason(&e));
            }
            Err(e) => progress.event(warning(
                &ctx.settings.tenant,
                format!("setting a group tag failed (tried again): {e}"),
            )),
        }
    }
}

fn tag_not_applied(t: &mut Tracked, why: &str) {
    t.entry.group_tag_applied = Some(false);
    let tag = t.entry.group_tag.clone().unwrap_or_default();
    let sep = if t.entry.details.is_empty() { "" } else { " " };
    t.entry.details = format!(
        "{}{sep}Group tag `{tag}` was NOT applied: {why}. Set it in Intune (Devices > Windows > Enrollment > Devices) or run apctl again once Graph access works.",
        t.entry.details
    );
    t.phase = Phase::Done;
}

/// Without Graph, a device Partner Center registered is Ready for user (a
/// new registration is not enrolled yet), unconfirmed, and its tag cannot
/// be set.
fn settle_without_graph(ctx: &Ctx<'_>, tracked: &mut [Tracked]) {
    let why = ctx.graph_unavailable.clone().unwrap_or_default();
    for t in tracked
        .iter_mut()
        .filter(|t| matches!(t.phase, Phase::Appear | Phase::Tag))
    {
        let message = t.entry.message;
        let details = std::mem::take(&mut t.entry.details);
        t.entry.set(RegistrationState::ReadyForUser, message);
        if message.is_none() {
            t.entry.details = details;
        }
        let sep = if t.entry.details.is_empty() { "" } else { " " };
        t.entry.details = format!(
            "{}{sep}Registered through Partner Center; not confirmed in the tenant's Autopilot list: {why}.",
            t.entry.details
        );
        if t.entry.group_tag.is_some() {
            tag_not_applied(t, "Graph cannot be used in this tenant");
        } else {
            t.phase = Phase::Done;
        }
    }
}

fn fail(t: &mut Tracked, kind: ErrorKind) {
    rows::fail(&mut t.entry, kind);
    t.phase = Phase::Done;
}

/// Devices with no final answer at the end keep Registration pending, with
/// a reason.
fn mark_unfinished(ctx: &Ctx<'_>, tracked: &mut [Tracked]) {
    let settings = ctx.settings;
    for t in tracked.iter_mut().filter(|t| t.phase != Phase::Done) {
        let wanted_tag = t.entry.group_tag.is_some();
        match t.phase {
            Phase::ToSend if settings.dry_run => {}
            Phase::ToSend => t.entry.not_sent(&interrupted_cause()),
            _ if !settings.wait || settings.dry_run => {
                if t.entry.details.is_empty() {
                    t.entry.details = format!(
                        "accepted by Partner Center in device batch `{}`; run `apctl import` again to see the outcome (nothing is sent twice)",
                        ctx.batch
                    );
                }
            }
            Phase::InBatch => {
                t.entry.details = format!(
                    "Partner Center was still processing device batch `{}` at the deadline; run apctl again to follow it (nothing is sent twice)",
                    ctx.batch
                );
            }
            Phase::Appear => {
                t.entry.details = format!(
                    "in device batch `{}`, but not yet listed among the tenant's Autopilot devices at the deadline; run apctl again to confirm it (nothing is sent twice)",
                    ctx.batch
                );
            }
            Phase::Tag => {}
            Phase::Done => {}
        }
        if wanted_tag && t.phase != Phase::ToSend && !settings.dry_run {
            t.entry.group_tag_applied = Some(false);
            let sep = if t.entry.details.is_empty() { "" } else { ". " };
            t.entry.details = format!(
                "{}{sep}Its group tag is not applied yet.",
                t.entry.details.trim_end_matches('.')
            );
        }
    }
}

fn is_denied(e: &CallError) -> bool {
    match e {
        CallError::Auth(_) => true,
        CallError::Service { error, .. } => error.status == 401 || error.status == 403,
        _ => false,
    }
}

fn graph_reason(e: &CallError) -> String {
    match e {
        CallError::Auth(a) => format!("no Graph token for this tenant ({})", a.summary),
        CallError::Service { error, .. } if error.status == 403 || error.status == 401 => {
            format!("Graph refused the call: {}", rows::GRAPH_PERMISSION)
        }
        other => other.to_string(),
    }
}

fn tenant_error(tenant: &str, e: &CallError) -> TenantError {
    let hint = match e {
        CallError::Auth(a) => a.hint.clone(),
        CallError::Service { error, .. } if error.status == 404 || error.status == 403 => {
            "Partner Center does not list this customer for your account: device batches need your direct reseller relationship with the customer (an indirect reseller asks their indirect provider to register the devices, or registers hash rows through Graph)".into()
        }
        CallError::Service { error, .. } if error.status == 401 => {
            "Partner Center refused the token: sign in as a partner admin (`apctl login`) and use the Secure Application Model refresh token".into()
        }
        _ => "check the network and the Partner Center URL; run again later (nothing is sent twice)".into(),
    };
    TenantError {
        tenant: tenant.to_owned(),
        error: format!("Partner Center: {e}"),
        hint: Some(hint),
    }
}

fn label(settings: &ImportSettings) -> String {
    format!("{} (Partner Center)", settings.tenant)
}
