//! Issue #29 point 4: the mistakes a partner makes in the first hour, each
//! answered with its fix (snapshots of what apctl says).

use std::path::Path;

use crate::common::{apctl_env, example, fake_hash, write};

/// What a run said on stderr (and the summary's causes on stdout), with
/// the temporary folder's path made stable.
fn said(run: &crate::common::Run, dir: &Path) -> String {
    let text = format!("exit {}\n{}{}", run.code, run.stderr, run.stdout);
    let keep: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("exit")
                || l.contains("error")
                || l.contains("warning")
                || l.contains("note")
                || l.contains("hint")
                || l.contains("cause C1:")
                || l.contains("encoding")
                || l.starts_with("summary")
        })
        .collect();
    undated(&keep.join("\n").replace(dir.to_str().unwrap(), "[DIR]"))
}

/// `2026-11-06` (a date relative to today in the demo world) as `[DATE]`.
pub(crate) fn undated(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let date = i + 10 <= b.len()
            && b[i..i + 10].iter().enumerate().all(|(k, c)| {
                if k == 4 || k == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if date {
            out.push_str("[DATE]");
            i += 10;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn import(dir: &Path, args: &[&str]) -> crate::common::Run {
    let state = dir.join("state");
    let mut all = vec![
        "import",
        "-q",
        "--simulate",
        "--state-dir",
        state.to_str().unwrap(),
    ];
    all.extend(args);
    apctl_env(&all, &[])
}

#[test]
fn a_misspelt_domain_gets_the_close_customer_domains() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("contoso-autopilot.csv");
    let run = import(dir.path(), &[&file, "--tenant", "contosso.onmicrosoft.com"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stdout
            .contains("did you mean `contoso.onmicrosoft.com` (Contoso Ltd)?"),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!("mistake_domain_typo", said(&run, dir.path()));
    let doctor = apctl_env(
        ["doctor", "--simulate", "--tenant", "contosso.onmicrosoft.com"],
        &[],
    );
    assert!(
        doctor
            .stdout
            .contains("hint: did you mean `contoso.onmicrosoft.com` (Contoso Ltd)?"),
        "{}",
        doctor.stdout
    );
}

#[test]
fn a_gdap_relationship_that_is_not_active_is_told_with_app_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("contoso-autopilot.csv");
    let expired = import(dir.path(), &[&file, "--tenant", "Wingtip Toys"]);
    assert!(
        expired
            .stderr
            .contains("the GDAP relationship `Wingtip 2024` is expired"),
        "{}",
        expired.stderr
    );
    let pending = import(dir.path(), &[&file, "--tenant", "Adatum Corp"]);
    assert!(
        pending.stderr.contains("is waiting for the customer's approval"),
        "{}",
        pending.stderr
    );
    insta::assert_snapshot!(
        "mistake_gdap_state",
        format!(
            "{}\n---\n{}",
            said(&expired, dir.path()),
            said(&pending, dir.path())
        )
    );
}

#[test]
fn missing_files_and_folders_are_named_together_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    let missing = dir.path().join("missing.csv");
    let report = dir.path().join("report.json");
    let file = example("contoso-autopilot.csv");
    let run = import(
        dir.path(),
        &[
            &file,
            folder.to_str().unwrap(),
            missing.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(!report.exists(), "nothing was done");
    let validate = apctl_env(["validate", folder.to_str().unwrap()], &[]);
    insta::assert_snapshot!(
        "mistake_missing_files",
        format!("{}\n---\n{}", said(&run, dir.path()), said(&validate, dir.path()))
    );
}

#[test]
fn excel_files_with_trailing_empty_columns_or_tabs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let hash = fake_hash(77, 3000);
    let trailing = write(
        dir.path(),
        "trailing.csv",
        format!("Device Serial Number;Windows Product ID;Hardware Hash;;\nTR-1;;{hash};;\n"),
    );
    let tabs = write(
        dir.path(),
        "unicode-text.txt",
        crate::common::utf16le_bom(&format!(
            "Device Serial Number\tWindows Product ID\tHardware Hash\r\nTB-1\t\t{}\r\n",
            fake_hash(78, 3000)
        )),
    );
    let run = apctl_env(
        ["validate", trailing.to_str().unwrap(), tabs.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    insta::assert_snapshot!("mistake_excel_files", said(&run, dir.path()));
}

#[test]
fn a_header_only_file_warns() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(
        dir.path(),
        "empty.csv",
        "Device Serial Number,Windows Product ID,Hardware Hash\n",
    );
    let validate = apctl_env(["validate", empty.to_str().unwrap()], &[]);
    let run = import(
        dir.path(),
        &[empty.to_str().unwrap(), "--tenant", "contoso.onmicrosoft.com"],
    );
    assert_eq!(run.code, 0);
    insta::assert_snapshot!(
        "mistake_header_only",
        format!("{}\n---\n{}", said(&validate, dir.path()), said(&run, dir.path()))
    );
}

#[test]
fn a_timeout_of_zero_is_refused_and_one_under_a_minute_warned() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("contoso-autopilot.csv");
    let mut out = Vec::new();
    for t in ["0", "1ms", "5"] {
        let run = import(
            dir.path(),
            &[
                &file,
                "--tenant",
                "contoso.onmicrosoft.com",
                "--timeout",
                t,
                "--dry-run",
            ],
        );
        let run = if t == "0" {
            run
        } else {
            // Warned when it waits: without --dry-run.
            import(
                dir.path(),
                &[
                    &file,
                    "--tenant",
                    "contoso.onmicrosoft.com",
                    "--timeout",
                    t,
                    "--no-sync",
                ],
            )
        };
        out.push(format!("--timeout {t}\n{}", said(&run, dir.path())));
    }
    assert!(out[0].contains("exit 2"));
    insta::assert_snapshot!("mistake_timeout", out.join("\n---\n"));
}

#[test]
fn status_takes_the_portal_words_and_lists() {
    let words = apctl_env(
        [
            "status",
            "--simulate",
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--state",
            "Active,Inactive",
            "--state",
            "Ready for user",
            "--serial",
            "FAB-0006, FAB-0007,NOPE-1",
            "-o",
            "csv",
        ],
        &[],
    );
    assert_eq!(words.code, 0, "{}", words.stderr);
    assert!(
        words.stdout.contains("FAB-0006") && words.stdout.contains("FAB-0007"),
        "{}",
        words.stdout
    );
    assert!(
        words.stderr.contains("no device with serial number `NOPE-1`"),
        "{}",
        words.stderr
    );
}

#[test]
fn the_partners_own_tenant_is_flagged_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("contoso-autopilot.csv");
    let run = import(
        dir.path(),
        &[&file, "--tenant", "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503"],
    );
    assert_eq!(run.code, 2);
    insta::assert_snapshot!("mistake_own_tenant", said(&run, dir.path()));
}
