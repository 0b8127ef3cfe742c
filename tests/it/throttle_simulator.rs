//! The engine against an in-process simulator that throttles harder than
//! the engine's own budget, with `Retry-After` as integer, fraction and
//! absent in turn. Engine and simulator share one clock that skips waits,
//! so the simulator can tell whether any request arrived inside a window
//! it had announced, without the test waiting.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use crate::common::{fake_hash, write};
use apctl::clock::ScaledClock;
use std::sync::Arc;

use apctl::import::{Cancel, RunSettings, Silent};
use apctl::simulator::{self, RetryAfterStyle, SimConfig, SimLimits, Simulator};
use apctl::transport;
use apctl::transport::retry::Policy;
use apctl::transport::throttle::Limits;

#[tokio::test(flavor = "multi_thread")]
async fn no_request_is_sent_inside_a_retry_after_window() {
    let clock = ScaledClock::scaled(0.0);
    let config = SimConfig {
        import_delay: Duration::from_secs(5),
        limits: Some(SimLimits {
            writes: 5,
            requests: 20,
            window: Duration::from_secs(20),
        }),
        retry_after: RetryAfterStyle::Mixed,
        ..SimConfig::default()
    };
    let sim = Simulator::start(simulator::demo_world(), config, clock.clone(), 0)
        .await
        .unwrap();
    let policy = Policy {
        max_attempts: 30,
        max_elapsed: Duration::from_secs(7200),
        ..Policy::default()
    };
    let client = sim.demo_client(transport::reqwest_client(), clock.clone(), policy);

    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for i in 0..24 {
        text.push_str(&format!("THR-{i:04},,{}\n", fake_hash(i, 3000)));
    }
    let file = write(dir.path(), "t.csv", text);
    let mut settings = RunSettings::new(&sim.endpoints(), "throttle-test");
    settings.chunk_size = NonZeroUsize::new(2).unwrap();
    settings.deadline = Duration::from_secs(7200);
    // The engine's own budget is the documented one: the simulator's is
    // tighter. One request in flight at a time, so every request is sent
    // after the answer before it (with more, a request already on the wire
    // when a 429 comes back lands inside the window it announces).
    settings.limits = Limits {
        concurrency: NonZeroU32::new(1).unwrap(),
        ..Limits::default()
    };
    let report = apctl::import::run::import_files(
        &client,
        &Arc::new(settings),
        "contoso.onmicrosoft.com",
        &[file],
        &Silent,
        &Cancel::default(),
    )
    .await;
    let stats = sim.stats();
    assert!(stats.throttled >= 5, "the simulator throttled: {stats:?}");
    assert_eq!(
        stats.inside_retry_after, 0,
        "no request inside an announced window: {stats:?}"
    );
    assert_eq!(
        report.totals.by_state.get("Ready for user"),
        24,
        "{:?}",
        report.tenant_errors
    );
    assert_eq!(
        stats.requests["graph.import"], 12,
        "each chunk of 2 reached the import exactly once: {stats:?}"
    );
    assert!(report.http.throttled >= 5);
}
