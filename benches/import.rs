//! Benchmark: one tenant, 2,000 devices, against the in-process simulator
//! at the documented Intune limits (100 writes and 1,000 requests per 20 s),
//! 50 ms latency, imports that complete 5 s after they are sent, real time.
//!
//! Prints the wall time until every device has its final state, the lower
//! bound the limits and delays allow, HTTP requests by kind, requests per
//! 1,000 devices, and requests the simulator saw inside a Retry-After
//! window. Run: `cargo bench --bench import`. `APCTL_BENCH_DEVICES` sets
//! the size; `APCTL_BENCH_CLEANUP=1` also waits for the deletion of every
//! staged record, which the write limit paces at 100 per 20 s.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apctl::clock::ScaledClock;
use apctl::import::settings::{DEFAULT_CHUNK, DEFAULT_POLL};
use apctl::import::{Cancel, Event, Progress, RunSettings};
use apctl::simulator::{self, RetryAfterStyle, SimConfig, SimLimits, Simulator};
use apctl::transport;
use apctl::transport::retry::Policy;
use apctl::transport::throttle::{INTUNE_REQUESTS_PER_WINDOW, INTUNE_WINDOW, INTUNE_WRITES_PER_WINDOW};

const LATENCY: Duration = Duration::from_millis(50);
const IMPORT_DELAY: Duration = Duration::from_secs(5);

/// Notes when every device has settled.
struct Watch {
    start: Instant,
    settled_at: Mutex<Option<Duration>>,
    done: tokio::sync::Notify,
}

impl Progress for Watch {
    fn event(&self, event: Event) {
        if let Event::Settled { settled, total, .. } = event
            && settled == total
        {
            let mut at = self.settled_at.lock().unwrap();
            if at.is_none() {
                *at = Some(self.start.elapsed());
                self.done.notify_one();
            }
        }
    }
}

fn main() {
    let devices: usize = std::env::var("APCTL_BENCH_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let cleanup = std::env::var("APCTL_BENCH_CLEANUP").is_ok_and(|v| v == "1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(devices, cleanup));
}

async fn bench(devices: usize, cleanup: bool) {
    let clock = ScaledClock::real();
    let world = simulator::demo_world();
    let config = SimConfig {
        import_delay: IMPORT_DELAY,
        latency: LATENCY,
        limits: Some(SimLimits {
            writes: INTUNE_WRITES_PER_WINDOW,
            requests: INTUNE_REQUESTS_PER_WINDOW,
            window: INTUNE_WINDOW,
        }),
        retry_after: RetryAfterStyle::Mixed,
        ..SimConfig::default()
    };
    let sim = Simulator::start(world, config, clock.clone(), 0).await.unwrap();
    let client = Arc::new(sim.demo_client(transport::reqwest_client(), clock.clone(), Policy::default()));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.csv");
    common::write_devices(&file, (0..devices).map(|i| format!("BENCH-{i:06}")), 0);
    let settings = std::sync::Arc::new(RunSettings::new(&sim.endpoints(), "bench"));
    let watch = Arc::new(Watch {
        start: Instant::now(),
        settled_at: Mutex::new(None),
        done: tokio::sync::Notify::new(),
    });
    let task = {
        let (client, watch, settings) = (client.clone(), watch.clone(), settings.clone());
        tokio::spawn(async move {
            apctl::import::run::import_files(
                &client,
                &settings,
                "contoso.onmicrosoft.com",
                &[file],
                &*watch,
                &Cancel::default(),
            )
            .await
        })
    };
    watch.done.notified().await;
    let settled = watch.settled_at.lock().unwrap().expect("settled");
    let at_settle = client.stats();
    let sim_at_settle = sim.stats();
    let total = if cleanup {
        let report = task.await.unwrap();
        assert_eq!(report.totals.by_state.get("Ready for user") as usize, devices);
        Some(watch.start.elapsed())
    } else {
        task.abort();
        None
    };

    let chunks = devices.div_ceil(DEFAULT_CHUNK) as u32;
    let pages = devices.div_ceil(1000).max(1) as u32;
    // Lookups (two lists, one page each when empty), the imports, the
    // service's delay, then one listing of staged and of registered devices.
    let bound = LATENCY + LATENCY + IMPORT_DELAY + LATENCY * pages * 2;
    println!(
        "import: 1 tenant, {devices} devices, {}ms latency, imports complete after {}s, limits {INTUNE_WRITES_PER_WINDOW} writes / {INTUNE_REQUESTS_PER_WINDOW} requests per 20 s",
        LATENCY.as_millis(),
        IMPORT_DELAY.as_secs()
    );
    println!("wall time to final states: {:.2} s", settled.as_secs_f64());
    // Polling backs off (1 s, 2 s, 4 s…): the poll after the service
    // decides is at most one interval late, the interval then in force.
    let interval = DEFAULT_POLL.interval_at(bound);
    println!(
        "lower bound the limits allow: {:.2} s  (ratio {:.2}; target: within the bound plus the poll interval then in force, {:.2} s)",
        bound.as_secs_f64(),
        settled.as_secs_f64() / bound.as_secs_f64(),
        (bound + interval).as_secs_f64()
    );
    println!(
        "HTTP requests until final states, by kind: {:?}",
        at_settle.requests
    );
    let per_1000 = at_settle.before_cleanup() as f64 * 1000.0 / devices as f64;
    println!(
        "requests per 1,000 devices until final states, deletions of staged records not counted: {per_1000:.1} ({chunks} import calls)"
    );
    println!(
        "a one-POST-per-device tool sends at least 2,000 per 1,000 devices before cleanup (one POST and one or more GETs each)"
    );
    println!(
        "requests inside Retry-After windows (seen by the simulator): {}",
        sim_at_settle.inside_retry_after
    );
    println!("429 answers: {}", sim_at_settle.throttled);
    match total {
        Some(t) => {
            let writes = u64::from(chunks) + devices as u64;
            let cleanup_bound =
                INTUNE_WINDOW.as_secs_f64() * ((writes - 1) / u64::from(INTUNE_WRITES_PER_WINDOW)) as f64;
            println!(
                "wall time including deleting {devices} staged records: {:.1} s (the write limit alone needs {:.0} s: {writes} writes at {INTUNE_WRITES_PER_WINDOW} per 20 s)",
                t.as_secs_f64(),
                cleanup_bound
            );
            println!(
                "requests per 1,000 devices including cleanup: {:.1}",
                client.stats().total() as f64 * 1000.0 / devices as f64
            );
            println!(
                "requests inside Retry-After windows, whole run: {}",
                sim.stats().inside_retry_after
            );
        }
        None => println!("(cleanup not measured; APCTL_BENCH_CLEANUP=1 waits for it)"),
    }
}
