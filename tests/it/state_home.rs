//! What apctl keeps on a machine, across spellings and processes: one
//! customer written as its domain in one run and as its tenant id in the
//! next is asked for one Autopilot sync, and two processes syncing two
//! customers at once both keep their record.

use std::path::Path;

use crate::common::{SimProcess, apctl_sim, requests};

const CONTOSO_ID: &str = "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01";

/// A file of `n` new devices whose serials start with `prefix`.
fn devices(dir: &Path, prefix: &str, n: u64) -> String {
    crate::common::hash_rows(dir, prefix, n, 1000 * n)
        .display()
        .to_string()
}

#[test]
fn one_customer_under_two_spellings_is_asked_for_one_sync() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let env = [("APCTL_STATE_DIR", state.to_str().unwrap())];
    for (prefix, tenant) in [
        ("DOM", "contoso.onmicrosoft.com"),
        ("GUID", CONTOSO_ID),
        ("UPPER", &CONTOSO_ID.to_uppercase()),
    ] {
        let file = devices(dir.path(), prefix, 2);
        let run = apctl_sim(
            &sim,
            &["import", &file, "--tenant", tenant, "-q", "-o", "json"],
            &env,
        );
        assert_eq!(run.code, 0, "{tenant}: {}", run.stderr);
    }
    assert_eq!(
        requests(&sim.stats(), "graph.sync"),
        1,
        "the domain run asked; the id runs found its record"
    );
}

#[test]
fn two_processes_syncing_at_once_both_keep_their_record() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let jobs: Vec<(String, &str)> = vec![
        (devices(dir.path(), "C", 3), "contoso.onmicrosoft.com"),
        (devices(dir.path(), "F", 3), "fabrikam.onmicrosoft.com"),
    ];
    std::thread::scope(|s| {
        let runs: Vec<_> = jobs
            .iter()
            .map(|(file, tenant)| {
                let (sim, state) = (&sim, &state);
                s.spawn(move || {
                    apctl_sim(
                        sim,
                        &["import", file, "--tenant", tenant, "-q"],
                        &[("APCTL_STATE_DIR", state.to_str().unwrap())],
                    )
                })
            })
            .collect();
        for run in runs {
            let run = run.join().unwrap();
            assert_eq!(run.code, 0, "{}", run.stderr);
        }
    });
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("sync.json")).unwrap()).unwrap();
    assert_eq!(
        record.as_object().unwrap().len(),
        2,
        "neither update was lost: {record}"
    );
    assert_eq!(requests(&sim.stats(), "graph.sync"), 2);
    // Each customer again: both remembered, no sync asked.
    for (prefix, tenant) in [
        ("C2", "contoso.onmicrosoft.com"),
        ("F2", "fabrikam.onmicrosoft.com"),
    ] {
        let file = devices(dir.path(), prefix, 1);
        let run = apctl_sim(
            &sim,
            &["import", &file, "--tenant", tenant, "-q"],
            &[("APCTL_STATE_DIR", state.to_str().unwrap())],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(requests(&sim.stats(), "graph.sync"), 2, "both records were kept");
}

/// A state file that is corrupt or of a newer format is said once and the
/// run goes on (right, since the tenant is the source of truth); a corrupt
/// sync record is started again, a newer file is never overwritten.
#[test]
fn corrupt_and_newer_state_files_are_said_once_and_the_run_goes_on() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let port = sim.uri.rsplit(':').next().unwrap().to_owned();
    let ledger_name = format!("sent/{CONTOSO_ID}_127.0.0.1-{port}.json");
    let newer = r#"{"version": 99, "synced": {}, "sent": []}"#;
    for (case, name, text, kept, says) in [
        (
            "corrupt sync record",
            "sync.json",
            "{not json",
            false,
            "is not JSON",
        ),
        ("newer sync record", "sync.json", newer, true, "newer apctl"),
        (
            "corrupt ledger",
            ledger_name.as_str(),
            "{not json",
            false,
            "is not JSON",
        ),
        ("newer ledger", ledger_name.as_str(), newer, true, "newer apctl"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let file = state.join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        let devices = devices(dir.path(), &format!("S{}", case.len()), 2);
        let run = apctl_sim(
            &sim,
            &["import", &devices, "--tenant", "contoso.onmicrosoft.com", "-q"],
            &[("APCTL_STATE_DIR", state.to_str().unwrap())],
        );
        assert_eq!(run.code, 0, "{case}: the run goes on\n{}", run.stderr);
        assert_eq!(
            run.stderr.matches(says).count(),
            1,
            "{case}: said once: {}",
            run.stderr
        );
        let now = std::fs::read_to_string(&file).unwrap();
        if kept {
            assert_eq!(now, text, "{case}: a newer file is left as it is");
        } else {
            let record: serde_json::Value = serde_json::from_str(&now).unwrap();
            assert_eq!(record["version"], 1, "{case}: started again: {now}");
        }
    }
}

/// On fresh agents (no state folder in common), a second run right after
/// the first meets the sync the first asked for: the service's Autopilot
/// settings say it is in progress (SPEC §3.5), so the second reports a sync
/// under way — not a refusal — without asking again, and remembers it like
/// one asked for.
#[test]
fn a_sync_already_running_is_no_refusal() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let mut syncs = Vec::new();
    for (k, prefix) in ["A", "B"].iter().enumerate() {
        let agent = dir.path().join(format!("agent-{k}"));
        let file = devices(dir.path(), prefix, 1);
        let run = apctl_sim(
            &sim,
            &[
                "import",
                &file,
                "--tenant",
                "contoso.onmicrosoft.com",
                "-q",
                "-o",
                "json",
            ],
            &[("APCTL_STATE_DIR", agent.to_str().unwrap())],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        syncs.push(run.json()["tenants"][0]["sync"]["sync"].clone());
        if k == 1 {
            let record = std::fs::read_to_string(agent.join("sync.json")).unwrap();
            assert!(record.contains(CONTOSO_ID), "remembered: {record}");
        }
    }
    assert_eq!(syncs, ["requested", "already-running"]);
    let stats = sim.stats();
    assert_eq!(
        stats["requests"]["graph.sync"], 1,
        "read, not asked again: {stats}"
    );
    assert_eq!(stats["requests"]["graph.sync-settings"], 2, "{stats}");
}
