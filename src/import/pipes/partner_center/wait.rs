//! Waiting: batch jobs polled through the shared waiter, each device's
//! status judged by the portal mapping, registered devices awaited in the
//! tenant's Autopilot list.

use super::*;

/// Least time between two reads of the tenant's list while waiting for
/// devices Partner Center registered to show in it.
pub(super) const MIN_LIST_INTERVAL: Duration = Duration::from_secs(10);

/// Polls the batch jobs and the tenant's list until every device has its
/// final answer (tag included), the deadline passes, or the grace after
/// Ctrl-C ends.
pub(super) async fn settle(
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
        cadence: ctx.settings.run.poll,
        deadline,
        grace: ctx.settings.run.grace,
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
pub(super) struct Polling<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
    tracked: &'a mut [Tracked],
    jobs: &'a [Accepted],
    progress: &'a dyn Progress,
    /// When the tenant's list may be read again.
    next_list: Duration,
}

impl Step for Polling<'_, '_> {
    async fn step(&mut self, round: Round) -> Check {
        let before: Vec<Phase> = self.tracked.iter().map(|t| t.phase).collect();
        if round != Round::First {
            self.poll().await;
        }
        if self.ctx.graph_unavailable.is_some() {
            settle_without_graph(self.ctx, self.tracked);
        }
        // One write or read-back per device and round: a tag Intune shows
        // late is read again next round, not written again at once.
        engine::tag(&self.ctx.graph, self.tracked, self.progress).await;
        snapshot(self.tracked, self.ctx.settings, self.progress, false);
        rows::report_settled(self.tracked, label(self.ctx.settings), self.progress);
        if rows::all_done(self.tracked) {
            Check::Settled
        } else if self.tracked.iter().map(|t| t.phase).ne(before) {
            Check::Moved
        } else {
            Check::Open
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
                &ctx.settings.customer.label(),
                format!("reading batch status failed: {e}"),
            ));
        }
        let clock = ctx.graph.client.clock().clone();
        let look = self.tracked.iter().any(|t| t.phase == Phase::Confirm) && ctx.graph_unavailable.is_none();
        if look && clock.now() >= self.next_list {
            // Partner Center's registrations reach Intune in minutes, not
            // seconds: the list (maybe many pages) is read less often.
            self.next_list = clock.now() + ctx.settings.run.poll.first.max(MIN_LIST_INTERVAL);
            match ctx.graph.list_registered().await {
                Ok(list) => appear(self.tracked, &by_serial(list), clock.wall()),
                Err(e) if is_denied(&e) => ctx.graph_unavailable = Some(graph_reason(&e)),
                Err(e) => progress.event(warning(
                    &ctx.settings.customer.label(),
                    format!("reading registered devices failed: {e}"),
                )),
            }
        }
    }
}

/// Reads each unfinished job once and applies every device's status.
pub(super) async fn poll_jobs(
    ctx: &Ctx<'_>,
    tracked: &mut [Tracked],
    jobs: &[Accepted],
) -> Result<(), CallError> {
    for (j, job) in jobs.iter().enumerate() {
        if !tracked
            .iter()
            .any(|t| t.x.job == Some(j) && t.phase == Phase::Sent)
        {
            continue;
        }
        let status = ctx.pc.batch_status(&job.location).await?;
        for t in tracked
            .iter_mut()
            .filter(|t| t.x.job == Some(j) && t.phase == Phase::Sent)
        {
            judge(t, &status);
        }
    }
    Ok(())
}

/// Applies a batch job's status to one of its rows: a pure function of
/// the row and the job's answer. A row the job does not list waits, unless
/// the job is final (then it failed without a word); a product-key row
/// learns its serial from the job.
pub(super) fn judge(t: &mut Tracked, status: &crate::partner_center::BatchStatus) {
    let element = status.devices_status.iter().find(|d| {
        let by_key = matches!(&t.device.identity, Identity::ProductKey(key) if d.product_key.as_deref() == Some(key.as_str()));
        by_key || (d.serial_number.is_some() && d.serial_number == t.device.serial)
    });
    let Some(d) = element else {
        if status.is_final() {
            fail(t, ErrorKind::Other);
            t.entry.add(Detail::JobWithoutStatus);
        }
        return;
    };
    if t.device.serial.is_none() {
        // A product-key row learns its serial from the job.
        t.device.serial = d.serial_number.clone().filter(|s| !s.is_empty());
        t.entry.serial_number = t.device.serial.as_deref().map(Into::into);
    }
    let code = d
        .error_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty() && *c != "0");
    t.entry.error_code = code.map(str::to_owned);
    t.entry.error_name = d.error_description.clone().filter(|n| !n.is_empty());
    match mapping::partner_center_meaning(&d.status, d.error_code.as_deref(), d.error_description.as_deref())
    {
        Meaning::Pending => {}
        Meaning::Imported => t.phase = Phase::Confirm,
        Meaning::AlreadyRegistered => {
            t.entry.message = Some(DeviceMessage::DeviceAlreadyRegistered);
            t.phase = Phase::Confirm;
        }
        Meaning::Transient => fail(t, ErrorKind::Transient),
        Meaning::Failed(kind) => fail(t, kind),
    }
}

/// Devices Partner Center registered that now show in the tenant's list
/// take their state from it; those with a tag to set move on to tagging.
pub(super) fn appear(
    tracked: &mut [Tracked],
    registered: &HashMap<String, AutopilotDevice>,
    now: jiff::Timestamp,
) {
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Confirm) {
        let Some(device) = find_registered(&t.device, registered) else {
            continue;
        };
        let message = t.entry.message;
        confirm(t, device, now, message);
    }
}

/// Records a registered device's state; a tag that differs is to be set.
pub(super) fn confirm(
    t: &mut Tracked,
    device: &AutopilotDevice,
    now: jiff::Timestamp,
    message: Option<DeviceMessage>,
) {
    let state = engine::registered_state(&mut t.entry, device, now);
    if t.device.serial.is_none() {
        // A product-key row learns its serial from the tenant's list.
        t.device.serial.clone_from(&device.serial_number);
        t.entry.serial_number = device.serial_number.as_deref().map(Into::into);
    }
    let details = std::mem::take(&mut t.entry.details);
    t.entry.set(state, message);
    if message.is_none() {
        t.entry.say(Detail::RegisteredThroughPartnerCenter {
            id: device.id.clone(),
        });
    } else if !details.is_empty() && t.entry.details.is_empty() {
        t.entry.details = details;
    }
    let wanted = tag_work::Wanted::of(&t.device, t.entry.group_tag.as_deref());
    t.tag = TagWork::needed(device, wanted);
    if t.tag.is_some() {
        t.phase = Phase::Tag;
    } else {
        if t.entry.group_tag.is_some() {
            t.entry.group_tag_status = Some(crate::report::TagStatus::Applied);
        }
        t.phase = Phase::Done;
    }
}

/// Without Graph, a device Partner Center registered is Ready for user (a
/// new registration is not enrolled yet), unconfirmed; its tag is its
/// batch's name, and any other could not be set.
pub(super) fn settle_without_graph(ctx: &Ctx<'_>, tracked: &mut [Tracked]) {
    let why = ctx.graph_unavailable.clone().unwrap_or_default();
    for t in tracked
        .iter_mut()
        .filter(|t| matches!(t.phase, Phase::Confirm | Phase::Tag))
    {
        let message = t.entry.message;
        let details = std::mem::take(&mut t.entry.details);
        t.entry.set(RegistrationState::ReadyForUser, message);
        if message.is_none() {
            t.entry.details = details;
        }
        t.entry.add(Detail::NotConfirmedWithoutGraph { why: why.clone() });
        match (&t.entry.group_tag, &t.entry.batch_id) {
            // The batch's name is the tag Partner Center gives its devices.
            (Some(tag), Some(batch)) if tag.eq_ignore_ascii_case(batch) => {
                t.entry.group_tag_status = Some(crate::report::TagStatus::Applied);
            }
            (Some(tag), _) => {
                let what = format!("group tag `{tag}`");
                tag_work::not_applied(&mut t.entry, &what, "Graph cannot be used in this tenant");
            }
            (None, _) => {}
        }
        t.phase = Phase::Done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partner_center::{BatchStatus, DeviceStatus};
    use crate::report::Entry;

    fn row(serial: Option<&str>, identity: Identity) -> Tracked {
        let device = engine::test_device(serial, identity);
        let entry = Entry::for_row(&device.source, "t", Some(&device), None);
        let mut t = Tracked::new(device, entry, PcRow { job: Some(0) });
        t.phase = Phase::Sent;
        t
    }

    fn tuple() -> Identity {
        Identity::Tuple {
            manufacturer: "Contoso".into(),
            model: "Laptop 7".into(),
        }
    }

    fn job(status: &str, devices: Vec<DeviceStatus>) -> BatchStatus {
        BatchStatus {
            status: status.into(),
            devices_status: devices,
            ..BatchStatus::default()
        }
    }

    fn device(serial: &str, status: &str, code: Option<&str>) -> DeviceStatus {
        DeviceStatus {
            serial_number: Some(serial.into()),
            status: status.into(),
            error_code: code.map(str::to_owned),
            ..DeviceStatus::default()
        }
    }

    #[test]
    fn every_job_answer_moves_a_row_as_the_portal_reads_it() {
        use DeviceMessage as M;
        use RegistrationState::*;
        let cases = [
            (
                "queued waits",
                job("queued", vec![]),
                Phase::Sent,
                RegistrationPending,
                None,
            ),
            (
                "processing waits",
                job("processing", vec![device("S-1", "processing", None)]),
                Phase::Sent,
                RegistrationPending,
                None,
            ),
            (
                "finished goes to confirm",
                job("finished", vec![device("S-1", "finished", Some("0"))]),
                Phase::Confirm,
                RegistrationPending,
                None,
            ),
            (
                "a finished job with 808 fails",
                job("finished", vec![device("S-1", "finished", Some("808"))]),
                Phase::Done,
                RegistrationFailed,
                Some(M::DeviceClaimedByAnotherOrganization),
            ),
            (
                "806 is already there",
                job(
                    "finished_with_errors",
                    vec![device("S-1", "finished_with_errors", Some("806"))],
                ),
                Phase::Confirm,
                RegistrationPending,
                Some(M::DeviceAlreadyRegistered),
            ),
            (
                "a final job without the row fails",
                job("finished", vec![device("OTHER", "finished", None)]),
                Phase::Done,
                RegistrationFailed,
                Some(M::UnexpectedError),
            ),
            (
                "another row's status is not this row's",
                job("processing", vec![device("OTHER", "finished", None)]),
                Phase::Sent,
                RegistrationPending,
                None,
            ),
        ];
        for (name, status, phase, state, message) in cases {
            let mut t = row(Some("S-1"), tuple());
            judge(&mut t, &status);
            assert_eq!(t.phase, phase, "{name}");
            assert_eq!(t.entry.state, Some(state), "{name}");
            assert_eq!(t.entry.message, message, "{name}");
        }
    }

    #[test]
    fn a_product_key_row_learns_its_serial_from_the_job() {
        let mut t = row(None, Identity::ProductKey("33000-11111-22222-33333-44444".into()));
        let mut d = device("SER-9", "finished", None);
        d.product_key = Some("33000-11111-22222-33333-44444".into());
        judge(&mut t, &job("finished", vec![d]));
        assert_eq!(t.device.serial.as_deref(), Some("SER-9"));
        assert_eq!(t.entry.serial_number.as_deref(), Some("SER-9"));
        assert_eq!(t.phase, Phase::Confirm);
    }

    fn listed(serial: &str, tag: &str) -> AutopilotDevice {
        serde_json::from_value(serde_json::json!({
            "id": format!("ap-{serial}"),
            "serialNumber": serial,
            "manufacturer": "Contoso",
            "model": "Laptop 7",
            "groupTag": tag,
            "enrollmentState": "notContacted",
        }))
        .unwrap()
    }

    /// A row Partner Center registered, against the tenant's list: not
    /// listed yet, it waits; listed with the row's tag, it is done; listed
    /// with another tag, its tag is to be set.
    #[test]
    fn a_registered_row_appears_and_moves_on_to_its_tag() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        for (name, list, wanted_tag, phase, state) in [
            (
                "not listed yet",
                vec![],
                Some("Kiosk"),
                Phase::Confirm,
                RegistrationState::RegistrationPending,
            ),
            (
                "listed with its tag",
                vec![listed("S-1", "Kiosk")],
                Some("Kiosk"),
                Phase::Done,
                RegistrationState::ReadyForUser,
            ),
            (
                "listed with another tag",
                vec![listed("S-1", "Old")],
                Some("Kiosk"),
                Phase::Tag,
                RegistrationState::ReadyForUser,
            ),
            (
                "listed, no tag wanted",
                vec![listed("S-1", "Old")],
                None,
                Phase::Done,
                RegistrationState::ReadyForUser,
            ),
        ] {
            let mut t = row(Some("S-1"), tuple());
            t.phase = Phase::Confirm;
            t.entry.group_tag = wanted_tag.map(str::to_owned);
            let registered = engine::by_serial(list, |d| d.serial_number.clone());
            appear(std::slice::from_mut(&mut t), &registered, now);
            assert_eq!(t.phase, phase, "{name}");
            assert_eq!(t.entry.state, Some(state), "{name}");
        }
    }
}
