//! What users read, pinned: the human output of import, validate, status,
//! reconcile and tenants, rendered errors with their hints, the JSON, CSV
//! and JUnit reports, and the lines pipelines parse. Run ids, request ids,
//! times, request counts and machine paths are replaced by placeholders
//! (`normalise`); everything else must stay as it is, or the change is
//! reviewed (`cargo insta review`, or `INSTA_UPDATE=always`).

use std::path::Path;

use crate::common::{Run, apctl_env, example, write};

/// Every simulated run skips its waits.
const FAST: [(&str, &str); 1] = [("APCTL_TIME_SCALE", "0")];

/// Output with what changes from run to run replaced: GUIDs, timestamps,
/// request counts and timings, the repository's and the temporary
/// folder's paths.
fn normalise(text: &str, tmp: Option<&Path>) -> String {
    let mut s = text.replace(env!("CARGO_MANIFEST_DIR"), "[repo]");
    if let Some(t) = tmp {
        s = s.replace(&t.display().to_string(), "[tmp]");
    }
    let s = forward_slashes(&s);
    let s = replace_runs(&s, is_guid_at, "[guid]");
    let s = replace_runs(&s, timestamp_len, "[time]");
    let s = replace_runs(&s, date_len, "[date]");
    let s = counted(&s, " HTTP request", "[n]");
    counted(&s, "\"requests\": ", "[n]")
}

/// Paths under `[repo]` and `[tmp]` with `/` between their parts, as on
/// Unix, so the snapshots hold on Windows too.
fn forward_slashes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_path = false;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("[repo]") || rest.starts_with("[tmp]") {
            in_path = true;
        } else if c.is_whitespace() || matches!(c, '`' | '"' | '\'' | ':' | ',') {
            in_path = false;
        }
        if in_path && rest.starts_with("\\\\") {
            out.push('/'); // a JSON string's escaped separator
            rest = &rest[2..];
            continue;
        }
        out.push(if in_path && c == '\\' { '/' } else { c });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Replaces each run of text found by `len_at` (its length at a byte
/// offset, or 0) with `with`.
fn replace_runs(s: &str, len_at: fn(&[u8], usize) -> usize, with: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut start = 0;
    while i < b.len() {
        let n = len_at(b, i);
        if n > 0 {
            out.push_str(&s[start..i]);
            out.push_str(with);
            i += n;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[start..]);
    out
}

fn is_guid_at(b: &[u8], i: usize) -> usize {
    const SHAPE: &[u8; 36] = b"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if i + 36 > b.len() || (i > 0 && b[i - 1].is_ascii_hexdigit()) {
        return 0;
    }
    let ok = SHAPE.iter().zip(&b[i..i + 36]).all(|(s, c)| {
        if *s == b'-' {
            *c == b'-'
        } else {
            c.is_ascii_hexdigit()
        }
    });
    if ok { 36 } else { 0 }
}

/// `2026-12-01T08:16:16.123Z`, `+00:00` offsets and fractions included.
fn timestamp_len(b: &[u8], i: usize) -> usize {
    let digits = |at: usize, n: usize| at + n <= b.len() && b[at..at + n].iter().all(u8::is_ascii_digit);
    if !(digits(i, 4) && b.get(i + 4) == Some(&b'-') && digits(i + 5, 2) && b.get(i + 7) == Some(&b'-'))
        || !(digits(i + 8, 2) && b.get(i + 10) == Some(&b'T') && digits(i + 11, 2))
    {
        return 0;
    }
    let mut j = i + 13;
    while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b':' | b'.' | b'Z' | b'+' | b'-')) {
        j += 1;
    }
    j - i
}

/// `2026-11-30`: a day the simulator derives from today.
fn date_len(b: &[u8], i: usize) -> usize {
    let digits = |at: usize, n: usize| at + n <= b.len() && b[at..at + n].iter().all(u8::is_ascii_digit);
    let shape =
        digits(i, 4) && b.get(i + 4) == Some(&b'-') && digits(i + 5, 2) && b.get(i + 7) == Some(&b'-');
    if shape
        && digits(i + 8, 2)
        && !b.get(i + 10).is_some_and(u8::is_ascii_digit)
        && (i == 0 || !b[i - 1].is_ascii_digit())
    {
        10
    } else {
        0
    }
}

/// Replaces the number before each `after` (or right after `before` when
/// `before` ends in a space) with `with`.
fn counted(s: &str, marker: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find(marker) {
        if marker.ends_with(' ') {
            // The number follows the marker.
            let (head, tail) = rest.split_at(pos + marker.len());
            out.push_str(head);
            let n = tail.bytes().take_while(u8::is_ascii_digit).count();
            if n > 0 {
                out.push_str(with);
            }
            rest = &tail[n..];
        } else {
            // The number precedes the marker.
            let head = &rest[..pos];
            let n = head.bytes().rev().take_while(u8::is_ascii_digit).count();
            out.push_str(&head[..head.len() - n]);
            if n > 0 {
                out.push_str(with);
            }
            out.push_str(marker);
            rest = &rest[pos + marker.len()..];
        }
    }
    out.push_str(rest);
    out
}

/// The exit code, stdout and stderr of a run, normalised.
fn shown(run: &Run, tmp: Option<&Path>) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        run.code,
        normalise(&run.stdout, tmp),
        normalise(&run.stderr, tmp)
    )
}

/// `apctl import` of an example under `--simulate`, from the examples
/// folder (so paths in the output are the file names).
fn import_example(file: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec!["import", file];
    args.extend_from_slice(extra);
    args.push("--simulate");
    let mut all = FAST.to_vec();
    all.extend_from_slice(env);
    let examples = example("");
    let mut cmd = crate::common::apctl_command();
    cmd.current_dir(examples).args(&args);
    for var in [
        "TF_BUILD",
        "GITHUB_ACTIONS",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "GITHUB_STEP_SUMMARY",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in all {
        cmd.env(k, v);
    }
    // A state folder of its own: what an earlier run remembers (the last
    // sync asked for) never changes what this one prints.
    let state = tempfile::tempdir().unwrap();
    cmd.env("XDG_STATE_HOME", state.path());
    let out = cmd.output().expect("apctl runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn import_human_output_in_every_state() {
    let run = import_example(
        "fabrikam-every-state.csv",
        &["--tenant", "fabrikam.onmicrosoft.com", "-q"],
        &[],
    );
    insta::assert_snapshot!(shown(&run, None));
}

#[test]
fn import_human_output_through_both_pipes() {
    let run = import_example(
        "contoso-mixed.csv",
        &[
            "--tenant",
            "contoso.onmicrosoft.com",
            "--group-tag",
            "Sales",
            "-q",
        ],
        &[],
    );
    insta::assert_snapshot!(shown(&run, None));
}

#[test]
fn import_dry_run_output() {
    let run = import_example(
        "contoso-autopilot.csv",
        &["--tenant", "contoso.onmicrosoft.com", "--dry-run", "-q"],
        &[],
    );
    insta::assert_snapshot!(shown(&run, None));
}

#[test]
fn reports_in_json_csv_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let csv = dir.path().join("report.csv");
    let junit = dir.path().join("report.xml");
    let run = import_example(
        "fabrikam-every-state.csv",
        &[
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "-q",
            "--report",
            json.to_str().unwrap(),
            "--report-csv",
            csv.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    report["http"] = serde_json::json!("[http figures]");
    let read = |p: &Path| normalise(&std::fs::read_to_string(p).unwrap(), Some(dir.path()));
    insta::assert_snapshot!(
        "report_json",
        normalise(&serde_json::to_string_pretty(&report).unwrap(), Some(dir.path()))
    );
    insta::assert_snapshot!("report_csv", read(&csv));
    insta::assert_snapshot!("report_junit", read(&junit));
}

#[test]
fn the_markdown_summary_outside_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("summary.md");
    let run = import_example(
        "fabrikam-every-state.csv",
        &[
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "-q",
            "--summary",
            md.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        !run.stdout.contains("##vso") && !run.stdout.contains("::error"),
        "no pipeline here"
    );
    insta::assert_snapshot!(normalise(
        &std::fs::read_to_string(&md).unwrap(),
        Some(dir.path())
    ));
}

#[test]
fn pipeline_lines_in_azure_devops_and_github_actions() {
    let agent = tempfile::tempdir().unwrap();
    let azure = import_example(
        "fabrikam-every-state.csv",
        &["--tenant", "fabrikam.onmicrosoft.com", "-q"],
        &[
            ("TF_BUILD", "True"),
            ("AGENT_TEMPDIRECTORY", agent.path().to_str().unwrap()),
        ],
    );
    insta::assert_snapshot!("pipeline_azure_devops", shown(&azure, Some(agent.path())));
    let github = import_example(
        "fabrikam-every-state.csv",
        &["--tenant", "fabrikam.onmicrosoft.com", "-q"],
        &[("GITHUB_ACTIONS", "true")],
    );
    insta::assert_snapshot!("pipeline_github_actions", shown(&github, None));
}

#[test]
fn validate_human_and_json() {
    let files = ["contoso-autopilot.csv", "contoso-mixed.csv", "broken.csv"].map(example);
    let human = apctl_env(
        ["validate"].into_iter().chain(files.iter().map(String::as_str)),
        &[],
    );
    insta::assert_snapshot!("validate_human", shown(&human, None));
    let json = apctl_env(
        ["validate", "--output", "json"]
            .into_iter()
            .chain(files.iter().map(String::as_str)),
        &[],
    );
    insta::assert_snapshot!("validate_json", shown(&json, None));
}

#[test]
fn status_human_and_json() {
    let human = apctl_env(
        ["status", "--tenant", "contoso.onmicrosoft.com", "--simulate"],
        &FAST,
    );
    insta::assert_snapshot!("status_human", shown(&human, None));
    let json = apctl_env(
        [
            "status",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--output",
            "json",
        ],
        &FAST,
    );
    insta::assert_snapshot!("status_json", shown(&json, None));
}

#[test]
fn reconcile_plan_and_tenants() {
    let plan = apctl_env(["reconcile", &example("desired-state.csv"), "--simulate"], &FAST);
    insta::assert_snapshot!("reconcile_plan", shown(&plan, None));
    let tenants = apctl_env(["tenants", "--simulate"], &FAST);
    insta::assert_snapshot!("tenants", shown(&tenants, None));
}

#[test]
fn errors_render_with_their_hint() {
    let dir = tempfile::tempdir().unwrap();
    let no_credentials = apctl_env(
        [
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        &[],
    );
    insta::assert_snapshot!("error_no_credentials", shown(&no_credentials, None));
    // Half of a mode: the error names what is missing for it.
    let id_only = apctl_env(
        [
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        &[("AZURE_CLIENT_ID", "6b7c8d9e-0000-4000-8000-00000000a9c1")],
    );
    assert_eq!(id_only.code, 2);
    assert!(
        id_only
            .stderr
            .starts_with("error: `AZURE_CLIENT_ID` is set but `AZURE_CLIENT_SECRET` is not"),
        "{}",
        id_only.stderr
    );
    assert!(
        id_only.stderr.contains("apctl login"),
        "the other modes are listed"
    );
    let manifest = write(
        dir.path(),
        "customers.toml",
        "[[customer]]\ntenant = \"contoso.onmicrosoft.com\"\nfiles = [\"missing.csv\"]\n",
    );
    let bad_manifest = apctl_env(
        ["import", "--manifest", manifest.to_str().unwrap(), "--simulate"],
        &FAST,
    );
    insta::assert_snapshot!("error_manifest", shown(&bad_manifest, Some(dir.path())));
    let no_tenant = apctl_env(["import", &example("contoso-autopilot.csv"), "--simulate"], &FAST);
    insta::assert_snapshot!("error_no_customer", shown(&no_tenant, None));
    let prune = apctl_env(
        [
            "reconcile",
            &example("broken.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--prune",
            "--yes",
            "--simulate",
        ],
        &FAST,
    );
    insta::assert_snapshot!("error_prune_refused", shown(&prune, None));
}

#[test]
fn the_normaliser_replaces_only_what_changes() {
    let text = "run 6b7c8d9e-0000-4000-8000-00000000a9c1 at 2026-12-01T08:16:16.5Z, seen 2026-11-30, 37 HTTP requests; \"requests\": 12; serial FAB-0001, PO 2026-11-300";
    assert_eq!(
        normalise(text, None),
        "run [guid] at [time], seen [date], [n] HTTP requests; \"requests\": [n]; serial FAB-0001, PO 2026-11-300"
    );
}
