//! Row tracking both pipes share: each pipe keeps its own per-row state
//! (what it sent, where the row stands) and lends the shared helpers its
//! report entry through [`Row`].

use crate::import::report::progress::as_of_now;
use crate::import::{Event, ImportSettings, Progress, TenantOutcome};
use crate::input::device::Pipe;
use crate::portal::mapping::ErrorKind;
use crate::portal::state::RegistrationState;
use crate::report::{Cause, Entry, TenantError};

/// One input row as a pipe tracks it.
pub(crate) trait Row {
    fn entry(&self) -> &Entry;
    fn entry_mut(&mut self) -> &mut Entry;
    fn into_entry(self) -> Entry;
    /// The row may have reached the service (a report written now must not
    /// call it unsent).
    fn maybe_sent(&self) -> bool;
    /// The row has its final answer.
    fn is_done(&self) -> bool;
}

/// Hands the run what a pipe knows now: one entry per row, rows not yet
/// sent saying so.
pub(crate) fn snapshot<R: Row>(
    rows: &[R],
    settings: &ImportSettings,
    pipe: Pipe,
    progress: &dyn Progress,
    now: bool,
) {
    let fill = |entries: &mut Vec<Entry>| {
        entries.extend(
            rows.iter()
                .map(|r| as_of_now(r.entry(), r.maybe_sent() || settings.run.dry_run)),
        );
    };
    progress.snapshot(&settings.customer.tenant, pipe, &fill, now);
}

/// Tells the watcher how many rows have their final answer.
pub(crate) fn report_settled<R: Row>(rows: &[R], tenant: String, progress: &dyn Progress) {
    progress.event(Event::Settled {
        tenant,
        settled: rows.iter().filter(|r| r.is_done()).count(),
        total: rows.len(),
    });
}

/// True when every row has its final answer.
pub(crate) fn all_done<R: Row>(rows: &[R]) -> bool {
    rows.iter().all(Row::is_done)
}

/// The pipe's result: every row's entry, in input order.
pub(crate) fn finish<R: Row>(rows: Vec<R>, error: Option<TenantError>, interrupted: bool) -> TenantOutcome {
    TenantOutcome {
        entries: rows.into_iter().map(Row::into_entry).collect(),
        error,
        interrupted,
        staged_left: 0,
    }
}

/// Every row of the tenant stops for one reason, said once; the pipe's
/// result names the tenant's error.
pub(crate) fn stop_all<R: Row>(mut rows: Vec<R>, error: TenantError) -> TenantOutcome {
    let why = Cause::tenant(&error);
    for r in &mut rows {
        r.entry_mut().not_sent(&why);
    }
    finish(rows, Some(error), false)
}

/// The service said the row failed: Registration failed with the portal's
/// message for the error.
pub(crate) fn fail(entry: &mut Entry, kind: ErrorKind) {
    entry.set(RegistrationState::RegistrationFailed, kind.message());
}

/// The hint for a Graph call the tenant refused (401/403): the permission
/// and, through GDAP, the role it takes.
pub(crate) const GRAPH_PERMISSION: &str = "the app or user needs DeviceManagementServiceConfig.ReadWrite.All in this tenant (with GDAP: the Intune Administrator role)";
