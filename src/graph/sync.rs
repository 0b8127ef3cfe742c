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

/// What the service says of the tenant's Autopilot syncs
/// (`GET /beta/deviceManagement/windowsAutopilotSettings`, SPEC §3.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncSettings {
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub last_manual_sync_trigger_date_time: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub sync_status: Option<String>,
}

impl SyncSettings {
    /// The sync already covering this moment, if the service says one is
    /// running or was asked for less than [`SYNC_INTERVAL`] before `now`:
    /// a fresh agent without the sync record does not meet the 429.
    pub fn recent(&self, now: jiff::Timestamp) -> Option<Sync> {
        if self.sync_status.as_deref() == Some("inProgress") {
            return Some(Sync::AlreadyRunning);
        }
        let last: jiff::Timestamp = self.last_manual_sync_trigger_date_time.as_deref()?.parse().ok()?;
        let interval = jiff::SignedDuration::try_from(SYNC_INTERVAL).ok()?;
        (now.duration_since(last) < interval && last <= now).then(|| Sync::Skipped {
            last: last.to_string(),
        })
    }
}

/// Reads the tenant's sync settings; `None` when they cannot be read (the
/// sync is then asked for, and a 429 said as such).
pub async fn read_settings(graph: &Graph<'_>) -> Option<SyncSettings> {
    let url = crate::net::endpoint::join(graph.root, "/beta/deviceManagement/windowsAutopilotSettings");
    let req = Request::new(
        Service::Graph,
        reqwest::Method::GET,
        url,
        "graph.sync-settings",
        graph.scope,
    );
    let resp = graph
        .client
        .send_once(graph.tenant, graph.gate, &req)
        .await
        .ok()?;
    crate::graph::parse_entity(&resp.body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_last_sync_says_whether_to_ask() {
        let now: jiff::Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
        let at = |last: &str, status: &str| SyncSettings {
            last_manual_sync_trigger_date_time: Some(last.into()),
            sync_status: Some(status.into()),
        };
        assert_eq!(
            at("2026-12-06T09:55:00Z", "completed").recent(now),
            Some(Sync::Skipped {
                last: "2026-12-06T09:55:00Z".into()
            })
        );
        assert_eq!(
            at("2026-12-06T09:45:00Z", "completed").recent(now),
            None,
            "over ten minutes ago"
        );
        assert_eq!(
            at("0001-01-01T00:00:00Z", "inProgress").recent(now),
            Some(Sync::AlreadyRunning)
        );
        assert_eq!(
            at("2026-12-06T10:30:00Z", "completed").recent(now),
            None,
            "a clock ahead is not trusted"
        );
        assert_eq!(SyncSettings::default().recent(now), None);
    }
}
