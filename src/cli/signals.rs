//! Ctrl-C (SIGINT) and SIGTERM stop an import the same way: sending stops
//! at once, what was sent is followed for the grace, the final report is
//! written, and the run exits 130 (SIGINT) or 143 (SIGTERM). A second
//! signal ends the grace at once: the report is still written. CI agents
//! (Azure Pipelines and the GitHub Actions runner, which grew from it) send
//! SIGINT, then SIGTERM about 7.5 s later, then SIGKILL about 2.5 s after
//! that; under them the grace defaults to [`CI_GRACE`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use apctl::import::Cancel;

use crate::cli::exit::Exit;
use crate::cli::term;

/// The grace under a CI agent: inside its 7.5 s between SIGINT and SIGTERM,
/// with time to write the report.
pub const CI_GRACE: Duration = Duration::from_secs(5);

const NONE: u8 = 0;
const INT: u8 = 1;
const TERM: u8 = 2;

/// Which signal stopped the run, if one did.
#[derive(Clone, Debug, Default)]
pub struct Stopped(Arc<AtomicU8>);

impl Stopped {
    /// The exit code: an interrupted run stopped by SIGTERM exits 143.
    pub fn exit(&self, exit: Exit) -> Exit {
        match (exit, self.0.load(Ordering::SeqCst)) {
            (Exit::Interrupted, TERM) => Exit::Terminated,
            (exit, _) => exit,
        }
    }
}

/// Watches for SIGINT and SIGTERM for the rest of the run.
pub fn watch(cancel: Cancel, grace: Duration) -> Stopped {
    let stopped = Stopped::default();
    let seen = stopped.0.clone();
    tokio::spawn(async move {
        let Some(first) = next().await else { return };
        let _ = seen.compare_exchange(NONE, first, Ordering::SeqCst, Ordering::SeqCst);
        term::err_line(&format!(
            "{}: sending stops; following what was sent for up to {grace:?}, then writing the report (a second signal ends the wait)",
            name(first)
        ));
        cancel.cancel();
        if let Some(second) = next().await {
            term::err_line(&format!(
                "{} again: stopping now and writing the report of what is known",
                name(second)
            ));
            cancel.stop_now();
        }
    });
    stopped
}

fn name(signal: u8) -> &'static str {
    if signal == TERM {
        "terminated (SIGTERM)"
    } else {
        "interrupted"
    }
}

/// The next SIGINT or SIGTERM; `None` when neither can be watched.
async fn next() -> Option<u8> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok()?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.ok().map(|()| INT),
            _ = term.recv() => Some(TERM),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok().map(|()| INT)
    }
}
