//! `apctl simulate`: runs the simulator on a loopback port until Ctrl-C and
//! prints how to point apctl (or anything else) at it.

use std::io::Write;
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::cli::exit::Exit;
use crate::cli::settings;
use apctl::clock::ScaledClock;
use apctl::simulator::{self, RetryAfterStyle, SimConfig, SimLimits, Simulator};
use apctl::transport::throttle;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Style {
    Integer,
    Fraction,
    Absent,
    Mixed,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed for every random choice (ids, faults).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Time from import until a staged device has its verdict.
    #[arg(long, default_value = "5s", value_parser = settings::parse_duration)]
    import_delay: Duration,
    /// Time from a Partner Center batch upload until its job is processed.
    #[arg(long, default_value = "5s", value_parser = settings::parse_duration)]
    batch_delay: Duration,
    /// Delay of every answer.
    #[arg(long, default_value = "0s", value_parser = settings::parse_duration)]
    latency: Duration,
    /// Throttle each tenant at Intune's documented limits (or the budgets below).
    #[arg(long)]
    throttle: bool,
    /// Writes per 20 s per tenant when throttling.
    #[arg(long, default_value_t = NonZeroU32::new(throttle::INTUNE_WRITES_PER_WINDOW).expect("non-zero"))]
    write_limit: NonZeroU32,
    /// Requests per 20 s per tenant when throttling.
    #[arg(long, default_value_t = NonZeroU32::new(throttle::INTUNE_REQUESTS_PER_WINDOW).expect("non-zero"))]
    request_limit: NonZeroU32,
    /// How 429 answers carry Retry-After.
    #[arg(long, value_enum, default_value = "mixed")]
    retry_after: Style,
    /// Share of Graph requests answered 503 (0..1).
    #[arg(long, default_value_t = 0.0, value_parser = settings::parse_scale)]
    fault_rate: f64,
    /// Share of answers delayed by 2 s more (0..1).
    #[arg(long, default_value_t = 0.0, value_parser = settings::parse_scale)]
    slow_rate: f64,
    /// Share of POST answers held back for an hour, as if the connection
    /// dropped after the write took effect (0..1).
    #[arg(long, default_value_t = 0.0, value_parser = settings::parse_scale)]
    drop_rate: f64,
    /// Share of POSTs answered 503 after the write took effect (0..1).
    #[arg(long, default_value_t = 0.0, value_parser = settings::parse_scale)]
    fault_after_write_rate: f64,
    /// A world file to serve instead of the demo world (same shape as
    /// `wiremock-fixtures/simulator/demo-world.json`).
    #[arg(long, value_name = "PATH")]
    world: Option<std::path::PathBuf>,
    /// Items per page of a list.
    #[arg(long, default_value_t = 1000)]
    page_size: usize,
    /// Hold the answer to the Nth request of a kind for an hour, after it
    /// took effect (`graph.import:2`): a fixed point at which tests kill
    /// apctl. Kinds are those `/_apctl/stats` counts.
    #[arg(long, value_name = "KIND:N", value_parser = parse_hold)]
    hold: Option<(String, u64)>,
    /// Echo the `importId` apctl sent on staged records (friendlier than
    /// the service, which answers the record's own id, as a captured real
    /// answer does).
    #[arg(long)]
    keep_import_id: bool,
    /// Assign deployment profiles this long after registration in every
    /// tenant, instead of each tenant's `profileDelaySeconds` (by default
    /// ten minutes, or a minute after a sync); `0s` assigns them at once.
    #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
    profile_delay: Option<Duration>,
    /// No Autopilot deployment profile targets any device: every device
    /// reads `deploymentProfileAssignmentStatus: notAssigned`.
    #[arg(long)]
    no_profile: bool,
    /// Refuse Manufacturer+Model+Serial devices added to an existing
    /// device batch (400), as Partner Center's add-devices page reads; by
    /// default they are taken, as the create-batch page and CIPP have it.
    #[arg(long)]
    strict_batch_add: bool,
}

fn parse_hold(text: &str) -> Result<(String, u64), String> {
    let (kind, n) = text
        .rsplit_once(':')
        .ok_or("expected KIND:N, e.g. `graph.import:2`")?;
    let n: u64 = n.parse().map_err(|_| format!("`{n}` is not a whole number"))?;
    if kind.is_empty() || n == 0 {
        return Err("expected KIND:N with N from 1".into());
    }
    Ok((kind.to_owned(), n))
}

/// Runs the simulator until Ctrl-C.
pub fn run(args: SimulateArgs) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let world = match &args.world {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the world `{}`", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("`{}` is not a simulator world", path.display()))?
            }
            None => simulator::demo_world(),
        };
        let config = SimConfig {
            seed: args.seed,
            import_delay: args.import_delay,
            latency: args.latency,
            limits: args.throttle.then_some(SimLimits {
                writes: args.write_limit.get(),
                requests: args.request_limit.get(),
                window: throttle::INTUNE_WINDOW,
            }),
            retry_after: match args.retry_after {
                Style::Integer => RetryAfterStyle::Integer,
                Style::Fraction => RetryAfterStyle::Fraction,
                Style::Absent => RetryAfterStyle::Absent,
                Style::Mixed => RetryAfterStyle::Mixed,
            },
            fault_rate: args.fault_rate,
            slow_rate: args.slow_rate,
            drop_rate: args.drop_rate,
            fault_after_write_rate: args.fault_after_write_rate,
            page_size: args.page_size.max(1),
            batch_delay: args.batch_delay,
            hold: args.hold.clone(),
            keep_import_id: args.keep_import_id,
            profile_delay: args.profile_delay,
            no_profile: args.no_profile,
            strict_batch_add: args.strict_batch_add,
            ..SimConfig::default()
        };
        let (id, secret) = (world.client_id.clone(), world.client_secret.clone());
        let sign_in = world.refresh_token.clone().unwrap_or_default();
        let partner = world.partner_tenant_id.clone().unwrap_or_default();
        let tenants: Vec<String> = world
            .tenants
            .iter()
            .map(|t| format!("{} ({}, {})", t.domains[0], t.id, t.display_name))
            .collect();
        let sim = Simulator::start(world, config, ScaledClock::real(), args.port)
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
        let uri = sim.uri();
        // A closed stdout must not stop the simulator: write errors are ignored.
        let mut out = crate::cli::term::Out::demo();
        let _ = writeln!(out, "apctl simulator listening on {uri}");
        let _ = writeln!(out, "demo tenants: {}", tenants.join("; "));
        let _ = writeln!(out, "point apctl at it:");
        let _ = writeln!(
            out,
            "  export APCTL_GRAPH_URL={uri} AZURE_AUTHORITY_HOST={uri} APCTL_PARTNER_CENTER_URL={uri}"
        );
        let _ = writeln!(
            out,
            "  export AZURE_CLIENT_ID={id} AZURE_CLIENT_SECRET={secret}   # demo credentials, valid only here"
        );
        let _ = writeln!(
            out,
            "  export APCTL_REFRESH_TOKEN={sign_in} AZURE_TENANT_ID={partner}   # a partner admin's sign-in, for Partner Center rows"
        );
        let _ = writeln!(out, "statistics: {uri}/_apctl/stats    stop: Ctrl-C");
        let _ = out.flush();
        drop(out);
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        Ok(Exit::Success)
    })
}
