//! Benchmark: reads that grow with the input, not the tenant (issue #25
//! point 6). Ten new devices into a tenant that already holds 50,000, on
//! the simulator's injected clock (scale 0: ten simulated minutes take a
//! second), imports that complete 60 s after they are sent, 50 ms per
//! answer, pages of 1,000.
//!
//! Figures: requests until every device has its final state, cleanup not
//! counted (target: at most 40), and the clock time until then against the
//! import delay (target: within 1.1 times it). Profiles are assigned at
//! registration here (`profile_delay` zero, friendlier than the service,
//! which takes minutes): the profile wait is the service's time, not reads.
//!
//! Run: `cargo bench --bench large_tenant`.

mod common;
#[path = "common/watch.rs"]
mod watch;

use std::sync::Arc;
use std::time::Duration;

use apctl::clock::ScaledClock;
use apctl::import::{Cancel, RunSettings};
use apctl::simulator::{self, RegisteredSpec, SimConfig, Simulator};
use apctl::transport;
use apctl::transport::retry::Policy;

const IMPORT_DELAY: Duration = Duration::from_secs(60);
const HELD: usize = 50_000;
const NEW: usize = 10;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut world = simulator::demo_world();
        let contoso = world
            .tenants
            .iter_mut()
            .find(|t| t.domains.iter().any(|d| d == "contoso.onmicrosoft.com"))
            .expect("the demo world has Contoso");
        contoso.registered.extend((0..HELD).map(|i| RegisteredSpec {
            serial_number: format!("HELD-{i:06}"),
            manufacturer: None,
            model: None,
            group_tag: None,
            enrollment_state: "notContacted".into(),
            last_contact_days_ago: None,
        }));
        let clock = ScaledClock::scaled(0.0);
        let config = SimConfig {
            import_delay: IMPORT_DELAY,
            latency: Duration::from_millis(50),
            profile_delay: Some(Duration::ZERO),
            ..SimConfig::default()
        };
        let sim = Simulator::start(world, config, clock.clone(), 0).await.unwrap();
        let client = sim.demo_client(transport::reqwest_client(), clock.clone(), Policy::default());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("new.csv");
        let serials: Vec<String> = (0..NEW).map(|i| format!("NEW-{i:06}")).collect();
        common::write_devices(&file, serials, 0);
        let settings = Arc::new(RunSettings::new(&sim.endpoints(), "large-tenant"));
        let watch = watch::Watch::new(clock.clone(), &client);
        let start = clock.now();
        let report = apctl::import::run::import_files(
            &client,
            &settings,
            "contoso.onmicrosoft.com",
            &[file],
            &watch,
            &Cancel::default(),
        )
        .await;
        let (settled_at, at_settled) = watch.settled().expect("every device settles");
        let stats = client.stats();
        let cleanup = stats.requests.get("graph.delete-imported").copied().unwrap_or(0);
        let ready = report
            .entries
            .iter()
            .filter(|e| e.state.is_some_and(|s| s.is_registered()))
            .count();
        println!(
            "large tenant: {NEW} new devices into a tenant holding {HELD}, imports complete after {} s, pages of 1,000",
            IMPORT_DELAY.as_secs()
        );
        println!("devices registered: {ready} of {NEW}");
        println!(
            "requests until every device had its final state, deletions of staged records not counted: {at_settled} (target <= 40); whole run {} with {cleanup} deletions",
            stats.total()
        );
        println!(
            "clock time to final states: {:.1} s = {:.2} x the import delay (target <= 1.1)",
            (settled_at - start).as_secs_f64(),
            (settled_at - start).as_secs_f64() / IMPORT_DELAY.as_secs_f64()
        );
        println!("requests by kind: {:?}", stats.requests);
    });
}
