//! Input that cannot be read is never silently dropped: through the built
//! binary, every file whose header matches no dialect, or that cannot be
//! read, is a file failure in `import` (and in `reconcile`), listed with its
//! reason while the other files carry on, and the run's exit code and
//! pipeline result say so. Also: CR-only files are read, one huge line costs
//! one row, and undecodable characters and impossible serials are row errors.

use std::path::{Path, PathBuf};

use crate::common::{apctl, apctl_env, fake_hash, utf16le_bom, write};
use serde_json::Value;

const CONTOSO: &str = "contoso.onmicrosoft.com";

/// A good Get-WindowsAutopilotInfo file of `n` devices.
fn good(dir: &Path, n: u64) -> PathBuf {
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\r\n");
    for i in 0..n {
        text.push_str(&format!("GOOD-{i:04},,{}\r\n", fake_hash(1000 + i, 3000)));
    }
    write(dir, "good.csv", text)
}

/// Every way a file was seen to vanish from a run, by name.
fn dropped_files(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let hash = fake_hash(7, 3000);
    let mut random = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        random.push(x as u8);
    }
    // "Device Serial Number" with a lone high surrogate in the middle.
    let mut surrogate = vec![0xFF, 0xFE];
    for unit in "Device Serial".encode_utf16() {
        surrogate.extend(unit.to_le_bytes());
    }
    surrogate.extend(0xD800u16.to_le_bytes());
    surrogate.extend(utf16le_bom(" Number,Windows Product ID,Hardware Hash\r\nS1,,x\r\n").split_off(2));
    vec![
        (
            "intune-export",
            write(
                dir,
                "export.csv",
                "\"id\",\"serialNumber\",\"model\",\"enrollmentState\"\r\n\"1\",\"X1\",\"Book\",\"enrolled\"\r\n",
            ),
        ),
        (
            "computer-name-column",
            write(
                dir,
                "computer-name.csv",
                format!(
                    "Device Serial Number,Windows Product ID,Hardware Hash,Computer Name\r\nCN-1,,{hash},PC1\r\n"
                ),
            ),
        ),
        (
            "duplicated-header",
            write(
                dir,
                "twice.csv",
                format!("Device Serial Number,Device Serial Number,Hardware Hash\r\nD-1,D-1,{hash}\r\n"),
            ),
        ),
        (
            "nul-in-header",
            write(
                dir,
                "nul-in-header.csv",
                format!("Device Serial\0Number,Windows Product ID,Hardware Hash\r\nN-1,,{hash}\r\n"),
            ),
        ),
        ("random-bytes", write(dir, "random.csv", random)),
        ("utf16-lone-surrogate", write(dir, "surrogate.csv", surrogate)),
    ]
}

fn import(files: &[&Path], extra: &[&str], env: &[(&str, &str)]) -> (crate::common::Run, Value) {
    let mut args = vec!["import".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    for a in ["--tenant", CONTOSO, "--simulate", "--output", "json"] {
        args.push(a.to_owned());
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let run = apctl_env(&args, env);
    let json = run.json();
    (run, json)
}

#[test]
fn every_unreadable_file_fails_the_run_while_the_good_file_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let good = good(dir.path(), 2);
    for (case, bad) in dropped_files(dir.path()) {
        let (run, report) = import(&[&bad, &good], &[], &[]);
        assert_eq!(run.code, 2, "{case}: bad input is never exit 0\n{}", run.stderr);
        assert_eq!(report["verdict"], "bad-input", "{case}");
        let files = report["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{case}: both files are listed");
        let failed = &files[0];
        assert_eq!(failed["path"], bad.display().to_string(), "{case}");
        assert_eq!(failed["readable"], false, "{case}: {failed}");
        assert!(
            failed["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{case}: the reason is named: {failed}"
        );
        assert!(failed["hint"].is_string(), "{case}: {failed}");
        assert_eq!(files[1]["readable"], true, "{case}");
        // The good file carried on: both of its devices registered.
        let states: Vec<&str> = report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["file"] == good.display().to_string())
            .map(|e| e["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["Ready for user", "Ready for user"], "{case}");
    }
}

#[test]
fn a_header_that_matches_no_dialect_names_the_closest_one_in_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let files = dropped_files(dir.path());
    let (_, bad) = &files[1];
    let run = apctl(["import", bad.to_str().unwrap(), "--tenant", CONTOSO, "--simulate"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let first = run.stdout.lines().next().unwrap();
    assert!(first.starts_with("error: "), "{}", run.stdout);
    assert!(first.contains("Computer Name"), "what differs is named: {first}");
    assert!(first.contains("none of its rows were taken"), "{first}");
    assert!(
        run.stdout.contains("hint: the closest known header"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.trim_end().ends_with("an input file could not be read"),
        "{}",
        run.stdout
    );
}

#[test]
fn pipelines_are_told_the_run_failed() {
    let dir = tempfile::tempdir().unwrap();
    let good = good(dir.path(), 1);
    let files = dropped_files(dir.path());
    let (_, bad) = &files[0];
    let agent = tempfile::tempdir().unwrap();
    let run = apctl_env(
        [
            "import",
            bad.to_str().unwrap(),
            good.to_str().unwrap(),
            "--tenant",
            CONTOSO,
            "--simulate",
        ],
        &[
            ("TF_BUILD", "True"),
            ("AGENT_TEMPDIRECTORY", agent.path().to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("##vso[task.complete result=Failed;]"),
        "{}",
        run.stdout
    );
    let issue = run
        .stdout
        .lines()
        .find(|l| l.starts_with("##vso[task.logissue type=error]"))
        .unwrap_or_else(|| panic!("no error issue:\n{}", run.stdout));
    assert!(issue.contains("export.csv"), "{issue}");
    let gh = apctl_env(
        ["import", bad.to_str().unwrap(), "--tenant", CONTOSO, "--simulate"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(gh.code, 2);
    assert!(gh.stdout.contains("::error title=apctl::"), "{}", gh.stdout);
}

#[test]
fn cr_only_files_from_excel_for_mac_are_read_with_their_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "Device Serial Number,Windows Product ID,Hardware Hash\r{}\r{}\r",
        format_args!("MAC-1,,{}", fake_hash(1, 3000)),
        format_args!("MAC-2,,{}", "not-a-hash"),
    );
    let file = write(dir.path(), "mac.csv", text);
    let (run, report) = import(&[&file], &[], &[]);
    assert_eq!(run.code, 1, "one invalid row: {}", run.stderr);
    assert_eq!(report["files"][0]["readable"], true);
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (entries[0]["line"].as_u64(), entries[0]["state"].as_str()),
        (Some(2), Some("Ready for user"))
    );
    assert_eq!(
        (entries[1]["line"].as_u64(), entries[1]["action"].as_str()),
        (Some(3), Some("invalid"))
    );
}

#[test]
fn one_huge_line_costs_one_row_and_the_rest_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    text.push_str(&format!("BIG-1,,{}\n", "A".repeat(50 * 1024 * 1024)));
    text.push_str(&format!("OK-1,,{}\n", fake_hash(2, 3000)));
    let file = write(dir.path(), "huge.csv", text);
    let (run, report) = import(&[&file], &[], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries[0]["line"], 2);
    assert_eq!(entries[0]["action"], "invalid");
    assert!(
        entries[0]["details"].as_str().unwrap().contains("bytes long"),
        "{}",
        entries[0]
    );
    assert_eq!(entries[1]["state"], "Ready for user");
}

#[test]
fn undecodable_characters_and_impossible_serials_are_row_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let hash = fake_hash(3, 3000);
    let mut text = "Device Serial Number,Windows Product ID,Hardware Hash\r\n".to_owned();
    text.push_str(&format!("1.23457E+11,,{hash}\r\n"));
    text.push_str(&format!("{},,{}\r\n", fake_hash(4, 3000), fake_hash(5, 3000)));
    text.push_str(&format!("SUR\u{fffd}1,,{}\r\n", fake_hash(6, 3000)));
    // A lone surrogate inside a UTF-16 serial: decoded as U+FFFD.
    let mut bytes = utf16le_bom(&text);
    for unit in "LONE".encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    bytes.extend(0xDC00u16.to_le_bytes());
    bytes.extend(utf16le_bom(&format!(",,{}\r\n", fake_hash(8, 3000))).split_off(2));
    let file = write(dir.path(), "odd.csv", bytes);
    let run = apctl(["validate", file.to_str().unwrap(), "--output", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let doc = run.json();
    let lines = |code: &str| -> Vec<u64> {
        crate::common::problems(&doc, code)
            .iter()
            .map(|p| p["line"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(lines("serial-shape"), [2, 3]);
    assert_eq!(lines("undecodable"), [4, 5]);
    assert_eq!(doc["summary"]["validRows"], 0);

    // For people: one Excel-mangled serial is named with its fix, and a
    // file of one row is "1 row".
    let one = write(
        dir.path(),
        "excel.csv",
        format!("Device Serial Number,Windows Product ID,Hardware Hash\n1.23457E+11,,{hash}\n"),
    );
    let run = apctl(["validate", one.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("excel.csv:2:1: error: `1.23457E+11` is a number Excel rewrote in scientific notation")
            && run.stdout.contains("format the column as text in Excel"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("summary: 1 file, 1 row: 0 valid, 1 invalid"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_million_bad_rows_are_counted_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for i in 0..5_000 {
        text.push_str(&format!("BAD-{i},,nothash\n"));
    }
    text.push_str(&format!("GOOD-1,,{}\n", fake_hash(9, 3000)));
    let file = write(dir.path(), "bad.csv", text);
    let (run, report) = import(&[&file], &["--dry-run"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report["totals"]["rows"], 5_001, "every row accounted for once");
    assert_eq!(report["totals"]["invalid"], 5_000);
    let f = &report["files"][0];
    assert_eq!(f["invalidRows"], 5_000);
    assert_eq!(f["unlistedInvalidRows"], 4_000);
    assert_eq!(f["unlistedInvalidLines"], serde_json::json!([[1002, 5001]]));
    assert_eq!(report["entries"].as_array().unwrap().len(), 1_001);
    let v = apctl(["validate", file.to_str().unwrap(), "--output", "json"]).json();
    assert_eq!(v["summary"]["errors"], 5_000);
    assert_eq!(v["problems"].as_array().unwrap().len(), 1_000);
    assert_eq!(v["files"][0]["unlistedProblems"], 4_000);
}

/// Rows a customer's failure stopped are not "Registration failed": they
/// were never sent, and the reason is given once — in the human output,
/// the JUnit file and the pipeline's lines — not once per row.
#[test]
fn rows_never_sent_share_one_cause_given_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = good(dir.path(), 5);
    let junit = dir.path().join("junit.xml");
    let csv = dir.path().join("report.csv");
    let agent = tempfile::tempdir().unwrap();
    let run = apctl_env(
        [
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "woodgrove.onmicrosoft.com",
            "--simulate",
            "--junit",
            junit.to_str().unwrap(),
            "--report-csv",
            csv.to_str().unwrap(),
        ],
        &[
            ("TF_BUILD", "True"),
            ("AGENT_TEMPDIRECTORY", agent.path().to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    let out = &run.stdout;
    let failed_row = out
        .lines()
        .find(|l| l.starts_with("Registration failed"))
        .unwrap();
    assert!(failed_row.ends_with(" 0"), "never sent, never failed:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Not sent ") && l.ends_with(" 5")),
        "{out}"
    );
    assert_eq!(
        out.matches("AADSTS").count(),
        2,
        "the cause once on screen, once as the pipeline's error:\n{out}"
    );
    assert!(
        out.contains("not sent: cause C1: 5 rows of woodgrove.onmicrosoft.com: "),
        "{out}"
    );
    assert_eq!(
        out.matches("Not sent (cause C1)\n").count(),
        5,
        "one line per row: {out}"
    );
    assert!(
        out.contains("Not sent (cause C1) (5 devices): GOOD-0000, GOOD-0001"),
        "grouped by what fixes them: {out}"
    );
    assert_eq!(out.matches("##vso[task.logissue type=error").count(), 1, "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert_eq!(
        xml.matches("<skipped message=\"Not sent: cause C1\"/>").count(),
        5,
        "{xml}"
    );
    assert_eq!(xml.matches("AADSTS").count(), 1, "{xml}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().filter(|l| l.ends_with(",C1")).count(), 5, "{text}");
    assert!(!text.contains("AADSTS"), "{text}");
    assert!(!text.contains("Registration failed"), "{text}");
}
