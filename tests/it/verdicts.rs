//! Registration decides the verdict; what comes after the last verdict
//! (the Autopilot sync, deleting staged records) is housekeeping and can
//! never turn a run whose rows are final into exit 2 (issue #26 point 1).

use crate::common::{PROFILES_AT_ONCE, SimProcess, apctl_sim, hash_rows};

/// A sync whose answer never comes (held for an hour) against a one-second
/// HTTP timeout and a short deadline: every row is final, the run exits 0,
/// and the report says the sync got no answer.
#[test]
fn a_sync_without_an_answer_does_not_decide_the_verdict() {
    let sim = SimProcess::start(&[PROFILES_AT_ONCE, "--import-delay", "0s", "--hold", "graph.sync:1"]);
    let dir = tempfile::tempdir().unwrap();
    let file = hash_rows(dir.path(), "SYNC", 3, 8100);
    let run = apctl_sim(
        &sim,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--time-scale",
            "1",
            "--poll-interval",
            "20ms",
            "--http-timeout",
            "1s",
            "--timeout",
            "20s",
            "-o",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = run.json();
    for e in report["entries"].as_array().unwrap() {
        assert_eq!(e["state"], "Ready for user", "{e}");
    }
    assert_eq!(
        report["tenants"][0]["sync"]["sync"], "failed",
        "{}",
        report["tenants"][0]
    );
    assert_eq!(sim.stats()["requests"]["held-answer"], 1);
}

/// Staged records are deleted as their rows settle, while the run still
/// follows a device that never does: at the deadline the settled rows'
/// records are gone, the stuck one's verdict is pending (exit 3, not 2),
/// and nothing of the settled rows is left staged.
#[test]
fn records_are_deleted_while_polling_and_a_stuck_row_is_pending_not_a_failure() {
    let sim = SimProcess::start(&[PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    // FAB-0005 never settles in the demo world; FAB-0001 completes.
    let file = crate::common::write(
        dir.path(),
        "two.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\nFAB-0001,,{}\nFAB-0005,,{}\n",
            crate::common::fake_hash(1, 3000),
            crate::common::fake_hash(2, 3000)
        ),
    );
    let run = apctl_sim(
        &sim,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--timeout",
            "10m",
            "-o",
            "json",
        ],
        &[],
    );
    assert_eq!(
        run.code, 3,
        "pending, not could-not-run: {}{}",
        run.stdout, run.stderr
    );
    let report = run.json();
    let state = |serial: &str| {
        report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["serialNumber"] == serial)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state("FAB-0001"), "Ready for user");
    assert_eq!(state("FAB-0005"), "Registration pending");
    let stats = sim.stats();
    assert_eq!(
        stats["requests"]["graph.delete-imported"], 1,
        "the settled row's record: {stats}"
    );
    assert_eq!(
        stats["stagedRecords"], 1,
        "only the stuck row's record stays: {stats}"
    );
}

/// `apctl cleanup` apart from imports: an import that does not wait
/// (`--no-wait`) leaves its staged records; once the devices register,
/// `cleanup --dry-run` lists them, `cleanup` deletes them (exit 0), and a
/// second cleanup finds nothing. Records of a device not registered are
/// kept.
#[test]
fn cleanup_deletes_the_records_of_registered_devices_and_keeps_the_rest() {
    let sim = SimProcess::start(&[PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::write(
        dir.path(),
        "two.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\nFAB-0001,,{}\nFAB-0005,,{}\n",
            crate::common::fake_hash(3, 3000),
            crate::common::fake_hash(4, 3000)
        ),
    );
    let tenant = "fabrikam.onmicrosoft.com";
    let run = apctl_sim(
        &sim,
        &["import", file.to_str().unwrap(), "--tenant", tenant, "--no-wait"],
        &[],
    );
    assert!(matches!(run.code, 0 | 3), "{}{}", run.stdout, run.stderr);
    assert_eq!(sim.stats()["stagedRecords"], 2);
    let plan = apctl_sim(
        &sim,
        &["cleanup", "--tenant", tenant, "--dry-run", "-o", "json"],
        &[],
    );
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    let listed = plan.json()["customers"][0]["leftovers"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["serialNumber"], "FAB-0001", "the registered one");
    assert_eq!(sim.stats()["stagedRecords"], 2, "a dry run deletes nothing");
    let done = apctl_sim(&sim, &["cleanup", "--tenant", tenant], &[]);
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    assert!(done.stdout.contains("1 deleted, 0 left"), "{}", done.stdout);
    assert_eq!(
        sim.stats()["stagedRecords"],
        1,
        "the stuck device's record is kept"
    );
    let again = apctl_sim(&sim, &["cleanup", "--tenant", tenant, "-o", "json"], &[]);
    assert_eq!(again.json()["customers"][0]["deleted"], 0);
}

/// Two customers' manifest: Fabrikam's file `first`, then Contoso's
/// example file.
fn two_customers(dir: &std::path::Path, first: &std::path::Path) -> std::path::PathBuf {
    crate::common::write(
        dir,
        "customers.toml",
        format!(
            "[[customer]]\ntenant = \"fabrikam.onmicrosoft.com\"\nfiles = ['{}']\n\n[[customer]]\ntenant = \"contoso.onmicrosoft.com\"\nfiles = ['{}']\n",
            first.display(),
            crate::common::example("contoso-autopilot.csv")
        ),
    )
}

/// `apctl import --manifest … --simulate --max-tenants 1 -o json` with
/// `flags`.
fn one_customer_at_a_time(manifest: &std::path::Path, flags: &[&str]) -> crate::common::Run {
    // A state folder of its own: the shared one holds other runs' records,
    // keyed by the simulator's address, and a port used again would mix
    // another world's into this one.
    let state = manifest.parent().unwrap().join("state");
    let mut args = vec![
        "import",
        "--manifest",
        manifest.to_str().unwrap(),
        "--simulate",
        "--max-tenants",
        "1",
        "-o",
        "json",
        "--state-dir",
        state.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    crate::common::apctl_env(args, &[])
}

fn rows_of<'a>(report: &'a serde_json::Value, file: &str) -> Vec<&'a serde_json::Value> {
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["file"].as_str().unwrap().ends_with(file))
        .collect()
}

/// `--max-tenants` bounds the customers *sending* at once: one that has
/// sent and only follows its devices (here a device the service leaves
/// pending for the whole run) lets the next one start, so one slow customer
/// does not leave the rest of a manifest not started.
#[test]
fn a_customer_that_has_sent_lets_the_next_one_start() {
    let dir = tempfile::tempdir().unwrap();
    let first = crate::common::write(
        dir.path(),
        "first.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\nFAB-0005,,{}\n",
            crate::common::fake_hash(5, 3000)
        ),
    );
    let manifest = two_customers(dir.path(), &first);
    let report = one_customer_at_a_time(&manifest, &["--timeout", "10m"]).json();
    let contoso = rows_of(&report, "contoso-autopilot.csv");
    assert!(!contoso.is_empty(), "{report}");
    let sent = contoso.iter().filter(|e| e["action"] == "sent").count();
    assert!(sent > 0, "Contoso had its turn while Fabrikam waited: {report}");
    assert!(
        contoso
            .iter()
            .all(|e| !e["details"].as_str().unwrap_or("").contains("not started")),
        "{report}"
    );
    let stuck = crate::common::entry(&report, "FAB-0005");
    assert_eq!(stuck["state"], "Registration pending", "{stuck}");
}

/// A customer still waiting for its turn (`--max-tenants 1`) when the
/// run's deadline comes — the one ahead of it is still sending, 500
/// devices one per request inside the write budget (100 per 20 s) — is
/// *not started*, for one cause that says so and how to give it a turn,
/// even in the report of a run cut at its deadline.
#[test]
fn a_customer_whose_turn_never_came_is_not_started() {
    let dir = tempfile::tempdir().unwrap();
    let big = crate::common::hash_rows(dir.path(), "BIG", 500, 9);
    let manifest = two_customers(dir.path(), &big);
    let written = dir.path().join("report.json");
    let flags = ["--chunk-size", "1", "--timeout", "1m", "--grace", "0s"];
    let report = one_customer_at_a_time(
        &manifest,
        &[&flags[..], &["--report", written.to_str().unwrap()]].concat(),
    )
    .json();
    // The cut report is put together from the snapshots the checkpoints
    // (one per chunk here) lent and took back: every row is in it once.
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written).unwrap()).unwrap();
    let rows = on_disk["entries"].as_array().unwrap().len();
    assert_eq!(rows, report["entries"].as_array().unwrap().len());
    assert_eq!(rows as u64, on_disk["totals"]["rows"].as_u64().unwrap());
    let mut lines: Vec<(String, u64)> = on_disk["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_owned(),
                e["line"].as_u64().unwrap(),
            )
        })
        .collect();
    lines.dedup();
    assert_eq!(lines.len(), rows, "no row twice");
    let contoso = rows_of(&report, "contoso-autopilot.csv");
    assert!(!contoso.is_empty(), "{report}");
    for e in &contoso {
        assert_eq!(e["action"], "not-sent", "{e}");
    }
    let cause = report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == contoso[0]["cause"])
        .unwrap();
    assert!(
        cause["error"].as_str().unwrap().starts_with("not started"),
        "{cause}"
    );
    assert!(
        cause["hint"].as_str().unwrap().contains("--max-tenants"),
        "{cause}"
    );
    let sent = rows_of(&report, "BIG.csv")
        .iter()
        .filter(|e| e["action"] == "sent")
        .count();
    assert!(sent > 0, "the customer ahead had its turn");
}

/// A thousand devices under 30 % of requests answered 503 (before anything
/// is done, with `Retry-After`): every device reaches its final state and
/// the run exits 0, however many staged records its cleanup had to leave
/// for the next run, which the report counts.
#[test]
fn under_many_503s_the_rows_decide_the_verdict() {
    let sim = SimProcess::start(&[PROFILES_AT_ONCE, "--import-delay", "0s", "--fault-rate", "0.3"]);
    let dir = tempfile::tempdir().unwrap();
    let file = hash_rows(dir.path(), "F503", 1000, 9100);
    let run = apctl_sim(
        &sim,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "-o",
            "json",
        ],
        &[],
    );
    let report = run.json();
    assert_eq!(
        run.code, 0,
        "{}\n{}\n{}",
        report["causes"], report["tenantErrors"], report["totals"]
    );
    assert_eq!(
        report["totals"]["byState"]["Ready for user"], 1000,
        "{}",
        report["totals"]
    );
    let left = report["tenants"][0]["stagedLeft"].as_u64().unwrap_or(0);
    let stats = sim.stats();
    assert_eq!(
        stats["stagedRecords"].as_u64().unwrap(),
        left,
        "the report counts what is left: {stats}"
    );
    assert_eq!(stats["importedItems"], 1000, "nothing sent twice: {stats}");
    assert!(stats["requests"]["fault-503"].as_u64().unwrap() > 10, "{stats}");
}
