//! `apctl reconcile` through the built binary against the simulator: every
//! category of difference, the plan that changes nothing, `--apply`,
//! `--prune` with its refusal of enrolled devices, the hand-off list, and
//! Autopilot sync asked for at most once per tenant per 10 minutes.

mod common;

use common::{SimProcess, apctl_sim, by_serial, example, requests};

#[test]
fn the_plan_names_every_difference_then_apply_and_prune_fix_them() {
    let sim = SimProcess::start(&["--import-delay", "0s", "--batch-delay", "0s"]);
    let state = tempfile::tempdir().unwrap();
    let env = [("APCTL_STATE_DIR", state.path().to_str().unwrap())];
    // What the tenants hold: Contoso's demo import, Fabrikam's every state.
    let contoso = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "-q",
        ],
        &env,
    );
    assert_eq!(contoso.code, 0, "{}", contoso.stderr);
    let fabrikam = apctl_sim(
        &sim,
        &[
            "import",
            &example("fabrikam-every-state.csv"),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--no-wait",
            "-q",
        ],
        &env,
    );
    assert_eq!(fabrikam.code, 1);

    // What the partner's records say: two customers in one file (the
    // README's example).
    let dir = tempfile::tempdir().unwrap();
    let file = example("desired-state.csv");
    let file = file.as_str();
    let before = sim.stats();
    let plan = apctl_sim(&sim, &["reconcile", file, "--output", "json"], &env);
    assert_eq!(plan.code, 1, "differences: {}\n{}", plan.stdout, plan.stderr);
    let doc = plan.json();
    let category = |serial: &str| {
        by_serial(&doc, "items", serial)["category"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(category("NEW-0001"), "missing");
    assert_eq!(category("CTS-0001"), "tag-mismatch");
    assert_eq!(by_serial(&doc, "items", "CTS-0001")["groupTag"], "Sales");
    assert_eq!(category("CTS-0002"), "user-mismatch");
    assert_eq!(category("CTS-0003"), "registered");
    assert_eq!(category("FAB-0002"), "claimed");
    assert_eq!(category("FAB-0003"), "failed");
    assert_eq!(
        by_serial(&doc, "items", "FAB-0003")["message"],
        "Hardware hash not valid"
    );
    assert_eq!(category("FAB-0005"), "staged");
    for extra in [
        "CTS-0004",
        "CTS-0005",
        "CTS-0007",
        "CTS 0008-A",
        "CTS-0006",
        "FAB-0001",
        "FAB-0008",
    ] {
        assert_eq!(category(extra), "extra", "{extra}");
    }
    assert_eq!(by_serial(&doc, "items", "CTS-0006")["enrolled"], true);
    assert_eq!(by_serial(&doc, "items", "CTS-0004")["enrolled"], false);
    let after_plan = sim.stats();
    for kind in [
        "graph.import",
        "graph.update-device-properties",
        "graph.delete-devices",
        "graph.sync",
    ] {
        assert_eq!(
            requests(&before, kind),
            requests(&after_plan, kind),
            "the plan changed nothing: {kind}"
        );
    }

    // Without a terminal, pruning needs `--yes`.
    let refused = apctl_sim(&sim, &["reconcile", file, "--prune"], &env);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);

    let handoff = dir.path().join("handoff.csv");
    let applied = apctl_sim(
        &sim,
        &[
            "reconcile",
            file,
            "--apply",
            "--prune",
            "--yes",
            "--order-id",
            "PO-9",
            "--handoff",
            handoff.to_str().unwrap(),
            "--output",
            "json",
        ],
        &env,
    );
    let doc = applied.json();
    assert_eq!(
        by_serial(&doc, "items", "NEW-0001")["outcome"],
        "imported: Ready for user"
    );
    assert_eq!(by_serial(&doc, "items", "CTS-0001")["outcome"], "fixed");
    assert_eq!(by_serial(&doc, "items", "CTS-0002")["outcome"], "fixed");
    assert_eq!(by_serial(&doc, "items", "CTS-0004")["outcome"], "deregistered");
    assert_eq!(by_serial(&doc, "items", "FAB-0001")["outcome"], "deregistered");
    assert!(
        by_serial(&doc, "items", "CTS-0006")["outcome"]
            .as_str()
            .unwrap()
            .starts_with("kept: the device is enrolled"),
        "an enrolled device is refused without --force"
    );
    assert_eq!(doc["sync"]["contoso.onmicrosoft.com"]["sync"], "requested");
    assert_eq!(doc["sync"]["fabrikam.onmicrosoft.com"]["sync"], "requested");
    assert_eq!(
        applied.code, 1,
        "claimed, failed, staged and the enrolled extra remain"
    );
    let list = std::fs::read_to_string(&handoff).unwrap();
    assert_eq!(
        list,
        "Serial Number,Manufacturer,Model,Order ID,Customer\nFAB-0002,,,PO-9,fabrikam.onmicrosoft.com\n"
    );

    let status = apctl_sim(
        &sim,
        &[
            "status",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--output",
            "json",
        ],
        &env,
    );
    let devices = status.json();
    let listed: Vec<&str> = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["serialNumber"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["CTS-0003", "CTS-0006", "CTS-0001", "CTS-0002", "NEW-0001"]
    );
    let cts1 = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["serialNumber"] == "CTS-0001")
        .unwrap();
    assert_eq!(cts1["groupTag"], "Kiosk");
    let cts2 = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["serialNumber"] == "CTS-0002")
        .unwrap();
    assert_eq!(cts2["userPrincipalName"], "ada@contoso.com");

    // Forcing out the enrolled extra changes Contoso again, within 10
    // minutes of the last sync: not asked again.
    let forced = apctl_sim(
        &sim,
        &[
            "reconcile",
            file,
            "--prune",
            "--force",
            "--yes",
            "--output",
            "json",
        ],
        &env,
    );
    let doc = forced.json();
    assert_eq!(by_serial(&doc, "items", "CTS-0006")["outcome"], "deregistered");
    assert_eq!(doc["sync"]["contoso.onmicrosoft.com"]["sync"], "skipped");
    assert_eq!(
        requests(&sim.stats(), "graph.sync"),
        2,
        "one per tenant, not per device or run"
    );
}
