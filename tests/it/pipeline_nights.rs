//! Issue #27 point 3: each example pipeline, run step by step as its runner
//! runs it (see `runners`), against the simulator, on a good night, a night
//! with only a pending device, and a bad night (one customer unconsented,
//! one invalid row, one device pending). On every night the shards'
//! reports and the merged JSON and HTML are published, the merged report
//! holds every row once, and the run shows green, orange (or GitHub's green
//! with warnings) or red as the exit-code policy says.

use std::path::Path;

use crate::common::fake_hash;
use crate::runners::{Night, azure, github, read_json};

const GITHUB: &str = "examples/pipelines/github-workflow.yml";
const AZURE: &str = "examples/pipelines/azure-pipelines.yml";
const SHARDS: u64 = 4;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Good,
    Pending,
    Bad,
}

fn hash_file(rows: &[(&str, u64)], extra: &str) -> String {
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for (serial, seed) in rows {
        text.push_str(&format!("{serial},,{}\n", fake_hash(*seed, 3000)));
    }
    text.push_str(extra);
    text
}

/// The repository of a night: the manifest and its files; and the number
/// of rows they hold.
fn repository(kind: Kind) -> (Vec<(&'static str, String)>, usize) {
    // Partner Center makes a batch's name the devices' group tag: the
    // manifest gives one, as the example does.
    let mut manifest = String::from(
        "group_tag = \"Autopilot\"\n\
         [[customer]]\ntenant = \"contoso.onmicrosoft.com\"\nfiles = [\"contoso.csv\", \"contoso-pc.csv\"]\n\
         order_id = \"PO-NIGHT\"\n\
         [[customer]]\ntenant = \"Fabrikam Inc\"\nfiles = [\"fabrikam.csv\"]\n",
    );
    // FAB-0005 is the demo world's device whose import never finishes.
    let stuck = "FAB-0005,,".to_owned() + &fake_hash(905, 3000) + "\n";
    let (contoso_extra, fabrikam_extra) = match kind {
        Kind::Good => (String::new(), String::new()),
        Kind::Pending => (String::new(), stuck),
        Kind::Bad => ("NC-BAD,,not a hash\n".to_owned(), stuck),
    };
    let mut files = vec![
        (
            "contoso.csv",
            hash_file(&[("NC-001", 801), ("NC-002", 802)], &contoso_extra),
        ),
        (
            "contoso-pc.csv",
            "Manufacturer,Model,Serial Number\nContoso Devices,Surface Laptop 7,PC-0001\n".to_owned(),
        ),
        ("fabrikam.csv", hash_file(&[("NF-001", 821)], &fabrikam_extra)),
    ];
    if kind == Kind::Bad {
        // The demo app was never consented in Woodgrove.
        manifest
            .push_str("[[customer]]\ntenant = \"woodgrove.onmicrosoft.com\"\nfiles = [\"woodgrove.csv\"]\n");
        files.push(("woodgrove.csv", hash_file(&[("NW-001", 831)], "")));
    }
    let rows = files.iter().map(|(_, text)| text.lines().count() - 1).sum();
    files.push(("customers.toml", manifest));
    (files, rows)
}

/// What every night's published artifacts must hold, whatever its outcome.
fn check_published(
    artifacts: &Path,
    shard_report: impl Fn(u64) -> std::path::PathBuf,
    rows: usize,
    kind: Kind,
    log: &str,
) {
    for k in 1..=SHARDS {
        let report = shard_report(k);
        assert!(
            report.exists(),
            "shard {k}'s report was not published ({kind:?}):\n{log}"
        );
        assert_eq!(read_json(&report)["place"]["shard"], k);
    }
    let merged = read_json(&artifacts.join("merged-report/merged.json"));
    let html = std::fs::read_to_string(artifacts.join("merged-report/report.html"))
        .unwrap_or_else(|e| panic!("the merged HTML was not published ({kind:?}): {e}\n{log}"));
    assert!(html.contains("NF-001"), "{kind:?}");
    // A page for each customer, to send.
    let pages = std::fs::read_dir(artifacts.join("merged-report/customers"))
        .unwrap_or_else(|e| panic!("the customer pages were not published ({kind:?}): {e}\n{log}"))
        .count();
    assert_eq!(pages, merged["tenants"].as_array().unwrap().len(), "{kind:?}");
    assert_eq!(merged["shards"], serde_json::json!([1, 2, 3, 4]), "{kind:?}");
    let missing = &merged["missingShards"];
    assert!(
        missing.is_null() || missing == &serde_json::json!([]),
        "{missing} ({kind:?})"
    );
    let entries = merged["entries"].as_array().unwrap();
    assert_eq!(entries.len(), rows, "every row once ({kind:?})");
    let expected = match kind {
        Kind::Good => "done",
        Kind::Pending => "some-pending",
        Kind::Bad => "some-failed",
    };
    let by_serial = |s: &str| crate::common::entry(&merged, s);
    if kind != Kind::Good {
        assert_eq!(by_serial("FAB-0005")["state"], "Registration pending");
    }
    if kind == Kind::Bad {
        assert_eq!(by_serial("NC-BAD")["action"], "invalid");
        assert_eq!(by_serial("NW-001")["action"], "not-sent");
        assert!(
            merged["verdict"] == expected || merged["verdict"] == "could-not-run",
            "{}",
            merged["verdict"]
        );
    } else {
        assert_eq!(merged["verdict"], expected, "{log}");
    }
    // The Partner Center row (a device of the demo supplier's) was sent with the mapped refresh token.
    assert_eq!(by_serial("PC-0001")["pipe"], "partnerCenter");
    assert_eq!(by_serial("PC-0001")["state"], "Ready for user", "{log}");
}

fn workflow(path: &str) -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn github_night(kind: Kind) {
    let (files, rows) = repository(kind);
    let night = Night::new(&files);
    let run = github::run(&night, &workflow(GITHUB), 7001);
    let log = run.log();
    let artifacts = night.artifacts();
    check_published(
        &artifacts,
        |k| artifacts.join(format!("report-{k}/report-{k}.json")),
        rows,
        kind,
        &log,
    );
    let expected = if kind == Kind::Bad { "failure" } else { "success" };
    assert_eq!(run.conclusion(), expected, "{kind:?}:\n{log}");
    let warned = run
        .annotations
        .iter()
        .any(|a| a.starts_with("::warning") && a.contains("FAB-0005"));
    assert_eq!(warned, kind != Kind::Good, "{:?}", run.annotations);
}

fn azure_night(kind: Kind) {
    let (files, rows) = repository(kind);
    let night = Night::new(&files);
    let run = azure::run(&night, &workflow(AZURE), 9001);
    let log = run.log();
    let artifacts = night.artifacts();
    check_published(
        &artifacts,
        |k| artifacts.join(format!("report-{k}/report-{k}.json")),
        rows,
        kind,
        &log,
    );
    let expected = match kind {
        Kind::Good => "succeeded",
        Kind::Pending => "partiallySucceeded",
        Kind::Bad => "failed",
    };
    assert_eq!(run.result(), expected, "{kind:?}:\n{log}");
    // The JUnit files of every shard reached the test results.
    let published: usize = run
        .jobs
        .iter()
        .flat_map(|j| &j.2)
        .filter_map(|(_, ran)| ran.as_ref())
        .filter(|(_, r)| r.stdout.starts_with("published 1 test result file"))
        .count();
    assert_eq!(published as u64, SHARDS, "{log}");
}

#[test]
fn the_github_workflow_publishes_on_a_good_night() {
    github_night(Kind::Good);
}

#[test]
fn the_github_workflow_is_green_with_warnings_when_only_devices_are_pending() {
    github_night(Kind::Pending);
}

#[test]
fn the_github_workflow_publishes_and_is_red_on_a_bad_night() {
    github_night(Kind::Bad);
}

#[test]
fn the_azure_pipeline_publishes_on_a_good_night() {
    azure_night(Kind::Good);
}

#[test]
fn the_azure_pipeline_is_orange_when_only_devices_are_pending() {
    azure_night(Kind::Pending);
}

#[test]
fn the_azure_pipeline_publishes_and_is_red_on_a_bad_night() {
    azure_night(Kind::Bad);
}

/// The stand-in agent merges a step's results as the agent does: an exit
/// code that is not 0 fails a step that said "succeeded with issues"; with
/// exit 0 the step keeps what it said.
#[test]
fn the_stand_in_agent_keeps_the_worse_of_exit_code_and_task_complete() {
    let night = Night::new(&[]);
    let pipeline: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        "stages:\n- stage: s\n  jobs:\n  - job: j\n    steps:\n\
         \x20   - script: echo '##vso[task.complete result=SucceededWithIssues;]'; exit 3\n\
         \x20   - script: echo '##vso[task.complete result=SucceededWithIssues;]'\n\
         \x20     condition: always()\n\
         \x20   - script: echo after\n",
    )
    .unwrap();
    let run = azure::run(&night, &pipeline, 1);
    let steps: Vec<Option<azure::Outcome>> = run.jobs[0]
        .2
        .iter()
        .map(|(_, r)| r.as_ref().map(|r| r.0))
        .collect();
    use azure::Outcome::*;
    assert_eq!(steps, [Some(Failed), Some(SucceededWithIssues), None]);
    assert_eq!(run.result(), "failed");
}
