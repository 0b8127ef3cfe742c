//! The one outline both pipes follow — look up → send → follow → confirm
//! → tags → what is left — over a [`Service`] that brings its own calls.
//! Where the outline stops (nothing to do, a customer that cannot be
//! worked on, a lookup that fails, a dry run, `--no-wait`, Ctrl-C, the
//! deadline) is decided here once, for both services.

use crate::graph::Graph;
use crate::import::{Cancel, ImportSettings, Progress, TenantOutcome};
use crate::input::device::{Device, Pipe};
use crate::report::TenantError;
use crate::transport::CallError;

use super::{Tracked, rows};

/// What a service brings to the outline: its rows' extras, its calls, and
/// the words of its failures.
pub(crate) trait Service {
    /// What the service keeps of a row beside what every pipe does.
    type X;
    /// Which pipe's rows these are.
    const PIPE: Pipe;
    /// The customer's settings.
    fn settings(&self) -> &ImportSettings;
    /// The tenant's Graph (tags are set there, whichever service sent).
    fn graph(&self) -> &Graph<'_>;
    /// A row as the service tracks it.
    fn track(&self, device: Device) -> Tracked<Self::X>;
    /// Why the customer cannot be worked on at all, known before any call.
    fn stopped_before(&self) -> Option<TenantError>;
    /// Reads what the tenant holds already and decides each row: done,
    /// followed, or to send.
    async fn lookup(
        &mut self,
        tracked: &mut [Tracked<Self::X>],
        progress: &dyn Progress,
    ) -> Result<(), CallError>;
    /// The customer's error when its lookup failed.
    fn tenant_error(&self, e: &CallError) -> TenantError;
    /// Sends every row still to send; nothing more after Ctrl-C.
    async fn send(&mut self, tracked: &mut [Tracked<Self::X>], progress: &dyn Progress, cancel: &Cancel);
    /// Follows what was sent until every row is final, the deadline, or
    /// the grace after Ctrl-C.
    async fn settle(&mut self, tracked: &mut [Tracked<Self::X>], progress: &dyn Progress, cancel: &Cancel);
    /// Housekeeping once every verdict is on record, within the deadline.
    /// Returns how many records it meant to delete and left.
    async fn clean_up(&mut self, tracked: &[Tracked<Self::X>], progress: &dyn Progress) -> u64;
    /// What the rows left unfinished say, for the deadline or Ctrl-C.
    fn mark_unfinished(&self, tracked: &mut [Tracked<Self::X>], interrupted: bool);
}

/// Runs one customer's rows through a service.
pub(crate) async fn run<S: Service>(
    mut service: S,
    devices: Vec<Device>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> TenantOutcome {
    let settings = service.settings().clone();
    let settings = &settings;
    // The customer's turn to send is held until this pipe has sent, or
    // returns without sending (nothing to send, a customer that cannot be
    // worked on, a failed lookup, a dry run).
    let sending = settings.customer.turn.sending(S::PIPE);
    let snapshot = |tracked: &[Tracked<S::X>]| rows::snapshot(tracked, settings, S::PIPE, progress, true);
    let mut tracked: Vec<Tracked<S::X>> = devices.into_iter().map(|d| service.track(d)).collect();
    let mut staged_left = 0;
    if tracked.is_empty() {
        return rows::finish(tracked, None, false);
    }
    if let Some(error) = service.stopped_before() {
        return rows::stop_all(tracked, error);
    }
    if let Err(e) = service.lookup(&mut tracked, progress).await {
        let error = service.tenant_error(&e);
        return rows::stop_all(tracked, error);
    }
    snapshot(&tracked);
    if !settings.run.dry_run {
        // After Ctrl-C nothing more is sent; what was sent (or found
        // staged, or in a batch) is followed through the grace.
        service.send(&mut tracked, progress, cancel).await;
        // Following takes no turn: the next customer may start sending.
        drop(sending);
        snapshot(&tracked);
        if settings.run.wait {
            service.settle(&mut tracked, progress, cancel).await;
            // Every verdict is on record before the slow part.
            snapshot(&tracked);
            staged_left = service.clean_up(&tracked, progress).await;
        } else {
            // Devices registered already get their tag written once.
            super::tag(service.graph(), &mut tracked, progress).await;
        }
    }
    service.mark_unfinished(&mut tracked, cancel.is_cancelled());
    let mut outcome = rows::finish(tracked, None, cancel.is_cancelled());
    outcome.staged_left = staged_left;
    outcome
}
