//! Group tags Intune shows late. In the demo world Tailspin Toys shows an
//! `updateDeviceProperties` change ten minutes after its 204 (as users
//! report of the real service), and holds TSP-0100 with group tag
//! `Warehouse`. A row asking for another tag has it set and read back
//! across the run's wait, never reported "not applied" after a few quick
//! reads, and never written again while the first write is on its way.

use crate::common::{apctl_env, entry, fake_hash, write};
use serde_json::Value;

fn run(timeout: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag\nTSP-0100,,{},Kiosk\n",
        fake_hash(9100, 2048)
    );
    let file = write(dir.path(), "tagged.csv", csv);
    let out = apctl_env(
        [
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "tailspintoys.onmicrosoft.com",
            "--simulate",
            "--timeout",
            timeout,
            "--output",
            "json",
        ],
        &[],
    );
    (out.code, out.json())
}

#[test]
fn a_tag_visible_only_after_a_delay_ends_as_applied() {
    let (code, report) = run("30m");
    assert_eq!(code, 0, "{report}");
    let e = entry(&report, "TSP-0100");
    assert_eq!(e["action"], "already-registered", "{e}");
    assert_eq!(e["message"], "Device already registered", "{e}");
    assert_eq!(e["groupTagStatus"], "applied", "{e}");
    assert!(
        e["details"]
            .as_str()
            .unwrap()
            .ends_with("Its group tag `Kiosk` was set (it showed after 10 minutes)."),
        "{e}"
    );
    let requests = &report["http"]["requests"];
    assert_eq!(
        requests["graph.update-device-properties"], 1,
        "written once, then only read until it showed: {requests}"
    );
    let reads = requests["graph.get-registered"].as_u64().unwrap();
    assert!(
        (4..=20).contains(&reads),
        "read back on a backing-off cadence over ten minutes: {reads}"
    );
    assert_eq!(report["totals"]["groupTagsNotApplied"], 0);
}

#[test]
fn a_tag_still_hidden_at_the_deadline_is_pending_not_failed() {
    let (code, report) = run("5m");
    assert_eq!(code, 3, "pending, not failed: {report}");
    let e = entry(&report, "TSP-0100");
    assert_eq!(e["state"], "Ready for user", "the device is registered: {e}");
    assert_eq!(e["groupTagStatus"], "pending", "{e}");
    let details = e["details"].as_str().unwrap();
    assert!(
        details.contains("group tag `Kiosk` was sent and accepted")
            && details.contains("still reads group tag \"Warehouse\"")
            && details.contains("next `apctl import`"),
        "{details}"
    );
    assert_eq!(report["totals"]["groupTagsPending"], 1);
    assert_eq!(report["http"]["requests"]["graph.update-device-properties"], 1);
}

/// A group tag given outside the CSV — `--group-tag`, or a manifest's
/// default — gets the checks a cell's tag gets: over 128 characters is
/// refused before anything is sent, naming where it came from.
#[test]
fn a_tag_over_128_characters_is_refused_wherever_it_is_given() {
    let long = "x".repeat(129);
    let flag = crate::common::apctl_env(
        [
            "import",
            &crate::common::example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--group-tag",
            &long,
        ],
        &[],
    );
    assert_eq!(flag.code, 2, "{}", flag.stderr);
    assert!(flag.stderr.contains("at most 128"), "{}", flag.stderr);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        crate::common::example("contoso-autopilot.csv"),
        dir.path().join("a.csv"),
    )
    .unwrap();
    let manifest = crate::common::write(
        dir.path(),
        "customers.toml",
        format!(
            "[[customer]]\ntenant = \"contoso.onmicrosoft.com\"\nfiles = [\"a.csv\"]\ngroup_tag = \"{long}\"\n"
        ),
    );
    let run = crate::common::apctl_env(
        ["import", "--manifest", manifest.to_str().unwrap(), "--simulate"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("contoso.onmicrosoft.com") && run.stderr.contains("at most 128"),
        "{}",
        run.stderr
    );
}
