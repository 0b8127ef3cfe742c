//! What an import needs to know before its first request: the run-wide
//! settings and each customer's.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::import::pipes::waiter::Cadence;
use crate::report::TenantError;
use crate::transport::throttle::Limits;

/// Most devices in one import call: the portal's per-file limit (SPEC
/// §3.1: no per-call maximum is documented).
pub const DEFAULT_CHUNK: usize = 500;

/// Above this many unsettled records a poll lists the collection instead of
/// reading each record: two pages instead of a thousand GETs.
pub const LIST_POLL_THRESHOLD: usize = 5;

/// Default polling: a second at first, so a device decided quickly is seen
/// quickly, doubling while nothing changes to a minute, the pace a real
/// import (minutes) or a device that never settles can afford: 34 polls
/// over a 30-minute deadline instead of 3,600.
pub const DEFAULT_POLL: Cadence = Cadence {
    first: Duration::from_secs(1),
    max: Duration::from_secs(60),
};

/// Staged records apctl creates carry an `importId` with this prefix, so a
/// later run knows them as apctl's own. The rest is the time (Unix
/// seconds) by which the run that created them has certainly ended, then
/// its run id: `apctl-1796112000-8a0c…`. Before that time another run's
/// unsettled records may still be followed by it; after it they are
/// leftovers.
pub const IMPORT_ID_PREFIX: &str = "apctl-";

/// How long after its deadline and grace a run may still be cleaning up
/// (paced by the write budget): its records count as a live run's until
/// then.
pub const CLEANUP_ALLOWANCE: Duration = Duration::from_secs(15 * 60);

/// Everything a run knows before its first request, built once from the
/// arguments: the same for every customer of the run.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// This run's id, part of the `importId` marker.
    pub run_id: String,
    /// The shard this run is of a sharded run, for its report.
    pub place: Option<crate::report::Place>,
    /// When the run started (Unix seconds), for the marker; 0 until the
    /// first customer starts.
    pub started_epoch: i64,
    pub graph_root: Url,
    /// The Graph token scope of the tenant's cloud.
    pub graph_scope: &'static str,
    /// Partner Center root; `/v1` is appended.
    pub partner_center_root: Url,
    /// The Partner Center token scope of the cloud.
    pub partner_center_scope: &'static str,
    /// The token authority (to find a domain's tenant id).
    pub authority: Url,
    /// The partner's own tenant, where Partner Center tokens are asked for
    /// (`organizations`: the signed-in user's home tenant).
    pub partner_tenant: String,
    /// Order id for customers whose input names none (`--order-id`).
    pub order_id: Option<String>,
    /// Group tag for rows that have none (`--group-tag`).
    pub group_tag: Option<String>,
    pub chunk_size: NonZeroUsize,
    /// Wait for final states (`--wait`, the default).
    pub wait: bool,
    /// Overall deadline for the run, from its start.
    pub deadline: Duration,
    /// Time between polls while waiting.
    pub poll: Cadence,
    /// Validate and look up, send nothing.
    pub dry_run: bool,
    pub limits: Limits,
    /// How often a device that hit a transient error (640) is resent.
    pub max_resends: u32,
    /// After Ctrl-C, how long to keep polling what was sent.
    pub grace: Duration,
    /// Wait for another apctl run holding the customer's lock on this
    /// machine, instead of leaving its devices to it.
    pub wait_for_other_runs: bool,
    /// Where the per-customer locks live; `None` takes none.
    pub lock_dir: Option<std::path::PathBuf>,
    /// Wait (within the deadline) until a deployment profile is assigned
    /// to each device registered (the default); either way a device is
    /// Ready for user only with one.
    pub wait_profile: bool,
    /// Ask each customer for one Autopilot sync after a run that registered
    /// anything there (at most once per 10 minutes).
    pub sync: bool,
    /// Where the last sync per customer is remembered; `None` keeps no record.
    pub sync_record: Option<std::path::PathBuf>,
    /// Customers worked on at once.
    pub max_customers: usize,
}

impl RunSettings {
    /// apctl's defaults for a run at `endpoints`: chunks of 500, wait with a
    /// 30-minute deadline, poll every half second, the documented Intune
    /// budgets, two resends of transient errors, 60 s of grace, one customer
    /// at a time.
    pub fn new(endpoints: &crate::net::endpoint::Endpoints, run_id: &str) -> Self {
        Self {
            run_id: run_id.to_owned(),
            place: None,
            started_epoch: 0,
            graph_root: endpoints.graph.clone(),
            graph_scope: endpoints.graph_scope,
            partner_center_root: endpoints.partner_center.clone(),
            partner_center_scope: endpoints.partner_center_scope,
            authority: endpoints.authority.clone(),
            partner_tenant: "organizations".into(),
            order_id: None,
            group_tag: None,
            chunk_size: NonZeroUsize::new(DEFAULT_CHUNK).expect("non-zero"),
            wait: true,
            deadline: Duration::from_secs(30 * 60),
            poll: DEFAULT_POLL,
            dry_run: false,
            limits: Limits::default(),
            max_resends: 2,
            grace: Duration::from_secs(60),
            wait_for_other_runs: false,
            lock_dir: None,
            wait_profile: true,
            sync: true,
            sync_record: None,
            max_customers: 1,
        }
    }

    /// The `importId` this run's staged records carry.
    pub fn marker(&self) -> String {
        // A run that does not wait never follows its records: they are an
        // ended run's as soon as it has sent them.
        let follows = if self.wait {
            self.deadline + self.grace + CLEANUP_ALLOWANCE
        } else {
            Duration::ZERO
        };
        let until = self.started_epoch + follows.as_secs() as i64;
        format!("{IMPORT_ID_PREFIX}{until}-{}", self.run_id)
    }
}

/// One customer's part of a run: what the run learns about it.
#[derive(Clone, Debug, Default)]
pub struct CustomerSettings {
    /// The customer as the run works on it (an id or domain).
    pub tenant: String,
    /// The customer's display name, once known (from the input, GDAP or
    /// the tenant's organization).
    pub name: Option<String>,
    pub order_id: Option<String>,
    /// Group tag for rows that have none.
    pub group_tag: Option<String>,
    /// A preflight check that failed for the tenant (for example the GDAP
    /// role of a delegated token): nothing is sent, every row says why.
    pub preflight_failure: Option<TenantError>,
    /// The customer's id in Partner Center: its tenant id. Empty until
    /// resolved from `tenant`.
    pub customer_id: String,
    /// The device batch: the order id, or a name derived from the file.
    pub batch_id: String,
    /// Why Partner Center cannot be used for this customer (no partner
    /// sign-in, for instance): tuple rows are not sent and say why.
    pub partner_center_failure: Option<TenantError>,
    /// When waiting for this customer's answers ends, on the run's clock:
    /// set once, when its run starts (after its lock), and used by both
    /// pipes and the profile wait alike.
    pub deadline: Duration,
    /// Its place among the customers sending at once (`--max-tenants`).
    pub turn: Turn,
    /// The corporate-identifier route, when chosen for this customer: its
    /// Manufacturer+Model+Serial rows become Windows corporate identifiers
    /// instead of Partner Center device batches.
    pub corporate: Option<crate::import::pipes::corporate::Route>,
}

/// A customer's place among those sending at once (`--max-tenants`), let
/// go once each of its pipes has sent what it will send: a customer that
/// only follows its devices (minutes of the service's import and profile
/// assignment) does not hold the next one back. Dropped with the
/// customer's run in any case.
#[derive(Clone, Debug, Default)]
pub struct Turn(Option<Arc<std::sync::Mutex<TurnState>>>);

#[derive(Debug)]
struct TurnState {
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The pipes with rows that have not finished sending.
    sending: Vec<crate::input::device::Pipe>,
}

impl Turn {
    /// A turn held for the customer's pipes that have rows.
    pub fn new(permit: tokio::sync::OwnedSemaphorePermit, pipes: Vec<crate::input::device::Pipe>) -> Self {
        Self(Some(Arc::new(std::sync::Mutex::new(TurnState {
            permit: Some(permit),
            sending: pipes,
        }))))
    }

    /// `pipe` has sent all it will send; the last one lets the turn go.
    pub fn sent(&self, pipe: crate::input::device::Pipe) {
        let Some(state) = &self.0 else { return };
        let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.sending.retain(|p| *p != pipe);
        if state.sending.is_empty() {
            state.permit = None;
        }
    }

    /// Lets the turn go for `pipe` when dropped, however the pipe ends.
    pub fn sending(&self, pipe: crate::input::device::Pipe) -> Sending<'_> {
        Sending { turn: self, pipe }
    }

    /// True while the turn is held.
    pub fn held(&self) -> bool {
        self.0.as_ref().is_some_and(|s| {
            s.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .permit
                .is_some()
        })
    }
}

/// What one customer's pipes work with: the run's settings and the
/// customer's.
#[derive(Clone, Debug)]
pub struct ImportSettings {
    pub run: Arc<RunSettings>,
    pub customer: CustomerSettings,
}

impl CustomerSettings {
    /// How people read the customer: its name, else its tenant.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.tenant.clone())
    }
}

impl ImportSettings {
    /// The customer's Graph, through `gate`.
    pub fn graph<'a>(
        &'a self,
        client: &'a crate::transport::Client,
        gate: &'a crate::transport::throttle::TenantGate,
    ) -> crate::graph::Graph<'a> {
        crate::graph::Graph {
            client,
            root: &self.run.graph_root,
            tenant: &self.customer.tenant,
            gate,
            scope: self.run.graph_scope,
        }
    }

    /// A customer of the run, with the run's order id and group tag.
    pub fn new(run: &Arc<RunSettings>, tenant: &str) -> Self {
        Self {
            run: run.clone(),
            customer: CustomerSettings {
                tenant: tenant.to_owned(),
                name: None,
                order_id: run.order_id.clone(),
                group_tag: run.group_tag.clone(),
                ..CustomerSettings::default()
            },
        }
    }
}

/// A pipe sending in its customer's turn (see [`Turn::sending`]).
pub struct Sending<'a> {
    turn: &'a Turn,
    pipe: crate::input::device::Pipe,
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        self.turn.sent(self.pipe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::device::Pipe;

    /// The turn is let go when the last pipe with rows has sent, not
    /// before, and sending twice changes nothing.
    #[test]
    fn a_turn_is_let_go_when_every_pipe_has_sent() {
        let slots = Arc::new(tokio::sync::Semaphore::new(1));
        let permit = slots.clone().try_acquire_owned().unwrap();
        let turn = Turn::new(permit, vec![Pipe::Graph, Pipe::PartnerCenter]);
        let copy = turn.clone();
        copy.sent(Pipe::Graph);
        copy.sent(Pipe::Graph);
        assert!(turn.held(), "Partner Center has not sent yet");
        assert_eq!(slots.available_permits(), 0);
        turn.sent(Pipe::PartnerCenter);
        assert!(!turn.held());
        assert_eq!(slots.available_permits(), 1, "the next customer may start");
        assert!(!Turn::default().held(), "a run without turns holds none");
        // A pipe that ends without sending lets its part of the turn go.
        let permit = slots.clone().try_acquire_owned().unwrap();
        let turn = Turn::new(permit, vec![Pipe::Graph]);
        drop(turn.sending(Pipe::Graph));
        assert_eq!(slots.available_permits(), 1);
    }
}
