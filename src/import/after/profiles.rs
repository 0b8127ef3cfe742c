//! After a customer's pipes: Autopilot deployment profiles.
//!
//! "Ready for user" in the portal means the user will be guided through
//! setup, and a registered device with no deployment profile assigned is
//! not (SPEC §3.5). So after the pipes, apctl asks the customer for one
//! Autopilot sync when the run registered anything there (so profiles are
//! assigned now, not at Intune's next cycle; at most once per 10 minutes),
//! then reads each registered row's `deploymentProfileAssignmentStatus` (on
//! `/beta`: the v1.0 type does not have it), by id while the rows are few,
//! and by default waits within the deadline until every one has a profile.
//! A row still without one is "Registration pending", its profile status in
//! its details; `--no-wait-profile` reads once and does not wait. When the
//! status cannot be read (permissions, a cloud without `/beta`), that is
//! said once and the registered state stands.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use crate::graph::Graph;
use crate::graph::sync::{SYNC_INTERVAL, Sync, request_sync};
use crate::import::pipes::waiter::{self, Check, Round, Step, Wait};
use crate::import::report::progress::warning;
use crate::import::{Cancel, ImportSettings, Progress};
use crate::portal::state::RegistrationState;
use crate::report::{Action, Entry};

/// The statuses under which a profile is assigned.
const ASSIGNED: [&str; 3] = ["assignedInSync", "assignedOutOfSync", "assignedUnkownSyncState"];

/// True when the service says a profile is assigned (in sync or not).
pub fn is_assigned(status: &str) -> bool {
    ASSIGNED.contains(&status)
}

/// One customer's Autopilot sync, asked for at most once in a run: as soon
/// as the Graph pipe sees the first device it sent registered (so profiles
/// are assigned while other devices are still being processed), or else
/// after the pipes when anything was registered.
#[derive(Debug, Default)]
pub struct SyncOnce(tokio::sync::Mutex<Option<Sync>>);

impl SyncOnce {
    /// Asks for the sync unless it was asked for in this run (or, by the
    /// sync record, in the last 10 minutes) or the run sends nothing.
    pub async fn ask(&self, graph: &Graph<'_>, settings: &ImportSettings, progress: &dyn Progress) {
        let run = &settings.run;
        let mut asked = self.0.lock().await;
        let past = graph.client.clock().now() >= settings.customer.deadline;
        if asked.is_some() || !run.sync || run.dry_run || past {
            return;
        }
        let key = crate::import::run::lock::resolved_key(
            graph.client.http(),
            &run.authority,
            graph.tenant,
            &run.graph_root,
        )
        .await;
        // Bounded by the deadline: a sync that gets no answer does not
        // hold the run (the devices' states are final already).
        let clock = graph.client.clock();
        let sync = tokio::select! {
            sync = sync_once(graph, run.sync_record.as_deref(), &key) => sync,
            () = crate::clock::reaches(&**clock, settings.customer.deadline) => Sync::Failed {
                error: "no answer by the run's deadline".into(),
            },
        };
        if let Sync::Failed { error } = &sync {
            progress.event(warning(
                graph.tenant,
                format!("could not ask for an Autopilot sync ({error}); profiles are assigned at Intune's next cycle"),
            ));
        }
        *asked = Some(sync);
    }

    /// What came of it, if it was asked for.
    pub fn into_inner(self) -> Option<Sync> {
        self.0.into_inner()
    }
}

/// Asks for the sync (unless asked already) when the run registered
/// anything, reads the profile status of every registered row and, unless
/// `--no-wait-profile`, waits for profiles until `deadline`.
pub async fn follow(
    graph: &Graph<'_>,
    settings: &ImportSettings,
    sync: &SyncOnce,
    entries: &mut [Entry],
    progress: &dyn Progress,
    cancel: &Cancel,
    deadline: Duration,
) {
    let run = &settings.run;
    if run.dry_run || !entries.iter().any(|e| e.autopilot_device_id.is_some()) {
        return;
    }
    if entries.iter().any(registered_by_this_run) && !cancel.is_cancelled() {
        sync.ask(graph, settings, progress).await;
    }
    let wait = Wait {
        clock: &**graph.client.clock(),
        cadence: run.poll,
        deadline,
        grace: Duration::ZERO,
        cancel,
    };
    let mut reading = Reading {
        graph,
        entries,
        failed: None,
    };
    if run.wait_profile && run.wait {
        waiter::until(wait, &mut reading).await;
    } else {
        reading.read().await;
    }
    match reading.failed.take() {
        // One cause, said once: the registered state stands.
        Some(why) => progress.event(warning(
            graph.tenant,
            format!(
                "could not read deployment profile assignments ({why}): devices are reported by their registration alone, so one reported Ready for user may still lack a profile; grant DeviceManagementServiceConfig.ReadWrite.All on Graph /beta to have profiles checked"
            ),
        )),
        None => {
            for e in reading.entries.iter_mut().filter(|e| waits_for_profile(e)) {
                no_profile_yet(e);
            }
        }
    }
}

/// A row this run sent whose device is registered now.
pub fn registered_by_this_run(e: &Entry) -> bool {
    e.action == Action::Sent && e.state.is_some_and(RegistrationState::is_registered)
}

/// A row held back for its profile: registered and ready for its user by
/// the enrollment rule, without a profile said to be assigned.
fn waits_for_profile(e: &Entry) -> bool {
    e.state == Some(RegistrationState::ReadyForUser)
        && e.autopilot_device_id.is_some()
        && !e.profile_status.as_deref().is_some_and(is_assigned)
}

/// A device registered without a profile is not ready for its user.
fn no_profile_yet(e: &mut Entry) {
    let id = e.autopilot_device_id.as_deref().unwrap_or_default().to_owned();
    e.state = Some(RegistrationState::RegistrationPending);
    e.message = None;
    e.say(crate::portal::details::Detail::NoProfileYet {
        id,
        status: e.profile_status.clone().unwrap_or_else(|| "unknown".to_owned()),
    });
}

/// Reads the profile status of the registered rows without one assigned,
/// once per round.
struct Reading<'a, 'g> {
    graph: &'a Graph<'g>,
    entries: &'a mut [Entry],
    /// Why the last read failed, if it did.
    failed: Option<String>,
}

impl Reading<'_, '_> {
    /// The rows' devices on `/beta`; each row takes its device's status
    /// (a device gone since keeps none).
    /// Returns true when one changed.
    async fn read(&mut self) -> bool {
        let ids: Vec<String> = self
            .entries
            .iter()
            // Every registered row once, for the report; then those
            // still waiting.
            .filter(|e| waits_for_profile(e) || e.profile_status.is_none())
            .filter_map(|e| e.autopilot_device_id.as_deref().map(str::to_owned))
            .collect();
        if ids.is_empty() {
            return false;
        }
        let listed = match self.graph.profile_statuses(&ids).await {
            Ok(listed) => listed,
            Err(e) => {
                self.failed = Some(e.to_string());
                return false;
            }
        };
        let by_id: HashMap<&str, &crate::graph::registered::ProfileStatus> =
            listed.iter().map(|d| (d.id.as_str(), d)).collect();
        let mut changed = false;
        for e in self.entries.iter_mut() {
            let Some(device) = e.autopilot_device_id.as_deref().and_then(|id| by_id.get(id)) else {
                continue;
            };
            let status = device.deployment_profile_assignment_status.clone();
            changed |= status != e.profile_status;
            e.profile_status = status;
        }
        changed
    }
}

impl Step for &mut Reading<'_, '_> {
    async fn step(&mut self, _round: Round) -> Check {
        let changed = self.read().await;
        if self.failed.is_some() || !self.entries.iter().any(waits_for_profile) {
            Check::Settled
        } else if changed {
            Check::Moved
        } else {
            Check::Open
        }
    }
}

/// The sync record's format (`sync.json`): customer key → when a sync was
/// last asked for. A record from before format 1 (a bare map) reads as
/// empty, which costs at most one more sync.
const SYNC_RECORD_VERSION: u64 = 1;

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct SyncRecord {
    version: u64,
    #[serde(default)]
    synced: BTreeMap<String, String>,
}

/// Asks one customer for a sync unless it was asked less than
/// [`SYNC_INTERVAL`] ago; `record` (a JSON file of customer → time, shared
/// by every run on this machine) remembers it. `key` names the customer at
/// its service by its resolved tenant id
/// ([`crate::import::run::lock::resolved_key`]).
pub async fn sync_once(graph: &Graph<'_>, record: Option<&Path>, key: &str) -> Sync {
    // One read-modify-write at a time in this process (customers run in
    // parallel and share the file) and across processes (the file's lock,
    // held from the read to the write, so two runs ask once).
    static RECORD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _held = RECORD.lock().await;
    let _across = match record {
        Some(p) => match crate::state::lock_beside(p).await {
            Ok(lock) => Some(lock),
            Err(e) => {
                tracing::warn!("cannot lock `{}` against other runs: {e}", p.display());
                None
            }
        },
        None => None,
    };
    let (mut last, writable) =
        match record.map(|p| (p, crate::state::load::<SyncRecord>(p, SYNC_RECORD_VERSION))) {
            None | Some((_, crate::state::Loaded::Missing)) => (BTreeMap::new(), true),
            Some((_, crate::state::Loaded::Read(r))) => (r.synced, true),
            // A broken file is written anew; a newer apctl's is kept as it is.
            Some((p, crate::state::Loaded::Corrupt(why))) => {
                tracing::warn!("`{}`: {why}; it is started again", p.display());
                (BTreeMap::new(), true)
            }
            Some((p, crate::state::Loaded::Newer(why))) => {
                tracing::warn!(
                    "`{}`: {why}; an Autopilot sync may be asked for again",
                    p.display()
                );
                (BTreeMap::new(), false)
            }
        };
    // Wall time, not the client's clock: the record outlives the run.
    let now = jiff::Timestamp::now();
    let interval = jiff::SignedDuration::try_from(SYNC_INTERVAL).unwrap_or_default();
    let recent = last
        .get(key)
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .filter(|t| now.duration_since(*t) < interval);
    if let Some(t) = recent {
        return Sync::Skipped { last: t.to_string() };
    }
    // The service's own record, for an agent without this one (a 429
    // otherwise); a sync it already covers is remembered as asked.
    let result = match crate::graph::sync::read_settings(graph)
        .await
        .and_then(|s| s.recent(now))
    {
        Some(covered) => covered,
        None => request_sync(graph).await,
    };
    if matches!(
        result,
        Sync::Requested | Sync::AlreadyRunning | Sync::Skipped { .. } | Sync::Refused { status: 429 }
    ) {
        let when = match &result {
            Sync::Skipped { last } => last.clone(),
            _ => now.to_string(),
        };
        last.insert(key.to_owned(), when);
        if let Some(p) = record.filter(|_| writable) {
            let text = serde_json::to_string_pretty(&SyncRecord {
                version: SYNC_RECORD_VERSION,
                synced: last,
            })
            .unwrap_or_default();
            let written = p
                .parent()
                .map_or(Ok(()), crate::state::ensure_dir)
                .and_then(|()| crate::state::write_whole(p, text.as_bytes()));
            if let Err(e) = written {
                tracing::warn!("cannot remember the Autopilot sync in `{}`: {e}", p.display());
            }
        }
    }
    result
}
