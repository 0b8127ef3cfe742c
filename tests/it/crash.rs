//! Runs that die: `apctl import` is killed with SIGKILL at fixed points
//! against an `apctl simulate` server — before its first POST, between
//! chunks (after a chunk took effect but before its answer came), while
//! polling, and during cleanup — then run again. Each point is made exact
//! by the simulator holding the answer to one request (`--hold KIND:N`), so
//! the kill never races the run. Afterwards: no device was sent twice or
//! registered twice, no staged record is left, the killed run's report was
//! on disk and accounted for every row, and the re-run's report gives every
//! row exactly one final entry.

#![cfg(unix)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{SimProcess, fake_hash, write};
use serde_json::Value;

const DEVICES: u64 = 30;
const CONTOSO: &str = "contoso.onmicrosoft.com";

fn devices(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\r\n");
    for i in 0..DEVICES {
        text.push_str(&format!("CRASH-{i:03},,{}\r\n", fake_hash(500 + i, 3000)));
    }
    write(dir, "devices.csv", text)
}

fn import_args<'a>(file: &'a str, report: &'a str) -> Vec<&'a str> {
    vec![
        "import",
        file,
        "--tenant",
        CONTOSO,
        "--chunk-size",
        "10",
        "--concurrency",
        "1",
        "--report",
        report,
        "-q",
    ]
}

/// Starts apctl against the simulator, waits until the simulator holds
/// the answer it was told to hold, and kills apctl with SIGKILL.
fn run_and_kill(sim: &SimProcess, args: &[&str]) {
    let mut cmd = crate::common::apctl_command();
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in sim.env() {
        cmd.env(k, v);
    }
    for k in ["TF_BUILD", "GITHUB_ACTIONS"] {
        cmd.env_remove(k);
    }
    cmd.env("XDG_STATE_HOME", crate::common::state_home());
    let mut child = cmd.spawn().expect("apctl starts");
    let start = Instant::now();
    loop {
        if sim.stats()["requests"]["held-answer"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apctl ended before the held point: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the held point was never reached"
        );
        std::thread::yield_now();
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The service rewrites the `importId` apctl sent to the record's id (the
/// simulator's default, as the one captured real answer does) or, with
/// `--keep-import-id`, echoes it: every crash test runs under both.
fn crash_then_rerun(hold: &str, check_killed: impl Fn(&Value)) {
    crash_then_rerun_with(hold, &check_killed, false);
    crash_then_rerun_with(hold, &check_killed, true);
}

fn crash_then_rerun_with(hold: &str, check_killed: &impl Fn(&Value), keep: bool) {
    let mut flags = vec![
        crate::common::PROFILES_AT_ONCE,
        "--import-delay",
        "0s",
        "--hold",
        hold,
    ];
    if keep {
        flags.push("--keep-import-id");
    }
    let sim = SimProcess::start(&flags);
    let hold = &format!("{hold}{}", if keep { " (import ids kept)" } else { "" });
    let dir = tempfile::tempdir().unwrap();
    let file = devices(dir.path());
    let file = file.to_str().unwrap();
    let killed = dir.path().join("killed.json");
    run_and_kill(&sim, &import_args(file, killed.to_str().unwrap()));

    let report = read(&killed);
    assert_eq!(
        report["complete"], false,
        "{hold}: a checkpoint, not a final report"
    );
    assert_eq!(
        report["entries"].as_array().unwrap().len() as u64,
        DEVICES,
        "{hold}"
    );
    assert_eq!(
        report["totals"]["rows"], DEVICES,
        "{hold}: every row accounted for"
    );
    check_killed(&report);

    // Reconcile names what the killed run left staged: all of it, since
    // every device it staged is registered by now.
    let plan = crate::common::apctl_sim(
        &sim,
        &["reconcile", file, "--tenant", CONTOSO, "--output", "json"],
        &[],
    );
    let leftovers = plan.json()["leftovers"].as_array().unwrap().len() as u64;
    assert_eq!(
        leftovers,
        sim.stats()["stagedRecords"].as_u64().unwrap(),
        "{hold}: {}",
        plan.stdout
    );

    let again = dir.path().join("again.json");
    let rerun = crate::common::apctl_sim(&sim, &import_args(file, again.to_str().unwrap()), &[]);
    assert_eq!(rerun.code, 0, "{hold}: {}{}", rerun.stdout, rerun.stderr);
    let report = read(&again);
    assert_eq!(report["complete"], true);
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len() as u64, DEVICES, "{hold}: one entry per row");
    let lines: std::collections::BTreeSet<u64> =
        entries.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines.len() as u64, DEVICES, "{hold}: no row twice");
    for e in entries {
        assert_eq!(e["state"], "Ready for user", "{hold}: {e}");
    }
    let stats = sim.stats();
    assert_eq!(
        stats["importedItems"], DEVICES,
        "{hold}: no device sent twice: {stats}"
    );
    assert_eq!(stats["registeredTwice"], 0, "{hold}: {stats}");
    assert_eq!(
        stats["stagedRecords"], 0,
        "{hold}: no staged record left: {stats}"
    );
}

fn actions(report: &Value) -> Vec<(String, Option<String>)> {
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["state"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn killed_before_the_first_post() {
    // The lookup's list of staged records never answers.
    crash_then_rerun("graph.list-imported:1", |report| {
        for (action, state) in actions(report) {
            assert_eq!(
                (action.as_str(), state),
                ("not-sent", None),
                "nothing was sent yet"
            );
        }
        assert!(
            report["causes"][0]["error"]
                .as_str()
                .unwrap()
                .contains("had not sent these devices"),
            "{}",
            report["causes"]
        );
    });
}

#[test]
fn killed_between_chunks_after_a_chunk_took_effect() {
    // The second chunk is staged, but its answer never comes.
    crash_then_rerun("graph.import:2", |report| {
        let acts = actions(report);
        // Every chunk went out; the first one's answer was read. The rest
        // may have been sent: pending, and saying so — never "not sent".
        let sent = acts.iter().filter(|(a, _)| a == "sent").count();
        assert_eq!(sent, 30, "every chunk was posted: {acts:?}");
        let unsent = acts.iter().filter(|(a, _)| a == "not-sent").count();
        assert_eq!(unsent, 0, "{acts:?}");
        let maybe = report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["details"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("may have been sent")
            })
            .count();
        assert_eq!(maybe, 20, "the rest may or may not have been sent, and says so");
    });
}

#[test]
fn killed_while_polling() {
    crash_then_rerun("graph.list-imported:2", |report| {
        for (action, state) in actions(report) {
            assert_eq!(action, "sent");
            assert_eq!(state.as_deref(), Some("Registration pending"));
        }
    });
}

#[test]
fn killed_during_cleanup() {
    crash_then_rerun("graph.delete-imported:5", |report| {
        // Records are deleted as their rows settle, while others may still
        // wait for their verdicts: each row is one or the other, and the
        // ones deleted from had theirs on record first.
        let acts = actions(report);
        for (action, state) in &acts {
            assert_eq!(action, "sent");
            assert!(
                matches!(state.as_deref(), Some("Ready for user" | "Registration pending")),
                "{acts:?}"
            );
        }
        assert!(
            acts.iter()
                .filter(|(_, s)| s.as_deref() == Some("Ready for user"))
                .count()
                >= 5,
            "the records deleted were of settled rows: {acts:?}"
        );
    });
}

/// The pipeline agent's night: a run killed while polling (its 30 devices
/// staged, not yet decided), then the same file on fresh agents with no
/// state folder, under the service's `importId` rewriting and with it
/// kept. The next run follows the dead run's records — it made none of
/// them — to their verdicts, reports every device registered, and deletes
/// the records; the one after finds everything registered and sends
/// nothing. Nothing is sent twice and nothing is left staged.
#[test]
fn a_run_killed_while_polling_is_finished_by_runs_on_fresh_agents() {
    for keep in [false, true] {
        killed_then_finished(keep, false);
    }
}

/// The same on one machine right after the kill: the dead run's records
/// are this machine's (its ledger says so), followed and deleted, never
/// taken for another live run's.
#[test]
fn a_run_killed_while_polling_is_finished_by_the_next_run_on_the_same_machine() {
    for keep in [false, true] {
        killed_then_finished(keep, true);
    }
}

fn killed_then_finished(keep: bool, same_machine: bool) {
    let mut flags = vec![
        crate::common::PROFILES_AT_ONCE,
        "--import-delay",
        "2s",
        "--hold",
        "graph.list-imported:2",
    ];
    if keep {
        flags.push("--keep-import-id");
    }
    let sim = SimProcess::start(&flags);
    let case = format!("keep import id {keep}, same machine {same_machine}");
    let dir = tempfile::tempdir().unwrap();
    let file = devices(dir.path());
    let file = file.to_str().unwrap();
    let machine = tempfile::tempdir().unwrap();
    let state = |fresh: &tempfile::TempDir| -> String {
        let d = if same_machine {
            machine.path()
        } else {
            fresh.path()
        };
        d.to_str().unwrap().to_owned()
    };
    let first_agent = tempfile::tempdir().unwrap();
    let killed = dir.path().join("killed.json");
    let first_state = state(&first_agent);
    let mut args = import_args(file, killed.to_str().unwrap());
    args.extend(["--state-dir", &first_state]);
    run_and_kill(&sim, &args);
    assert!(
        crate::common::requests(&sim.stats(), "graph.import") > 0,
        "{case}"
    );

    // The next agent starts at once, while the records are still pending,
    // and waits in real time for the service to decide them.
    let second_agent = tempfile::tempdir().unwrap();
    let second_state = state(&second_agent);
    let again = dir.path().join("again.json");
    let mut args = import_args(file, again.to_str().unwrap());
    args.extend([
        "--state-dir",
        &second_state,
        "--time-scale",
        "1",
        "--poll-interval",
        "20ms",
        "--timeout",
        "1m",
    ]);
    let run = crate::common::apctl_sim(&sim, &args, &[]);
    assert_eq!(run.code, 0, "{case}: {}{}", run.stdout, run.stderr);
    let report = read(&again);
    for (action, state) in actions(&report) {
        assert_eq!(
            (action.as_str(), state.as_deref()),
            ("followed-staged", Some("Ready for user")),
            "{case}"
        );
    }
    let stats = sim.stats();
    assert_eq!(
        stats["importedItems"], DEVICES,
        "{case}: nothing sent again: {stats}"
    );
    assert_eq!(
        stats["stagedRecords"], 0,
        "{case}: the dead run's records are deleted: {stats}"
    );

    let third_agent = tempfile::tempdir().unwrap();
    let third_state = state(&third_agent);
    let last = dir.path().join("last.json");
    let mut args = import_args(file, last.to_str().unwrap());
    args.extend(["--state-dir", &third_state]);
    let run = crate::common::apctl_sim(&sim, &args, &[]);
    assert_eq!(run.code, 0, "{case}: {}{}", run.stdout, run.stderr);
    for (action, state) in actions(&read(&last)) {
        assert_eq!(
            (action.as_str(), state.as_deref()),
            ("already-registered", Some("Ready for user")),
            "{case}"
        );
    }
    let stats = sim.stats();
    assert_eq!(stats["importedItems"], DEVICES, "{case}: {stats}");
    assert_eq!(stats["stagedRecords"], 0, "{case}: {stats}");
}
