//! Issue #30: Windows corporate identifiers (Autopilot device preparation),
//! opt-in per customer, against the simulator: the first upload to a tenant
//! is confirmed, nothing is sent twice, rows end in the route's own states,
//! and the upload keeps to the tenant's write budget and reads every page.

use serde_json::Value;

use crate::common::{SimProcess, apctl_env, apctl_sim, entry, example, requests, write};

/// Tuple rows for Contoso (the demo world's Contoso holds no identifiers).
fn tuples(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let mut text = String::from("Manufacturer,Model,Serial Number\n");
    for i in 0..n {
        text.push_str(&format!("Contoso Devices,Surface Laptop 7,CI-{i:03}\n"));
    }
    write(dir, "tuples.csv", text)
}

/// `n` tuple rows for Contoso sent as identifiers (confirmed) in chunks of
/// `chunk`; the run must end 0. Its JSON report.
fn upload(sim: &SimProcess, n: usize, chunk: usize) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = tuples(dir.path(), n);
    let json = dir.path().join("run.json");
    let chunk = chunk.to_string();
    let run = apctl_sim(
        sim,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--corporate-identifiers",
            "--yes",
            "--chunk-size",
            &chunk,
            "--report",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    report(&json)
}

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_tenants_first_identifiers_are_refused_unless_confirmed_and_nothing_is_sent() {
    let sim = SimProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = tuples(dir.path(), 2);
    let args = [
        "import",
        file.to_str().unwrap(),
        "--tenant",
        "contoso.onmicrosoft.com",
        "--corporate-identifiers",
    ];
    let refused = apctl_sim(&sim, &args, &[]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("every other Windows device that enrolls there is marked personal")
            && refused
                .stderr
                .contains("`contoso.onmicrosoft.com` holds no Windows corporate identifiers yet")
            && refused.stderr.contains("--yes"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        requests(&sim.stats(), "graph.import-identities"),
        0,
        "nothing was sent"
    );
    assert_eq!(requests(&sim.stats(), "graph.import"), 0);
}

#[test]
fn tuple_rows_become_identifiers_hash_rows_are_registered_and_product_keys_refused() {
    let sim = SimProcess::start(&["--import-delay=0s", crate::common::PROFILES_AT_ONCE]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let csv = dir.path().join("run.csv");
    let junit = dir.path().join("run.xml");
    let html = dir.path().join("run.html");
    let pages = dir.path().join("customers");
    let run = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-mixed.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--corporate-identifiers",
            "--yes",
            "--group-tag",
            "Sales",
            "--report",
            json.to_str().unwrap(),
            "--report-csv",
            csv.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--customer-html",
            pages.to_str().unwrap(),
        ],
        &[],
    );
    let doc = report(&json);
    // JUnit: an added identifier passes; both pages say it in the route's words.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let case = &xml[xml.find("MIX-0002").unwrap()..];
    assert!(
        case[..case.find("/>").unwrap_or(case.len())]
            .find("<failure")
            .is_none(),
        "{xml}"
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("Identifier added (not contacted)")
    );
    let page = std::fs::read_to_string(pages.join("contoso-ltd.html")).unwrap();
    assert!(
        page.contains("Identifier added (not contacted)") && page.contains("1 marked as corporate"),
        "{page}"
    );
    let tuple = entry(&doc, "MIX-0002");
    assert_eq!(tuple["pipe"], "corporateIdentifiers", "{doc:#}");
    assert_eq!(tuple["identifier"], "added");
    assert_eq!(tuple["enrollmentState"], "notContacted");
    assert!(
        tuple["state"].is_null(),
        "no portal state: it is no Autopilot device"
    );
    assert!(tuple["groupTag"].is_null(), "identifiers carry no group tag");
    let hash = entry(&doc, "MIX-0001");
    assert_eq!(hash["pipe"], "graph");
    assert_eq!(hash["state"], "Ready for user", "{}", run.stdout);
    let key = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["serialNumber"].is_null())
        .unwrap();
    assert_eq!(key["action"], "invalid");
    assert!(
        key["details"].as_str().unwrap().contains("a product key cannot"),
        "{key}"
    );
    assert_eq!(doc["totals"]["identifiers"]["Identifier added"], 1);
    // Partner Center was never asked: the customer chose identifiers.
    let stats = sim.stats();
    let pc: u64 = stats["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("pc."))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    assert_eq!(pc, 0, "{stats:#}");
    assert_eq!(requests(&stats, "graph.import-identities"), 1);
    // The human summary and the CSV say it in the route's words.
    assert!(
        run.stdout.contains("MIX-0002  Identifier added (not contacted)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("corporate identifier"), "{}", run.stdout);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.contains("corporateIdentifiers,Identifier added (not contacted)"),
        "{text}"
    );

    // Again: the tenant holds them now, nothing is sent.
    let again = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-mixed.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--corporate-identifiers",
            "--report",
            json.to_str().unwrap(),
        ],
        &[],
    );
    let doc = report(&json);
    assert_eq!(
        entry(&doc, "MIX-0002")["identifier"],
        "alreadyPresent",
        "{}",
        again.stderr
    );
    assert_eq!(
        requests(&sim.stats(), "graph.import-identities"),
        1,
        "a re-run sends nothing"
    );
}

#[test]
fn a_manifest_chooses_the_route_per_customer_and_can_confirm_it() {
    let sim = SimProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = tuples(dir.path(), 3);
    let manifest = write(
        dir.path(),
        "customers.toml",
        format!(
            "[[customer]]\ntenant = \"contoso.onmicrosoft.com\"\nfiles = ['{}']\nroute = \"corporate-identifiers\"\nmark_others_personal = true\n",
            file.display()
        ),
    );
    let json = dir.path().join("run.json");
    let run = apctl_sim(
        &sim,
        &[
            "import",
            "--manifest",
            manifest.to_str().unwrap(),
            "--report",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report(&json)["totals"]["identifiers"]["Identifier added"], 3);
    let wrong = write(
        dir.path(),
        "wrong.toml",
        format!(
            "[[customer]]\ntenant = \"contoso.onmicrosoft.com\"\nfiles = ['{}']\nroute = \"corporate\"\n",
            file.display()
        ),
    );
    let refused = apctl_env(
        ["import", "--manifest", wrong.to_str().unwrap(), "--simulate"],
        &[],
    );
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("unknown route `corporate`"),
        "{}",
        refused.stderr
    );
}

#[test]
fn uploads_go_in_chunks_and_every_page_of_the_list_is_read() {
    // Two identifiers per page and per upload: eleven identifiers are six
    // uploads, and the lists before and after are six pages each.
    let sim = SimProcess::start(&["--page-size", "2"]);
    let doc = upload(&sim, 11, 2);
    assert_eq!(doc["totals"]["identifiers"]["Identifier added"], 11, "{doc:#}");
    let stats = sim.stats();
    assert_eq!(requests(&stats, "graph.import-identities"), 6, "{stats:#}");
    assert!(
        requests(&stats, "graph.list-identities") >= 7,
        "every page of the list: {stats:#}"
    );
}

/// The route against an in-process simulator that throttles harder than
/// apctl's own budget, on one clock that skips waits (as
/// `throttle_simulator` does for the Graph import): every identifier is
/// added, none twice, and no request lands inside an announced window.
#[tokio::test(flavor = "multi_thread")]
async fn uploads_keep_to_the_write_budget_under_throttling() {
    use apctl::clock::ScaledClock;
    use apctl::import::pipes::corporate::{Route, import_customer};
    use apctl::import::{Cancel, ImportSettings, RunSettings};
    use apctl::input::device::{Device, Identity, RowRef};
    use apctl::simulator::{self, RetryAfterStyle, SimConfig, SimLimits, Simulator};
    use std::num::{NonZeroU32, NonZeroUsize};
    use std::sync::Arc;
    use std::time::Duration;

    let clock = ScaledClock::scaled(0.0);
    let config = SimConfig {
        limits: Some(SimLimits {
            writes: 2,
            requests: 6,
            window: Duration::from_secs(20),
        }),
        retry_after: RetryAfterStyle::Mixed,
        page_size: 3,
        ..SimConfig::default()
    };
    let sim = Simulator::start(simulator::demo_world(), config, clock.clone(), 0)
        .await
        .unwrap();
    let policy = apctl::transport::retry::Policy {
        max_attempts: 30,
        max_elapsed: Duration::from_secs(7200),
        ..apctl::transport::retry::Policy::default()
    };
    let client = sim.demo_client(apctl::transport::reqwest_client(), clock.clone(), policy);
    let mut run = RunSettings::new(&sim.endpoints(), "corporate-throttle");
    run.chunk_size = NonZeroUsize::new(2).unwrap();
    run.limits.concurrency = NonZeroU32::new(1).unwrap();
    let settings = ImportSettings::new(&Arc::new(run), "contoso.onmicrosoft.com");
    let devices: Vec<Device> = (0..12)
        .map(|i| Device {
            source: RowRef {
                file: "t.csv".into(),
                line: i + 2,
            },
            serial: Some(format!("THR-{i:03}")),
            identity: Identity::Tuple {
                manufacturer: "Contoso Devices".into(),
                model: "Surface Laptop 7".into(),
            },
            group_tag: None,
            assigned_user: None,
            manufacturer: Some("Contoso Devices".into()),
            model: Some("Surface Laptop 7".into()),
            tenant: None,
        })
        .collect();
    let gate = client.gate_with("contoso.onmicrosoft.com", settings.run.limits);
    let outcome = import_customer(
        &client,
        &settings,
        &gate,
        Route::default(),
        devices,
        &Cancel::default(),
    )
    .await;
    let stats = sim.stats();
    assert!(stats.throttled >= 3, "the simulator throttled: {stats:?}");
    assert_eq!(stats.inside_retry_after, 0, "{stats:?}");
    assert_eq!(stats.corporate_identifiers_added, 12, "{stats:?}");
    assert_eq!(
        stats.requests["graph.import-identities"], 6,
        "each chunk once: {stats:?}"
    );
    assert!(
        outcome
            .entries
            .iter()
            .all(|e| e.identifier == Some(apctl::report::IdentifierState::Added)),
        "{:?}",
        outcome.error
    );
}

#[test]
fn status_lists_the_identifiers_with_their_enrollment_and_an_import_finds_them_present() {
    // The demo world's Fabrikam holds two: one enrolled, one not contacted.
    let listed = apctl_env(
        [
            "status",
            "--simulate",
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--corporate-identifiers",
            "-o",
            "csv",
        ],
        &[],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed
            .stdout
            .contains("Fabrikam Inc,Fabrikam,Book 3,FAB-0006,enrolled"),
        "{}",
        listed.stdout
    );
    assert!(
        listed.stdout.contains("FAB-0099,not contacted"),
        "{}",
        listed.stdout
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "f.csv",
        "Manufacturer,Model,Serial Number\nFabrikam,Book 3,FAB-0006\nFabrikam,Book 3,FAB-0100\n",
    );
    let json = dir.path().join("run.json");
    // Not the tenant's first identifiers: no confirmation needed.
    let run = apctl_env(
        [
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--simulate",
            "--corporate-identifiers",
            "--report",
            json.to_str().unwrap(),
            "--state-dir",
            dir.path().join("state").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let doc = report(&json);
    assert_eq!(entry(&doc, "FAB-0006")["identifier"], "alreadyPresent");
    assert_eq!(entry(&doc, "FAB-0006")["enrollmentState"], "enrolled");
    assert_eq!(entry(&doc, "FAB-0100")["identifier"], "added");
    assert!(
        run.stdout
            .contains("FAB-0006  Identifier already present (enrolled)"),
        "{}",
        run.stdout
    );
}

/// Reconcile compares a customer's tuple rows with its corporate
/// identifiers; `--apply` adds the missing, `--prune` removes what no file
/// names (an enrolled one only with `--force`), and a prune from rows that
/// cannot be identifiers is refused, nothing removed.
#[test]
fn reconcile_adds_the_missing_and_prunes_the_extras_with_the_same_safety() {
    let sim = SimProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // Fabrikam holds FAB-0006 (enrolled) and FAB-0099 (not contacted).
    let file = write(
        dir.path(),
        "f.csv",
        "Manufacturer,Model,Serial Number\nFabrikam,Book 3,FAB-0200\n",
    );
    let reconcile = |extra: &[&str]| {
        let mut args = vec![
            "reconcile",
            file.to_str().unwrap(),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--corporate-identifiers",
            "-o",
            "json",
        ];
        args.extend(extra);
        apctl_sim(&sim, &args, &[])
    };
    let plan = reconcile(&[]);
    assert_eq!(plan.code, 1, "differences remain: {}", plan.stderr);
    let doc = plan.json();
    let items = doc["corporateIdentifiers"].as_array().unwrap();
    let category = |id: &str| {
        items
            .iter()
            .find(|i| i["identifier"] == id)
            .map(|i| i["category"].clone())
    };
    assert_eq!(category("Fabrikam,Book 3,FAB-0200").unwrap(), "missing");
    assert_eq!(category("Fabrikam,Book 3,FAB-0099").unwrap(), "extra");
    assert_eq!(category("Fabrikam,Book 3,FAB-0006").unwrap(), "extra");
    assert_eq!(
        requests(&sim.stats(), "graph.delete-identity"),
        0,
        "a plan changes nothing"
    );

    let changed = reconcile(&["--apply", "--prune", "--yes"]);
    let doc = changed.json();
    let outcome = |id: &str| {
        doc["corporateIdentifiers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["identifier"] == id)
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(outcome("Fabrikam,Book 3,FAB-0200"), "added", "{doc:#}");
    assert_eq!(outcome("Fabrikam,Book 3,FAB-0099"), "removed");
    assert!(
        outcome("Fabrikam,Book 3,FAB-0006").is_null(),
        "enrolled: kept without --force"
    );
    assert_eq!(requests(&sim.stats(), "graph.delete-identity"), 1);

    // A row that cannot be an identifier: the prune is refused whole.
    let bad = write(
        dir.path(),
        "bad.csv",
        "Manufacturer,Model,Serial Number\n\"Fabrikam, Inc\",Book 3,FAB-0300\n",
    );
    let refused = apctl_sim(
        &sim,
        &[
            "reconcile",
            bad.to_str().unwrap(),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--corporate-identifiers",
            "--prune",
            "--force",
            "--yes",
        ],
        &[],
    );
    assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains("refusing to `--prune` corporate identifiers"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        requests(&sim.stats(), "graph.delete-identity"),
        1,
        "nothing more was removed"
    );
}

/// Under a service that answers 503 to a share of calls, before or after
/// the write took effect, every identifier still ends added, once.
#[test]
fn faults_before_and_after_the_write_still_end_in_every_identifier_added_once() {
    let sim = SimProcess::start(&[
        "--fault-rate",
        "0.2",
        "--fault-after-write-rate",
        "0.3",
        "--seed",
        "7",
    ]);
    assert_eq!(upload(&sim, 9, 3)["totals"]["identifiers"]["Identifier added"], 9);
    let stats = sim.stats();
    assert_eq!(
        stats["corporateIdentifiersAdded"], 9,
        "each added once: {stats:#}"
    );
    assert!(
        stats["requests"]["fault-503"].as_u64().unwrap_or(0) > 0,
        "faults happened: {stats:#}"
    );
}
