//! Benchmark: 20 customer tenants × 500 devices (10,000 devices) in one
//! run, against the in-process simulator at the documented Intune limits
//! per tenant (100 writes and 1,000 requests per 20 s), 50 ms latency,
//! imports that complete 5 s after they are sent, real time.
//!
//! The simulator runs as its own process (`apctl simulate --world …`), so
//! the peak memory printed is apctl's alone: the run's engine, its input
//! and its HTTP client. Prints the wall time until every device of every
//! tenant has its final state, the lower bound the limits and delays
//! allow, requests per 1,000 devices, and requests the simulator saw inside
//! a Retry-After window. Run: `cargo bench --bench many_tenants`.
//! `APCTL_BENCH_TENANTS` and `APCTL_BENCH_DEVICES` (per tenant) set the size,
//! `APCTL_BENCH_MAX_TENANTS` the customers sending at once (8, the
//! command line's default).

mod common;
#[path = "common/simulate.rs"]
mod simulate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apctl::clock::ScaledClock;
use apctl::import::plan::Input;
use apctl::import::plan::Job;
use apctl::import::settings::DEFAULT_POLL;
use apctl::import::{Cancel, Event, ImportSettings, Progress, RunSettings};
use apctl::transport;
use apctl::transport::retry::Policy;
use apctl::transport::throttle::{INTUNE_REQUESTS_PER_WINDOW, INTUNE_WRITES_PER_WINDOW};

const LATENCY: Duration = Duration::from_millis(50);
const IMPORT_DELAY: Duration = Duration::from_secs(5);

/// Notes when every tenant has settled every device.
struct Watch {
    start: Instant,
    tenants: usize,
    settled: Mutex<HashMap<String, bool>>,
    settled_at: Mutex<Option<Duration>>,
    done: tokio::sync::Notify,
}

impl Progress for Watch {
    fn event(&self, event: Event) {
        if std::env::var_os("APCTL_BENCH_TRACE").is_some() {
            eprintln!("{:>7.3} s  {event:?}", self.start.elapsed().as_secs_f64());
        }
        if let Event::Settled {
            tenant,
            settled,
            total,
        } = event
        {
            let mut s = self.settled.lock().unwrap();
            s.insert(tenant, settled == total);
            if s.len() == self.tenants && s.values().all(|d| *d) {
                let mut at = self.settled_at.lock().unwrap();
                if at.is_none() {
                    *at = Some(self.start.elapsed());
                    self.done.notify_one();
                }
            }
        }
    }
}

fn main() {
    let var = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (tenants, devices) = (var("APCTL_BENCH_TENANTS", 20), var("APCTL_BENCH_DEVICES", 500));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(tenants, devices));
}

fn world(tenants: usize) -> serde_json::Value {
    let list: Vec<serde_json::Value> = (0..tenants)
        .map(|i| {
            serde_json::json!({
                "id": format!("00000000-0000-4000-8000-{i:012}"),
                "domains": [format!("customer{i:02}.onmicrosoft.com")],
                "displayName": format!("Customer {i:02}")
            })
        })
        .collect();
    serde_json::json!({
        "clientId": CLIENT_ID,
        "clientSecret": SECRET,
        "tenants": list
    })
}

const CLIENT_ID: &str = "6b7c8d9e-0000-4000-8000-00000000a9c1";
const SECRET: &str = "apctl-demo-secret";

/// `apctl simulate` on a free port with the world and the documented
/// limits; returns the process and its URL.
fn start_simulator(world: &std::path::Path) -> (std::process::Child, String) {
    let args = [
        "--throttle",
        "--latency",
        "50ms",
        "--import-delay",
        "5s",
        "--world",
    ];
    simulate::start(args.iter().map(std::ffi::OsStr::new).chain([world.as_os_str()]))
}

async fn bench(tenants: usize, devices: usize) {
    let var = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let clock = ScaledClock::real();
    let dir = tempfile::tempdir().unwrap();
    let world_file = dir.path().join("world.json");
    std::fs::write(&world_file, world(tenants).to_string()).unwrap();
    let (mut simulator, uri) = start_simulator(&world_file);
    let url = apctl::net::endpoint::parse("simulator", &uri).unwrap();
    let endpoints = apctl::net::endpoint::Endpoints {
        graph: url.clone(),
        authority: url.clone(),
        partner_center: url,
        ..apctl::net::endpoint::Endpoints::default()
    };
    let http = transport::reqwest_client();
    let source = apctl::auth::AzureClientSecret::new(
        http.clone(),
        endpoints.authority.clone(),
        CLIENT_ID.into(),
        apctl::secret::Secret::new(SECRET),
        clock.clone(),
    );
    let tokens = Arc::new(apctl::auth::TokenCache::new(Arc::new(source), clock.clone()));
    let client = Arc::new(transport::Client::new(
        http.clone(),
        tokens,
        clock.clone(),
        Policy::default(),
    ));

    let mut inputs = Vec::new();
    for t in 0..tenants {
        let file = dir.path().join(format!("customer{t:02}.csv"));
        common::write_devices(
            &file,
            (0..devices).map(|i| format!("T{t:02}-{i:06}")),
            (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        inputs.push(Input {
            file,
            tenant: Some(format!("customer{t:02}.onmicrosoft.com")),
            ..Input::default()
        });
    }
    let rss_before = peak_rss_kib();
    let mut base = RunSettings::new(&endpoints, "bench");
    // `--max-tenants` as the command line has it: customers sending at
    // once (one that has sent follows its devices without a turn).
    base.max_customers = var("APCTL_BENCH_MAX_TENANTS", 8);
    let base = Arc::new(base);
    let watch = Arc::new(Watch {
        start: Instant::now(),
        tenants,
        settled: Mutex::new(HashMap::new()),
        settled_at: Mutex::new(None),
        done: tokio::sync::Notify::new(),
    });
    let task = {
        let (client, watch, base) = (client.clone(), watch.clone(), base.clone());
        tokio::spawn(async move {
            let t0 = Instant::now();
            let mut plan = apctl::import::plan::plan(&inputs, None);
            if std::env::var_os("APCTL_BENCH_TRACE").is_some() {
                eprintln!(
                    "reading and checking the inputs: {:.3} s",
                    t0.elapsed().as_secs_f64()
                );
            }
            let jobs: Vec<Job> = plan
                .tenants
                .drain(..)
                .map(|rows| Job {
                    customer: ImportSettings::new(&base, &rows.tenant).customer,
                    rows,
                })
                .collect();
            apctl::import::run::run(&client, &base, plan, jobs, &*watch, &Cancel::default()).await
        })
    };
    watch.done.notified().await;
    let settled = watch.settled_at.lock().unwrap().expect("settled");
    let at_settle = client.stats();
    let sim_at_settle: serde_json::Value = http
        .get(format!("{uri}/_apctl/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    task.abort();
    let _ = simulator.kill();
    let total_devices = tenants * devices;

    // Per tenant, all tenants at once: the two lookups, the import, the
    // service's delay, then one listing of staged and of registered devices.
    let pages = devices.div_ceil(1000).max(1) as u32;
    // Customers send `max` at a time: each wave's two lookups and import
    // come before the last wave's.
    let waves = tenants.div_ceil(base.max_customers.max(1)).max(1) as u32;
    let bound = LATENCY * 3 * (waves - 1) + LATENCY * 2 + LATENCY + IMPORT_DELAY + LATENCY * pages * 2;
    println!(
        "many tenants: {tenants} tenants x {devices} devices = {total_devices} devices, {} sending at once, {}ms latency, imports complete after {}s, limits {INTUNE_WRITES_PER_WINDOW} writes / {INTUNE_REQUESTS_PER_WINDOW} requests per 20 s per tenant",
        base.max_customers,
        LATENCY.as_millis(),
        IMPORT_DELAY.as_secs()
    );
    println!("wall time to final states: {:.2} s", settled.as_secs_f64());
    let interval = DEFAULT_POLL.interval_at(bound);
    println!(
        "lower bound the limits allow: {:.2} s  (ratio {:.2}; target: within the bound plus the poll interval then in force, {:.2} s)",
        bound.as_secs_f64(),
        settled.as_secs_f64() / bound.as_secs_f64(),
        (bound + interval).as_secs_f64()
    );
    println!(
        "requests per 1,000 devices until final states, deletions of staged records not counted: {:.1}",
        at_settle.before_cleanup() as f64 * 1000.0 / total_devices as f64
    );
    println!("HTTP requests by kind: {:?}", at_settle.requests);
    println!(
        "requests inside Retry-After windows (seen by the simulator): {}  (target 0)",
        sim_at_settle["insideRetryAfter"]
    );
    println!("429 answers: {}", sim_at_settle["throttled"]);
    match (peak_rss_kib(), rss_before) {
        (Some(peak), Some(before)) => println!(
            "peak RSS of apctl (the simulator is another process): {:.1} MiB (after writing the inputs: {:.1} MiB)  (target < 150 MiB)",
            peak as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        _ => println!("peak RSS: not available on this platform"),
    }
}

/// VmHWM of this process in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
