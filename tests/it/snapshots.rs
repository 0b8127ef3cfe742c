//! What users read, pinned: the human output of import, validate, status,
//! reconcile and tenants, rendered errors with their hints, the JSON, CSV
//! and JUnit reports, and the lines pipelines parse. Run ids, request ids,
//! times, request counts and machine paths are replaced by placeholders
//! (insta's own filters, `filters`); everything else must stay as it is, or the change is
//! reviewed (`cargo insta review`, or `INSTA_UPDATE=always`).

use std::path::Path;

use crate::common::{Run, apctl_env, example, write};

/// Every simulated run skips its waits.
const FAST: [(&str, &str); 1] = [("APCTL_TIME_SCALE", "0")];

/// insta's filters for what changes from run to run: GUIDs, timestamps,
/// days, request counts, the repository's and the temporary folder's
/// paths. Everything else must stay as it is.
fn filters(tmp: Option<&Path>) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&literal(&unix_path(env!("CARGO_MANIFEST_DIR"))), "[repo]");
    if let Some(t) = tmp {
        s.add_filter(&literal(&unix_path(&t.display().to_string())), "[tmp]");
    }
    s.add_filter(
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        "[guid]",
    );
    s.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}[0-9:.Z+\-]*", "[time]");
    s.add_filter(r"\b\d{4}-\d{2}-\d{2}\b", "[date]");
    s.add_filter(r"\b\d+ HTTP request", "[n] HTTP request");
    s.add_filter(r#""requests": \d+"#, r#""requests": [n]"#);
    s
}

/// Text matched as it is by a filter's regular expression.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `insta::assert_snapshot!` under [`filters`] for the temporary folder.
macro_rules! snap {
    ($tmp:expr, $($args:tt)+) => {
        filters($tmp).bind(|| insta::assert_snapshot!($($args)+))
    };
}

/// A path with `/` between its parts, as on Unix.
fn unix_path(p: &str) -> String {
    p.replace('\\', "/")
}

/// Output with the paths under the repository and `tmp` written with `/`,
/// so the snapshots hold on Windows too (insta's filters replace matches;
/// they cannot rewrite the separators inside one).
fn normalise(text: &str, tmp: Option<&Path>) -> String {
    let mut roots = vec![env!("CARGO_MANIFEST_DIR").to_owned()];
    roots.extend(tmp.map(|t| t.display().to_string()));
    let mut out = text.to_owned();
    for root in roots.iter().filter(|r| r.contains('\\')) {
        for escaped in [root.replace('\\', "\\\\"), root.clone()] {
            let mut rest = out.as_str();
            let mut done = String::with_capacity(out.len());
            while let Some(at) = rest.find(&escaped) {
                done.push_str(&rest[..at]);
                let tail = &rest[at..];
                let end = tail
                    .find(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | ',' | ')'))
                    .unwrap_or(tail.len());
                done.push_str(&tail[..end].replace("\\\\", "/").replace('\\', "/"));
                rest = &tail[end..];
            }
            done.push_str(rest);
            out = done;
        }
    }
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
    snap!(None, shown(&run, None));
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
    snap!(None, shown(&run, None));
}

#[test]
fn import_dry_run_output() {
    let run = import_example(
        "contoso-autopilot.csv",
        &["--tenant", "contoso.onmicrosoft.com", "--dry-run", "-q"],
        &[],
    );
    snap!(None, shown(&run, None));
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
    snap!(
        Some(dir.path()),
        "report_json",
        normalise(&serde_json::to_string_pretty(&report).unwrap(), Some(dir.path()))
    );
    snap!(Some(dir.path()), "report_csv", read(&csv));
    snap!(Some(dir.path()), "report_junit", read(&junit));
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
    snap!(
        Some(dir.path()),
        normalise(&std::fs::read_to_string(&md).unwrap(), Some(dir.path()))
    );
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
    snap!(
        Some(agent.path()),
        "pipeline_azure_devops",
        shown(&azure, Some(agent.path()))
    );
    let github = import_example(
        "fabrikam-every-state.csv",
        &["--tenant", "fabrikam.onmicrosoft.com", "-q"],
        &[("GITHUB_ACTIONS", "true")],
    );
    snap!(None, "pipeline_github_actions", shown(&github, None));
}

#[test]
fn validate_human_and_json() {
    let files = ["contoso-autopilot.csv", "contoso-mixed.csv", "broken.csv"].map(example);
    let human = apctl_env(
        ["validate"].into_iter().chain(files.iter().map(String::as_str)),
        &[],
    );
    snap!(None, "validate_human", shown(&human, None));
    let json = apctl_env(
        ["validate", "--output", "json"]
            .into_iter()
            .chain(files.iter().map(String::as_str)),
        &[],
    );
    snap!(None, "validate_json", shown(&json, None));
}

#[test]
fn status_human_and_json() {
    let human = apctl_env(
        ["status", "--tenant", "contoso.onmicrosoft.com", "--simulate"],
        &FAST,
    );
    snap!(None, "status_human", shown(&human, None));
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
    snap!(None, "status_json", shown(&json, None));
}

#[test]
fn reconcile_plan_and_tenants() {
    let plan = apctl_env(["reconcile", &example("desired-state.csv"), "--simulate"], &FAST);
    snap!(None, "reconcile_plan", shown(&plan, None));
    let tenants = apctl_env(["tenants", "--simulate"], &FAST);
    snap!(None, "tenants", shown(&tenants, None));
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
    snap!(None, "error_no_credentials", shown(&no_credentials, None));
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
    snap!(
        Some(dir.path()),
        "error_manifest",
        shown(&bad_manifest, Some(dir.path()))
    );
    let no_tenant = apctl_env(["import", &example("contoso-autopilot.csv"), "--simulate"], &FAST);
    snap!(None, "error_no_customer", shown(&no_tenant, None));
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
    snap!(None, "error_prune_refused", shown(&prune, None));
}

#[test]
fn the_filters_replace_only_what_changes() {
    let text = "run 6b7c8d9e-0000-4000-8000-00000000a9c1 at 2026-12-01T08:16:16.5Z, seen 2026-11-30, 37 HTTP requests; \"requests\": 12; serial FAB-0001, PO 2026-11-300";
    filters(None).bind(|| {
        insta::assert_snapshot!(
            text,
            @r#"run [guid] at [time], seen [date], [n] HTTP requests; "requests": [n]; serial FAB-0001, PO 2026-11-300"#
        );
    });
    assert_eq!(
        normalise(r"C:\x\apctl\examples\a.csv", None),
        r"C:\x\apctl\examples\a.csv",
        "paths outside the repository and tmp stay as they are"
    );
}
