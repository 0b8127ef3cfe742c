//! The customer report (`--html`) as a browser shows it. Headless Chromium
//! (Debian's `chromium`; `.ci/run` installs it and sets
//! `APCTL_REQUIRE_CHROMIUM`, so there a missing browser fails the test
//! instead of skipping it) renders the report with every host name made
//! unresolvable; the page it builds holds what the JSON report of the same
//! run says; Chromium's own network log shows the page asked for nothing
//! (a probe page with outside assets shows the log would say so); and it
//! prints to PDF.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{apctl_env, example};

/// Chromium on `PATH`, or `None` (then the test is skipped, unless
/// `APCTL_REQUIRE_CHROMIUM` is set).
pub(crate) fn chromium() -> Option<PathBuf> {
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("APCTL_REQUIRE_CHROMIUM").is_none(),
            "APCTL_REQUIRE_CHROMIUM is set but no chromium is on PATH (Debian: apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on PATH");
    }
    found
}

/// Runs headless Chromium on `page` with `action` (`--dump-dom`, or
/// `--print-to-pdf=…`) and returns its stdout and the URLs the page itself
/// asked for, from Chromium's network log.
pub(crate) fn chromium_run(browser: &Path, work: &Path, page: &Path, action: &str) -> (String, Vec<String>) {
    let n = std::fs::read_dir(work).unwrap().count();
    let profile = work.join(format!("profile-{n}"));
    let netlog = work.join(format!("netlog-{n}.json"));
    let url = url::Url::from_file_path(page).unwrap();
    // A browser that hangs fails the test in two minutes instead of
    // holding CI (coreutils' `timeout`, where Chromium runs).
    let mut command = if Path::new("/usr/bin/timeout").is_file() {
        let mut c = Command::new("/usr/bin/timeout");
        c.arg("120").arg(browser);
        c
    } else {
        Command::new(browser)
    };
    let out = command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage", // containers' /dev/shm is small
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
            // Nothing the page might ask for can be reached.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(action)
        .arg(url.as_str())
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (stdout, page_requests(&netlog))
}

/// The URLs requested on behalf of a page opened from a file. Chromium asks
/// for some of its own (Google's time and accounts) whatever it shows; a
/// page's requests are the ones isolated under the `file://` site.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("chromium wrote its network log");
    let log: Value = serde_json::from_str(&text).expect("the network log is complete JSON");
    let start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the log names its event types");
    log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_u64() == Some(start))
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect()
}

/// The texts of the cells (`th` or `td`) of a stretch of markup, tags
/// inside them removed.
pub(crate) fn cells(html: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i..];
        let Some(body_start) = after.find('>') else { break };
        let Some(end) = after.find(&close) else { break };
        out.push(text_of(&after[body_start + 1..end]));
        rest = &after[end + close.len()..];
    }
    out
}

/// Markup without its tags, whitespace collapsed.
pub(crate) fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The part of `html` from `start` to the next `end`.
pub(crate) fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the page"));
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[test]
fn the_customer_report_renders_in_chromium_loads_nothing_and_prints() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();

    // One run: the HTML report and the JSON report of the same devices.
    let html = work.join("report.html");
    let json = work.join("report.json");
    let state = work.join("state");
    let run = apctl_env(
        [
            "import",
            &example("fabrikam-every-state.csv"),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--order-id",
            "PO-4711",
            "--simulate",
            "--html",
            html.to_str().unwrap(),
            "--report",
            json.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ],
        &[("APCTL_TIME_SCALE", "0")],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    // The file alone: nothing in it can fetch anything or run.
    let file = std::fs::read_to_string(&html).unwrap().to_lowercase();
    for needle in [
        "<script", "<link", "<img", "<iframe", "<object", "<embed", "src=", "href=", "url(", "@import",
    ] {
        assert!(!file.contains(needle), "the report holds `{needle}`");
    }
    let Some(browser) = chromium() else { return };

    // The log check sees what it looks for: a page with outside assets.
    let probe = work.join("probe.html");
    std::fs::write(
        &probe,
        "<!doctype html><link rel=stylesheet href=\"https://cdn.example/site.css\"><img src=\"http://outside.example/logo.png\">",
    )
    .unwrap();
    let (_, asked) = chromium_run(&browser, work, &probe, "--dump-dom");
    assert!(
        asked.iter().any(|u| u.contains("cdn.example"))
            && asked.iter().any(|u| u.contains("outside.example")),
        "the network log did not show the probe's outside assets: {asked:?}"
    );

    let (dom, asked) = chromium_run(&browser, work, &html, "--dump-dom");
    assert!(asked.is_empty(), "the report asked for {asked:?}");
    assert!(!dom.contains("<script"), "the report needs no scripts");

    // The customer by name, its tenant beside it, the order.
    let heading = text_of(between(&dom, "<h2", "</h2>"));
    assert_eq!(heading, "Fabrikam Inc fabrikam.onmicrosoft.com · order PO-4711");
    // A simulated run says so, and does not claim the simulator's time.
    let meta = text_of(between(&dom, "<p class=\"meta\"", "</p>"));
    assert!(meta.starts_with("Simulated run, started "), "{meta}");

    // Counts by state, as the JSON report counts them.
    let counts = between(&dom, "<table class=\"counts\"", "</table>");
    let labels = cells(counts, "th");
    let numbers = cells(counts, "td");
    assert_eq!(labels.len(), numbers.len(), "{counts}");
    let totals = &report["tenants"][0]["totals"];
    for (label, number) in labels.iter().zip(&numbers) {
        let expected = if label == "Not sent (invalid row)" {
            &totals["invalid"]
        } else {
            &totals["byState"][label.as_str()]
        };
        assert_eq!(
            Some(number.as_str()),
            expected.as_u64().map(|n| n.to_string()).as_deref(),
            "{label}"
        );
    }
    for state in totals["byState"].as_object().unwrap().keys() {
        assert!(labels.contains(state), "{state} is not counted in the page");
    }

    // One device row per entry, in the entry's state, with its next step
    // where it has one.
    let entries = report["entries"].as_array().unwrap();
    let devices = between(&dom, "<table class=\"devices\"", "</table>");
    let body = between(devices, "<tbody>", "</tbody>");
    let rows: Vec<&str> = body.split("<tr").skip(1).collect();
    assert_eq!(rows.len(), entries.len());
    for (row, entry) in rows.iter().zip(entries) {
        let cells = cells(row, "td");
        assert_eq!(cells[0], entry["serialNumber"].as_str().unwrap(), "{row}");
        if let Some(state) = entry["state"].as_str() {
            assert_eq!(cells[4], state, "{row}");
        }
        if entry["state"] == "Registration failed" {
            assert!(!cells[6].is_empty(), "a failed device without a next step: {row}");
        }
    }

    // Failures grouped by what fixes them.
    let fixes = text_of(between(&dom, "<ul class=\"fixes\"", "</ul>"));
    for message in [
        "Device claimed by another organization",
        "Hardware hash not valid",
        "Unexpected error",
    ] {
        assert!(
            fixes.contains(message),
            "{message} is not among the fixes: {fixes}"
        );
    }

    // It prints.
    let pdf = work.join("report.pdf");
    chromium_run(
        &browser,
        work,
        &html,
        &format!("--print-to-pdf={}", pdf.display()),
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&bytes);
    let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
    assert!((1..=4).contains(&pages), "{pages} pages for nine devices");
}
