//! The Partner Center pipe for one customer, end to end (SPEC §3.3, §3.4):
//! Manufacturer+Model+Serial and product-key rows go into a device batch
//! named after their group tag, one batch per tag: Partner Center makes the
//! batch name the devices' group tag (the old `OrderID`; Microsoft Managed
//! Desktop's partner steps have the tag entered as the batch name), so a
//! batch named anything else would tag the devices with it, and dynamic
//! groups and profiles would act on it. A row with no tag is not sent: the
//! user chooses one. The order id stays in the reports, for tracking only.
//! Before sending, apctl reads the tenant's
//! registered devices (Graph) and the batch's devices (Partner Center) and
//! never sends a device found in either; then it creates the batch or adds
//! to it in chunks, follows each `Location` until the job is final, reads
//! every device's status and string error code (a `finished` job can hold
//! a failed device), waits for registered devices to appear in the tenant's
//! Autopilot list, and sets and verifies their group tags there with
//! `updateDeviceProperties`. A tag that could not be set is said so on the
//! row, never passed over.

mod send;
mod wait;

use send::send;
use wait::{confirm, settle};

use std::collections::HashMap;
use std::time::Duration;

use crate::graph::{AutopilotDevice, Graph};
use crate::import::after::tags::{self as tag_work, TagWork, graph_reason, is_denied};
use crate::import::pipes::engine::{self, Phase, rows};
use crate::import::pipes::waiter::{self, Check, Round, Step, Wait};
use crate::import::report::progress::{entry_for, interrupted_cause, warning};
use crate::import::{Cancel, Event, ImportSettings, Progress, TenantOutcome};
use crate::input::device::{Device, Identity, Pipe};
use crate::partner_center::{Accepted, BatchDevice, ListedDevice, PartnerCenter};
use crate::portal::details::{Detail, End};
use crate::portal::mapping::{self, ErrorKind, Meaning};
use crate::portal::state::{DeviceMessage, RegistrationState};
use crate::report::{Action, Cause, TenantError};
use crate::transport::throttle::TenantGate;
use crate::transport::{CallError, Client};

/// What the Partner Center pipe keeps of a row beside what every pipe
/// does: the accepted request whose job status decides it.
#[derive(Default)]
struct PcRow {
    job: Option<usize>,
}

type Tracked = engine::Tracked<PcRow>;

/// What the pipe needs from the Graph side of the same tenant.
struct Ctx<'a> {
    pc: PartnerCenter<'a>,
    graph: Graph<'a>,
    settings: &'a ImportSettings,
    batch: String,
    /// Why Graph could not be read for this tenant, once known.
    graph_unavailable: Option<String>,
}

/// Registers tuple and product-key devices in one customer through
/// Partner Center: one batch per group tag, named after it, in turn. Rows
/// without a tag are not sent, for one reason with the fix. `gate` is the
/// tenant's Graph gate (shared with the Graph pipe); Partner Center calls
/// pass a gate of their own.
pub async fn import_customer(
    client: &Client,
    settings: &ImportSettings,
    gate: &TenantGate,
    devices: Vec<Device>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> TenantOutcome {
    let mut by_tag: std::collections::BTreeMap<String, Vec<Device>> = std::collections::BTreeMap::new();
    let mut untagged = Vec::new();
    for device in devices {
        match entry_for(&device, settings)
            .group_tag
            .filter(|t| !t.trim().is_empty())
        {
            Some(tag) => by_tag.entry(tag).or_default().push(device),
            None => untagged.push(device),
        }
    }
    if by_tag.is_empty() {
        // Nothing to send: no turn is held for this pipe.
        settings
            .customer
            .turn
            .sent(crate::input::device::Pipe::PartnerCenter);
    }
    let mut outcome = TenantOutcome {
        entries: untagged_rows(untagged, settings),
        error: None,
        interrupted: false,
        staged_left: 0,
    };
    for (tag, devices) in by_tag {
        let mut batch_settings = settings.clone();
        batch_settings.customer.batch_id = tag;
        let one = import_batch(client, &batch_settings, gate, devices, progress, cancel).await;
        outcome.entries.extend(one.entries);
        outcome.error = outcome.error.or(one.error);
        outcome.interrupted |= one.interrupted;
    }
    outcome
}

/// Rows with no group tag: Partner Center would make the batch name their
/// tag, and apctl does not choose one for the user.
fn untagged_rows(devices: Vec<Device>, settings: &ImportSettings) -> Vec<crate::report::Entry> {
    if devices.is_empty() {
        return Vec::new();
    }
    let why = Cause::tenant(&TenantError {
        tenant: settings.customer.tenant.clone(),
        error: "Partner Center names these devices' group tag after their device batch, and they have no group tag, so apctl did not choose one".into(),
        hint: Some("give them the tag they should carry: a Group Tag column, `--group-tag TAG`, or `group_tag` for the customer in the manifest; the order id is kept in the report for tracking, never as a tag".into()),
    });
    devices
        .iter()
        .map(|d| {
            let mut e = entry_for(d, settings);
            e.not_sent(&why);
            e
        })
        .collect()
}

/// One batch: the devices of one group tag.
async fn import_batch(
    client: &Client,
    settings: &ImportSettings,
    gate: &TenantGate,
    devices: Vec<Device>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> TenantOutcome {
    // Partner Center is another service with its own throttling: its own
    // gate for the customer, beside the tenant's Graph gate.
    // Within the partner's own gate: Partner Center throttles some calls
    // per partner, so a 429 at one customer holds the others too.
    let partner_gate = client.gate_with(
        &format!("partner-center-partner:{}", settings.run.partner_tenant),
        settings.run.limits,
    );
    let pc_gate = client.gate_within(
        &format!("partner-center:{}", settings.customer.customer_id),
        settings.run.limits,
        partner_gate,
    );
    let ctx = Ctx {
        pc: PartnerCenter {
            client,
            root: &settings.run.partner_center_root,
            partner_tenant: &settings.run.partner_tenant,
            customer: &settings.customer.customer_id,
            gate: &pc_gate,
            scope: settings.run.partner_center_scope,
        },
        graph: settings.graph(client, gate),
        settings,
        batch: settings.customer.batch_id.clone(),
        graph_unavailable: None,
    };
    let service = BatchImport {
        ctx,
        jobs: Vec::new(),
        batch_exists: false,
    };
    engine::run(service, devices, progress, cancel).await
}

/// Partner Center's device batches as a service of the engine.
struct BatchImport<'a> {
    ctx: Ctx<'a>,
    /// The accepted requests, whose jobs decide the rows sent.
    jobs: Vec<Accepted>,
    batch_exists: bool,
}

impl engine::Service for BatchImport<'_> {
    type X = PcRow;
    const PIPE: Pipe = Pipe::PartnerCenter;

    fn settings(&self) -> &ImportSettings {
        self.ctx.settings
    }

    fn graph(&self) -> &Graph<'_> {
        &self.ctx.graph
    }

    fn track(&self, device: Device) -> Tracked {
        track(device, self.ctx.settings)
    }

    fn stopped_before(&self) -> Option<TenantError> {
        self.ctx.settings.customer.partner_center_failure.clone()
    }

    async fn lookup(&mut self, tracked: &mut [Tracked], progress: &dyn Progress) -> Result<(), CallError> {
        self.batch_exists = lookup(&mut self.ctx, tracked, progress).await?;
        Ok(())
    }

    fn tenant_error(&self, e: &CallError) -> TenantError {
        tenant_error(&self.ctx.settings.customer.tenant, e)
    }

    async fn send(&mut self, tracked: &mut [Tracked], progress: &dyn Progress, cancel: &Cancel) {
        let exists = self.batch_exists;
        send(&mut self.ctx, tracked, &mut self.jobs, exists, progress, cancel).await;
    }

    async fn settle(&mut self, tracked: &mut [Tracked], progress: &dyn Progress, cancel: &Cancel) {
        let deadline = self.ctx.settings.customer.deadline;
        settle(&mut self.ctx, tracked, &self.jobs, progress, cancel, deadline).await;
    }

    /// Partner Center keeps no staged records: nothing to clean up.
    async fn clean_up(&mut self, _tracked: &[Tracked], _progress: &dyn Progress) -> u64 {
        0
    }

    fn mark_unfinished(&self, tracked: &mut [Tracked], interrupted: bool) {
        mark_unfinished(self.ctx.settings, &self.ctx.batch, tracked, interrupted);
    }
}

fn snapshot(tracked: &[Tracked], settings: &ImportSettings, progress: &dyn Progress, now: bool) {
    rows::snapshot(tracked, settings, Pipe::PartnerCenter, progress, now);
}

fn track(device: Device, settings: &ImportSettings) -> Tracked {
    let mut entry = entry_for(&device, settings);
    entry.batch_id = Some(settings.customer.batch_id.clone());
    Tracked::new(device, entry, PcRow::default())
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
    let exists = batches.iter().any(|b| b.id.eq_ignore_ascii_case(&ctx.batch));
    // The tag's batch (Partner Center compares batch ids without regard
    // to case).
    let mut in_batch: Vec<(String, ListedDevice)> = Vec::new();
    for b in batches.iter().filter(|b| b.id.eq_ignore_ascii_case(&ctx.batch)) {
        let listed = ctx.pc.list_batch_devices(&b.id).await?;
        in_batch.extend(listed.into_iter().map(|l| (b.id.clone(), l)));
    }
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
        let registered = find_registered(&t.device, &registered);
        let batch = in_batch
            .iter()
            .find(|(_, l)| same_device(&t.device, l))
            .map(|(b, _)| b.as_str());
        decide(
            t,
            registered,
            batch,
            now,
            ctx.settings.run.dry_run.then_some(ctx.batch.as_str()),
        );
    }
    Ok(exists)
}

/// Decides a row before anything is sent, from its device among the
/// tenant's registered ones and the batch that lists it (a pure function):
/// registered → already there (its tag set if it differs); in a batch →
/// not sent again, awaited in the tenant's list; neither → to send, or
/// under `--dry-run` (`dry_run_batch`) would be sent into that batch.
fn decide(
    t: &mut Tracked,
    registered: Option<&AutopilotDevice>,
    in_batch: Option<&str>,
    now: jiff::Timestamp,
    dry_run_batch: Option<&str>,
) {
    if let Some(device) = registered {
        t.entry.action = Action::AlreadyRegistered;
        confirm(t, device, now, Some(DeviceMessage::DeviceAlreadyRegistered));
    } else if let Some(batch) = in_batch {
        t.entry.action = Action::AlreadyRegistered;
        t.entry.message = Some(DeviceMessage::DeviceAlreadyRegistered);
        t.entry.say(Detail::AlreadyInBatch {
            batch: batch.to_owned(),
        });
        t.entry.batch_id = Some(batch.to_owned());
        t.phase = Phase::Confirm;
    } else if let Some(batch) = dry_run_batch {
        t.entry.action = Action::WouldSend;
        // Never sent: no portal state is true of it.
        t.entry.state = None;
        t.entry.say(Detail::WouldSendToBatch {
            batch: batch.to_owned(),
        });
    }
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
    engine::by_serial(list, |d| d.serial_number.clone())
}

fn fail(t: &mut Tracked, kind: ErrorKind) {
    rows::fail(&mut t.entry, kind);
    t.phase = Phase::Done;
}

/// Devices with no final answer at the end keep Registration pending, with
/// a reason.
fn mark_unfinished(settings: &ImportSettings, order_batch: &str, tracked: &mut [Tracked], interrupted: bool) {
    let end = End::of(interrupted);
    for t in tracked.iter_mut().filter(|t| t.phase != Phase::Done) {
        if let (Phase::Tag, Some(work)) = (t.phase, &t.tag) {
            work.at_end(&mut t.entry, settings.run.dry_run);
            continue;
        }
        let batch = t.entry.batch_id.clone().unwrap_or_else(|| order_batch.to_owned());
        match t.phase {
            Phase::ToSend if settings.run.dry_run => {}
            // Sent, no answer by the end: may have taken effect.
            Phase::ToSend if t.posted => t.entry.say(Detail::MayHaveBeenSent),
            Phase::ToSend => t.entry.not_sent(&interrupted_cause()),
            _ if !settings.run.wait || settings.run.dry_run => {
                if t.entry.details.is_empty() {
                    t.entry.say(Detail::AcceptedInBatch { batch: batch.clone() });
                }
            }
            Phase::Sent => t.entry.say(Detail::StillProcessingBatch { batch, end }),
            Phase::Confirm => t.entry.say(Detail::NotYetListedInBatch { batch, end }),
            Phase::Tag | Phase::Done => {}
        }
        if t.entry.group_tag.is_some() && t.phase != Phase::ToSend && !settings.run.dry_run {
            t.entry.group_tag_status = Some(crate::report::TagStatus::Pending);
            t.entry.add(Detail::TagAfterShowing);
        }
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
    format!("{} (Partner Center)", settings.customer.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_in(phases: &[Phase], settings: &ImportSettings) -> Vec<Tracked> {
        phases
            .iter()
            .enumerate()
            .map(|(i, &phase)| {
                let identity = Identity::Tuple {
                    manufacturer: "Contoso".into(),
                    model: "Laptop 7".into(),
                };
                let mut device = engine::test_device(Some(&format!("S-{i}")), identity);
                device.source.line = i as u64 + 2;
                let mut t = track(device, settings);
                t.phase = phase;
                t
            })
            .collect()
    }

    /// At the end of a run (deadline or Ctrl-C), every unfinished row says
    /// where it stood and what ended the run; a row never sent is not sent,
    /// with the run's cause.
    #[test]
    fn unfinished_rows_say_where_they_stood_and_what_ended_the_run() {
        let settings = engine::test_settings();
        for (interrupted, end) in engine::ENDS {
            let mut rows = rows_in(
                &[Phase::ToSend, Phase::Sent, Phase::Confirm, Phase::Done],
                &settings,
            );
            mark_unfinished(&settings, "PO-1", &mut rows, interrupted);
            assert!(rows[0].entry.unsent(), "never sent: {:?}", rows[0].entry.details);
            engine::assert_says(&rows[1].entry, &["still processing", end]);
            engine::assert_says(&rows[2].entry, &["not yet listed", end]);
            assert!(rows[3].entry.details.is_empty(), "a final row is left as it is");
        }
    }

    /// Before anything is sent, a row is decided from what the tenant and
    /// the batches hold — nothing registered or in a batch is sent again.
    #[test]
    fn a_row_is_decided_from_the_tenant_and_the_batches() {
        let settings = engine::test_settings();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let device: AutopilotDevice = serde_json::from_value(serde_json::json!({
            "id": "ap-1", "serialNumber": "S-0", "enrollmentState": "enrolled",
            "lastContactedDateTime": "2027-01-15T00:00:00Z"
        }))
        .unwrap();
        let decided = |registered: Option<&AutopilotDevice>, batch: Option<&str>, dry: Option<&str>| {
            let mut rows = rows_in(&[Phase::ToSend], &settings);
            decide(&mut rows[0], registered, batch, now, dry);
            rows.remove(0)
        };
        let t = decided(Some(&device), Some("PO-1"), None);
        assert_eq!(
            (t.phase, t.entry.action),
            (Phase::Done, Action::AlreadyRegistered),
            "registered wins"
        );
        assert_eq!(t.entry.state, Some(RegistrationState::Active));
        let t = decided(None, Some("PO-1"), None);
        assert_eq!(
            (t.phase, t.entry.action),
            (Phase::Confirm, Action::AlreadyRegistered),
            "in a batch"
        );
        assert_eq!(t.entry.batch_id.as_deref(), Some("PO-1"));
        engine::assert_says(&t.entry, &["already in device batch `PO-1`"]);
        let t = decided(None, None, None);
        assert_eq!(t.phase, Phase::ToSend, "nothing there: to send");
        let t = decided(None, None, Some("PO-2"));
        assert_eq!(
            (t.entry.action, t.entry.state),
            (Action::WouldSend, None),
            "dry run"
        );
        engine::assert_says(&t.entry, &["device batch `PO-2`"]);
    }
}
