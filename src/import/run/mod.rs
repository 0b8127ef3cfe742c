//! One `apctl import` run over one or many customers: read and check every
//! file, give each row its customer (its `Tenant` cell, else its file's
//! customer from the manifest or `--tenant`), route each row to its pipe,
//! run the customers in parallel — each inside its own gate — and put
//! together one report with exactly one entry per input row and a section
//! per customer.

pub(crate) mod assemble;
pub mod ledger;
pub mod lock;
pub mod markers;

use std::path::PathBuf;
use std::sync::Arc;

use crate::graph::gdap;
use crate::import::after::profiles;
use crate::import::pipes::graph;
use crate::import::pipes::{corporate, partner_center};
use crate::import::plan::Job;
use crate::import::plan::{Input, Plan, TenantRows, plan};
use crate::import::report::checkpoints::Checkpoints;
use crate::import::report::progress::{entry_for, warning};
use crate::import::run::assemble::{TenantResult, assemble};
use crate::import::run::ledger::Ledger;
use crate::import::{Cancel, ImportSettings, Progress, RunSettings};
use crate::input::device::Pipe;
use crate::report::{Action, Cause, Report, TenantError, Verdict};
use crate::transport::Client;

/// Imports the files into `tenant`: a run with one customer.
pub async fn import_files(
    client: &Client,
    settings: &Arc<RunSettings>,
    tenant: &str,
    files: &[PathBuf],
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Report {
    let inputs: Vec<Input> = files.iter().map(|f| Input::for_tenant(f, Some(tenant))).collect();
    let mut plan = plan(&inputs, settings.order_id.as_deref());
    let jobs = plan
        .tenants
        .drain(..)
        .map(|rows| Job {
            customer: ImportSettings::new(settings, tenant).customer,
            rows,
        })
        .collect();
    run(client, settings, plan, jobs, progress, cancel).await
}

/// Runs every customer's job, at most `settings.max_customers` at once,
/// and reports.
pub async fn run(
    client: &Client,
    settings: &Arc<RunSettings>,
    plan: Plan,
    jobs: Vec<Job>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Report {
    let base = &started(settings, client);
    let started_at = client.clock().wall().to_string();
    let checkpoints = Checkpoints::new(progress, &plan, &jobs, base, &started_at, client);
    checkpoints.write();
    let limit = Arc::new(tokio::sync::Semaphore::new(base.max_customers.max(1)));
    let run_start = client.clock().now();
    let runs = jobs.into_iter().map(|job| {
        let limit = limit.clone();
        turn(client, base, job, limit, run_start, &checkpoints, cancel)
    });
    // The run ends at its deadline (and the time to write its report),
    // whatever a slow service is doing: what is known then is reported.
    // After Ctrl-C, the run has its grace to follow what was sent; a
    // request that hangs past it is not waited for.
    let all = futures::future::join_all(runs);
    let clock = &**client.clock();
    let stop = async {
        tokio::select! {
            () = crate::clock::reaches(clock, base.deadline + base.grace + CUT_ALLOWANCE) => {}
            () = async {
                cancel.cancelled().await;
                // The grace, then a moment to finish what is on the wire: a
                // CI agent sends SIGKILL seconds after SIGTERM. A second
                // signal ends it at once.
                let end = clock.now() + base.grace + INTERRUPT_ALLOWANCE;
                tokio::select! {
                    () = crate::clock::reaches(clock, end) => {}
                    () = async {
                        while !cancel.is_stopped_now() {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    } => {}
                }
            } => {}
        }
    };
    tokio::pin!(all, stop);
    tokio::select! {
        results = &mut all => {
            // Every customer's result is in: the snapshots are not needed
            // beside them.
            checkpoints.forget();
            assemble(plan, results, base, &started_at, client, true)
        }
        () = &mut stop => {
            let interrupted = cancel.is_cancelled();
            let mut report = checkpoints.report();
            report.tenant_errors.push(TenantError {
                tenant: String::new(),
                error: if interrupted {
                    "the run was interrupted and its grace ended before every answer came: this report is what was known then".to_owned()
                } else {
                    format!(
                        "the run reached its deadline ({}, with its grace) before every answer came{}: this report is what was known then",
                        jiff::SignedDuration::try_from(base.deadline + base.grace).unwrap_or_default(),
                        waiting_for(client)
                    )
                },
                hint: Some("run apctl again: it follows what was sent and sends nothing twice".into()),
            });
            // The rows decide the verdict: what was still going at the cut
            // (a sync, cleanup, a read) does not turn rows with their final
            // states into a run that could not run. Rows never sent say so
            // on their own.
            if interrupted {
                report.verdict = Verdict::Interrupted;
            }
            report
        }
    }
}

/// One customer in its turn (`--max-tenants` sending at a time; a
/// customer that has sent lets the next one start while it follows its
/// devices). One still queued when too little of the run's time is left is
/// not started.
async fn turn(
    client: &Client,
    base: &Arc<RunSettings>,
    job: Job,
    limit: Arc<tokio::sync::Semaphore>,
    run_start: std::time::Duration,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> TenantResult {
    let run_ends = run_start + base.deadline;
    // Enough time left to follow what it would send.
    let least = (base.deadline / 4).min(std::time::Duration::from_secs(60));
    let turn = tokio::select! {
        biased;
        permit = limit.acquire_owned() => permit.ok(),
        () = crate::clock::reaches(&**client.clock(), run_ends.saturating_sub(least)) => None,
    };
    match turn {
        Some(permit) if client.clock().now() + least < run_ends => {
            let mut job = job;
            let sending = [
                (Pipe::Graph, &job.rows.graph),
                (Pipe::PartnerCenter, &job.rows.partner_center),
            ]
            .into_iter()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(pipe, _)| pipe)
            .collect();
            job.customer.turn = crate::import::settings::Turn::new(permit, sending);
            run_tenant(client, base, job, run_ends, progress, cancel).await
        }
        _ => {
            let result = not_started(base, job);
            // On record at once: a run cut at its deadline reports from
            // the snapshots, and these rows were not started, not unsent
            // for want of an answer.
            let entries = &result.entries;
            let fill = |list: &mut Vec<crate::report::Entry>| list.extend(entries.iter().cloned());
            progress.snapshot(&result.tenant, Pipe::PartnerCenter, &|_| {}, false);
            progress.snapshot(&result.tenant, Pipe::Graph, &fill, true);
            result
        }
    }
}

/// What a run cut at its deadline was still waiting for: `; still waiting
/// for graph.list-registered (contoso.onmicrosoft.com, 62 s)`, at most
/// three answers named.
fn waiting_for(client: &Client) -> String {
    let now = client.clock().now();
    let flights = client.in_flight();
    if flights.is_empty() {
        return String::new();
    }
    let named: Vec<String> = flights
        .iter()
        .take(3)
        .map(|f| {
            format!(
                "{} ({}, {} s)",
                f.kind,
                f.tenant,
                now.saturating_sub(f.since).as_secs()
            )
        })
        .collect();
    let more = flights.len().saturating_sub(named.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("; still waiting for {}{more}", named.join(", "))
}

/// The run's settings with its start time, for the `importId` marker.
fn started(settings: &Arc<RunSettings>, client: &Client) -> Arc<RunSettings> {
    if settings.started_epoch != 0 {
        return settings.clone();
    }
    let mut s = (**settings).clone();
    s.started_epoch = client.clock().wall().as_second();
    Arc::new(s)
}

/// Time past the deadline and grace a run still has to finish its last
/// request and write its report before it is cut.
const CUT_ALLOWANCE: std::time::Duration = std::time::Duration::from_secs(10);

/// The same after an interruption, kept short: CI agents send SIGKILL
/// about 2.5 s after SIGTERM.
const INTERRUPT_ALLOWANCE: std::time::Duration = std::time::Duration::from_secs(1);

/// One customer: both pipes at once, sharing the tenant's Graph gate.
async fn run_tenant(
    client: &Client,
    run: &Arc<RunSettings>,
    job: Job,
    run_ends: std::time::Duration,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> TenantResult {
    let mut settings = job.settings(run);
    let rows = job.rows;
    let requested_name = rows.tenant.clone();
    if settings.customer.order_id.is_none() {
        settings.customer.order_id.clone_from(&rows.order_id);
    }
    // Held until this customer is done; the OS drops it if the process dies.
    let _lock = match lock(client, &settings, progress, cancel).await {
        Ok(lock) => lock,
        Err(busy) => return another_run(&settings, requested_name, rows, &busy),
    };
    settings.customer.deadline = (client.clock().now() + settings.run.deadline).min(run_ends);
    let ledger = ledger_of(_lock.as_ref(), &settings, progress);
    let gate = client.gate_with(&settings.customer.tenant, settings.run.limits);
    if settings.customer.name.is_none() && settings.customer.preflight_failure.is_none() {
        // People read names, not ids: the tenant's own display name.
        settings.customer.name = settings.graph(client, &gate).organization_name().await;
    }
    let pc_rows = partner_center_rows(&settings, &rows.partner_center);
    let pc_settings = partner_center_settings(client, &settings, &rows).await;
    let sync = profiles::SyncOnce::default();
    let (graph, pc) = tokio::join!(
        graph::import_tenant(
            client,
            &settings,
            rows.graph,
            &gate,
            graph::Lent {
                ledger: &ledger,
                sync: &sync,
            },
            progress,
            cancel,
        ),
        partner_center::import_customer(client, &pc_settings, &gate, pc_rows, progress, cancel),
    );
    let corporate = corporate_pipe(client, &settings, &gate, &rows.partner_center, cancel).await;
    let mut entries = graph.entries;
    entries.extend(pc.entries);
    entries.extend(corporate.entries);
    let tenant_graph = settings.graph(client, &gate);
    profiles::follow(
        &tenant_graph,
        &settings,
        &sync,
        &mut entries,
        progress,
        cancel,
        settings.customer.deadline,
    )
    .await;
    let sync = sync.into_inner();
    TenantResult {
        tenant: settings.customer.tenant.clone(),
        requested: requested_name,
        name: settings.customer.name.clone(),
        entries,
        errors: graph
            .error
            .into_iter()
            .chain(pc.error)
            .chain(corporate.error)
            .collect(),
        interrupted: graph.interrupted || pc.interrupted || corporate.interrupted,
        sync,
        staged_left: graph.staged_left + pc.staged_left,
    }
}

/// The tuple rows Partner Center gets: none on the corporate-identifier
/// route, where they go instead.
fn partner_center_rows(
    settings: &ImportSettings,
    tuples: &[crate::input::device::Device],
) -> Vec<crate::input::device::Device> {
    match settings.customer.corporate {
        Some(_) => Vec::new(),
        None => tuples.to_vec(),
    }
}

/// The customer's tuple rows as corporate identifiers, when it chose that
/// route (nothing otherwise).
async fn corporate_pipe(
    client: &Client,
    settings: &ImportSettings,
    gate: &crate::transport::throttle::TenantGate,
    tuples: &[crate::input::device::Device],
    cancel: &Cancel,
) -> crate::import::TenantOutcome {
    let route = settings.customer.corporate;
    let devices = if route.is_some() {
        tuples.to_vec()
    } else {
        Vec::new()
    };
    corporate::import_customer(client, settings, gate, route.unwrap_or_default(), devices, cancel).await
}

/// The ledger of what this machine sent the customer, from its lock; a
/// problem with it is said and the run goes on without it.
fn ledger_of(
    lock: Option<&crate::import::run::lock::TenantLock>,
    settings: &ImportSettings,
    progress: &dyn Progress,
) -> Ledger {
    match lock.map(Ledger::for_lock).transpose() {
        Ok(ledger) => {
            let ledger = ledger.unwrap_or_default();
            if let Some(e) = ledger.take_problem() {
                progress.event(warning(&settings.customer.tenant, e.to_string()));
            }
            ledger
        }
        Err(e) => {
            progress.event(warning(&settings.customer.tenant, format!("{e}; staged records whose import id the service rewrote are not known as apctl's this run")));
            Ledger::none()
        }
    }
}

/// Takes the customer's lock on this machine (keyed by its tenant id, so a
/// domain and its id are one customer), waiting for another run only with
/// `--wait-for-other-runs`. A lock that cannot be used at all (no state
/// folder) does not stop the run: the tenant check still guards it.
async fn lock(
    client: &Client,
    settings: &ImportSettings,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Option<crate::import::run::lock::TenantLock>, crate::import::run::lock::Busy> {
    use lock::LockError;
    let Some(dir) = &settings.run.lock_dir else {
        return Ok(None);
    };
    let key = lock::resolved_key(
        client.http(),
        &settings.run.authority,
        &settings.customer.tenant,
        &settings.run.graph_root,
    )
    .await;
    let owner = format!(
        "pid {}, run {}, since {}",
        std::process::id(),
        settings.run.run_id,
        client.clock().wall()
    );
    let result = if settings.run.wait_for_other_runs {
        lock::acquire_waiting(dir, &key, &owner, settings.run.deadline, || cancel.is_cancelled()).await
    } else {
        lock::try_acquire(dir, &key, &owner)
    };
    match result {
        Ok(lock) => Ok(Some(lock)),
        Err(LockError::Busy(busy)) => Err(busy),
        Err(e) => {
            progress.event(warning(
                &settings.customer.tenant,
                format!("working without a lock: {e}"),
            ));
            Ok(None)
        }
    }
}

/// Every row of a customer another run on this machine is working on:
/// not sent, and left to that run.
fn another_run(
    settings: &ImportSettings,
    requested: String,
    rows: TenantRows,
    busy: &crate::import::run::lock::Busy,
) -> TenantResult {
    let why = TenantError {
        tenant: settings.customer.tenant.clone(),
        error: format!(
            "another apctl run on this machine is working on this customer ({}): its devices were left to it",
            busy.owner
        ),
        hint: Some("it sends each device once; run apctl again when it has finished, or add `--wait-for-other-runs` to wait for it".into()),
    };
    left_whole(settings, requested, rows, &why, Action::AnotherRun)
}

/// A customer whose turn never came: the run's deadline passed while it
/// waited behind `--max-tenants` others. Not sent, and not its failure.
fn not_started(run: &Arc<RunSettings>, job: Job) -> TenantResult {
    let settings = job.settings(run);
    let why = TenantError {
        tenant: settings.customer.tenant.clone(),
        error: format!(
            "not started: the run's deadline came (or too little of it was left) while this customer waited for its turn ({} customers at a time)",
            run.max_customers
        ),
        hint: Some("run apctl again for it (nothing is sent twice), or give the run more time (`--timeout`) or more customers at a time (`--max-tenants`), or split it with `--shard`".into()),
    };
    left_whole(
        &settings,
        job.rows.tenant.clone(),
        job.rows,
        &why,
        Action::NotSent,
    )
}

/// Every row of a customer left for one reason, said once.
fn left_whole(
    settings: &ImportSettings,
    requested: String,
    rows: TenantRows,
    why: &TenantError,
    action: Action,
) -> TenantResult {
    let why = Cause::tenant(why);
    let entries = rows
        .graph
        .iter()
        .chain(&rows.partner_center)
        .map(|d| {
            let mut e = entry_for(d, settings);
            e.not_sent(&why);
            e.action = action;
            e
        })
        .collect();
    TenantResult {
        tenant: settings.customer.tenant.clone(),
        requested,
        name: settings.customer.name.clone(),
        entries,
        errors: Vec::new(),
        interrupted: false,
        sync: None,
        staged_left: 0,
    }
}

/// The Partner Center settings of a customer: its tenant id (a domain is
/// looked up at the authority). The batches are named by the pipe, one per
/// group tag: Partner Center makes a batch's name its devices' group tag.
async fn partner_center_settings(
    client: &Client,
    settings: &ImportSettings,
    rows: &TenantRows,
) -> ImportSettings {
    let mut s = settings.clone();
    if rows.partner_center.is_empty() {
        return s;
    }
    let pc = &mut s.customer;
    let failure = |error: String, hint: &str| TenantError {
        tenant: settings.customer.tenant.clone(),
        error,
        hint: Some(hint.to_owned()),
    };
    match gdap::customer_id(client.http(), &settings.run.authority, &settings.customer.tenant).await {
        Ok(id) => pc.customer_id = id,
        Err(why) => {
            pc.partner_center_failure.get_or_insert(failure(
                format!("Partner Center needs the customer's tenant id: {why}"),
                "give the customer's tenant id or verified domain",
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::import::plan::shard_of;

    #[test]
    fn shards_are_stable_and_cover_every_customer_once() {
        let names: Vec<String> = (0..200)
            .map(|i| format!("customer-{i}.onmicrosoft.com"))
            .collect();
        let mut counts = [0u32; 4];
        for n in &names {
            let k = shard_of(n, 4);
            assert!((1..=4).contains(&k));
            assert_eq!(k, shard_of(&n.to_uppercase(), 4), "case does not move a customer");
            counts[(k - 1) as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<u32>(), 200);
        assert!(counts.iter().all(|c| *c > 20), "spread: {counts:?}");
        assert_eq!(shard_of("contoso.onmicrosoft.com", 1), 1);
        // Pinned: a release must not move customers between jobs.
        assert_eq!(
            shard_of("contoso.onmicrosoft.com", 7),
            shard_of(" Contoso.onmicrosoft.com ", 7)
        );
    }
}
