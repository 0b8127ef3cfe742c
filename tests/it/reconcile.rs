//! `apctl reconcile` through the built binary against the simulator: every
//! category of difference, the plan that changes nothing, `--apply`,
//! `--prune` with its refusal of enrolled devices, the hand-off list, and
//! Autopilot sync asked for at most once per tenant per 10 minutes.

use crate::common::{SimProcess, apctl_sim, by_serial, example, requests};

#[test]
fn the_plan_names_every_difference_then_apply_and_prune_fix_them() {
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--import-delay",
        "0s",
        "--batch-delay",
        "0s",
    ]);
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
    // the guide's example).
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
        "graph.delete-registered",
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
    // Contoso's import above registered devices and asked for a sync a
    // moment ago: not asked again within 10 minutes (the service would
    // answer 429). Fabrikam's `--no-wait` import registered nothing.
    assert_eq!(
        doc["sync"]["contoso.onmicrosoft.com"]["sync"], "skipped",
        "{}",
        doc["sync"]
    );
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

const CONTOSO: &str = "contoso.onmicrosoft.com";
const CONTOSO_ID: &str = "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01";

/// A simulator whose Contoso holds the demo import plus a device
/// registered by product key alone (MIX-0003, through Partner Center).
fn contoso_with_devices() -> (SimProcess, tempfile::TempDir) {
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--import-delay",
        "0s",
        "--batch-delay",
        "0s",
    ]);
    let state = tempfile::tempdir().unwrap();
    let env = [
        ("APCTL_STATE_DIR", state.path().to_str().unwrap()),
        ("APCTL_REFRESH_TOKEN", "apctl-demo-refresh-token"),
        ("AZURE_TENANT_ID", "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503"),
    ];
    for file in ["contoso-autopilot.csv", "contoso-mixed.csv"] {
        let run = apctl_sim(
            &sim,
            &[
                "import",
                &example(file),
                "--tenant",
                CONTOSO,
                "--group-tag",
                "Lab",
                "-q",
            ],
            &env,
        );
        assert!(run.code == 0 || run.code == 1, "{file}: {}", run.stderr);
    }
    (sim, state)
}

/// The serials the tenant holds now, and the product key of any device.
fn registered(sim: &SimProcess, env: &[(&str, &str)]) -> Vec<String> {
    let status = apctl_sim(sim, &["status", "--tenant", CONTOSO, "--output", "json"], env);
    status.json()["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["serialNumber"].as_str().unwrap().to_owned())
        .collect()
}

fn deletions(sim: &SimProcess) -> u64 {
    requests(&sim.stats(), "graph.delete-registered")
}

#[test]
fn prune_never_deregisters_a_device_the_input_names() {
    let (sim, state) = contoso_with_devices();
    let env = [("APCTL_STATE_DIR", state.path().to_str().unwrap())];
    let dir = tempfile::tempdir().unwrap();
    let held = registered(&sim, &env);
    assert!(held.contains(&"MIX-0003".to_owned()), "{held:?}");
    let demo = std::fs::read_to_string(example("contoso-autopilot.csv")).unwrap();
    let (header, rows) = demo.split_once('\n').unwrap();

    // (1) One row's hash is broken: it would not count as named.
    let broken = demo.replacen(&rows[9..20], "%%%%%%%%%%%", 1);
    let f1 = crate::common::write(dir.path(), "broken.csv", broken);
    // (2) Half the devices are in a second file whose header has a typo.
    let lines: Vec<&str> = rows.lines().collect();
    let a = crate::common::write(
        dir.path(),
        "a.csv",
        format!("{header}\n{}\n", lines[..4].join("\n")),
    );
    let b = crate::common::write(
        dir.path(),
        "b.csv",
        format!(
            "Device Serial Numbr{}\n{}\n",
            &header["Device Serial Number".len()..],
            lines[4..].join("\n")
        ),
    );
    for (case, files) in [
        ("invalid row", vec![f1.to_str().unwrap()]),
        (
            "unreadable second file",
            vec![a.to_str().unwrap(), b.to_str().unwrap()],
        ),
    ] {
        let mut args = vec!["reconcile"];
        args.extend(&files);
        args.extend([
            "--tenant",
            CONTOSO,
            "--prune",
            "--force",
            "--yes",
            "--max-delete",
            "1000",
        ]);
        let run = apctl_sim(&sim, &args, &env);
        assert_eq!(run.code, 2, "{case}: {}", run.stderr);
        assert!(
            run.stderr.contains("refusing to `--prune`"),
            "{case}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(files.last().unwrap()),
            "{case}: the file is named: {}",
            run.stderr
        );
        assert_eq!(deletions(&sim), 0, "{case}: nothing was deregistered");
    }

    // (3) The tenant as its domain on some rows and its id on others, and
    // (4) MIX-0003 named by its product key alone.
    let mut text = String::from(
        "Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model,Tenant\n",
    );
    for (i, serial) in held.iter().filter(|s| *s != "MIX-0003").enumerate() {
        let tenant = if i % 2 == 0 { CONTOSO } else { CONTOSO_ID };
        text.push_str(&format!("{serial},,,Contoso Devices,Surface Laptop 7,{tenant}\n"));
    }
    text.push_str(&format!(",33000-11111-22222-33333-44444,,,,{CONTOSO_ID}\n"));
    let whole = crate::common::write(dir.path(), "whole.csv", text);
    let run = apctl_sim(
        &sim,
        &[
            "reconcile",
            whole.to_str().unwrap(),
            "--prune",
            "--force",
            "--yes",
            "--max-delete",
            "1000",
            "--output",
            "json",
        ],
        &env,
    );
    let doc = run.json();
    let items = doc["items"].as_array().unwrap();
    let extra: Vec<&serde_json::Value> = items.iter().filter(|i| i["category"] == "extra").collect();
    assert!(
        extra.is_empty(),
        "every device is named: {extra:?}\n{}",
        run.stderr
    );
    let tenants: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i["tenant"].as_str().unwrap()).collect();
    assert_eq!(tenants.len(), 1, "one tenant, however it is written: {tenants:?}");
    let key_row = by_serial(&doc, "items", "MIX-0003");
    assert_ne!(
        key_row["category"], "missing",
        "found by its product key: {key_row}"
    );
    assert_eq!(deletions(&sim), 0);
    assert_eq!(registered(&sim, &env), held, "the tenant holds what it held");
}

#[test]
fn prune_lists_every_device_and_stops_at_max_delete() {
    let (sim, state) = contoso_with_devices();
    let env = [("APCTL_STATE_DIR", state.path().to_str().unwrap())];
    let held = registered(&sim, &env);
    let dir = tempfile::tempdir().unwrap();
    // A file that names one device: every other one is an extra.
    let one = crate::common::write(
        dir.path(),
        "one.csv",
        "Manufacturer,Model,Serial Number\nContoso Devices,Surface Laptop 7,CTS-0003\n",
    );
    let one = one.to_str().unwrap();
    let run = apctl_sim(
        &sim,
        &[
            "reconcile",
            one,
            "--tenant",
            CONTOSO,
            "--prune",
            "--force",
            "--yes",
            "--max-delete",
            "3",
            "--output",
            "json",
        ],
        &env,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let listed: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("  - contoso.onmicrosoft.com `"))
        .map(|l| l.split('`').nth(1).unwrap())
        .collect();
    let extras = listed.len();
    assert!(extras > 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("--prune would deregister {extras} devices:")),
        "{}",
        run.stderr
    );
    assert!(!listed.contains(&"CTS-0003"), "the named device is not listed");
    assert!(listed.iter().all(|s| held.iter().any(|h| h == s)), "{listed:?}");
    assert!(
        run.stderr.contains("more than `--max-delete 3`"),
        "{}",
        run.stderr
    );
    assert_eq!(deletions(&sim), 0, "refused whole");
    let allowed = apctl_sim(
        &sim,
        &[
            "reconcile",
            one,
            "--tenant",
            CONTOSO,
            "--prune",
            "--force",
            "--yes",
            "--max-delete",
            &extras.to_string(),
            "--output",
            "json",
        ],
        &env,
    );
    let doc = allowed.json();
    let gone: Vec<&str> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["outcome"] == "deregistered")
        .map(|i| i["serialNumber"].as_str().unwrap())
        .collect();
    assert_eq!(gone.len(), extras, "{}", allowed.stderr);
    let left = registered(&sim, &env);
    assert!(left.contains(&"CTS-0003".to_owned()));
    assert!(gone.iter().all(|g| !left.iter().any(|l| l == g)), "{left:?}");
}

/// A tenant holding two devices with one serial (whitebox boards that all
/// say `Default string`): when the file names that serial, `--prune` keeps
/// and lists both, deletes only the true extra, and only by its id — never
/// a serial-keyed `deleteDevices`.
#[test]
fn prune_keeps_every_device_of_a_serial_the_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let demo =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wiremock-fixtures/simulator/demo-world.json");
    let mut world: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo).unwrap()).unwrap();
    let contoso = world["tenants"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["id"] == CONTOSO_ID)
        .unwrap();
    contoso["registered"] = serde_json::json!([
        {"serialNumber": "Default string", "model": "Board A", "groupTag": "Lab"},
        {"serialNumber": "Default string", "model": "Board B", "groupTag": "Lab"},
        {"serialNumber": "EXTRA-0001", "model": "Old", "groupTag": "Lab"},
    ]);
    let world_path = crate::common::write(dir.path(), "world.json", world.to_string());
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--world",
        world_path.to_str().unwrap(),
    ]);
    let state = tempfile::tempdir().unwrap();
    let env = [("APCTL_STATE_DIR", state.path().to_str().unwrap())];
    let file = crate::common::write(
        dir.path(),
        "boards.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\nDefault string,,{}\n",
            crate::common::fake_hash(77, 3000)
        ),
    );
    let run = apctl_sim(
        &sim,
        &[
            "reconcile",
            file.to_str().unwrap(),
            "--tenant",
            CONTOSO,
            "--prune",
            "--yes",
            "--force",
            "--max-delete",
            "10",
            "--output",
            "json",
        ],
        &env,
    );
    let doc = run.json();
    let items = doc["items"].as_array().unwrap();
    let extras: Vec<&serde_json::Value> = items.iter().filter(|i| i["category"] == "extra").collect();
    let kept: Vec<&&serde_json::Value> = extras
        .iter()
        .filter(|i| i["serialNumber"] == "Default string")
        .collect();
    assert_eq!(kept.len(), 1, "the second board is listed: {items:#?}");
    assert!(
        kept[0]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("kept: the tenant holds more than one device"),
        "{:#?}",
        kept[0]
    );
    assert!(
        kept[0]["id"].as_str().is_some_and(|id| !id.is_empty()),
        "listed with its id"
    );
    assert_eq!(by_serial(&doc, "items", "EXTRA-0001")["outcome"], "deregistered");
    let stats = sim.stats();
    assert_eq!(
        requests(&stats, "graph.delete-devices"),
        0,
        "no serial-keyed delete"
    );
    assert_eq!(
        requests(&stats, "graph.delete-registered"),
        1,
        "one delete, by id"
    );
    let held = registered(&sim, &env);
    assert_eq!(
        held.iter().filter(|s| *s == "Default string").count(),
        2,
        "both boards are still registered: {held:?}"
    );
    assert!(!held.contains(&"EXTRA-0001".to_owned()), "{held:?}");
}
