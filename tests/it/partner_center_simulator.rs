//! The Partner Center pipe through the built binary against the simulator:
//! the seed's own partner sample, every Partner Center outcome, a file
//! mixing hash, tuple and product-key rows in one run and one report,
//! group tags set through Graph, re-runs that append nothing, and the
//! errors a partner meets before anything is sent.

use crate::common::{SimProcess, apctl_env, apctl_sim, entry, example, real_world, write};
use serde_json::Value;

const PARTNER_TENANT: &str = "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503";
const CONTOSO: &str = "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01";

/// The demo partner admin's sign-in (Secure Application Model), which
/// Partner Center requires.
fn partner_sign_in() -> [(&'static str, &'static str); 2] {
    [
        ("APCTL_REFRESH_TOKEN", "apctl-demo-refresh-token"),
        ("AZURE_TENANT_ID", PARTNER_TENANT),
    ]
}

#[test]
fn the_seeds_partner_sample_is_registered_into_its_tags_batch() {
    let sample = real_world("csv/ms-mmd-device-registration-sample-partner.csv");
    let run = apctl_env(
        [
            "import",
            sample.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--order-id",
            "PO-4711",
            "--group-tag",
            "Sales",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let e = entry(&report, "000000000000");
    assert_eq!(e["pipe"], "partnerCenter");
    assert_eq!(e["state"], "Ready for user");
    assert_eq!(e["action"], "sent");
    // The batch is named after the tag (Partner Center makes its name the
    // devices' tag); the order id is kept for tracking only.
    assert_eq!(e["batchId"], "Sales");
    assert_eq!(e["orderId"], "PO-4711");
    assert_eq!(e["groupTagStatus"], "applied", "{e}");
    assert!(
        report["http"]["requests"]
            .get("graph.update-device-properties")
            .is_none(),
        "the batch gave the tag; nothing set it afterwards: {}",
        report["http"]
    );
    assert!(
        e["autopilotDeviceId"].is_string(),
        "confirmed in the tenant's list: {e}"
    );
    assert_eq!(report["http"]["requests"]["pc.create-batch"], 1);
}

#[test]
fn every_partner_center_outcome_reaches_its_documented_state_and_message() {
    let run = apctl_env(
        [
            "import",
            &example("contoso-partner.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--group-tag",
            "Lab",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "some failed: {}\n{}", run.stdout, run.stderr);
    let report = run.json();
    for serial in ["PC-0001", "PC-0002"] {
        assert_eq!(entry(&report, serial)["state"], "Ready for user");
        assert_eq!(entry(&report, serial)["batchId"], "Lab");
    }
    // Same device as PC-0001's catalogue entry but with the manufacturer
    // in lower case: Partner Center matches exactly.
    let case = entry(&report, "PC-0003");
    assert_eq!(case["state"], "Registration failed");
    assert_eq!(case["message"], "Device not found");
    assert_eq!(case["errorCode"], "812");
    assert_eq!(case["errorName"], "ZtdDeviceNotFound");
    let claimed = entry(&report, "PC-0004");
    assert_eq!(claimed["message"], "Device claimed by another organization");
    assert_eq!(claimed["errorCode"], "808");
    assert!(claimed["requestId"].is_string(), "{claimed}");
}

#[test]
fn a_mixed_file_runs_both_pipes_with_one_report_and_tags_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("report.csv");
    let run = apctl_env(
        [
            "import",
            &example("contoso-mixed.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--group-tag",
            "Sales",
            "--output",
            "json",
            "--report-csv",
            csv.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(
        report["entries"].as_array().unwrap().len(),
        3,
        "one entry per row"
    );
    let hash = entry(&report, "MIX-0001");
    assert_eq!(
        (hash["pipe"].as_str(), hash["state"].as_str()),
        (Some("graph"), Some("Ready for user"))
    );
    let tuple = entry(&report, "MIX-0002");
    assert_eq!(tuple["pipe"], "partnerCenter");
    assert_eq!(tuple["state"], "Ready for user");
    assert_eq!(tuple["groupTagStatus"], "applied");
    // The product-key row had no serial: the job and the tenant's list
    // give it one.
    let key = entry(&report, "MIX-0003");
    assert_eq!(key["line"], 4);
    assert_eq!(key["state"], "Ready for user");
    assert_eq!(key["groupTagStatus"], "applied");
    assert!(
        report["http"]["requests"]
            .get("graph.update-device-properties")
            .is_none(),
        "the import and the batch gave the tags: {}",
        report["http"]
    );
    assert_eq!(report["totals"]["groupTagsNotApplied"], 0);
    let written = std::fs::read_to_string(&csv).unwrap();
    assert!(
        written
            .lines()
            .next()
            .unwrap()
            .ends_with("batchId,groupTagStatus,deploymentProfileAssignmentStatus,cause")
    );
    assert!(written.contains("Sales,applied"), "{written}");
}

#[test]
fn running_the_same_file_again_appends_nothing_to_the_batch() {
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--batch-delay",
        "0s",
        "--import-delay",
        "0s",
    ]);
    let args = [
        "import",
        &example("contoso-partner.csv"),
        "--tenant",
        CONTOSO,
        "--order-id",
        "PO-2026-11",
        "--group-tag",
        "Lab",
        "--output",
        "json",
    ];
    let first = apctl_sim(&sim, &args, &partner_sign_in());
    assert_eq!(first.code, 1, "{}\n{}", first.stdout, first.stderr);
    assert_eq!(entry(&first.json(), "PC-0001")["groupTagStatus"], "applied");
    let after_first = sim.stats();
    assert_eq!(after_first["requests"]["pc.create-batch"], 1);

    let second = apctl_sim(&sim, &args, &partner_sign_in());
    assert_eq!(second.code, 1, "{}\n{}", second.stdout, second.stderr);
    let report = second.json();
    for serial in ["PC-0001", "PC-0002"] {
        let e = entry(&report, serial);
        assert_eq!(e["action"], "already-registered", "{e}");
        assert_eq!(e["message"], "Device already registered");
        assert_eq!(e["state"], "Ready for user");
        assert_eq!(
            e["groupTagStatus"], "applied",
            "the tag set by the first run is read back"
        );
    }
    let stats = sim.stats();
    assert_eq!(stats["requests"]["pc.create-batch"], 1, "no second batch");
    assert_eq!(
        stats["requests"]["pc.add-devices"], 1,
        "only the two devices that failed are offered again, in one request: {stats}"
    );
    assert_eq!(entry(&report, "PC-0003")["action"], "sent");
    // The two failures are sent again (they may have been fixed at the
    // supplier) and fail the same way: nothing registered twice.
    assert_eq!(entry(&report, "PC-0003")["message"], "Device not found");
    assert!(
        stats["requests"].get("graph.update-device-properties").is_none(),
        "the batch gave the tags; none is written, then or again: {stats}"
    );
}

#[test]
fn app_only_credentials_leave_partner_center_rows_unsent_with_the_fix() {
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--batch-delay",
        "0s",
        "--import-delay",
        "0s",
    ]);
    let run = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-mixed.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--group-tag",
            "Sales",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(
        entry(&report, "MIX-0001")["state"],
        "Ready for user",
        "the hash row still goes through Graph"
    );
    let tuple = entry(&report, "MIX-0002");
    assert_eq!(tuple["action"], "not-sent");
    assert_eq!(tuple["state"], Value::Null);
    let cause = &report["causes"][0];
    assert_eq!(tuple["cause"], cause["id"]);
    assert!(
        cause["error"].as_str().unwrap().contains("partner admin"),
        "{cause}"
    );
    let error = &report["tenantErrors"][0];
    assert!(error["hint"].as_str().unwrap().contains("apctl login"), "{error}");
    let stats = sim.stats();
    assert!(
        stats["requests"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("pc.")),
        "nothing reached Partner Center: {stats}"
    );
}

#[test]
fn a_customer_outside_the_partners_reseller_relationships_is_named_with_the_fix() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--batch-delay", "0s"]);
    let run = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-partner.csv"),
            "--tenant",
            "woodgrove.onmicrosoft.com",
            "--group-tag",
            "Lab",
            "--output",
            "json",
        ],
        &partner_sign_in(),
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let error = &report["tenantErrors"][0];
    assert!(
        error["error"].as_str().unwrap().contains("Partner Center"),
        "{error}"
    );
    assert!(
        error["hint"].as_str().unwrap().contains("indirect reseller"),
        "{error}"
    );
    for e in report["entries"].as_array().unwrap() {
        assert_eq!(e["action"], "not-sent");
        assert_eq!(e["state"], Value::Null, "never judged by a service");
        assert_eq!(e["cause"], "C1", "one cause for every row");
    }
    assert_eq!(report["causes"].as_array().unwrap().len(), 1);
}

#[test]
fn a_lost_batch_answer_is_checked_against_the_batch_before_anything_is_sent_again() {
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--batch-delay",
        "0s",
        "--drop-rate",
        "1",
    ]);
    let run = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-partner.csv"),
            "--tenant",
            CONTOSO,
            "--group-tag",
            "Lab",
            "--http-timeout",
            "1s",
            // The sync's answer would be held back too (10 s).
            "--no-sync",
            "--output",
            "json",
        ],
        &partner_sign_in(),
    );
    assert_eq!(
        run.code, 2,
        "rows not sent for a lost answer: {}\n{}",
        run.stdout, run.stderr
    );
    let report = run.json();
    // The upload took effect although its answer never came: the devices
    // the catalogue knows are in the batch and then in the tenant.
    for serial in ["PC-0001", "PC-0002"] {
        let e = entry(&report, serial);
        assert_eq!(e["state"], "Ready for user", "{e}");
        assert_eq!(e["action"], "sent");
    }
    // The others left the batch when processing refused them: the report
    // says the answer was lost and to run again, and nothing was resent.
    let e = entry(&report, "PC-0003");
    assert_eq!(e["state"], Value::Null, "never judged: {e}");
    assert_eq!(e["action"], "not-sent");
    let cause = report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == e["cause"])
        .unwrap();
    assert!(
        cause["error"]
            .as_str()
            .unwrap()
            .contains("answer to a batch request was lost"),
        "{cause}"
    );
    let stats = sim.stats();
    assert_eq!(stats["requests"]["pc.create-batch"], 1, "not sent twice: {stats}");
    assert!(stats["requests"].get("pc.add-devices").is_none(), "{stats}");
}

#[test]
fn the_china_cloud_asks_for_its_own_scopes_and_every_request_names_the_contract_version() {
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--batch-delay",
        "0s",
        "--import-delay",
        "0s",
    ]);
    let mut env = partner_sign_in().to_vec();
    env.push(("APCTL_CLOUD", "china"));
    let run = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-mixed.csv"),
            "--tenant",
            CONTOSO,
            "--group-tag",
            "Sales",
            "--output",
            "json",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let stats = sim.stats();
    let scopes: Vec<&str> = stats["tokenScopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        scopes.contains(&"https://partner.partnercenterapi.microsoftonline.cn/user_impersonation"),
        "{scopes:?}"
    );
    assert!(
        scopes.contains(&"https://microsoftgraph.chinacloudapi.cn/.default"),
        "{scopes:?}"
    );
    assert!(
        scopes.iter().all(|s| !s.contains("microsoft.com")),
        "no public-cloud scope asked for: {scopes:?}"
    );
    assert_eq!(
        stats["headers"]["MS-Contract-Version"],
        serde_json::json!(["v1"]),
        "every Partner Center request names the contract version"
    );
}

/// The demo world with `n` more devices the OEMs know.
fn world_with_catalogue(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let demo =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wiremock-fixtures/simulator/demo-world.json");
    let mut world: Value = serde_json::from_str(&std::fs::read_to_string(demo).unwrap()).unwrap();
    let catalogue = world["catalogue"].as_array_mut().unwrap();
    for i in 0..n {
        catalogue.push(serde_json::json!({
            "manufacturer": "Contoso Devices",
            "model": "Surface Laptop 7",
            "serialNumber": format!("BULK-{i:04}")
        }));
    }
    let path = dir.join("world.json");
    std::fs::write(&path, serde_json::to_vec(&world).unwrap()).unwrap();
    path
}

#[test]
fn a_batch_of_250_devices_is_read_past_its_first_page_and_a_rerun_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_with_catalogue(dir.path(), 250);
    let mut csv = String::from("Manufacturer,Model,Serial Number\n");
    for i in 0..250 {
        csv.push_str(&format!("Contoso Devices,Surface Laptop 7,BULK-{i:04}\n"));
    }
    let file = crate::common::write(dir.path(), "bulk.csv", csv);
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--batch-delay",
        "0s",
        "--import-delay",
        "0s",
        "--world",
        world.to_str().unwrap(),
    ]);
    let args = [
        "import",
        file.to_str().unwrap(),
        "--tenant",
        CONTOSO,
        "--order-id",
        "PO-BULK",
        "--group-tag",
        "Bulk",
        "--output",
        "json",
    ];
    let first = apctl_sim(&sim, &args, &partner_sign_in());
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let report = first.json();
    assert_eq!(
        report["totals"]["byState"]["Ready for user"], 250,
        "{}",
        report["totals"]
    );
    let after_first = sim.stats();
    let sent_first = after_first["requests"]["pc.create-batch"].as_u64().unwrap_or(0)
        + after_first["requests"]["pc.add-devices"].as_u64().unwrap_or(0);

    let second = apctl_sim(&sim, &args, &partner_sign_in());
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let report = second.json();
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 250);
    assert!(
        entries.iter().all(|e| e["action"] == "already-registered"),
        "every device was found in the batch or the tenant, past page 1"
    );
    let stats = sim.stats();
    let sent_total = stats["requests"]["pc.create-batch"].as_u64().unwrap_or(0)
        + stats["requests"]["pc.add-devices"].as_u64().unwrap_or(0);
    assert_eq!(sent_total, sent_first, "the re-run sent nothing: {stats}");
    assert!(
        stats["requests"]["pc.list-batch-devices"].as_u64().unwrap() >= 3,
        "the batch's 250 devices came in pages of 100: {stats}"
    );
}

/// Partner Center's add-devices page lists no Manufacturer+Model+Serial
/// combination. Under that reading (`--strict-batch-add`), tuple rows for
/// a tag whose batch exists are refused: they are not sent, with the
/// reason and the fix, and never put in a batch of another name (which
/// would become their tag). Under the other (the default) they are added
/// to the batch. Either way nothing is sent twice.
#[test]
fn tuple_rows_for_an_existing_tag_batch_are_added_or_not_sent_with_the_fix() {
    for strict in [true, false] {
        let mut args = vec![crate::common::PROFILES_AT_ONCE, "--batch-delay", "0s"];
        if strict {
            args.push("--strict-batch-add");
        }
        let sim = SimProcess::start(&args);
        let dir = tempfile::tempdir().unwrap();
        let first = write(
            dir.path(),
            "first.csv",
            "Manufacturer,Model,Serial Number\nContoso Devices,Surface Laptop 7,PC-0001\n",
        );
        let second = write(
            dir.path(),
            "second.csv",
            "Manufacturer,Model,Serial Number\nContoso Devices,Surface Laptop 7,PC-0001\nContoso Devices,Surface Laptop 7,PC-0002\n",
        );
        let import = |file: &std::path::Path| {
            apctl_sim(
                &sim,
                &[
                    "import",
                    file.to_str().unwrap(),
                    "--tenant",
                    CONTOSO,
                    "--order-id",
                    "PO-7",
                    "--group-tag",
                    "Kiosk",
                    "--output",
                    "json",
                ],
                &partner_sign_in(),
            )
        };
        let run = import(&first);
        assert_eq!(run.code, 0, "strict {strict}: {}{}", run.stdout, run.stderr);
        let run = import(&second);
        let report = run.json();
        let e = entry(&report, "PC-0002");
        assert_eq!(entry(&report, "PC-0001")["action"], "already-registered");
        if strict {
            assert_eq!(run.code, 2, "not sent: {}", run.stdout);
            assert_eq!(
                (e["action"].as_str(), &e["state"]),
                (Some("not-sent"), &Value::Null),
                "{e}"
            );
            let cause = &report["causes"][0];
            assert!(
                cause["error"]
                    .as_str()
                    .unwrap()
                    .contains("existing device batch `Kiosk`"),
                "{cause}"
            );
            assert!(cause["hint"].as_str().unwrap().contains("Add devices"), "{cause}");
        } else {
            assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
            assert_eq!(e["state"], "Ready for user", "{e}");
            assert_eq!(e["batchId"], "Kiosk", "{e}");
        }
        let stats = sim.stats();
        let creates = stats["requests"]["pc.create-batch"].as_u64().unwrap();
        let adds = stats["requests"]["pc.add-devices"].as_u64().unwrap_or(0);
        assert_eq!(
            (creates, adds),
            (1, 1),
            "strict {strict}: one batch, never a second name: {stats}"
        );
    }
}

/// One batch per tag, named after it: rows tagged `Kiosk` and `Sales` in
/// one file go into two batches, and each device carries its batch's name
/// as its group tag from the moment it registers (the simulator tags
/// Partner Center devices with their batch name, as the service does). A
/// row with no tag is not sent, for one reason with the fix; the order id
/// is in the report, never a batch.
#[test]
fn each_tag_has_its_batch_and_a_row_without_one_is_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    // Product-key rows of the Intune portal's dialect carry a tag each.
    let world = world_with_catalogue(dir.path(), 0);
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(&world).unwrap()).unwrap();
    for i in 0..3 {
        spec["catalogue"].as_array_mut().unwrap().push(serde_json::json!({
            "manufacturer": "Contoso Devices",
            "model": "Surface Laptop 7",
            "serialNumber": format!("BULK-{i:04}"),
            "productKey": format!("4400{i}-11111-22222-33333-44444")
        }));
    }
    std::fs::write(&world, serde_json::to_vec(&spec).unwrap()).unwrap();
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--batch-delay",
        "0s",
        "--world",
        world.to_str().unwrap(),
    ]);
    let file = write(
        dir.path(),
        "tags.csv",
        "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag\nBULK-0000,44000-11111-22222-33333-44444,,Kiosk\nBULK-0001,44001-11111-22222-33333-44444,,Sales\nBULK-0002,44002-11111-22222-33333-44444,,\n",
    );
    let run = apctl_sim(
        &sim,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            CONTOSO,
            "--order-id",
            "PO-9",
            "-o",
            "json",
        ],
        &partner_sign_in(),
    );
    assert_eq!(run.code, 2, "one row not sent: {}\n{}", run.stdout, run.stderr);
    let report = run.json();
    for (serial, tag) in [("BULK-0000", "Kiosk"), ("BULK-0001", "Sales")] {
        let e = entry(&report, serial);
        assert_eq!(e["state"], "Ready for user", "{e}");
        assert_eq!(
            (e["batchId"].as_str(), e["groupTag"].as_str()),
            (Some(tag), Some(tag)),
            "{e}"
        );
        assert_eq!(e["orderId"], "PO-9");
        assert_eq!(e["groupTagStatus"], "applied", "the batch gave it: {e}");
    }
    let untagged = entry(&report, "BULK-0002");
    assert_eq!(untagged["action"], "not-sent", "{untagged}");
    let cause = report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == untagged["cause"])
        .unwrap();
    assert!(cause["hint"].as_str().unwrap().contains("--group-tag"), "{cause}");
    let stats = sim.stats();
    assert_eq!(
        stats["requests"]["pc.create-batch"], 2,
        "one batch per tag: {stats}"
    );
    assert!(
        stats["requests"].get("graph.update-device-properties").is_none(),
        "{stats}"
    );
    // The tenant's own list shows each device with its batch's name.
    let status = apctl_sim(
        &sim,
        &["status", "--tenant", CONTOSO, "-o", "json"],
        &partner_sign_in(),
    );
    let listed = status.json();
    let text = listed.to_string();
    assert!(!text.contains("PO-9"), "the order id is no tag: {text}");
}

/// Batch ids compare without regard to case, as Partner Center's own tools
/// compare them: a tag written `kiosk-case` in one run and `KIOSK-CASE` in
/// the next adds to the one batch, never tries to create a second (which
/// the service would refuse as existing).
#[test]
fn a_tag_in_another_case_names_the_same_batch() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_with_catalogue(dir.path(), 2);
    let sim = SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--batch-delay",
        "0s",
        "--import-delay",
        "0s",
        "--world",
        world.to_str().unwrap(),
    ]);
    for (i, order) in ["kiosk-case", "KIOSK-CASE"].iter().enumerate() {
        let csv = format!("Manufacturer,Model,Serial Number\nContoso Devices,Surface Laptop 7,BULK-{i:04}\n");
        let file = crate::common::write(dir.path(), &format!("case-{i}.csv"), csv);
        let run = apctl_sim(
            &sim,
            &[
                "import",
                file.to_str().unwrap(),
                "--tenant",
                CONTOSO,
                "--group-tag",
                order,
                "-o",
                "json",
            ],
            &partner_sign_in(),
        );
        assert_eq!(run.code, 0, "{order}: {}\n{}", run.stdout, run.stderr);
    }
    let stats = sim.stats();
    assert_eq!(stats["requests"]["pc.create-batch"], 1, "one batch: {stats}");
    assert_eq!(
        stats["requests"]["pc.add-devices"], 1,
        "the second run added to it: {stats}"
    );
}
