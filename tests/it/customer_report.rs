//! Issue #28: the reports a partner sends to each customer
//! (`--customer-html DIR`), of a manifest run and of a merge of its
//! shards, rendered in headless Chromium (see `html_report`): each file
//! holds its own customer's name and serials and no other customer's, its
//! counts are the JSON report's, it asks for nothing, none of the
//! operator's strings reach it, and it prints.

use std::path::Path;

use serde_json::Value;

use crate::common::{DEMO_CLIENT_ID, apctl_env, example};
use crate::html_report::{between, cells, chromium, chromium_run, text_of};

/// What only the operator may read: apctl's commands, Entra's codes, the
/// app, consent links, Markdown, the service's error names.
const OPERATOR_ONLY: &[&str] = &[
    "apctl",
    "AADSTS",
    DEMO_CLIENT_ID,
    "adminconsent",
    "client_id",
    "`",
    "--",
    "Ztd",
    "GDAP",
    "cause C",
    "https://",
];

/// Checks every customer page in `dir` against the JSON report `report`.
fn check_pages(dir: &Path, report: &Value, work: &Path) {
    let tenants = report["tenants"].as_array().unwrap();
    let entries = report["entries"].as_array().unwrap();
    let label = |t: &Value| t["name"].as_str().or(t["requested"].as_str()).unwrap().to_owned();
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    assert_eq!(pages.len(), tenants.len(), "one file per customer: {pages:?}");
    let browser = chromium();
    for t in tenants {
        let name = label(t);
        let mine: Vec<&Value> = entries.iter().filter(|e| e["tenant"] == t["tenant"]).collect();
        let page = pages
            .iter()
            .find(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .contains(&format!("<p class=\"for\">For {name}</p>"))
            })
            .unwrap_or_else(|| panic!("no page for {name}"));
        let file = std::fs::read_to_string(page).unwrap();
        let lower = file.to_lowercase();
        for needle in [
            "<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import",
        ] {
            assert!(!lower.contains(needle), "{}: holds `{needle}`", page.display());
        }
        // The page prints without splitting a device and repeats the
        // table's header on each page.
        assert!(
            file.contains("thead { display: table-header-group; }")
                && file.contains("tr { break-inside: avoid; }")
        );
        let text = match &browser {
            Some(b) => {
                let (dom, asked) = chromium_run(b, work, page, "--dump-dom");
                assert!(asked.is_empty(), "{} asked for {asked:?}", page.display());
                check_counts(&dom, &mine, &name);
                text_of(&dom)
            }
            None => text_of(&file),
        };
        for e in &mine {
            let serial = e["serialNumber"].as_str().unwrap();
            assert!(text.contains(serial), "{name}: {serial} is missing");
            // Only the request id Microsoft's support asks for.
            if let Some(id) = e["requestId"]
                .as_str()
                .filter(|_| e["message"] != "Unexpected error")
            {
                assert!(!text.contains(id), "{name}: request id {id} of {serial}");
            }
        }
        for other in tenants.iter().filter(|o| o["tenant"] != t["tenant"]) {
            let other_name = label(other);
            assert!(!text.contains(&other_name), "{name}'s page names {other_name}");
            for e in entries.iter().filter(|e| e["tenant"] == other["tenant"]) {
                let serial = e["serialNumber"].as_str().unwrap();
                assert!(
                    !text.contains(serial),
                    "{name}'s page holds {other_name}'s {serial}"
                );
            }
        }
        for needle in OPERATOR_ONLY {
            assert!(!text.contains(needle), "{name}'s page holds `{needle}`: {text}");
        }
        assert!(text.contains("From Northwind Traders"), "{text}");
        assert!(text.contains("simulated service"), "{text}");
        assert!(
            text.contains("Microsoft Managed Desktop"),
            "the footer names the states' source"
        );
        let orders: Vec<&str> = mine.iter().filter_map(|e| e["orderId"].as_str()).collect();
        assert_eq!(
            text.contains("PO-CONTOSO-2026-11"),
            orders.contains(&"PO-CONTOSO-2026-11"),
            "{name}: {text}"
        );
    }
    if let Some(b) = &browser {
        let pdf = work.join(format!(
            "customer-{}.pdf",
            std::fs::read_dir(work).unwrap().count()
        ));
        chromium_run(b, work, &pages[0], &format!("--print-to-pdf={}", pdf.display()));
        assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    }
}

/// The page's counts are the JSON report's: the five states, and the
/// devices not sent.
fn check_counts(dom: &str, mine: &[&Value], name: &str) {
    let counts = between(dom, "<table class=\"counts\"", "</table>");
    let labels = cells(counts, "th");
    let numbers = cells(counts, "td");
    assert_eq!(labels.len(), numbers.len());
    for (label, number) in labels.iter().zip(&numbers) {
        let expected = match label.as_str() {
            "Not sent yet" => mine.iter().filter(|e| e["state"].is_null()).count(),
            state => mine.iter().filter(|e| e["state"] == state).count(),
        };
        assert_eq!(number, &expected.to_string(), "{name}: {label}");
    }
    let devices = between(dom, "<table class=\"devices\"", "</table>");
    let rows = between(devices, "<tbody>", "</tbody>").matches("<tr").count();
    assert_eq!(rows, mine.len(), "{name}: one row per device");
}

#[test]
fn each_customer_gets_a_page_of_its_own_from_a_run_and_from_a_merge() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let state = work.join("state");
    let manifest = example("customers.toml");
    let import = |extra: &[&str], report: &Path, pages: &Path| {
        let mut args = vec![
            "import",
            "--manifest",
            &manifest,
            "--simulate",
            "-q",
            "--state-dir",
            state.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--customer-html",
            pages.to_str().unwrap(),
        ];
        args.extend(extra);
        let run = apctl_env(&args, &[]);
        assert!(report.exists(), "{}", run.stderr);
        serde_json::from_str::<Value>(&std::fs::read_to_string(report).unwrap()).unwrap()
    };

    // One run over every customer: the manifest gives the partner's name.
    let whole = import(&[], &work.join("run.json"), &work.join("run-pages"));
    assert_eq!(whole["tenants"].as_array().unwrap().len(), 4);
    check_pages(&work.join("run-pages"), &whole, work);

    // Two shards, merged: the merge writes the same pages for the whole run.
    let mut shards = Vec::new();
    for k in ["1/2", "2/2"] {
        let report = work.join(format!("shard-{}.json", &k[..1]));
        import(
            &["--shard", k],
            &report,
            &work.join(format!("shard-pages-{}", &k[..1])),
        );
        shards.push(report);
    }
    let merged_json = work.join("merged.json");
    let pages = work.join("merged-pages");
    let merge = apctl_env(
        [
            "report",
            "merge",
            shards[0].to_str().unwrap(),
            shards[1].to_str().unwrap(),
            "--report",
            merged_json.to_str().unwrap(),
            "--customer-html",
            pages.to_str().unwrap(),
        ],
        &[],
    );
    assert!(merged_json.exists(), "{}", merge.stderr);
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&merged_json).unwrap()).unwrap();
    check_pages(&pages, &merged, work);
}

#[test]
fn a_customer_folder_that_is_a_file_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::write(dir.path(), "pages", "not a folder");
    let report = dir.path().join("report.json");
    let run = apctl_env(
        [
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--customer-html",
            file.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("takes a folder"), "{}", run.stderr);
    assert!(!report.exists(), "nothing was done");
}
