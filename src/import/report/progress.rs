//! What both pipes tell the run while they work: progress events, snapshots
//! of their rows for checkpoint reports, the cancel flag, and the words for
//! rows whose turn never came.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::import::settings::ImportSettings;
use crate::input::device::Device;
use crate::report::{Cause, Entry, TenantError};

/// Progress events for whoever shows them.
#[derive(Clone, Debug)]
pub enum Event {
    /// Lookup done: devices already registered and already staged.
    LookedUp {
        tenant: String,
        registered: usize,
        staged: usize,
    },
    /// Partner Center lookup done: devices registered in the tenant and
    /// devices already in the batch.
    LookedUpBatch {
        tenant: String,
        registered: usize,
        batch: String,
        in_batch: usize,
    },
    /// A chunk was accepted.
    Sent { tenant: String, count: usize },
    /// So many devices of the tenant have a final answer.
    Settled {
        tenant: String,
        settled: usize,
        total: usize,
    },
    /// Something went wrong that the run works around (a poll that failed,
    /// a record it could not delete): for the person watching, beside the
    /// progress, never under it.
    Warning { tenant: String, message: String },
}

/// A warning about a tenant, for [`Progress::event`].
pub(crate) fn warning(tenant: &str, message: impl Into<String>) -> Event {
    Event::Warning {
        tenant: tenant.to_owned(),
        message: message.into(),
    }
}

/// Receives progress events; the library never prints.
pub trait Progress: Send + Sync {
    fn event(&self, event: Event);

    /// What one pipe of one customer knows now, one entry per row: `fill`
    /// pushes them onto the list it is given (a receiver keeping them can
    /// hand back its previous list, so a large run never holds two). `now`
    /// marks a moment worth recording at once (before and after sending,
    /// before cleanup); other snapshots may be thinned out.
    fn snapshot(
        &self,
        _tenant: &str,
        _pipe: crate::input::device::Pipe,
        _fill: &dyn Fn(&mut Vec<Entry>),
        _now: bool,
    ) {
    }

    /// A report of what is known while the run goes on, so that a run
    /// killed at any point leaves an accurate one (`complete: false`).
    fn checkpoint(&self, _report: &crate::report::Report) {}

    /// True when [`Progress::checkpoint`] does something: only then are
    /// checkpoint reports put together.
    fn wants_checkpoints(&self) -> bool {
        false
    }
}

/// A row's entry as a report written now should give it: a row not yet
/// answered for may have been sent or not, and says so.
pub(crate) fn as_of_now(entry: &Entry, sent: bool) -> Entry {
    let mut e = entry.clone();
    if !sent {
        e.not_sent(&stopped_cause());
    }
    e
}

/// The cause of rows whose turn had not come, or whose sending had not
/// been answered, when a report was written during the run.
pub(crate) fn stopped_cause() -> Arc<Cause> {
    Cause::run(
        None,
        "the run had not sent these devices, or had no answer for them yet, when this report was written",
        Some(
            "if the run did not finish, run apctl again: it looks before it sends, so nothing is sent twice",
        ),
    )
}

/// Ignores progress.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event) {}
}

/// Set when the user asked to stop (Ctrl-C): nothing more is sent, and
/// what was sent is polled for a grace period.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>, Arc<AtomicBool>, Arc<tokio::sync::Notify>);

impl Cancel {
    /// Asks the run to stop: nothing more is sent, what was sent is
    /// followed for the grace.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
        self.2.notify_waiters();
    }

    /// Resolves once the run is asked to stop (at once if it was).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.2.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a cancel between the
            // two is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// True once asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Asks the run to stop now: the grace ends and the report of what is
    /// known is written.
    pub fn stop_now(&self) {
        self.cancel();
        self.1.store(true, Ordering::SeqCst);
    }

    /// True once asked to stop now.
    pub fn is_stopped_now(&self) -> bool {
        self.1.load(Ordering::SeqCst)
    }
}

/// One tenant's result.
pub struct TenantOutcome {
    pub entries: Vec<Entry>,
    pub error: Option<TenantError>,
    pub interrupted: bool,
    /// Staged records the run meant to delete and left (the deadline came
    /// first, or a delete failed): the next run deletes them.
    pub staged_left: u64,
}

/// A device's report entry before anything happened to it: the run's
/// group tag fills in for a row without one.
pub(crate) fn entry_for(device: &Device, settings: &ImportSettings) -> Entry {
    let mut entry = Entry::for_row(
        &device.source,
        &settings.customer.tenant,
        Some(device),
        settings.customer.order_id.as_deref(),
    );
    if entry.group_tag.is_none() {
        entry.group_tag = settings.customer.group_tag.clone();
    }
    entry
}

/// The cause of rows whose turn never came: the run was stopped first.
pub(crate) fn interrupted_cause() -> Arc<Cause> {
    Cause::run(
        None,
        "the run was interrupted before these devices' turn",
        Some("run apctl again: nothing is sent twice"),
    )
}
