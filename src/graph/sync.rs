//! Autopilot sync: `POST /beta/deviceManagement/windowsAutopilotSettings/sync`
//! asks Intune to process new registrations (profile assignment among
//! them) now rather than at its next cycle. The service takes one per
//! tenant per 10 minutes and answers 429 to another: apctl remembers when it
//! last asked each customer, across runs, and does not ask sooner
//! ([`crate::import::after::profiles::sync_once`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::transport::{CallError, Request, Service};

/// Least time between two Autopilot sync requests to one tenant: the
/// service answers 429 to a second one sooner (SPEC §3.1).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(600);

/// The outcome of asking for a sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "sync")]
pub enum Sync {
    Requested,
    /// Asked for less than 10 minutes ago (by this or an earlier run).
    Skipped {
        last: String,
    },
    /// A sync is under way already (409 Conflict): the devices are
    /// processed by it; remembered like a sync asked for.
    AlreadyRunning,
    /// The service said no; nothing waits for it.
    Refused {
        status: u16,
    },
    Failed {
        error: String,
    },
}

/// Asks Intune to sync Autopilot devices once, without retrying or
/// waiting: a 429 means a sync is already under way.
pub async fn request_sync(graph: &Graph<'_>) -> Sync {
    let url = crate::net::endpoint::join(graph.root, "/beta/deviceManagement/windowsAutopilotSettings/sync");
    let mut req = Request::new(
        Service::Graph,
        reqwest::Method::POST,
        url,
        "graph.sync",
        graph.scope,
    );
    req.headers.push(("Content-Length".into(), "0".into()));
    // One attempt through the tenant's gate: never inside a Retry-After
    // window, and a throttle it meets closes the gate for what follows.
    match graph.client.send_once(graph.tenant, graph.gate, &req).await {
        Ok(_) => Sync::Requested,
        Err(CallError::Service { error, .. }) if error.status == 409 => Sync::AlreadyRunning,
        Err(CallError::Service { error, .. }) => Sync::Refused { status: error.status },
        Err(e) => Sync::Failed { error: e.to_string() },
    }
}
