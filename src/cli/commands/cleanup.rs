//! `apctl cleanup`: deletes the staged import records customers no longer
//! need (those of registered devices, whoever made them, and settled ones
//! of ended apctl runs), within the tenant's write budget and a deadline,
//! apart from imports. `--dry-run` lists them, as `reconcile` does.

use std::io::Write;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::cli::exit::Exit;
use crate::cli::session;
use crate::cli::settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
enum Format {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// A customer: tenant id, verified domain, or GDAP display name (repeat
    /// the flag for more).
    #[arg(
        long = "tenant",
        value_name = "TENANT",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    tenants: Vec<String>,
    /// Every customer with an active GDAP relationship.
    #[arg(long)]
    all: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// The partner's own tenant (for `--all` and customer names).
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT", value_parser = crate::cli::settings::partner_tenant_value)]
    partner_tenant: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t, value_name = "FORMAT")]
    output: Format,
    /// Deletes stop by then; what is left is counted for the next cleanup.
    #[arg(long, default_value = "15m", value_parser = settings::parse_timeout, value_name = "DURATION")]
    timeout: Duration,
    #[command(flatten)]
    connect: session::ConnectArgs,
}

/// Runs the cleanup: exit 0 when nothing is left, 3 when the deadline
/// left records for the next cleanup, 2 when a customer could not be read.
pub fn run(args: CleanupArgs) -> anyhow::Result<Exit> {
    let options = args.connect.options(None, Duration::from_secs(120))?;
    for t in &args.tenants {
        settings::check_tenant_text(t)?;
    }
    // The command ends shortly after the deletes stop.
    let limit = args.timeout + Duration::from_secs(30);
    session::runtime()?.block_on(session::bounded(limit, async move {
        let session = session::open(options).await?;
        let mut customers = Vec::new();
        for t in &args.tenants {
            customers.push(session::resolve_tenant(&session, t, args.partner_tenant.as_deref()).await?);
        }
        if args.all {
            let all = super::status::active_customers(&session, args.partner_tenant.as_deref()).await?;
            customers.extend(all.into_iter().map(|(t, _)| t));
        }
        let deadline = session.client.clock().now() + args.timeout;
        let (session, dry_run) = (&session, args.dry_run);
        let cleans = customers.iter().map(|tenant| async move {
            let gate = session.client.gate(tenant);
            let graph = session.graph(tenant, &gate);
            apctl::cleanup::clean(&graph, deadline, dry_run)
                .await
                .map_err(|e| settings::call_failure(tenant, &e))
        });
        let results = futures::future::join_all(cleans).await;
        let (done, failures): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        let done: Vec<apctl::cleanup::Cleaned> = done.into_iter().filter_map(Result::ok).collect();
        let failures: Vec<apctl::report::TenantError> =
            failures.into_iter().filter_map(Result::err).collect();
        print(&done, &failures, args.output, args.dry_run)?;
        Ok(if !failures.is_empty() {
            Exit::Failure
        } else if done.iter().any(|c| c.left > 0) {
            Exit::Pending
        } else {
            Exit::Success
        })
    }))
}

fn print(
    done: &[apctl::cleanup::Cleaned],
    failures: &[apctl::report::TenantError],
    format: Format,
    dry_run: bool,
) -> anyhow::Result<()> {
    let mut out = crate::cli::term::Out::new();
    match format {
        Format::Json => out.write_all(
            apctl::sanitize::json_pretty(&serde_json::json!({
                "schema": "apctl.cleanup.v1",
                "dryRun": dry_run,
                "customers": done,
                "errors": failures,
            }))?
            .as_bytes(),
        )?,
        Format::Human => {
            for c in done {
                if dry_run {
                    writeln!(
                        out,
                        "{}: {} staged, {} no longer needed (dry run: nothing deleted)",
                        c.tenant,
                        c.staged,
                        c.leftovers.len()
                    )?;
                    for l in &c.leftovers {
                        writeln!(out, "  {}  {}", l.serial_number.as_deref().unwrap_or("-"), l.id)?;
                    }
                } else {
                    writeln!(
                        out,
                        "{}: {} staged, {} deleted, {} left for the next cleanup",
                        c.tenant, c.staged, c.deleted, c.left
                    )?;
                }
            }
        }
    }
    out.flush()?;
    drop(out);
    crate::cli::term::tenant_errors(failures);
    Ok(())
}
