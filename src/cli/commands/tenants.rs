//! `apctl tenants`: the partner's GDAP relationships — customer, tenant id,
//! status, end date, auto-extend, and whether Intune Administrator is
//! granted — with relationships ending within 30 days flagged.

use std::io::{self, Write};
use std::time::Duration;

use clap::Args;

use crate::cli::Output;
use crate::cli::exit::Exit;
use crate::cli::session;
use crate::cli::settings;
use apctl::graph::gdap::{self, Summary};
use apctl::input::problem::quoted;

#[derive(Debug, Args)]
pub struct TenantsArgs {
    /// The partner's own tenant (id or domain), where the relationships live.
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT", value_parser = crate::cli::settings::partner_tenant_value)]
    partner_tenant: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t, value_name = "FORMAT")]
    output: Output,
    /// Overall deadline: the command ends by then, whatever the services do.
    #[arg(long, default_value = "5m", value_parser = crate::cli::settings::parse_duration, value_name = "DURATION")]
    timeout: std::time::Duration,
    #[command(flatten)]
    connect: session::ConnectArgs,
}

/// Runs the listing.
pub fn run(args: TenantsArgs) -> anyhow::Result<Exit> {
    let options = args.connect.options(None, Duration::from_secs(60))?;
    let partner = match (&args.partner_tenant, args.connect.simulate) {
        (Some(t), _) => Some(settings::check_tenant(t)?),
        (None, true) => None,
        (None, false) => anyhow::bail!(
            "no partner tenant: set `AZURE_TENANT_ID` or `--partner-tenant` to your own (partner) tenant"
        ),
    };
    let limit = args.timeout;
    session::runtime()?.block_on(session::bounded(limit, async move {
        let session = session::open(options).await?;
        let partner = partner.or(session.demo_partner.clone()).unwrap_or_default();
        let gate = session.client.gate(&partner);
        let graph = session.graph(&partner, &gate);
        let relationships = gdap::list(&graph).await.map_err(|e| {
            let hint = match &e {
                apctl::transport::CallError::Auth(a) => a.hint.clone(),
                _ => gdap::LIST_HINT.into(),
            };
            crate::cli::hinted!(hint, "{e}")
        })?;
        let now = session.client.clock().wall();
        let summaries: Vec<Summary> = relationships.iter().map(|r| r.summary(now)).collect();
        print(&summaries, args.output)?;
        Ok(Exit::Success)
    }))
}

fn print(rows: &[Summary], output: Output) -> io::Result<()> {
    let mut out = crate::cli::term::Out::new();
    if output == Output::Json {
        out.write_all(
            apctl::sanitize::json_pretty(
                &serde_json::json!({ "schema": "apctl.tenants.v1", "relationships": rows }),
            )?
            .as_bytes(),
        )?;
        return out.flush();
    }
    if rows.is_empty() {
        writeln!(out, "no GDAP relationships were listed.")?;
        writeln!(
            out,
            "  note: an empty list is not proof that there are none: Graph has answered empty for partners that have them; check Partner Center"
        )?;
        return out.flush();
    }
    writeln!(
        out,
        "{:<26} {:<36} {:<16} {:<10} {:<6} {:<7}",
        "customer", "tenant id", "status", "ends", "auto", "Intune"
    )?;
    for r in rows {
        let ends = r
            .end_date_time
            .as_deref()
            .map_or("-", |d| d.get(..10).unwrap_or(d));
        writeln!(
            out,
            "{:<26} {:<36} {:<16} {:<10} {:<6} {:<7}",
            truncate(&r.customer, 26),
            r.tenant_id,
            r.status,
            ends,
            if r.auto_extend { "yes" } else { "no" },
            if r.intune_administrator { "yes" } else { "no" },
        )?;
    }
    for r in rows {
        if let Some(days) = r.expires_in_days {
            let renewal = if r.auto_extend {
                "it extends itself"
            } else {
                "it does not extend itself: renew it in Partner Center"
            };
            writeln!(
                out,
                "warning: the relationship with {} ends in {days} days; {renewal}",
                quoted(&r.customer)
            )?;
        }
        if !r.intune_administrator && matches!(r.status.as_str(), "active" | "expiring") {
            writeln!(
                out,
                "note: {} does not grant Intune Administrator: Autopilot imports there need an app consented in the tenant",
                quoted(&r.customer)
            )?;
        }
    }
    out.flush()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}
