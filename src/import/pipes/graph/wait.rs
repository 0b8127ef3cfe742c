//! Waiting: the staged records polled through the shared waiter, each
//! meaning judged by the portal mapping, accepted devices confirmed in the
//! registered list, transient errors resent.

use super::*;

/// Polls until every device has its final answer, the deadline passes, or
/// the grace after Ctrl-C ends; resends what a transient error sent back.
pub(super) async fn settle(
    service: &GraphImport<'_>,
    tracked: &mut [Tracked],
    progress: &dyn Progress,
    cancel: &Cancel,
) {
    let (graph, settings, ledger, sync) = (&service.graph, service.settings, service.ledger, service.sync);
    let deadline = settings.customer.deadline;
    let wait = Wait {
        clock: &**graph.client.clock(),
        cadence: settings.run.poll,
        deadline,
        grace: settings.run.grace,
        cancel,
    };
    let polling = Polling {
        graph,
        tracked,
        settings,
        ledger,
        sync,
        progress,
        cancel,
        deadline,
    };
    waiter::until(wait, polling).await;
}

/// What one round of waiting reads and does.
pub(super) struct Polling<'a, 'g> {
    graph: &'a Graph<'g>,
    tracked: &'a mut [Tracked],
    settings: &'a ImportSettings,
    ledger: &'a Ledger,
    sync: &'a SyncOnce,
    progress: &'a dyn Progress,
    cancel: &'a Cancel,
    deadline: Duration,
}

impl Step for Polling<'_, '_> {
    async fn step(&mut self, round: Round) -> Check {
        let before: Vec<(Phase, u32)> = self.tracked.iter().map(|t| (t.phase, t.x.resends)).collect();
        if round != Round::First {
            self.poll().await;
        } else {
            engine::tag(self.graph, self.tracked, self.progress).await;
        }
        rows::report_settled(self.tracked, self.settings.customer.label(), self.progress);
        let registered = |t: &Tracked| {
            matches!(t.phase, Phase::Done | Phase::Tag)
                && crate::import::after::profiles::registered_by_this_run(&t.entry)
        };
        if !self.cancel.is_cancelled() && self.tracked.iter().any(registered) {
            // Profiles are assigned while the rest are still processed.
            self.sync.ask(self.graph, self.settings, self.progress).await;
        }
        if rows::all_done(self.tracked) {
            Check::Settled
        } else if self.tracked.iter().map(|t| (t.phase, t.x.resends)).ne(before) {
            Check::Moved
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
            ledger,
            progress,
            cancel,
            deadline,
            ..
        } = self;
        let (graph, settings, ledger, progress, cancel) = (*graph, *settings, *ledger, *progress, *cancel);
        let staged = poll_staged(graph, tracked, settings, *deadline).await;
        snapshot(tracked, settings, progress, false);
        if let Err(e) = staged {
            progress.event(warning(
                &settings.customer.label(),
                format!("polling staged devices failed: {e}"),
            ));
        }
        if let Err(e) = poll_registered(graph, tracked).await {
            progress.event(warning(
                &settings.customer.label(),
                format!("reading registered devices failed: {e}"),
            ));
        }
        engine::tag(graph, tracked, progress).await;
        super::cleanup::clean_as_settled(graph, tracked, settings, progress).await;
        if !cancel.is_cancelled() && tracked.iter().any(|t| t.phase == Phase::ToSend) {
            // Only those whose wait after a 640 is over go out now.
            send_all(graph, tracked, settings, ledger, progress, cancel).await;
        }
    }
}

/// Reads the staged records of unsettled devices: one listing when there
/// are many, one GET each when there are few.
pub(super) async fn poll_staged(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
    deadline: Duration,
) -> Result<(), CallError> {
    let waiting: Vec<usize> = (0..tracked.len())
        .filter(|&i| tracked[i].phase == Phase::Sent)
        .collect();
    if waiting.is_empty() {
        return Ok(());
    }
    let listed: Vec<ImportedIdentity> = if waiting.len() > LIST_POLL_THRESHOLD {
        graph.list_imported().await?
    } else {
        let mut found = Vec::new();
        for &i in &waiting {
            let id = tracked[i].x.staged_id.clone().unwrap_or_default();
            match graph.get_imported(&id).await {
                Ok(r) => found.push(r),
                Err(CallError::Service { error, .. }) if error.status == 404 => {}
                Err(e) => return Err(e),
            }
        }
        found
    };
    // An index into the list, not a second copy of it (a large customer's
    // list is tens of megabytes).
    let records: HashMap<&str, &ImportedIdentity> = listed.iter().map(|r| (r.id.as_str(), r)).collect();
    for i in waiting {
        let Some(record) = tracked[i].x.staged_id.as_deref().and_then(|id| records.get(id)) else {
            // Gone before its meaning was read: another run (or an admin)
            // deleted it, most likely once the device was registered. The
            // registered list says; nobody waits for the deadline.
            tracked[i].x.vanished = true;
            tracked[i].phase = Phase::Confirm;
            continue;
        };
        let now = graph.client.clock().now();
        let resend = judge(
            &mut tracked[i],
            &record.state,
            now,
            deadline,
            settings.run.max_resends,
        );
        if let Some(id) = resend {
            let _ = graph.delete_imported(&id).await;
        }
    }
    Ok(())
}

/// How long a device sent back by error 640 ("try again later") waits
/// before its first and later resends.
pub(super) const RESEND_BACKOFF: [Duration; 2] = [Duration::from_secs(30), Duration::from_secs(120)];

/// Applies one staged record's meaning to its row: a pure function of the
/// row, the record's state and the clock. Its one side effect — deleting
/// the record before a device sent back by "try again later" (640) is
/// sent again — is returned as the record's id, for the caller to do.
pub(super) fn judge(
    t: &mut Tracked,
    state: &crate::graph::ImportState,
    now: Duration,
    deadline: Duration,
    max_resends: u32,
) -> Option<String> {
    let backoff = RESEND_BACKOFF[(t.x.resends as usize).min(RESEND_BACKOFF.len() - 1)];
    let meaning = mapping::graph_import_meaning(
        &state.device_import_status,
        state.device_error_code,
        state.device_error_name.as_deref(),
    );
    t.entry.error_code = state.device_error_code.filter(|c| *c != 0).map(|c| c.to_string());
    t.entry.error_name = state
        .device_error_name
        .clone()
        .filter(|n| !n.is_empty() && n != "None");
    match meaning {
        Meaning::Pending => None,
        Meaning::Imported | Meaning::AlreadyRegistered => {
            t.phase = Phase::Confirm;
            t.x.registration_id.clone_from(&state.device_registration_id);
            if meaning == Meaning::AlreadyRegistered {
                t.entry.message = Some(DeviceMessage::DeviceAlreadyRegistered);
            }
            None
        }
        // "Try again later": after a wait of seconds to minutes, and only
        // if the answer can still come before the deadline.
        Meaning::Transient if t.x.resends < max_resends && t.x.ours && now + backoff < deadline => {
            t.x.resends += 1;
            t.x.resend_at = now + backoff;
            t.phase = Phase::ToSend;
            t.x.staged_id.take()
        }
        Meaning::Transient => {
            fail_with(t, ErrorKind::Transient);
            None
        }
        Meaning::Failed(kind) => {
            fail_with(t, kind);
            None
        }
    }
}

pub(super) fn fail_with(t: &mut Tracked, kind: ErrorKind) {
    rows::fail(&mut t.entry, kind);
    if kind.message().is_none() {
        t.entry.say(Detail::DuplicatedHash);
    }
    if t.entry.action == Action::FollowedStaged && !t.x.ours {
        t.entry.add(Detail::EarlierImportsRecord);
    }
    t.phase = Phase::Done;
}

/// Devices accepted by the import are confirmed in the registered list,
/// which also gives their state. 806s are confirmed the same way.
/// A device the service named (`deviceRegistrationId`) is read by its id;
/// the others by their serial (reads that grow with the run, not the
/// tenant: [`crate::graph::registered`]).
pub(super) async fn poll_registered(graph: &Graph<'_>, tracked: &mut [Tracked]) -> Result<(), CallError> {
    let confirming = || tracked.iter().filter(|t| t.phase == Phase::Confirm);
    if confirming().next().is_none() {
        return Ok(());
    }
    let ids: Vec<String> = confirming().filter_map(|t| t.x.registration_id.clone()).collect();
    let serials: Vec<String> = confirming()
        .filter(|t| t.x.registration_id.is_none())
        .filter_map(|t| t.device.serial.clone())
        .collect();
    // On `/beta`, which also gives each device's profile status; a cloud
    // or app that cannot read it gets the v1.0 read.
    let mut devices = match graph.registered_by_id(&ids, true).await {
        Ok(devices) => devices,
        Err(_) => graph.registered_by_id(&ids, false).await?,
    };
    devices.extend(graph.registered_of(&serials).await?);
    let registered = BySerial::new(devices, |d| d.serial_number.as_deref());
    confirm_listed(tracked, &registered, graph.client.clock().wall(), graph.tenant);
    Ok(())
}

/// Rows waiting to be confirmed, against the tenant's registered list: a
/// listed device gives its row its state; a row whose staged record
/// vanished and whose device is not listed is not sent (one cause for all
/// of them); the rest wait. A pure function of the rows, the list and the
/// wall clock.
pub(super) fn confirm_listed(
    tracked: &mut [Tracked],
    registered: &BySerial<AutopilotDevice>,
    now: jiff::Timestamp,
    tenant: &str,
) {
    let mut gone: Option<Arc<Cause>> = None;
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Confirm) {
        let Some(device) = t.device.serial.as_ref().and_then(|s| registered.get(s)) else {
            if t.x.vanished {
                let why = gone.get_or_insert_with(|| {
                    Cause::tenant(&TenantError {
                        tenant: tenant.to_owned(),
                        error: "the staged records of these devices were deleted before apctl read a meaning (by another run or an admin), and the devices are not registered".into(),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ImportState;
    use crate::portal::mapping::ImportStatus;

    fn row(ours: bool, resends: u32) -> Tracked {
        let device = engine::test_device(Some("S-1"), engine::test_hash());
        let entry = Entry::for_row(&device.source, "t", Some(&device), None);
        let mut t = Tracked::new(device, entry, GraphRow::default());
        t.phase = Phase::Sent;
        t.x.staged_id = Some("rec-1".into());
        t.x.ours = ours;
        t.x.resends = resends;
        t
    }

    fn state(status: ImportStatus, code: Option<i64>, name: Option<&str>) -> ImportState {
        ImportState {
            device_import_status: status,
            device_registration_id: None,
            device_error_code: code,
            device_error_name: name.map(str::to_owned),
        }
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// One row of the table: the answer and the row before it, and what
    /// the row must be after.
    struct Case {
        name: &'static str,
        answer: ImportState,
        /// The record is apctl's, resends so far, the clock, the deadline.
        before: (bool, u32, u64, u64),
        phase: Phase,
        state: RegistrationState,
        message: Option<DeviceMessage>,
        deletes: bool,
    }

    fn case(name: &'static str, answer: ImportState, before: (bool, u32, u64, u64)) -> Case {
        Case {
            name,
            answer,
            before,
            phase: Phase::Sent,
            state: RegistrationState::RegistrationPending,
            message: None,
            deletes: false,
        }
    }

    impl Case {
        fn then(mut self, phase: Phase, state: RegistrationState, message: Option<DeviceMessage>) -> Self {
            (self.phase, self.state, self.message) = (phase, state, message);
            self
        }
        fn deleting(mut self) -> Self {
            self.deletes = true;
            self
        }
    }

    #[test]
    fn every_answer_moves_a_row_as_the_portal_reads_it() {
        use DeviceMessage as M;
        use ImportStatus as I;
        use RegistrationState::*;
        let fresh = (true, 0, 0, 600);
        let e = |code, name| state(I::Error, Some(code), name);
        let cases = [
            case("unknown waits", state(I::Unknown, None, None), fresh),
            case("pending waits", state(I::Pending, None, None), fresh),
            case("complete is confirmed", state(I::Complete, None, None), fresh).then(
                Phase::Confirm,
                RegistrationPending,
                None,
            ),
            case(
                "806 is confirmed as already there",
                e(806, Some("ZtdDeviceAlreadyAssigned")),
                fresh,
            )
            .then(
                Phase::Confirm,
                RegistrationPending,
                Some(M::DeviceAlreadyRegistered),
            ),
            case(
                "808 fails as claimed",
                e(808, Some("ZtdDeviceAssignedToOtherTenant")),
                fresh,
            )
            .then(
                Phase::Done,
                RegistrationFailed,
                Some(M::DeviceClaimedByAnotherOrganization),
            ),
            case(
                "802 fails as a bad hash",
                e(802, Some("InvalidZtdHardwareHash")),
                fresh,
            )
            .then(Phase::Done, RegistrationFailed, Some(M::HardwareHashNotValid)),
            case("640 of ours is resent after a wait", e(640, None), fresh)
                .then(Phase::ToSend, RegistrationPending, None)
                .deleting(),
            case("640 not ours is not resent", e(640, None), (false, 0, 0, 600)).then(
                Phase::Done,
                RegistrationFailed,
                Some(M::UnexpectedError),
            ),
            case("640 past its resends fails", e(640, None), (true, 2, 0, 6000)).then(
                Phase::Done,
                RegistrationFailed,
                Some(M::UnexpectedError),
            ),
            case(
                "640 whose wait passes the deadline fails",
                e(640, None),
                (true, 0, 580, 600),
            )
            .then(Phase::Done, RegistrationFailed, Some(M::UnexpectedError)),
        ];
        for c in cases {
            let (ours, resends, now, deadline) = c.before;
            let mut t = row(ours, resends);
            let deleted = judge(&mut t, &c.answer, S(now), S(deadline), 2);
            let name = c.name;
            assert_eq!(t.phase, c.phase, "{name}");
            assert_eq!(t.entry.state, Some(c.state), "{name}");
            assert_eq!(t.entry.message, c.message, "{name}");
            assert_eq!(deleted.is_some(), c.deletes, "{name}");
            if c.deletes {
                assert_eq!(deleted.as_deref(), Some("rec-1"), "{name}");
                assert_eq!(t.x.resends, resends + 1, "{name}");
                assert_eq!(t.x.resend_at, S(now) + RESEND_BACKOFF[resends as usize], "{name}");
                assert!(t.x.staged_id.is_none(), "{name}: the deleted record is forgotten");
            }
        }
    }

    fn listed(serial: &str, enrollment: &str) -> AutopilotDevice {
        serde_json::from_value(serde_json::json!({
            "id": format!("ap-{serial}"),
            "serialNumber": serial,
            "enrollmentState": enrollment,
        }))
        .unwrap()
    }

    /// (row waiting in Confirm, whether its record vanished, the list) →
    /// its phase, state and whether it was not sent.
    #[test]
    fn a_confirmed_row_takes_its_state_from_the_list() {
        use RegistrationState::*;
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let list = BySerial::new(vec![listed("S-1", "notContacted")], |d| {
            d.serial_number.as_deref()
        });
        let empty = BySerial::new(Vec::new(), |d: &AutopilotDevice| d.serial_number.as_deref());
        for (name, vanished, registered, phase, state, unsent) in [
            (
                "listed: Ready for user",
                false,
                &list,
                Phase::Done,
                Some(ReadyForUser),
                false,
            ),
            (
                "listed after its record vanished",
                true,
                &list,
                Phase::Done,
                Some(ReadyForUser),
                false,
            ),
            (
                "not listed yet: waits",
                false,
                &empty,
                Phase::Confirm,
                Some(RegistrationPending),
                false,
            ),
            (
                "vanished and not listed: not sent",
                true,
                &empty,
                Phase::Done,
                None,
                true,
            ),
        ] {
            let mut rows = vec![row(true, 0)];
            rows[0].phase = Phase::Confirm;
            rows[0].x.vanished = vanished;
            confirm_listed(&mut rows, registered, now, "t");
            assert_eq!(rows[0].phase, phase, "{name}");
            assert_eq!(rows[0].entry.state, state, "{name}");
            assert_eq!(rows[0].entry.unsent(), unsent, "{name}");
            if phase == Phase::Done && !unsent {
                assert_eq!(
                    rows[0].entry.autopilot_device_id.as_deref(),
                    Some("ap-S-1"),
                    "{name}"
                );
            }
        }
    }
}
