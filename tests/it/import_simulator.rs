//! `apctl import` through the built binary against the simulator: the
//! in-process `--simulate` demo, and an `apctl simulate` process shared by
//! several runs to show that nothing is sent twice.

use crate::common::{SimProcess, apctl_env, apctl_sim, entry, example};
use serde_json::Value;

const STATES: [&str; 5] = [
    "Registration pending",
    "Registration failed",
    "Ready for user",
    "Active",
    "Inactive",
];

fn entries(report: &Value) -> &Vec<Value> {
    report["entries"].as_array().unwrap()
}

#[test]
fn the_readme_demo_registers_every_contoso_device() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let csv = dir.path().join("report.csv");
    let run = apctl_env(
        [
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--report",
            json.to_str().unwrap(),
            "--report-csv",
            csv.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(entries(&report).len(), 8, "one entry per input row");
    assert_eq!(entry(&report, "CTS-0001")["state"], "Ready for user");
    assert_eq!(entry(&report, "CTS 0008-A")["state"], "Ready for user");
    assert_eq!(entry(&report, "CTS-0003")["state"], "Active");
    assert_eq!(entry(&report, "CTS-0003")["message"], "Device already registered");
    assert_eq!(entry(&report, "CTS-0003")["action"], "already-registered");
    assert_eq!(entry(&report, "CTS-0006")["state"], "Inactive");
    let confirmed_806 = entry(&report, "CTS-0007");
    assert_eq!(
        (confirmed_806["state"].as_str(), confirmed_806["message"].as_str()),
        (Some("Ready for user"), Some("Device already registered"))
    );
    assert_eq!(confirmed_806["action"], "sent");
    for e in entries(&report) {
        assert!(STATES.contains(&e["state"].as_str().unwrap()));
        for field in [
            "file",
            "line",
            "tenant",
            "serialNumber",
            "pipe",
            "state",
            "message",
            "details",
            "errorCode",
            "errorName",
            "requestId",
        ] {
            assert!(e.get(field).is_some(), "{field} missing");
        }
        assert_eq!(e["tenant"], "contoso.onmicrosoft.com");
        assert!(e["hardwareHash"].as_str().unwrap().ends_with("(4000 chars)"));
    }
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv_text.lines().count(), 9, "header + one line per row");
    assert!(
        csv_text
            .lines()
            .next()
            .unwrap()
            .starts_with("file,line,tenant,customer,serialNumber,pipe,state,message")
    );
    assert!(
        run.stdout
            .contains("Ready for user                                 6"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_fabrikam_demo_shows_every_state_and_the_graph_messages() {
    let run = apctl_env(
        [
            "import",
            &example("fabrikam-every-state.csv"),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--simulate",
            "--timeout",
            "10m",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "some devices failed: exit 1\n{}", run.stderr);
    let report = run.json();
    let states: Vec<&str> = entries(&report)
        .iter()
        .filter_map(|e| e["state"].as_str())
        .collect();
    // FAB-0009's hash is base64url: caught before sending, so never judged
    // by the service and in none of the portal's states.
    let unsent = entry(&report, "FAB-0009");
    assert_eq!(unsent["state"], Value::Null, "{unsent}");
    assert_eq!(unsent["action"], "invalid");
    assert_eq!(report["totals"]["invalid"], 1);
    for s in STATES {
        assert!(states.contains(&s), "{s} missing from {states:?}");
    }
    assert_eq!(
        entry(&report, "FAB-0002")["message"],
        "Device claimed by another organization",
        "unknown first, 808 later"
    );
    assert_eq!(entry(&report, "FAB-0002")["errorCode"], "808");
    assert_eq!(entry(&report, "FAB-0003")["message"], "Hardware hash not valid");
    let unexpected = entry(&report, "FAB-0004");
    assert_eq!(unexpected["message"], "Unexpected error");
    let rid = unexpected["requestId"].as_str().expect("a real request id");
    assert!(
        unexpected["details"]
            .as_str()
            .unwrap()
            .ends_with(&format!("Request ID: {rid}"))
    );
    assert_eq!(entry(&report, "FAB-0005")["state"], "Registration pending");
    let offline = entry(&report, "FAB-0009");
    assert_eq!(offline["action"], "invalid");
    assert_eq!(offline["message"], Value::Null, "no service said it");
    assert!(
        offline["details"]
            .as_str()
            .unwrap()
            .contains("Hardware hash not valid"),
        "{offline}"
    );
    assert_eq!(report["totals"]["byState"]["Registration failed"], 3);
    assert_eq!(report["verdict"], "some-failed");
}

#[test]
fn running_the_same_file_twice_registers_nothing_twice() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let file = example("contoso-autopilot.csv");
    let args = [
        "import",
        file.as_str(),
        "--tenant",
        "contoso.onmicrosoft.com",
        "--output",
        "json",
    ];
    let first = apctl_sim(&sim, &args, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        sim.stats()["requests"]["graph.import"],
        1,
        "one import call for the 6 new devices"
    );
    let second = apctl_sim(&sim, &args, &[]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let stats = sim.stats();
    assert_eq!(
        stats["requests"]["graph.import"], 1,
        "the second run sent no import"
    );
    let report = second.json();
    for e in entries(&report) {
        assert_eq!(e["action"], "already-registered", "{e}");
        assert_eq!(e["message"], "Device already registered");
    }
    assert_eq!(report["http"]["requests"]["graph.import"], Value::Null);
    assert_eq!(
        stats["requests"]["graph.delete-imported"], 6,
        "the first run cleaned up the records it staged"
    );
}

#[test]
fn dry_run_looks_up_and_sends_nothing() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE]);
    let file = example("contoso-autopilot.csv");
    let run = apctl_sim(
        &sim,
        &[
            "import",
            &file,
            "--tenant",
            "contoso.onmicrosoft.com",
            "--dry-run",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(entry(&report, "CTS-0001")["action"], "would-send");
    assert_eq!(entry(&report, "CTS-0003")["action"], "already-registered");
    assert_eq!(sim.stats()["requests"]["graph.import"], Value::Null);
}

#[test]
fn no_wait_reports_pending_and_a_later_run_follows_without_resending() {
    // The service takes an hour here: the second run finds the records staged.
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "1h"]);
    let file = example("fabrikam-every-state.csv");
    let args = [
        "import",
        file.as_str(),
        "--tenant",
        "fabrikam.onmicrosoft.com",
        "--output",
        "json",
        "--timeout",
        "2m",
    ];
    let mut no_wait = args.to_vec();
    no_wait.push("--no-wait");
    let first = apctl_sim(&sim, &no_wait, &[]);
    let report = first.json();
    assert_eq!(entry(&report, "FAB-0001")["state"], "Registration pending");
    assert_eq!(entry(&report, "FAB-0001")["action"], "sent");
    assert_eq!(first.code, 1, "the offline-invalid row still fails");
    let second = apctl_sim(&sim, &args, &[]);
    let report = second.json();
    assert_eq!(entry(&report, "FAB-0001")["action"], "followed-staged");
    assert_eq!(entry(&report, "FAB-0001")["state"], "Registration pending");
    assert!(
        entry(&report, "FAB-0001")["details"]
            .as_str()
            .unwrap()
            .contains("at the deadline")
    );
    assert_eq!(
        sim.stats()["requests"]["graph.import"],
        1,
        "followed, not sent again"
    );
}

#[test]
fn a_wrong_secret_is_exit_2_with_the_fix_and_never_shows_the_secret() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE]);
    let wrong = "wrong-secret-value-Zq8";
    let run = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        &[("AZURE_CLIENT_SECRET", wrong)],
    );
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("AADSTS7000215"), "{}", run.stdout);
    assert!(run.stdout.contains("not its ID"), "{}", run.stdout);
    assert!(!run.stdout.contains(wrong) && !run.stderr.contains(wrong));
    let unknown = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "nowhere.onmicrosoft.com",
        ],
        &[],
    );
    assert_eq!(unknown.code, 2);
    assert!(unknown.stdout.contains("AADSTS90002"), "{}", unknown.stdout);
}

#[test]
fn the_known_secret_never_appears_in_output_or_reports() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let csv = dir.path().join("r.csv");
    let run = apctl_sim(
        &sim,
        &[
            "-vvv",
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--report",
            json.to_str().unwrap(),
            "--report-csv",
            csv.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let everything = format!(
        "{}{}{}{}",
        run.stdout,
        run.stderr,
        std::fs::read_to_string(json).unwrap(),
        std::fs::read_to_string(csv).unwrap()
    );
    assert!(!everything.contains(crate::common::DEMO_SECRET));
    assert!(!everything.contains("sim.2f1c5e8a"), "no access token");
    assert!(
        run.stderr.contains("DEBUG"),
        "the log ran at its most verbose level: {}",
        run.stderr
    );
}

#[test]
fn settings_are_checked_before_anything_is_sent() {
    let file = example("contoso-autopilot.csv");
    let run = apctl_env(["import", &file, "--tenant", "contoso.onmicrosoft.com"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("AZURE_CLIENT_ID") && run.stderr.contains("--simulate"),
        "{}",
        run.stderr
    );
    let insecure = apctl_env(
        [
            "import",
            &file,
            "--tenant",
            "contoso.onmicrosoft.com",
            "--graph-url",
            "http://graph.example.com",
        ],
        &[("AZURE_CLIENT_ID", "x"), ("AZURE_CLIENT_SECRET", "y")],
    );
    assert_eq!(insecure.code, 2);
    assert!(
        insecure
            .stderr
            .contains("plain http to a host that is not loopback"),
        "{}",
        insecure.stderr
    );
    let missing = apctl_env(
        [
            "import",
            "nope.csv",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
        ],
        &[],
    );
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("nope.csv"));
}

/// One row for Fabrikam's FAB-0004, which the simulated service always
/// answers with 640 ("try again later").
fn transient_row(dir: &std::path::Path) -> std::path::PathBuf {
    let csv = format!(
        "Device Serial Number,Windows Product ID,Hardware Hash\nFAB-0004,,{}\n",
        crate::common::fake_hash(40, 2048)
    );
    crate::common::write(dir, "transient.csv", csv)
}

fn transient_run(timeout: &str) -> (Value, u64) {
    let dir = tempfile::tempdir().unwrap();
    let file = transient_row(dir.path());
    let run = apctl_env(
        [
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--simulate",
            "--timeout",
            timeout,
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let imports = report["http"]["requests"]["graph.import"].as_u64().unwrap();
    (report, imports)
}

#[test]
fn error_640_is_resent_after_a_wait_of_seconds_to_minutes_and_only_within_the_deadline() {
    // 30 s before the first resend and 2 min before the second: both fit
    // in half an hour, and the service's answer stands after them.
    let (report, imports) = transient_run("30m");
    assert_eq!(imports, 3, "sent, then resent twice");
    let e = entry(&report, "FAB-0004");
    assert_eq!(e["message"], "Unexpected error");
    assert_eq!(e["errorCode"], "640");
    // In two minutes only the first resend fits (the simulated service
    // answers each import within half a minute): the second would pass
    // the deadline, so the 640 stands at once instead of a row left unsent.
    let (report, imports) = transient_run("2m");
    assert_eq!(imports, 2, "sent, then resent once");
    let e = entry(&report, "FAB-0004");
    assert_eq!(e["message"], "Unexpected error");
    assert_eq!(e["action"], "sent");
}

#[test]
fn error_640_is_resent_and_cleaned_up_when_the_service_rewrites_the_import_id() {
    // The simulator's default: `importId` rewritten to the record's id.
    let sim = crate::common::SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let file = transient_row(dir.path());
    let run = crate::common::apctl_sim(
        &sim,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let e = entry(&report, "FAB-0004");
    assert_eq!(e["errorCode"], "640", "{e}");
    let stats = sim.stats();
    assert_eq!(
        stats["requests"]["graph.import"], 3,
        "sent, then resent twice: {stats}"
    );
    assert_eq!(
        stats["stagedRecords"], 0,
        "each 640 record is apctl's and deleted: {stats}"
    );
}

#[test]
fn colour_shows_only_when_asked_for_and_never_with_no_color() {
    let args = [
        "import",
        "examples/fabrikam-every-state.csv",
        "--tenant",
        "fabrikam.onmicrosoft.com",
        "--simulate",
        "-q",
    ];
    // Not a terminal: plain text.
    let plain = apctl_env(args, &[]);
    assert!(!plain.stdout.contains('\x1b'), "{}", plain.stdout);
    // A terminal is stood in for by CLICOLOR_FORCE: failed rows in red.
    let forced = apctl_env(args, &[("CLICOLOR_FORCE", "1")]);
    assert!(
        forced.stdout.contains("\x1b[31mRegistration failed\x1b[0m"),
        "{}",
        forced.stdout
    );
    let no_color = apctl_env(args, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!no_color.stdout.contains('\x1b'), "NO_COLOR wins");
}

#[test]
fn retry_failed_runs_exactly_the_rows_a_report_lists_as_failed_or_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.json");
    let run = apctl_env(
        [
            "import",
            "examples/fabrikam-every-state.csv",
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--simulate",
            "-q",
            "--report",
            first.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    let again = apctl_env(
        [
            "import",
            "--retry-failed",
            first.to_str().unwrap(),
            "--simulate",
            "--output",
            "json",
        ],
        &[],
    );
    let report = again.json();
    let lines: Vec<u64> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    // Claimed, bad hash, 640 and the invalid row; not the registered, the
    // already-there or the pending one.
    assert_eq!(lines, [3, 4, 5, 10], "{report}");
    assert_eq!(report["totals"]["rows"], 4);
    for e in report["entries"].as_array().unwrap() {
        assert_eq!(
            e["tenant"], "fabrikam.onmicrosoft.com",
            "each for the customer it had"
        );
    }
    // A report with nothing to retry says so.
    let clean = dir.path().join("clean.json");
    apctl_env(
        [
            "import",
            "examples/contoso-autopilot.csv",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "-q",
            "--report",
            clean.to_str().unwrap(),
        ],
        &[],
    );
    // ... and is a clean run: a note, exit 0, and the empty report.
    let empty = dir.path().join("empty.json");
    let nothing = apctl_env(
        [
            "import",
            "--retry-failed",
            clean.to_str().unwrap(),
            "--simulate",
            "--report",
            empty.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(nothing.code, 0, "{}", nothing.stderr);
    assert!(nothing.stderr.contains("nothing to retry"), "{}", nothing.stderr);
    let empty: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&empty).unwrap()).unwrap();
    assert_eq!(empty["verdict"], "done");
    assert_eq!(empty["totals"]["rows"], 0);
    assert_eq!(empty["entries"].as_array().unwrap().len(), 0);
}
