//! `apctl validate` on every CSV of `testdata/real-world/csv/`, run through
//! the built binary as a user would.

use crate::common::{apctl, problems, real_world};

const GWAI: &[(&str, &str, Option<&str>)] = &[
    (
        "gwai-utf16le-grouptag-vmware-apple-silicon.csv",
        "F98059756E444D56",
        Some("SP001_STD01"),
    ),
    ("gwai-utf16le-hp-elitebook-650-g10.csv", "5CD349G8VJ", None),
    ("gwai-utf16le-hp-elitebook-840-g8.csv", "5CG1457YL8", None),
    (
        "gwai-utf16le-hyperv-vm-append.csv",
        "4895-7167-4584-3623-0974-4308-48",
        None,
    ),
    ("gwai-utf16le-lenovo-thinkpad-t14s.csv", "PF5MT6SC", None),
    (
        "gwai-utf16le-vmware-serial-with-spaces.csv",
        "VMware-56 4d 8d 37 93 fe f5 0e-88 0c 3d 23 2b a1 5a 41",
        None,
    ),
];

#[test]
fn every_get_windowsautopilotinfo_file_gives_one_hash_row() {
    for (file, serial, tag) in GWAI {
        let run = apctl(
            ["validate", "--list", "--output", "json"]
                .map(String::from)
                .into_iter()
                .chain([real_world(&format!("csv/{file}")).display().to_string()]),
        );
        assert_eq!(run.code, 0, "{file}: {}", run.stdout);
        let doc = run.json();
        let f = &doc["files"][0];
        assert_eq!(f["dialect"], "autopilot", "{file}");
        assert_eq!(f["encoding"], "utf-16le", "{file}");
        assert_eq!(
            (
                f["rows"].as_u64(),
                f["validRows"].as_u64(),
                f["blankRows"].as_u64()
            ),
            (Some(1), Some(1), Some(0)),
            "{file}"
        );
        let rows = doc["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row["serialNumber"], *serial, "{file}");
        assert_eq!(row["line"], 2);
        assert_eq!(row["pipe"], "graph");
        assert_eq!(row["identity"], "hardwareHash");
        assert_eq!(
            row["productKey"],
            serde_json::Value::Null,
            "empty Windows Product ID is absent"
        );
        assert_eq!(row["groupTag"].as_str(), *tag, "{file}");
        let hash = row["hardwareHash"].as_str().unwrap();
        assert!(hash.ends_with("(4000 chars)"), "{hash}");
    }
}

#[test]
fn the_full_hash_never_appears_in_output() {
    let path = real_world("csv/gwai-utf16le-lenovo-thinkpad-t14s.csv");
    let text = String::from_utf16(
        &std::fs::read(&path).unwrap()[2..]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let hash = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(hash.len(), 4000);
    for output in ["human", "json"] {
        let run = apctl([
            "validate".as_ref(),
            "--list".as_ref(),
            "--output".as_ref(),
            output.as_ref(),
            path.as_os_str(),
        ]);
        assert!(
            !run.stdout.contains(&hash[..64]),
            "{output} output shows the hash"
        );
        assert!(!run.stdout.contains(&hash[hash.len() - 64..]));
    }
}

#[test]
fn managed_desktop_samples_parse() {
    let run = apctl([
        "validate".as_ref(),
        "--list".as_ref(),
        "--output".as_ref(),
        "json".as_ref(),
        real_world("csv/ms-mmd-device-registration-sample-partner.csv").as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(doc["files"][0]["dialect"], "mmd-partner");
    let row = &doc["rows"][0];
    assert_eq!(row["serialNumber"], "000000000000");
    assert_eq!(row["identity"], "tuple");
    assert_eq!(row["pipe"], "partnerCenter");
    assert_eq!(row["manufacturer"], "SpiralOrbit");
    assert_eq!(row["model"], "ContosoABC");

    let run = apctl([
        "validate".as_ref(),
        "--list".as_ref(),
        "--output".as_ref(),
        "json".as_ref(),
        real_world("csv/ms-mmd-device-registration-sample-self.csv").as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(doc["files"][0]["dialect"], "mmd-self");
    let row = &doc["rows"][0];
    assert_eq!(row["pipe"], "graph");
    assert_eq!(row["manufacturer"], "Microsoft Corporation");
    assert!(row["hardwareHash"].as_str().unwrap().ends_with("(1452 chars)"));
}

#[test]
fn the_export_file_gets_a_wrong_header_error() {
    let path = real_world("csv/export-windowsAutopilotDeviceIdentities-quoted.csv");
    let run = apctl([
        "validate".as_ref(),
        "--output".as_ref(),
        "json".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "a file whose rows cannot be read at all is exit 2");
    let doc = run.json();
    let header = problems(&doc, "unknown-header");
    assert_eq!(header.len(), 1);
    assert_eq!(header[0]["line"], 1);
    let message = header[0]["message"].as_str().unwrap();
    assert!(
        message.contains("`enrolmentState`") && message.contains("`displayName`"),
        "{message}"
    );
    let hint = header[0]["hint"].as_str().unwrap();
    assert!(hint.contains("`Manufacturer,Model,Serial Number`"), "{hint}");
    assert!(hint.contains("export of registered Autopilot devices"), "{hint}");

    let human = apctl(["validate".as_ref(), path.as_os_str()]);
    assert!(human.stdout.contains("export-windowsAutopilotDeviceIdentities-quoted.csv:1:1: error: the header matches no known CSV dialect"), "{}", human.stdout);
}

#[test]
fn all_real_files_together_are_read_in_one_run() {
    let dir = real_world("csv");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let mut args = vec!["validate".into(), "--output".into(), "json".into()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let run = apctl(args);
    let doc = run.json();
    assert_eq!(doc["summary"]["files"], 9);
    assert_eq!(doc["summary"]["unreadableFiles"], 1, "only the export file");
    assert_eq!(doc["summary"]["validRows"], 8);
    assert_eq!(doc["summary"]["pipes"]["graph"], 7);
    assert_eq!(doc["summary"]["pipes"]["partnerCenter"], 1);
    assert_eq!(run.code, 2);
}
