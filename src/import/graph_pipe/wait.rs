//! Waiting: the staged records polled through the shared waiter, each
//! meaning judged by the portal mapping, accepted devices confirmed in the
//! registered list, transient errors resent.

use super::*;

/// Polls until every device has its final answer, the deadline passes, or
/// the grace after Ctrl-C ends; resends what a transient error sent back.
#[allow(clippy::too_many_arguments)]
pub(super) async fn settle(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
    ledger: &Ledger,
    progress: &dyn Progress,
    cancel: &Cancel,
    deadline: Duration,
) {
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
            let id = tracked[i].x.staged_id.clone().unwrap_or_default();
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
        let Some(record) = tracked[i].x.staged_id.as_ref().and_then(|id| records.get(id)) else {
            // Gone before its meaning was read: another run (or an admin)
            // deleted it, most likely once the device was registered. The
            // registered list says; nobody waits for the deadline.
            tracked[i].x.vanished = true;
            tracked[i].phase = Phase::Confirm;
            continue;
        };
        judge(graph, &mut tracked[i], record, settings, deadline).await;
    }
    Ok(())
}

/// How long a device sent back by error 640 ("try again later") waits
/// before its first and later resends.
pub(super) const RESEND_BACKOFF: [Duration; 2] = [Duration::from_secs(30), Duration::from_secs(120)];

/// Applies one staged record's meaning to its device.
pub(super) async fn judge(
    graph: &Graph<'_>,
    t: &mut Tracked,
    record: &ImportedIdentity,
    settings: &ImportSettings,
    deadline: Duration,
) {
    let now = graph.client.clock().now();
    let backoff = RESEND_BACKOFF[(t.x.resends as usize).min(RESEND_BACKOFF.len() - 1)];
    let s = &record.state;
    let meaning = mapping::graph_import_meaning(
        &s.device_import_status,
        s.device_error_code,
        s.device_error_name.as_deref(),
    );
    t.entry.error_code = s.device_error_code.filter(|c| *c != 0).map(|c| c.to_string());
    t.entry.error_name = s
        .device_error_name
        .clone()
        .filter(|n| !n.is_empty() && n != "None");
    match meaning {
        Meaning::Pending => {}
        Meaning::Imported | Meaning::AlreadyRegistered => {
            t.phase = Phase::Confirm;
            if meaning == Meaning::AlreadyRegistered {
                t.entry.message = Some(DeviceMessage::DeviceAlreadyRegistered);
            }
        }
        // "Try again later": after a wait of seconds to minutes, and only
        // if the answer can still come before the deadline.
        Meaning::Transient
            if t.x.resends < settings.run.max_resends && t.x.ours && now + backoff < deadline =>
        {
            t.x.resends += 1;
            if let Some(id) = t.x.staged_id.take() {
                let _ = graph.delete_imported(&id).await;
            }
            t.x.resend_at = now + backoff;
            t.phase = Phase::ToSend;
        }
        Meaning::Transient => fail_with(t, ErrorKind::Transient),
        Meaning::Failed(kind) => fail_with(t, kind),
    }
}

pub(super) fn fail_with(t: &mut Tracked, kind: ErrorKind) {
    rows::fail(&mut t.entry, kind);
    if kind.message().is_none() {
        t.entry.details =
            "ZtdDeviceDuplicated: the same hardware hash was uploaded twice; only one row was processed"
                .into();
    }
    if t.entry.action == Action::FollowedStaged && !t.x.ours {
        t.entry.details.push_str(" (this is an earlier import's staged record: delete it in Intune under Windows Autopilot devices > Import, then run apctl again)");
    }
    t.phase = Phase::Done;
}

/// Devices accepted by the import are confirmed in the registered list,
/// which also gives their state. 806s are confirmed the same way.
pub(super) async fn poll_registered(graph: &Graph<'_>, tracked: &mut [Tracked]) -> Result<(), CallError> {
    if !tracked.iter().any(|t| t.phase == Phase::Confirm) {
        return Ok(());
    }
    let registered = by_serial(graph.list_registered().await?, |d| d.serial_number.clone());
    let now = graph.client.clock().wall();
    let mut gone: Option<Arc<Cause>> = None;
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Confirm) {
        let Some(device) = t.device.serial.as_ref().and_then(|s| registered.get(s)) else {
            if t.x.vanished {
                let why = gone.get_or_insert_with(|| {
                    Cause::tenant(&TenantError {
                        tenant: graph.tenant.to_owned(),
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
    Ok(())
}
