//! A POST whose answer never arrives (the simulator takes the write, then
//! holds the answer back): apctl must look the devices up among staged
//! records instead of sending them again.

use std::time::Duration;

use crate::common::{fake_hash, write};
use apctl::clock::ScaledClock;
use apctl::import::{Cancel, RunSettings, Silent};
use apctl::simulator::{self, SimConfig, Simulator};
use apctl::transport;
use apctl::transport::retry::Policy;

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_import_is_looked_up_not_resent() {
    // The simulator holds answers in real time; the engine skips its own waits.
    // Profiles at once, friendlier than the service: the simulator's
    // clock does not move with the engine's.
    let config = SimConfig {
        import_delay: Duration::ZERO,
        drop_rate: 1.0,
        profile_delay: Some(Duration::ZERO),
        ..SimConfig::default()
    };
    let sim = Simulator::start(simulator::demo_world(), config, ScaledClock::real(), 0)
        .await
        .unwrap();
    // The request timeout is the one real wait in this test.
    let http = transport::reqwest_client_with_timeout(Duration::from_millis(300));
    let client = sim.demo_client(http, ScaledClock::scaled(0.0), Policy::default());

    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for i in 0..3 {
        text.push_str(&format!("LOST-{i},,{}\n", fake_hash(i, 3000)));
    }
    let file = write(dir.path(), "lost.csv", text);
    let mut settings = RunSettings::new(&sim.endpoints(), "lost-answer");
    // The sync's answer would be held back too: only the import is tested.
    settings.sync = false;
    let settings = std::sync::Arc::new(settings);
    let report = apctl::import::run::import_files(
        &client,
        &settings,
        "contoso.onmicrosoft.com",
        &[file],
        &Silent,
        &Cancel::default(),
    )
    .await;
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

/// The same lost answer through the binary, with a service that rewrites
/// `importId` to the record's id (as the one captured real answer does):
/// apctl recognises its records by what it sent, not by the import id.
#[test]
fn a_lost_answer_is_recovered_when_the_service_rewrites_the_import_id() {
    use crate::common::{SimProcess, apctl_sim};
    for rewrite in [false, true] {
        let mut args = vec![
            crate::common::PROFILES_AT_ONCE,
            "--import-delay",
            "0s",
            "--drop-rate",
            "1",
        ];
        if !rewrite {
            args.push("--keep-import-id");
        }
        let sim = SimProcess::start(&args);
        let dir = tempfile::tempdir().unwrap();
        let file = crate::common::hash_rows(dir.path(), "REWRITE", 3, 7100);
        let run = apctl_sim(
            &sim,
            &[
                "import",
                file.to_str().unwrap(),
                "--tenant",
                "contoso.onmicrosoft.com",
                // Long enough for the simulator to take the write first,
                // even on a loaded machine.
                "--http-timeout",
                "3s",
                // The sync's answer would be held back too.
                "--no-sync",
                "--output",
                "json",
            ],
            // The pause before apctl looks for what the lost answer staged
            // is real time here (1.5 s): at time scale 0 a loaded machine
            // could let apctl look before the simulator took the write.
            &[("APCTL_TIME_SCALE", "0.1")],
        );
        assert_eq!(run.code, 0, "rewrite {rewrite}: {}{}", run.stdout, run.stderr);
        let report = run.json();
        for e in report["entries"].as_array().unwrap() {
            assert_eq!(e["state"], "Ready for user", "rewrite {rewrite}: {e}");
            assert_eq!(e["action"], "sent", "rewrite {rewrite}: {e}");
        }
        let stats = sim.stats();
        assert_eq!(stats["requests"]["graph.import"], 1, "rewrite {rewrite}: {stats}");
        assert_eq!(stats["importedItems"], 3, "sent once: {stats}");
        assert_eq!(stats["stagedRecords"], 0, "cleaned up: {stats}");
    }
}

/// A 503 that comes after the write took effect (the simulator's
/// `--fault-after-write-rate`): the devices are looked up among staged
/// records before anything is sent again, so each is imported once and
/// every row ends registered.
#[test]
fn a_503_after_the_write_sends_nothing_twice() {
    use crate::common::{SimProcess, apctl_sim};
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--import-delay",
        "0s",
        "--fault-after-write-rate",
        "0.5",
        "--seed",
        "7",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::hash_rows(dir.path(), "F503", 40, 7300);
    let run = apctl_sim(
        &sim,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--chunk-size",
            "5",
            "--no-sync",
            "--output",
            "json",
        ],
        &[("APCTL_TIME_SCALE", "0.1")],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(
        report["totals"]["byState"]["Ready for user"], 40,
        "{}",
        report["totals"]
    );
    let stats = sim.stats();
    assert!(
        stats["requests"]["fault-503-after-write"].as_u64().unwrap_or(0) > 0,
        "some answers were 503s after the write: {stats}"
    );
    assert_eq!(stats["importedItems"], 40, "each device sent once: {stats}");
}
