//! `apctl reconcile`: what the files say each customer should hold against
//! what it holds, as a plan; `--apply` imports what is missing and fixes
//! tags and users, `--prune` deregisters extras (after confirmation, never
//! an enrolled device without `--force`).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use crate::cli::Output;
use crate::cli::exit::Exit;
use crate::cli::session::{self, Session};
use crate::cli::settings;
use crate::cli::term;
use apctl::graph::sync::Sync;
use apctl::import::RunSettings;
use apctl::import::plan::{Plan, TenantRows};
use apctl::reconcile::{self, Category, Item};

use super::reconcile_corporate as corporate;
use apctl::report::TenantError;

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    input: crate::cli::manifest::InputArgs,
    /// The partner's own tenant (customer names, Partner Center).
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT", value_parser = crate::cli::settings::partner_tenant_value)]
    partner_tenant: Option<String>,
    /// The group tag rows without one should have.
    #[arg(long, value_name = "TAG", value_parser = settings::parse_group_tag)]
    group_tag: Option<String>,
    /// Order ID / Purchase ID: the Partner Center batch, and the hand-off list's.
    #[arg(long, value_name = "TEXT")]
    order_id: Option<String>,
    /// Import what is missing and set group tags and users that differ.
    #[arg(long)]
    apply: bool,
    /// Deregister devices that are registered but in no file.
    #[arg(long)]
    prune: bool,
    /// With `--prune`: deregister enrolled devices too.
    #[arg(long, requires = "prune")]
    force: bool,
    /// With `--prune`: do not ask for confirmation (the `--max-delete` cap
    /// still holds).
    #[arg(long, short)]
    yes: bool,
    /// With `--prune`: deregister at most this many devices in one run;
    /// a plan with more is refused whole, nothing deregistered.
    #[arg(long, default_value_t = DEFAULT_MAX_DELETE, value_name = "N")]
    max_delete: usize,
    /// Write the devices claimed by another organisation here (CSV:
    /// serial, manufacturer, model, order id, customer) for the supplier.
    #[arg(long, value_name = "PATH")]
    handoff: Option<PathBuf>,
    /// Where apctl remembers when it last asked each tenant to sync.
    #[arg(long, env = "APCTL_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Overall deadline of `--apply`'s import.
    #[arg(long, default_value = "30m", value_parser = settings::parse_timeout, value_name = "DURATION")]
    timeout: Duration,
    /// Multiply every wait by this (0 skips waits; the default with `--simulate`).
    #[arg(long, env = "APCTL_TIME_SCALE", value_parser = settings::parse_scale, value_name = "0..1")]
    time_scale: Option<f64>,
    /// Output format on stdout.
    #[arg(short = 'o', long, value_enum, default_value_t, value_name = "FORMAT")]
    output: Output,
    /// Compare Manufacturer+Model+Serial rows with the customers' Windows
    /// corporate identifiers instead of Autopilot devices (as a manifest's
    /// `route = "corporate-identifiers"` does for one customer). With
    /// `--apply`, `--yes` also confirms a tenant's first identifiers.
    #[arg(long)]
    corporate_identifiers: bool,
    #[command(flatten)]
    connect: session::ConnectArgs,
}

/// Most devices `--prune` deregisters in one run unless `--max-delete`
/// says otherwise: enough for a few returned devices, far too few for a
/// wrong file to empty a tenant.
const DEFAULT_MAX_DELETE: usize = 10;

/// Runs the comparison, and the changes asked for.
pub fn run(args: ReconcileArgs) -> anyhow::Result<Exit> {
    let options = args.connect.options(args.time_scale, Duration::from_secs(120))?;
    let mut plan = args.input.plan(args.order_id.as_deref(), None)?;
    check_input(&args, &plan)?;
    settings::checked_state_dir(args.state_dir.as_deref())?;
    let files = plan.file_reports.clone();
    let routes = args.input.extras()?.corporate;
    // The plan, the import and the rest: the import's deadline and ten
    // minutes for everything else.
    let limit = args.timeout + Duration::from_secs(600);
    session::runtime()?.block_on(session::bounded(limit, async move {
        let session = session::open(options).await?;
        let (tenants, corporate) = corporate::split(
            std::mem::take(&mut plan.tenants),
            args.corporate_identifiers,
            &routes,
        );
        let mut compared = compare(&session, &args, tenants).await;
        let mut corp = corporate::compare(&session, args.partner_tenant.as_deref(), corporate).await;
        if args.output == Output::Human {
            print_plan(&compared.items, &compared.errors, &args)?;
            print_leftovers(&compared.leftovers);
            corp.print()?;
        }
        let mut changed: Vec<String> = Vec::new();
        let mut import_report = None;
        if args.apply {
            let resolved = std::mem::take(&mut compared.resolved);
            import_report = apply(&session, &args, &mut compared.items, resolved, &mut changed).await;
            corp.apply(&session, args.yes).await?;
        }
        if args.prune {
            prune(&session, &args, &mut compared.items, &mut changed).await?;
            corp.prune_confirmed(&session, args.force, args.yes, args.max_delete)
                .await?;
        }
        let syncs = sync(&session, &args, &changed).await;
        if let Some(path) = &args.handoff {
            write_handoff(path, &compared.items)?;
        }
        if args.output == Output::Json {
            let doc = json!({
                "schema": "apctl.reconcile.v1",
                "applied": args.apply,
                "pruned": args.prune,
                "files": files,
                "items": compared.items,
                "leftovers": compared.leftovers,
                "errors": compared.errors,
                "corporateIdentifiers": corp.items,
                "corporateErrors": corp.errors,
                "sync": syncs,
                "import": import_report,
            });
            let mut out = crate::cli::term::Out::new();
            out.write_all(apctl::sanitize::json_pretty(&doc)?.as_bytes())?;
        } else if args.apply || args.prune {
            print_outcomes(&compared.items, &syncs)?;
            corp.print_outcomes()?;
        }
        if files.iter().any(|f| !f.readable) {
            return Ok(Exit::Failure);
        }
        let exit = exit(&compared.items, &compared.errors, &args);
        Ok(match corp.settled(args.apply, args.prune) {
            true => exit,
            false if !corp.errors.is_empty() => Exit::Failure,
            false if exit == Exit::Success => Exit::SomeFailed,
            false => exit,
        })
    }))
}

/// Says what of the input is left out, and refuses what must not run on
/// it: a prune from input with any error, a prune nobody can confirm, a
/// comparison with no valid row.
fn check_input(args: &ReconcileArgs, plan: &Plan) -> anyhow::Result<()> {
    for f in plan.file_reports.iter().filter(|f| !f.readable) {
        term::err_line(&format!(
            "error: {}: {}; none of its rows were compared",
            f.path,
            f.error.as_deref().unwrap_or("it could not be read to the end")
        ));
        if let Some(h) = &f.hint {
            term::err_line(&format!("  hint: {h}"));
        }
    }
    if args.prune && plan.has_input_errors() {
        return Err(crate::cli::hinted!(
            "fix the files (`apctl validate` shows every problem), or compare without `--prune`",
            "refusing to `--prune`: the input has errors, so devices it meant to name could be taken for extras:\n{}",
            plan.input_errors()
                .iter()
                .map(|e| format!("  - {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    if plan.tenants.is_empty() {
        return Err(crate::cli::hinted!(
            "`apctl validate` the files",
            "no valid row to compare"
        ));
    }
    for e in &plan.entries {
        term::err_line(&format!(
            "warning: {}:{}: left out of the comparison: {}",
            e.file, e.line, e.details
        ));
    }
    if args.prune && !args.yes && !term::stdin_is_terminal() {
        return Err(crate::cli::hinted!(
            "add `--yes` to confirm in a pipeline",
            "`--prune` deregisters devices and asks first, but there is nobody to ask"
        ));
    }
    Ok(())
}

/// The files against each tenant.
#[derive(Default)]
struct Compared {
    items: Vec<Item>,
    errors: Vec<TenantError>,
    /// Each tenant's rows, by tenant id, for `--apply`.
    resolved: Vec<(String, TenantRows)>,
    leftovers: Vec<apctl::status::Leftover>,
}

/// Reads each tenant's devices and compares the files' rows with them.
async fn compare(session: &Session, args: &ReconcileArgs, tenants: Vec<TenantRows>) -> Compared {
    let mut c = Compared::default();
    for (tenant, rows) in by_tenant_id(session, args, tenants, &mut c.errors).await {
        let gate = session.client.gate(&tenant);
        let graph = session.graph(&tenant, &gate);
        let ledger = ledger(session, args, &tenant).await;
        match apctl::status::tenant_view(&graph, &ledger).await {
            Ok(view) => {
                c.leftovers.extend(view.leftovers);
                let wanted: Vec<_> = rows.graph.iter().chain(&rows.partner_center).cloned().collect();
                let order = rows.order_id.clone().or(args.order_id.clone());
                c.items.extend(reconcile::compare(
                    &tenant,
                    &wanted,
                    &view.devices,
                    args.group_tag.as_deref(),
                    order.as_deref(),
                ));
                c.resolved.push((tenant, rows));
            }
            Err(e) => c.errors.push(settings::call_failure(&tenant, &e)),
        }
    }
    c
}

/// What apctl sent to the tenant from this machine, to know its staged
/// records when the service rewrote their `importId` (read only).
async fn ledger(session: &Session, args: &ReconcileArgs, tenant: &str) -> apctl::import::run::ledger::Ledger {
    let key = apctl::import::run::lock::resolved_key(
        session.client.http(),
        &session.endpoints.authority,
        tenant,
        &session.endpoints.graph,
    )
    .await;
    state_dir(args)
        .and_then(|d| apctl::import::run::ledger::Ledger::open(&d.join("sent"), &key).ok())
        .unwrap_or_default()
}

/// Staged records earlier runs left behind (the next import deletes them).
fn print_leftovers(leftovers: &[apctl::status::Leftover]) {
    if leftovers.is_empty() {
        return;
    }
    let _ = term::out(&format!(
        "{} staged record{} left by earlier apctl runs (devices registered, or runs ended): the next `apctl import` for {} deletes them\n",
        leftovers.len(),
        if leftovers.len() == 1 { "" } else { "s" },
        if leftovers.iter().all(|l| l.tenant == leftovers[0].tenant) {
            "that customer"
        } else {
            "each customer"
        }
    ));
}

/// Resolves every customer the input names to its tenant id and joins the
/// rows of one tenant written two ways (a domain on some rows, its id or
/// GDAP name on others): compared apart, each half would be "extra" to the
/// other. A customer whose id cannot be had is an error, never compared.
async fn by_tenant_id(
    session: &Session,
    args: &ReconcileArgs,
    tenants: Vec<TenantRows>,
    errors: &mut Vec<TenantError>,
) -> Vec<(String, TenantRows)> {
    // (tenant id, the tenant as first resolved, its rows)
    let mut out: Vec<(String, String, TenantRows)> = Vec::new();
    for rows in tenants {
        let named = match session::resolve_tenant(session, &rows.tenant, args.partner_tenant.as_deref()).await
        {
            Ok(t) => t,
            Err(e) => {
                errors.push(settings::tenant_error(&rows.tenant, &e));
                continue;
            }
        };
        let id = match apctl::graph::gdap::customer_id(
            session.client.http(),
            &session.endpoints.authority,
            &named,
        )
        .await
        {
            Ok(id) => id.to_lowercase(),
            Err(why) => {
                errors.push(apctl::report::TenantError {
                    tenant: rows.tenant.clone(),
                    error: format!("cannot tell which tenant `{named}` is: {why}"),
                    hint: Some("give the customer's tenant id".into()),
                });
                continue;
            }
        };
        match out.iter_mut().find(|(t, _, _)| *t == id) {
            Some((_, _, same)) => {
                same.graph.extend(rows.graph);
                same.partner_center.extend(rows.partner_center);
                if same.order_id.is_none() {
                    same.order_id = rows.order_id;
                }
            }
            None => out.push((id, named, rows)),
        }
    }
    out.into_iter().map(|(_, named, rows)| (named, rows)).collect()
}

/// Imports what is missing through the import engine, then sets the tags
/// and users that differ.
async fn apply(
    session: &Session,
    args: &ReconcileArgs,
    items: &mut [Item],
    resolved: Vec<(String, TenantRows)>,
    changed: &mut Vec<String>,
) -> Option<apctl::report::Report> {
    let mut base = RunSettings::new(&session.endpoints, &uuid::Uuid::new_v4().to_string());
    base.group_tag = args.group_tag.clone();
    base.order_id = args.order_id.clone();
    base.deadline = args.timeout;
    base.lock_dir = state_dir(args).map(|d| d.join("locks"));
    // One sync per customer after the tags are fixed too, not one per step.
    base.sync = false;
    base.max_customers = 8;
    if let Some(p) = args.partner_tenant.clone().or(session.demo_partner.clone()) {
        base.partner_tenant = p;
    }
    let base = std::sync::Arc::new(base);
    reconcile::apply(
        &session.client,
        &session.endpoints,
        &base,
        items,
        resolved,
        changed,
    )
    .await
}

/// Deregisters extras, after listing every one and confirmation;
/// enrolled ones only with `--force`; never more than `--max-delete`.
async fn prune(
    session: &Session,
    args: &ReconcileArgs,
    items: &mut [Item],
    changed: &mut Vec<String>,
) -> anyhow::Result<()> {
    let plan = reconcile::prune_plan(items, args.force);
    if plan.is_empty() {
        return Ok(());
    }
    // Every device is named before anything happens, on stderr so that a
    // JSON plan on stdout stays one document (it names them too).
    let n: usize = plan.values().map(Vec::len).sum();
    let mut list = format!(
        "--prune would deregister {}:\n",
        crate::cli::style::count(n as u64, "device")
    );
    for item in items.iter().filter(|i| reconcile::to_prune(i)) {
        list.push_str(&format!(
            "  - {} {} ({} {}, group tag {}, id {})\n",
            item.tenant,
            apctl::input::problem::quoted(&item.serial_number),
            item.manufacturer.as_deref().unwrap_or("?"),
            item.model.as_deref().unwrap_or("?"),
            item.group_tag.as_deref().unwrap_or("-"),
            item.id.as_deref().unwrap_or("-"),
        ));
    }
    term::err(&list);
    if n > args.max_delete {
        return Err(crate::cli::hinted!(
            format!(
                "check that the files name every device the tenants should keep; if the list above is right, run again with `--max-delete {n}`"
            ),
            "refusing to deregister {}: that is more than `--max-delete {}`, nothing was deregistered",
            crate::cli::style::count(n as u64, "device"),
            args.max_delete
        ));
    }
    if !args.yes && !confirmed(n)? {
        for item in items.iter_mut().filter(|i| reconcile::to_prune(i)) {
            item.outcome = Some("kept: not confirmed".into());
        }
        return Ok(());
    }
    reconcile::deregister(&session.client, &session.endpoints, items, plan, changed).await;
    Ok(())
}

/// Asks on the terminal; only `yes` confirms.
fn confirmed(n: usize) -> io::Result<bool> {
    let (which, they) = if n == 1 {
        ("this device".to_owned(), "It")
    } else {
        (format!("these {n} devices"), "They")
    };
    term::err(&format!(
        "Deregister {which} from Autopilot? {they} must be imported again to come back. Type `yes`: "
    ));
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Asks each changed tenant to sync, at most once per 10 minutes (across
/// runs, remembered in the state folder).
async fn sync(session: &Session, args: &ReconcileArgs, changed: &[String]) -> BTreeMap<String, Sync> {
    let path = state_dir(args).map(|d| d.join("sync.json"));
    reconcile::sync(&session.client, &session.endpoints, path.as_deref(), changed).await
}

fn state_dir(args: &ReconcileArgs) -> Option<PathBuf> {
    settings::state_dir(args.state_dir.as_deref())
}

fn write_handoff(path: &Path, items: &[Item]) -> anyhow::Result<()> {
    settings::ensure_parent(path)?;
    apctl::report::write_atomic(path, |f| {
        let mut w = csv::Writer::from_writer(f);
        w.write_record(["Serial Number", "Manufacturer", "Model", "Order ID", "Customer"])?;
        for i in items.iter().filter(|i| i.category == Category::Claimed) {
            apctl::report::write_safe_record(
                &mut w,
                [
                    i.serial_number.as_str(),
                    i.manufacturer.as_deref().unwrap_or(""),
                    i.model.as_deref().unwrap_or(""),
                    i.order_id.as_deref().unwrap_or(""),
                    i.tenant.as_str(),
                ],
            )?;
        }
        w.flush()
    })
    .with_context(|| format!("cannot write `{}`", path.display()))
}

fn describe(i: &Item, args: &ReconcileArgs) -> String {
    let q = |s: &Option<String>| format!("{:?}", s.as_deref().unwrap_or(""));
    match i.category {
        Category::Missing => format!(
            "missing: {}",
            if args.apply {
                "will be imported"
            } else {
                "to import (with --apply)"
            }
        ),
        Category::TagMismatch => format!("group tag {} → {}", q(&i.group_tag), q(&i.wanted_group_tag)),
        Category::UserMismatch => format!("assigned user {} → {}", q(&i.user), q(&i.wanted_user)),
        Category::Failed => format!(
            "failed: {}",
            i.message
                .map_or_else(|| "Registration failed".to_owned(), |m| m.to_string())
        ),
        Category::Claimed => "claimed by another organization: on the hand-off list for the supplier".into(),
        Category::Staged => "staged by an import, registration pending".into(),
        Category::Extra if i.enrolled => {
            "extra, enrolled: registered but in no file (kept unless --prune --force)".into()
        }
        Category::Extra => "extra: registered but in no file (deregistered with --prune)".into(),
        Category::Registered => "registered as the files say".into(),
    }
}

fn print_plan(items: &[Item], errors: &[TenantError], args: &ReconcileArgs) -> io::Result<()> {
    let mut out = crate::cli::term::Out::new();
    let mut tenants: Vec<&str> = items.iter().map(|i| i.tenant.as_str()).collect();
    tenants.dedup();
    for t in tenants {
        writeln!(out, "reconcile: {t}")?;
        for i in items
            .iter()
            .filter(|i| i.tenant == t && i.category != Category::Registered)
        {
            writeln!(
                out,
                "  {} {:<24} {}",
                i.category.mark(),
                i.serial_number,
                describe(i, args)
            )?;
        }
        let ok = items
            .iter()
            .filter(|i| i.tenant == t && i.category == Category::Registered)
            .count();
        writeln!(out, "  = {ok} registered as the files say")?;
    }
    for e in errors {
        writeln!(out, "error: {}: {}", e.tenant, e.error)?;
        if let Some(h) = &e.hint {
            writeln!(out, "  hint: {h}")?;
        }
    }
    let count = |c: Category| items.iter().filter(|i| i.category == c).count();
    let enrolled = items
        .iter()
        .filter(|i| i.category == Category::Extra && i.enrolled)
        .count();
    writeln!(
        out,
        "plan: {} to import, {} group tags and {} users to set, {} extra ({enrolled} enrolled), {} claimed elsewhere, {} failed, {} staged",
        count(Category::Missing),
        count(Category::TagMismatch),
        count(Category::UserMismatch),
        count(Category::Extra),
        count(Category::Claimed),
        count(Category::Failed),
        count(Category::Staged),
    )?;
    if !args.apply && !args.prune {
        writeln!(
            out,
            "nothing was changed: `--apply` imports and fixes, `--prune` deregisters extras"
        )?;
    }
    Ok(())
}

fn print_outcomes(items: &[Item], syncs: &BTreeMap<String, Sync>) -> io::Result<()> {
    let mut out = crate::cli::term::Out::new();
    writeln!(out)?;
    for i in items.iter().filter(|i| i.outcome.is_some()) {
        writeln!(
            out,
            "{} {:<24} {}",
            i.tenant,
            i.serial_number,
            i.outcome.as_deref().unwrap_or("")
        )?;
    }
    for (tenant, s) in syncs {
        let text = match s {
            Sync::Requested => "Autopilot sync requested".to_owned(),
            Sync::Skipped { last } => format!("Autopilot sync not asked again: last asked at {last}"),
            Sync::AlreadyRunning => {
                "Autopilot sync already under way in the tenant (HTTP 409); it processes these devices"
                    .to_owned()
            }
            Sync::Refused { status } => {
                format!("Autopilot sync refused by the service (HTTP {status}); nothing waits for it")
            }
            Sync::Failed { error } => format!("Autopilot sync could not be asked for: {error}"),
        };
        writeln!(out, "{tenant}: {text}")?;
    }
    Ok(())
}

/// 0: in sync (or everything asked for was done); 1: differences remain;
/// 2: a customer could not be compared.
fn exit(items: &[Item], errors: &[TenantError], args: &ReconcileArgs) -> Exit {
    if !errors.is_empty() {
        return Exit::Failure;
    }
    let settled = |i: &Item| match i.category {
        Category::Registered => true,
        Category::Missing if args.apply => i.state.is_some_and(|s| s.is_registered()),
        Category::TagMismatch | Category::UserMismatch if args.apply => i.outcome.as_deref() == Some("fixed"),
        Category::Extra if args.prune => i.outcome.as_deref() == Some("deregistered"),
        _ => false,
    };
    if items.iter().all(settled) {
        Exit::Success
    } else {
        Exit::SomeFailed
    }
}
