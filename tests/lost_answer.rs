//! A POST whose answer never arrives (the simulator takes the write, then
//! holds the answer back): apctl must look the devices up among staged
//! records instead of sending them again.

mod common;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use apctl::auth::{AzureClientSecret, TokenCache};
use apctl::clock::ScaledClock;
use apctl::http::{self, Client};
use apctl::import::{Cancel, ImportSettings, Silent};
use apctl::retry::Policy;
use apctl::secret::Secret;
use apctl::simulator::{self, SimConfig, Simulator};
use apctl::throttle::Limits;
use common::{fake_hash, write};

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_import_is_looked_up_not_resent() {
    // The simulator holds answers in real time; the engine skips its own waits.
    let config = SimConfig {
        import_delay: Duration::ZERO,
        drop_rate: 1.0,
        ..SimConfig::default()
    };
    let world = simulator::demo_world();
    let (id, secret) = (world.client_id.clone(), world.client_secret.clone());
    let sim = Simulator::start(world, config, ScaledClock::real(), 0)
        .await
        .unwrap();
    let clock = ScaledClock::scaled(0.0);
    let endpoints = sim.endpoints();
    // The request timeout is the one real wait in this test.
    let http = http::reqwest_client_with_timeout(Duration::from_millis(300));
    let source = AzureClientSecret::new(
        http.clone(),
        endpoints.authority.clone(),
        id,
        Secret::new(secret),
        clock.clone(),
    );
    let tokens = Arc::new(TokenCache::new(Arc::new(source), clock.clone()));
    let client = Client::new(http, tokens, clock.clone(), Policy::default());

    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for i in 0..3 {
        text.push_str(&format!("LOST-{i},,{}\n", fake_hash(i, 3000)));
    }
    let file = write(dir.path(), "lost.csv", text);
    let settings = ImportSettings {
        tenant: "contoso.onmicrosoft.com".into(),
        graph_root: endpoints.graph.clone(),
        graph_scope: endpoints.graph_scope,
        order_id: None,
        group_tag: None,
        chunk_size: NonZeroUsize::new(500).unwrap(),
        wait: true,
        deadline: Duration::from_secs(600),
        poll_interval: Duration::from_secs(1),
        dry_run: false,
        limits: Limits::default(),
        max_resends: 2,
        grace: Duration::from_secs(60),
        run_id: "lost-answer".into(),
    };
    let report = apctl::run::import_files(&client, &settings, &[file], &Silent, &Cancel::default()).await;
    let stats = sim.stats();
    assert_eq!(
        stats.requests["graph.import"], 1,
        "sent once, never again: {stats:?}"
    );
    assert_eq!(stats.requests["dropped-answer"], 1);
    assert_eq!(
        report.totals.by_state.get("Ready for user"),
        3,
        "{:?}",
        report.entries
    );
    assert!(
        report
            .entries
            .iter()
            .all(|e| e.action == apctl::report::Action::Sent)
    );
}
