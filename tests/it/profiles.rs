//! Deployment profiles: "Ready for user" means the user is guided through
//! setup, which needs a profile. In the demo world Tailspin Toys assigns a
//! profile 15 minutes after registration (the others, as the simulator
//! does by default, ten), or a minute after an Autopilot sync;
//! `apctl simulate --no-profile` never assigns one. apctl waits for the
//! profile by default; `--no-wait-profile` reads it once.

use crate::common::{SimProcess, apctl_env, apctl_sim, entry, example};
use serde_json::Value;

fn tailspin(extra: &[&str]) -> (i32, Value) {
    let state = tempfile::tempdir().unwrap();
    let mut args = vec![
        "import",
        "examples/tailspin-autopilot.csv",
        "--tenant",
        "tailspintoys.onmicrosoft.com",
        "--simulate",
        "--state-dir",
        state.path().to_str().unwrap(),
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = apctl_env(args, &[]);
    (out.code, out.json())
}

#[test]
fn one_sync_after_registering_gets_profiles_assigned_and_apctl_waits_for_them() {
    let (code, report) = tailspin(&[]);
    assert_eq!(code, 0, "{report}");
    for e in report["entries"].as_array().unwrap() {
        assert_eq!(e["state"], "Ready for user", "{e}");
        assert_eq!(e["deploymentProfileAssignmentStatus"], "assignedInSync", "{e}");
    }
    assert_eq!(report["tenants"][0]["sync"]["sync"], "requested");
    assert_eq!(report["http"]["requests"]["graph.sync"], 1, "one sync");
    let reads = report["http"]["requests"]["graph.get-profile"].as_u64().unwrap();
    let rows = report["entries"].as_array().unwrap().len() as u64;
    assert!(reads <= 10 * rows, "read on the backing-off cadence: {reads}");
    assert!(
        report["http"]["requests"].get("graph.list-profiles").is_none(),
        "a few devices are read by id, not by listing the tenant: {}",
        report["http"]
    );
}

#[test]
fn without_waiting_a_device_without_its_profile_is_pending_not_ready() {
    let (code, report) = tailspin(&["--no-wait-profile"]);
    assert_eq!(code, 3, "{report}");
    for e in report["entries"].as_array().unwrap() {
        assert_eq!(e["state"], "Registration pending", "{e}");
        assert_eq!(e["deploymentProfileAssignmentStatus"], "notAssigned", "{e}");
        assert!(
            e["details"]
                .as_str()
                .unwrap()
                .contains("no deployment profile is assigned yet"),
            "{e}"
        );
    }
}

#[test]
fn without_a_sync_a_profile_later_than_the_deadline_leaves_the_device_pending() {
    let (code, report) = tailspin(&["--no-sync", "--timeout", "10m"]);
    assert_eq!(code, 3, "pending: {report}");
    assert!(report["tenants"][0].get("sync").is_none(), "{report}");
    let e = entry(&report, "TSP-0001");
    assert_eq!(e["state"], "Registration pending", "{e}");
    assert_eq!(e["message"], Value::Null);
    assert_eq!(e["deploymentProfileAssignmentStatus"], "notAssigned");
    let details = e["details"].as_str().unwrap();
    assert!(
        details.contains("no deployment profile is assigned yet") && details.contains("would not be guided"),
        "{details}"
    );
}

#[test]
fn a_tenant_without_profiles_is_pending_with_the_fix_and_syncs_at_most_once_in_ten_minutes() {
    let sim = SimProcess::start(&["--import-delay", "0s", "--no-profile"]);
    let state = tempfile::tempdir().unwrap();
    let env = [("APCTL_STATE_DIR", state.path().to_str().unwrap())];
    let file = example("contoso-autopilot.csv");
    let args = |extra: &'static str| {
        vec![
            "import".to_owned(),
            file.clone(),
            "--tenant".into(),
            "contoso.onmicrosoft.com".into(),
            "--timeout".into(),
            "3m".into(),
            "--output".into(),
            "json".into(),
            extra.into(),
        ]
    };
    let first: Vec<String> = args("-q");
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let run = apctl_sim(&sim, &first, &env);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let report = run.json();
    let e = entry(&report, "CTS-0001");
    assert_eq!(e["state"], "Registration pending", "{e}");
    assert!(
        e["details"].as_str().unwrap().contains("Deployment profiles"),
        "where to fix it: {e}"
    );
    // The devices already there were registered before: their state stands.
    assert_eq!(entry(&report, "CTS-0003")["message"], "Device already registered");
    assert_eq!(sim.stats()["requests"]["graph.sync"], 1);
    // A second run a moment later registers nothing new: no second sync.
    let again = apctl_sim(&sim, &first, &env);
    assert_eq!(again.code, 3);
    assert_eq!(sim.stats()["requests"]["graph.sync"], 1, "not asked again");
}
