//! Runs over many customers through the built binary: a manifest over
//! several simulator tenants (one with credentials that cannot reach it),
//! a `Tenant` column, shards that split customers between jobs, and a
//! second run that changes nothing.

use std::collections::BTreeSet;

use crate::common::{SimProcess, apctl_env, apctl_sim, entry, example, fake_hash, requests, write};
use serde_json::Value;

/// A manifest over simulator customers: Contoso (hash, tuple and
/// product-key rows from the examples), Fabrikam (by its GDAP display name),
/// and Woodgrove, with which the partner has no GDAP relationship: the
/// GDAP preflight stops it before anything is sent.
fn manifest(dir: &std::path::Path) -> std::path::PathBuf {
    // Absolute with its drive on Windows, where `/work/…` is not.
    let examples = std::path::absolute(example("")).unwrap().display().to_string();
    let mut fabrikam = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for i in 1..=3 {
        fabrikam.push_str(&format!("FAB-10{i:02},,{}\n", fake_hash(100 + i, 3000)));
    }
    write(dir, "fabrikam.csv", fabrikam);
    write(
        dir,
        "customers.toml",
        format!(
            "group_tag = \"Autopilot\"\n\
             [[customer]]\ntenant = \"contoso.onmicrosoft.com\"\nfiles = ['{examples}/contoso-autopilot.csv', '{examples}/contoso-mixed.csv']\norder_id = \"PO-77\"\n\
             [[customer]]\ntenant = \"Fabrikam Inc\"\nfiles = [\"fabrikam.csv\"]\ngroup_tag = \"Lab\"\n\
             [[customer]]\ntenant = \"woodgrove.onmicrosoft.com\"\nfiles = ['{examples}/woodgrove-autopilot.csv']\n"
        ),
    )
}

fn outcomes(report: &Value) -> BTreeSet<(String, String, String)> {
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["serialNumber"].as_str().unwrap_or("").to_owned(),
                e["state"].as_str().unwrap_or("(not sent)").to_owned(),
                e["tenant"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_manifest_runs_every_customer_reports_the_unreachable_one_and_a_rerun_changes_nothing() {
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--batch-delay",
        "0s",
        "--import-delay",
        "0s",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path());
    let args = [
        "import",
        "--manifest",
        m.to_str().unwrap(),
        "--partner-tenant",
        "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503",
        "--output",
        "json",
    ];
    // The partner admin's sign-in (Secure Application Model) for Graph
    // through GDAP and for Partner Center.
    let sign_in = [("APCTL_REFRESH_TOKEN", "apctl-demo-refresh-token")];
    let first = apctl_sim(&sim, &args, &sign_in);
    assert_eq!(
        first.code, 2,
        "a customer could not be reached: {}\n{}",
        first.stdout, first.stderr
    );
    let report = first.json();
    assert_eq!(
        report["entries"].as_array().unwrap().len(),
        8 + 3 + 3 + 2,
        "one entry per row"
    );

    let sections = report["tenants"].as_array().unwrap();
    let section = |name: &str| {
        sections
            .iter()
            .find(|s| s["requested"] == name)
            .unwrap_or_else(|| panic!("no section for {name}: {sections:#?}"))
    };
    assert_eq!(section("contoso.onmicrosoft.com")["verdict"], "done");
    assert_eq!(section("contoso.onmicrosoft.com")["totals"]["rows"], 11);
    let fabrikam = section("Fabrikam Inc");
    assert_eq!(
        fabrikam["tenant"], "7d4e1b2c-3f5a-4e6b-8c7d-9e0f1a2b3c02",
        "the display name was resolved"
    );
    assert_eq!(fabrikam["verdict"], "done");
    let woodgrove = section("woodgrove.onmicrosoft.com");
    assert_eq!(woodgrove["verdict"], "could-not-run");
    assert!(
        woodgrove["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no GDAP relationship with this customer"),
        "{woodgrove}"
    );

    assert_eq!(entry(&report, "CTS-0001")["state"], "Ready for user");
    assert_eq!(
        entry(&report, "CTS-0001")["groupTag"],
        "Sales",
        "the row's own tag wins"
    );
    assert_eq!(
        entry(&report, "MIX-0001")["groupTag"],
        "Autopilot",
        "the manifest's default tag"
    );
    assert_eq!(entry(&report, "CTS-0003")["state"], "Active");
    let tuple = entry(&report, "MIX-0002");
    assert_eq!(
        (tuple["batchId"].as_str(), tuple["orderId"].as_str()),
        (Some("Autopilot"), Some("PO-77")),
        "the batch is named after the manifest's default tag; the order id is kept for tracking"
    );
    assert_eq!(
        entry(&report, "FAB-1001")["groupTag"],
        "Lab",
        "the customer's own tag"
    );
    assert_eq!(entry(&report, "FAB-1003")["state"], "Ready for user");
    for serial in ["WGB-0001", "WGB-0002"] {
        assert_eq!(entry(&report, serial)["action"], "not-sent");
    }

    let before = sim.stats();
    assert_eq!(
        requests(&before, "graph.list-gdap"),
        1,
        "the partner's relationships are read once for names and every customer's preflight"
    );
    let second = apctl_sim(&sim, &args, &sign_in);
    assert_eq!(second.code, 2);
    let again = second.json();
    assert_eq!(
        outcomes(&report),
        outcomes(&again),
        "the same devices in the same states"
    );
    let after = sim.stats();
    for kind in [
        "graph.import",
        "pc.create-batch",
        "pc.add-devices",
        "graph.update-device-properties",
    ] {
        assert_eq!(
            requests(&before, kind),
            requests(&after, kind),
            "{kind}: nothing sent again"
        );
    }
    for serial in ["CTS-0001", "FAB-1001", "MIX-0002", "MIX-0003"] {
        assert_eq!(entry(&again, serial)["action"], "already-registered", "{serial}");
    }
}

#[test]
fn a_tenant_column_names_each_rows_customer() {
    let run = apctl_env(
        [
            "import",
            &example("many-customers.csv"),
            "--simulate",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["tenants"].as_array().unwrap().len(), 3);
    assert_eq!(entry(&report, "MC-C001")["tenant"], "contoso.onmicrosoft.com");
    assert_eq!(
        entry(&report, "MC-T002")["tenant"],
        "tailspintoys.onmicrosoft.com"
    );
    assert_eq!(
        entry(&report, "MC-F001")["tenant"],
        "7d4e1b2c-3f5a-4e6b-8c7d-9e0f1a2b3c02",
        "a display name in the column is resolved through GDAP"
    );
}

#[test]
fn a_file_without_customers_is_refused_before_anything_is_sent() {
    let run = apctl_env(["import", &example("contoso-autopilot.csv"), "--simulate"], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no customer is named"), "{}", run.stderr);
    assert!(run.stderr.contains("--manifest"), "{}", run.stderr);
}

#[test]
fn shards_split_the_customers_between_jobs_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path());
    let mut seen = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let run = apctl_env(
            [
                "import",
                "--manifest",
                m.to_str().unwrap(),
                "--simulate",
                "--dry-run",
                "--shard",
                &shard,
                "--output",
                "json",
            ],
            &[],
        );
        let report = run.json();
        for s in report["tenants"].as_array().unwrap() {
            seen.push(s["requested"].as_str().unwrap().to_owned());
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "Fabrikam Inc",
            "contoso.onmicrosoft.com",
            "woodgrove.onmicrosoft.com"
        ],
        "every customer in exactly one shard"
    );
}

/// The example manifest run as two shards against the simulator; the paths
/// of their reports (in `dir`).
fn shard_reports(dir: &std::path::Path) -> Vec<String> {
    let mut reports = Vec::new();
    for k in 1..=2 {
        let path = dir.join(format!("shard-{k}.json"));
        let run = apctl_env(
            [
                "import",
                "--manifest",
                &example("customers.toml"),
                "--simulate",
                "--shard",
                &format!("{k}/2"),
                "--quiet",
                "--report",
                path.to_str().unwrap(),
            ],
            &[],
        );
        assert!(path.exists(), "{}", run.stderr);
        reports.push(path.to_str().unwrap().to_owned());
    }
    reports
}

#[test]
fn the_reports_of_a_sharded_run_merge_into_one() {
    let dir = tempfile::tempdir().unwrap();
    let reports = shard_reports(dir.path());
    let merged_path = dir.path().join("merged.json");
    let mut args = vec!["report", "merge"];
    args.extend(reports.iter().map(String::as_str));
    args.extend(["--report", merged_path.to_str().unwrap()]);
    let run = apctl_env(&args, &[]);
    assert_eq!(
        run.code, 2,
        "the worst verdict: Woodgrove could not be reached\n{}",
        run.stderr
    );
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&merged_path).unwrap()).unwrap();
    assert_eq!(
        merged["tenants"].as_array().unwrap().len(),
        4,
        "every customer once"
    );
    assert_eq!(merged["totals"]["rows"], 27);
    let by_state: u64 = merged["totals"]["byState"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let unsent =
        merged["totals"]["invalid"].as_u64().unwrap() + merged["totals"]["notSent"].as_u64().unwrap();
    assert_eq!(by_state + unsent, 27, "every row once: {}", merged["totals"]);
    assert!(unsent > 0, "Woodgrove's rows were not sent");
    assert_eq!(merged["verdict"], "could-not-run");
    assert_eq!(merged["mergedRunIds"].as_array().unwrap().len(), 2);

    // The merge job writes the whole run's files with import's flags, and
    // in a pipeline puts the whole run's summary on its run page (once; the
    // shards annotated the rows already).
    let agent = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let mut args = vec!["report", "merge"];
    args.extend(reports.iter().map(String::as_str));
    let files = [
        ("--summary", out("summary.md")),
        ("--html", out("report.html")),
        ("--report-csv", out("report.csv")),
        ("--junit", out("report.xml")),
    ];
    for (flag, path) in &files {
        args.extend([*flag, path.as_str()]);
    }
    args.extend(["-o", "human"]);
    let run = apctl_env(
        &args,
        &[
            ("TF_BUILD", "True"),
            ("AGENT_TEMPDIRECTORY", agent.path().to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    // "What to do" reads each serial with its customer (issue #28 point 3).
    let todo = &run.stdout[run.stdout.find("what to do").expect("what to do")..];
    assert!(
        todo.lines()
            .any(|l| l.starts_with("    woodgrove.onmicrosoft.com: ")),
        "{todo}"
    );
    let summary = std::fs::read_to_string(&files[0].1).unwrap();
    for customer in [
        "Contoso Ltd",
        "Tailspin Toys",
        "woodgrove.onmicrosoft.com: 2 rows not sent",
    ] {
        assert!(
            summary.contains(customer),
            "{customer} named in the summary:\n{summary}"
        );
    }
    let html = std::fs::read_to_string(&files[1].1).unwrap();
    assert!(
        html.contains("Tailspin Toys") && html.contains("woodgrove"),
        "the HTML report covers every shard"
    );
    let csv_rows = std::fs::read_to_string(&files[2].1).unwrap().lines().count();
    assert_eq!(csv_rows, 1 + 27, "a header and every row once");
    assert!(
        std::fs::read_to_string(&files[3].1)
            .unwrap()
            .contains("<testsuites")
    );
    let uploads: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("##vso[task.uploadsummary]"))
        .collect();
    assert_eq!(uploads.len(), 1, "{}", run.stdout);
    let uploaded = uploads[0].trim_start_matches("##vso[task.uploadsummary]");
    assert_eq!(std::fs::read_to_string(uploaded).unwrap(), summary);
    assert!(
        !run.stdout.contains("##vso[task.logissue"),
        "rows are annotated by the shards, not again:\n{}",
        run.stdout
    );

    // `-o` is a format everywhere: a file name there is refused, never
    // written as a file called `json`.
    let misused = apctl_env(["report", "merge", &reports[0], "-o", "merged.json"], &[]);
    assert_eq!(misused.code, 2, "{}", misused.stderr);
    assert!(
        misused.stderr.contains("possible values: human, json"),
        "{}",
        misused.stderr
    );
    assert!(!std::path::Path::new("merged.json").exists() && !std::path::Path::new("json").exists());

    let twice = apctl_env(["report", "merge", &reports[0], &reports[0]], &[]);
    assert_eq!(twice.code, 2);
    assert!(twice.stderr.contains("is given twice"), "{}", twice.stderr);
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line() {
    let bash = apctl_env(["completions", "bash"], &[]);
    assert_eq!(bash.code, 0);
    assert!(bash.stdout.contains("--manifest") && bash.stdout.contains("--shard"));
    let man = apctl_env(["man"], &[]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.contains(".TH apctl 1"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("import"));
}

#[test]
fn the_example_pipelines_use_only_flags_apctl_has() {
    let help = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--help");
        apctl_env(&all, &[]).stdout
    };
    let import = help(&["import"]);
    let merge = help(&["report", "merge"]);
    for file in ["pipelines/azure-pipelines.yml", "pipelines/github-workflow.yml"] {
        let text = std::fs::read_to_string(example(file)).unwrap();
        let mut command = "";
        for word in text.split_whitespace() {
            if word == "import" || word == "merge" {
                command = word;
            }
            if let Some(flag) = word
                .strip_prefix("--")
                .filter(|f| f.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            {
                if ["version", "strip-components", "proto", "tlsv"].contains(&flag) {
                    continue; // apctl's own --version, tar's and curl's
                }
                let known = if command == "merge" { &merge } else { &import };
                assert!(
                    known.contains(&format!("--{flag}")),
                    "{file}: `--{flag}` is not an option of apctl {command}"
                );
            }
        }
        assert!(text.contains("apctl report merge"), "{file} merges the shards");
        assert!(
            text.contains("sha256sum -c") && !text.contains("cargo install"),
            "{file} installs a pinned release and checks it"
        );
    }
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let run = crate::common::apctl(["--version"]);
    assert_eq!(run.code, 0);
    let expected = format!("apctl {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(run.stdout.starts_with(&expected), "{}", run.stdout);
    assert!(run.stdout.trim_end().ends_with(')'), "{}", run.stdout);
}

/// Counters that would overflow when added (a hand-edited or corrupt
/// report) end the merge with an error that names the report and the
/// counter — never a panic or a wrapped-around figure.
#[test]
fn merging_counters_past_their_largest_value_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let reports = shard_reports(dir.path());
    for path in &reports {
        let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        doc["http"]["throttled"] = Value::from(u64::MAX);
        std::fs::write(path, doc.to_string()).unwrap();
    }
    let mut args = vec!["report", "merge"];
    args.extend(reports.iter().map(String::as_str));
    let run = apctl_env(&args, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("http.throttled") && run.stderr.contains("shard-2.json"),
        "{}",
        run.stderr
    );
}

/// Runs shard `k` of `n` of an import of `input` against the simulator;
/// its outcome and its JSON report (written in `dir`).
fn run_shard(dir: &std::path::Path, input: &[&str], k: u32, n: u32) -> (crate::common::Run, Value) {
    let report = dir.join(format!("shard-{k}.json"));
    let shard = format!("{k}/{n}");
    let mut args = vec!["import"];
    args.extend(input);
    args.extend([
        "--simulate",
        "-q",
        "--shard",
        &shard,
        "--report",
        report.to_str().unwrap(),
    ]);
    let run = apctl_env(&args, &[]);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    (run, json)
}

/// Issue #27 point 1: a shard reads only its customers' files and is
/// judged on its own rows; an empty shard says so and exits 0.
#[test]
fn a_shard_is_judged_on_its_own_customers_and_an_empty_one_exits_0() {
    use apctl::import::plan::shard_of;
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::absolute(example("")).unwrap().display().to_string();
    let mut fabrikam = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    fabrikam.push_str(&format!("FAB-2001,,{}\n", fake_hash(201, 3000)));
    fabrikam.push_str("FAB-2002,,not a hash\n");
    write(dir.path(), "fabrikam.csv", fabrikam);
    let (tailspin, fab) = ("tailspintoys.onmicrosoft.com", "Fabrikam Inc");
    // The smallest split that puts the two apart and leaves a shard empty.
    let n = (3..=8)
        .find(|&n| shard_of(tailspin, n) != shard_of(fab, n))
        .expect("some split puts them apart");
    let m = write(
        dir.path(),
        "customers.toml",
        format!(
            "[[customer]]\ntenant = \"{tailspin}\"\nfiles = ['{examples}/tailspin-autopilot.csv']\n\
             [[customer]]\ntenant = \"{fab}\"\nfiles = [\"fabrikam.csv\"]\n"
        ),
    );
    let empty = (1..=n)
        .find(|&k| k != shard_of(tailspin, n) && k != shard_of(fab, n))
        .unwrap();
    let run = |k: u32| run_shard(dir.path(), &["--manifest", m.to_str().unwrap()], k, n);
    let files = |json: &Value| -> Vec<String> {
        json["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    };
    let (t, tj) = run(shard_of(tailspin, n));
    assert_eq!(
        t.code, 0,
        "Tailspin's shard is judged on Tailspin's rows: {}",
        t.stderr
    );
    assert!(
        files(&tj).iter().all(|f| !f.contains("fabrikam")),
        "Fabrikam's file is neither read nor judged: {:?}",
        files(&tj)
    );
    let (f, fj) = run(shard_of(fab, n));
    assert_eq!(f.code, 1, "{}", f.stderr);
    assert_eq!(fj["totals"]["invalid"], 1);
    let (e, ej) = run(empty);
    assert_eq!(e.code, 0, "{}", e.stderr);
    assert!(
        e.stderr.contains(&format!("shard {empty}/{n} has no customers")),
        "{}",
        e.stderr
    );
    assert!(files(&ej).is_empty() && ej["entries"].as_array().unwrap().is_empty());
}

/// Issue #27 point 1: a file every shard reads (its rows name their
/// customers) counts only the shard's own invalid rows; a row naming a
/// customer whose shard does not read its file is reported, not lost.
#[test]
fn shared_files_count_their_own_rows_and_a_stranded_row_is_reported() {
    use apctl::import::plan::shard_of;
    let dir = tempfile::tempdir().unwrap();
    let (tailspin, fab) = ("tailspintoys.onmicrosoft.com", "fabrikam.onmicrosoft.com");
    let n = (2..=8)
        .find(|&n| shard_of(tailspin, n) != shard_of(fab, n))
        .expect("some split puts them apart");
    let header = "Device Serial Number,Windows Product ID,Hardware Hash,Tenant\n";
    // Shared: every shard reads it; Fabrikam's row is invalid.
    let shared = format!(
        "{header}TSP-3001,,{},{tailspin}\nFAB-3001,,not a hash,{fab}\n",
        fake_hash(301, 3000)
    );
    write(dir.path(), "shared.csv", shared);
    // Given for Tailspin only, with one row naming Fabrikam.
    let tailspin_file = format!(
        "{header}TSP-3002,,{},\nFAB-3002,,{},{fab}\n",
        fake_hash(302, 3000),
        fake_hash(303, 3000)
    );
    write(dir.path(), "tailspin.csv", tailspin_file);
    let m = write(
        dir.path(),
        "customers.toml",
        format!("[[customer]]\ntenant = \"{tailspin}\"\nfiles = [\"tailspin.csv\"]\n"),
    );
    let shared = dir.path().join("shared.csv");
    let input = ["--manifest", m.to_str().unwrap(), shared.to_str().unwrap()];
    let run = |k: u32| run_shard(dir.path(), &input, k, n);
    let (_, tj) = run(shard_of(tailspin, n));
    let (_, fj) = run(shard_of(fab, n));
    let shared_file = |json: &Value| {
        json["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with("shared.csv"))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        shared_file(&tj)["invalidRows"],
        0,
        "Fabrikam's invalid row is not Tailspin's shard's"
    );
    assert_eq!(shared_file(&fj)["invalidRows"], 1);
    // FAB-3002 is in a file only Tailspin's shard reads: reported there.
    let stranded = tj["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["serialNumber"] == "FAB-3002")
        .unwrap_or_else(|| panic!("FAB-3002 is reported: {tj:#}"));
    assert_eq!(stranded["action"], "not-sent");
    let cause = tj["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| Some(c["id"].as_str().unwrap()) == stranded["cause"].as_str())
        .unwrap();
    assert!(
        cause["error"]
            .as_str()
            .unwrap()
            .contains("does not read this file"),
        "{cause}"
    );
    assert!(
        fj["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["serialNumber"] != "FAB-3002"),
        "and only there"
    );
}

/// Issue #27 point 2: reports know their shard, manifest and run; a merge
/// refuses a missing shard (unless told), a shard given twice and reports
/// of another manifest, and says which shards it holds.
#[test]
fn a_merge_knows_its_shards() {
    let dir = tempfile::tempdir().unwrap();
    let reports = shard_reports(dir.path());
    let one: Value = serde_json::from_str(&std::fs::read_to_string(&reports[0]).unwrap()).unwrap();
    assert_eq!(one["place"]["shard"], 1);
    assert_eq!(one["place"]["of"], 2);
    assert!(one["place"]["manifest"].is_string(), "{}", one["place"]);
    let merge = |extra: &[&str]| {
        let mut args = vec!["report", "merge"];
        args.extend(extra);
        apctl_env(&args, &[])
    };
    let whole = merge(&[&reports[0], &reports[1], "-o", "json"]);
    assert_eq!(whole.json()["shards"], serde_json::json!([1, 2]));
    let missing = merge(&[&reports[0]]);
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("shard 2 of 2 is missing") && missing.stderr.contains("--allow-missing"),
        "{}",
        missing.stderr
    );
    let allowed = merge(&[&reports[0], "--allow-missing", "-o", "json"]);
    assert_eq!(allowed.code, 2, "a missing shard is never a clean night");
    let allowed = allowed.json();
    assert_eq!(allowed["verdict"], "could-not-run");
    assert_eq!(allowed["shards"], serde_json::json!([1]));
    assert_eq!(allowed["missingShards"], serde_json::json!([2]));
    let twice = merge(&[&reports[0], &reports[0], &reports[1]]);
    assert!(
        twice.stderr.contains("shard 1/2 is given twice"),
        "{}",
        twice.stderr
    );
    let mut other = one.clone();
    other["place"]["manifest"] = "0000000000000000".into();
    other["place"]["shard"] = 2.into();
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let mixed = merge(&[&reports[0], other_path.to_str().unwrap()]);
    assert!(mixed.stderr.contains("its manifest differs"), "{}", mixed.stderr);
}
