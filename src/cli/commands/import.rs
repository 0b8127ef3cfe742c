//! `apctl import`: register devices into one customer tenant, or many
//! (a manifest, or a `Tenant` column), and report every row.

use std::io::Write;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::cli::Output;
use crate::cli::exit::Exit;
use crate::cli::outputs::ReportFiles;
use crate::cli::progress::Printer;
use crate::cli::session;
use crate::cli::settings;
use crate::cli::term;
use apctl::import::plan::Job;
use apctl::import::settings::DEFAULT_CHUNK;
use apctl::import::{Cancel, CustomerSettings, ImportSettings, RunSettings};
use apctl::report::Report;
use apctl::transport::throttle::{self, Limits};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    input: crate::cli::manifest::InputArgs,
    /// Customers sending at once; each has its own throttle budget and
    /// concurrency limit. A customer that has sent lets the next one start
    /// while it follows its devices, so this does not limit how many
    /// customers a run finishes.
    #[arg(long, default_value_t = NonZeroUsize::new(8).expect("non-zero"), value_name = "N")]
    max_tenants: NonZeroUsize,
    /// Take only shard K of N of the customers (a stable choice by name),
    /// to spread a partner over the jobs of a pipeline matrix.
    #[arg(long, value_parser = crate::cli::manifest::parse_shard, value_name = "K/N")]
    shard: Option<(u32, u32)>,
    /// The partner's own tenant: customers are looked up by GDAP display
    /// name there, and Partner Center tokens are asked for there (default:
    /// the signed-in admin's home tenant).
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT", value_parser = crate::cli::settings::partner_tenant_value)]
    partner_tenant: Option<String>,
    /// Group tag for rows that have none. Partner Center rows go into a
    /// device batch named after their tag (Partner Center makes the batch
    /// name the devices' tag); one without a tag is not sent.
    #[arg(long, value_name = "TAG", value_parser = settings::parse_group_tag)]
    group_tag: Option<String>,
    /// Your Order ID / Purchase ID (free text), carried to the report for
    /// tracking; never a batch name or a tag.
    #[arg(long, value_name = "TEXT")]
    order_id: Option<String>,
    /// Wait until every device has its final state (the default).
    #[arg(long, overrides_with = "no_wait")]
    wait: bool,
    /// Send and stop: report devices as Registration pending.
    #[arg(long)]
    no_wait: bool,
    /// Overall deadline when waiting. A duration (`30m`, `2h`, `90s`; a
    /// bare number is seconds), never zero; registration typically takes
    /// minutes, so under a minute most devices end *Registration pending*.
    #[arg(long, default_value = "30m", value_parser = settings::parse_timeout, value_name = "DURATION")]
    timeout: Duration,
    /// First time between polls while waiting; it doubles while nothing
    /// changes, up to --max-poll-interval, and starts over when something
    /// does.
    #[arg(long, default_value = "1s", value_parser = settings::parse_duration, value_name = "DURATION")]
    poll_interval: Duration,
    /// Longest time between polls while waiting.
    #[arg(long, default_value = "60s", value_parser = settings::parse_duration, value_name = "DURATION")]
    max_poll_interval: Duration,
    /// How long one request may take; a POST that takes longer is treated
    /// as "may have been sent" and looked up before it is sent again.
    #[arg(long, default_value = "120s", value_parser = settings::parse_duration, value_name = "DURATION")]
    http_timeout: Duration,
    /// After Ctrl-C or SIGTERM, keep following what was already sent this
    /// long, then write the report. Default 60 s; 5 s under Azure DevOps and
    /// GitHub Actions, whose agents send SIGINT, then SIGTERM about 7.5 s
    /// later, then SIGKILL.
    #[arg(long, value_parser = settings::parse_duration, value_name = "DURATION")]
    grace: Option<Duration>,
    /// Check the input and look up what exists; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// When another apctl run on this machine holds a customer's lock, wait
    /// for it instead of leaving that customer's devices to it. (Devices
    /// another run staged, here or on another agent, are always followed.)
    #[arg(long)]
    wait_for_other_runs: bool,
    /// Do not wait for Intune to assign deployment profiles: read them
    /// once. A device counts as Ready for user only with a profile assigned
    /// (its user is guided through setup only then); by default apctl
    /// waits for the assignment within --timeout, after one sync.
    #[arg(long)]
    no_wait_profile: bool,
    /// The default now; kept so older pipelines still parse.
    #[arg(long, hide = true)]
    wait_profile: bool,
    /// Do not ask for an Autopilot sync after registering devices (by
    /// default one per customer, at most once per 10 minutes).
    #[arg(long)]
    no_sync: bool,
    /// Where apctl keeps its per-customer locks, what it sent, and when it
    /// last asked each customer for an Autopilot sync.
    #[arg(long, env = "APCTL_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    files: ReportFiles,
    #[command(flatten)]
    corporate: super::corporate::CorporateArgs,
    /// Output format on stdout.
    #[arg(short = 'o', long, value_enum, default_value_t, value_name = "FORMAT")]
    output: Output,
    /// Devices per import call.
    #[arg(long, default_value_t = NonZeroUsize::new(DEFAULT_CHUNK).expect("non-zero"), value_name = "N")]
    chunk_size: NonZeroUsize,
    /// Requests in flight at once per tenant.
    #[arg(long, default_value_t = NonZeroU32::new(throttle::DEFAULT_CONCURRENCY).expect("non-zero"), value_name = "N")]
    concurrency: NonZeroU32,
    /// Writes per 20 s per tenant (Intune's documented limit per app per tenant).
    #[arg(long, default_value_t = NonZeroU32::new(throttle::INTUNE_WRITES_PER_WINDOW).expect("non-zero"), value_name = "N")]
    write_budget: NonZeroU32,
    /// Requests per 20 s per tenant (Intune's documented limit per app per tenant).
    #[arg(long, default_value_t = NonZeroU32::new(throttle::INTUNE_REQUESTS_PER_WINDOW).expect("non-zero"), value_name = "N")]
    request_budget: NonZeroU32,
    /// Multiply every wait by this (0 skips waits; the default with
    /// `--simulate`, 1 otherwise). For demos and tests.
    #[arg(long, env = "APCTL_TIME_SCALE", value_parser = settings::parse_scale, value_name = "0..1")]
    time_scale: Option<f64>,
    #[command(flatten)]
    connect: session::ConnectArgs,
}

/// Runs the import.
pub fn run(mut args: ImportArgs) -> anyhow::Result<Exit> {
    let options = args.connect.options(args.time_scale, args.http_timeout)?;
    let mut plan = args.input.plan(args.order_id.as_deref(), args.shard)?;
    if args.timeout < Duration::from_secs(60) && !args.no_wait && !args.dry_run {
        crate::cli::term::err_line(&format!(
            "warning: `--timeout {}` is under a minute: registration typically takes minutes, so most devices will end Registration pending (a bare number is seconds; `30m` is the default)",
            jiff::SignedDuration::try_from(args.timeout)
                .map(|d| format!("{d:#}"))
                .unwrap_or_default()
        ));
    }
    args.files.prepare()?;
    let extras = args.input.extras()?;
    let from = args.files.from.clone().or(extras.from.clone());
    settings::checked_state_dir(args.state_dir.as_deref())?;
    session::runtime()?.block_on(async move {
        let session = session::open(options).await?;
        let run_id = uuid::Uuid::new_v4().to_string();
        let run = Arc::new(run_settings(&args, &session, &run_id, extras.digest.as_deref()));
        let mut jobs = Vec::new();
        let mut unconfirmed = Vec::new();
        for rows in std::mem::take(&mut plan.tenants) {
            let mut customer = customer(&session, &args, &run, &rows.tenant).await;
            if let Some((route, confirmed)) = args.corporate.route(&rows.tenant, &extras.corporate) {
                customer.corporate = Some(route);
                if !confirmed {
                    unconfirmed.push(jobs.len());
                }
            }
            jobs.push(Job { customer, rows });
        }
        super::corporate::check_first_uploads(&session, &jobs, &unconfirmed).await?;
        let cancel = Cancel::default();
        let stopped = crate::cli::signals::watch(cancel.clone(), grace(&args));
        let printer = Printer::new(crate::cli::term::quiet() || args.output == Output::Json);
        let recorder = Recorder {
            printer: &printer,
            args: &args,
            failed: std::sync::atomic::AtomicBool::new(false),
        };
        let mut report = apctl::import::run::run(&session.client, &run, plan, jobs, &recorder, &cancel).await;
        report.from = from.map(|f| apctl::sanitize::clean(&f));
        suggest_domains(&session, args.partner_tenant.as_deref(), &mut report).await;
        printer.finish();
        write_outputs(&args, &report)?;
        Ok(stopped.exit(report.verdict.into()))
    })
}

/// Shows progress, and keeps `--report` and `--report-csv` up to date
/// while the run goes on: each checkpoint replaces them whole, so a run
/// that is killed, times out or is cancelled leaves a report of what was
/// known (`"complete": false`).
struct Recorder<'a> {
    printer: &'a Printer,
    args: &'a ImportArgs,
    /// A checkpoint could not be written (said once).
    failed: std::sync::atomic::AtomicBool,
}

impl apctl::import::Progress for Recorder<'_> {
    fn event(&self, event: apctl::import::Event) {
        self.printer.event(event);
    }

    fn wants_checkpoints(&self) -> bool {
        self.args.files.report.is_some() || self.args.files.report_csv.is_some()
    }

    fn checkpoint(&self, report: &Report) {
        let written = [
            self.args
                .files
                .report
                .as_ref()
                .map(|p| (p, report.write_json_checkpoint(p))),
            self.args
                .files
                .report_csv
                .as_ref()
                .map(|p| (p, report.write_csv_checkpoint(p))),
        ];
        for (path, result) in written.into_iter().flatten() {
            if let Err(e) = result
                && !self.failed.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                term::err_line(&format!(
                    "warning: cannot write the report to `{}` during the run: {e}",
                    path.display()
                ));
            }
        }
    }
}

/// A customer as the run works on it: its tenant resolved (a GDAP name to
/// its id) and, for a delegated token, its GDAP role checked first (the
/// preflight `doctor` runs; token and Graph read happen in the lookup).
async fn customer(
    session: &session::Session,
    args: &ImportArgs,
    run: &Arc<RunSettings>,
    named: &str,
) -> CustomerSettings {
    match session::resolve_tenant(session, named, args.partner_tenant.as_deref()).await {
        Ok(resolved) => {
            let mut customer = ImportSettings::new(run, &resolved).customer;
            let partner = args.partner_tenant.as_deref().or(session.demo_partner.as_deref());
            if partner.is_some_and(|p| p.trim().eq_ignore_ascii_case(&resolved)) {
                // Devices registered there belong to the partner, not a
                // customer: stopped before anything is sent.
                customer.preflight_failure = Some(apctl::report::TenantError {
                    tenant: resolved.clone(),
                    error: format!("`{named}` is your own partner tenant, not a customer's"),
                    hint: Some("give the customer's tenant; to register devices into your own tenant on purpose, run without `--partner-tenant` (and `AZURE_TENANT_ID`)".into()),
                });
                return customer;
            }
            if session.delegated && args.partner_tenant.is_some() {
                let check =
                    super::doctor::gdap_role(session, &resolved, args.partner_tenant.as_deref()).await;
                customer.preflight_failure = check.failure(&resolved);
            }
            customer
        }
        Err(e) => {
            let mut customer = ImportSettings::new(run, named).customer;
            let failure = settings::tenant_error(named, &e);
            customer.partner_center_failure = Some(failure.clone());
            customer.preflight_failure = Some(failure);
            customer
        }
    }
}

/// A customer Entra does not know (AADSTS90002): given by a domain (most
/// often a typo: `contosso.onmicrosoft.com`), its fix names the partner's
/// customers whose default domains are close, from Graph's contracts;
/// found through a GDAP relationship that is not active, its fix is the
/// relationship's.
async fn suggest_domains(session: &session::Session, partner: Option<&str>, report: &mut Report) {
    use apctl::graph::gdap::{self, TenantRef};
    let unknown = |tenant: &str, error: &str| {
        error.contains("AADSTS90002") && !matches!(TenantRef::parse(tenant), TenantRef::Name(_))
    };
    let wanted: Vec<String> = report
        .tenant_errors
        .iter()
        .filter(|e| unknown(&e.tenant, &e.error))
        .map(|e| e.tenant.clone())
        .collect();
    let Some(partner) = partner.map(str::to_owned).or(session.demo_partner.clone()) else {
        return;
    };
    if wanted.is_empty() {
        return;
    }
    let gate = session.client.gate(&partner);
    let contracts = gdap::contracts(&session.graph(&partner, &gate))
        .await
        .unwrap_or_default();
    let relationships = session.relationships(&partner).await.unwrap_or_default();
    let fix = |tenant: &str, hint: &mut Option<String>| {
        if let Some((state, step)) = super::doctor::inactive_state(relationships, tenant) {
            *hint = Some(format!("{state}: {step}"));
            return;
        }
        let close = gdap::close_domains(tenant, &contracts);
        if !close.is_empty() {
            let rest = hint
                .take()
                .map(|h| format!(" Otherwise: {h}"))
                .unwrap_or_default();
            *hint = Some(format!("did you mean {}?{rest}", close.join(" or ")));
        }
    };
    for e in report
        .tenant_errors
        .iter_mut()
        .filter(|e| wanted.contains(&e.tenant))
    {
        fix(&e.tenant.clone(), &mut e.hint);
    }
    for t in report.tenants.iter_mut() {
        for e in t.errors.iter_mut().filter(|e| wanted.contains(&e.tenant)) {
            fix(&e.tenant.clone(), &mut e.hint);
        }
    }
    for c in report.causes.iter_mut() {
        if let Some(tenant) = c.tenant.clone().filter(|t| wanted.contains(t)) {
            fix(&tenant, &mut c.hint);
        }
    }
}

/// The grace after Ctrl-C or SIGTERM: `--grace`, else 60 s, or 5 s under
/// a CI agent (it sends SIGTERM about 7.5 s after SIGINT).
fn grace(args: &ImportArgs) -> Duration {
    args.grace
        .unwrap_or(if crate::cli::pipeline::Pipeline::detect().is_some() {
            crate::cli::signals::CI_GRACE
        } else {
            Duration::from_secs(60)
        })
}

/// The run-wide settings, from the arguments.
fn run_settings(
    args: &ImportArgs,
    session: &session::Session,
    run_id: &str,
    manifest_digest: Option<&str>,
) -> RunSettings {
    let mut settings = RunSettings::new(&session.endpoints, run_id);
    // The manifest's digest and the pipeline run let `report merge` tell
    // the shards of one run apart.
    settings.place = args.shard.map(|(shard, of)| apctl::report::Place {
        shard,
        of,
        manifest: manifest_digest.map(str::to_owned),
        pipeline_run: crate::cli::pipeline::Pipeline::detect().and_then(|p| p.run_id()),
    });
    settings.max_customers = args.max_tenants.get();
    settings.order_id = args.order_id.clone();
    settings.group_tag = args.group_tag.clone();
    settings.chunk_size = args.chunk_size;
    settings.wait = !args.no_wait;
    settings.deadline = args.timeout;
    settings.poll = apctl::import::pipes::waiter::Cadence {
        first: args.poll_interval,
        max: args.max_poll_interval.max(args.poll_interval),
    };
    settings.dry_run = args.dry_run;
    settings.limits = Limits {
        writes_per_window: args.write_budget,
        requests_per_window: args.request_budget,
        window: throttle::INTUNE_WINDOW,
        concurrency: args.concurrency,
    };
    settings.grace = grace(args);
    settings.wait_for_other_runs = args.wait_for_other_runs;
    let state = settings::state_dir(args.state_dir.as_deref());
    settings.lock_dir = state.as_ref().map(|d| d.join("locks"));
    settings.sync_record = state.as_ref().map(|d| d.join("sync.json"));
    settings.sync = !args.no_sync;
    settings.wait_profile = !args.no_wait_profile || args.wait_profile;
    if let Some(partner) = args.partner_tenant.clone().or(session.demo_partner.clone()) {
        settings.partner_tenant = partner;
    }
    settings
}

fn write_outputs(args: &ImportArgs, report: &Report) -> anyhow::Result<()> {
    args.files.write(report)?;
    // Under Azure DevOps or GitHub Actions: the pipeline's own commands,
    // after the human output on stdout (or on stderr beside JSON).
    let commands = match crate::cli::pipeline::Pipeline::detect() {
        Some(p) => p.emit(report).context("cannot write the pipeline summary")?,
        None => Default::default(),
    };
    // Rendered whole first, so what the report's data says is cleaned and
    // neutralised for a pipeline's log as one text.
    let mut out = term::Out::painted();
    match args.output {
        Output::Json => {
            out.write_all(apctl::sanitize::json_pretty(report)?.as_bytes())?;
        }
        Output::Human => crate::cli::summary::print_human(&mut out, report)?,
    }
    out.flush()?;
    commands.write(if args.output == Output::Json {
        term::Stream::Stderr
    } else {
        term::Stream::Stdout
    })?;
    Ok(())
}
