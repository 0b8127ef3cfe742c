//! `apctl validate` on synthetic files: every encoding, dialect, duplicate
//! and bad-value case, through the built binary. Hashes here are made up
//! (see `crate::common::fake_hash`), never real devices.

use std::path::PathBuf;

use crate::common::{apctl, fake_hash, problems, utf16be_bom, utf16le_bom, write};
use serde_json::Value;

fn validate_json(files: &[&PathBuf], extra: &[&str]) -> (i32, Value) {
    let mut args: Vec<String> = vec![
        "validate".into(),
        "--list".into(),
        "--output".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(files.iter().map(|p| p.display().to_string()));
    let run = apctl(args);
    (run.code, run.json())
}

fn autopilot_text(eol: &str) -> String {
    let rows = [
        format!("Device Serial Number,Windows Product ID,Hardware Hash,Group Tag{eol}"),
        format!("00042,,{},Müller-Gruppe{eol}", fake_hash(1, 3000)),
        format!("VMware-56 4d 8d,,{},{eol}", fake_hash(2, 3000)),
    ];
    rows.concat()
}

#[test]
fn every_encoding_reads_the_same_devices() {
    let dir = tempfile::tempdir().unwrap();
    let crlf = autopilot_text("\r\n");
    let windows_1252: Vec<u8> = crlf
        .replace('ü', "\u{1}")
        .bytes()
        .map(|b| if b == 1 { 0xFC } else { b })
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("utf16le.csv", utf16le_bom(&crlf), "utf-16le"),
        ("utf16be.csv", utf16be_bom(&crlf), "utf-16be"),
        (
            "utf8bom.csv",
            [b"\xEF\xBB\xBF".as_slice(), crlf.as_bytes()].concat(),
            "utf-8-bom",
        ),
        ("utf8-lf.csv", autopilot_text("\n").into_bytes(), "utf-8"),
        (
            "utf8-crlf-trailing-blank.csv",
            format!("{crlf}\r\n\r\n,,,\r\n").into_bytes(),
            "utf-8",
        ),
        ("ansi.csv", windows_1252, "windows-1252"),
    ];
    for (name, bytes, encoding) in cases {
        let path = write(dir.path(), name, bytes);
        let (code, doc) = validate_json(&[&path], &[]);
        assert_eq!(code, 0, "{name}: {doc}");
        assert_eq!(doc["files"][0]["encoding"], encoding, "{name}");
        assert_eq!(doc["files"][0]["validRows"], 2, "{name}");
        let rows = doc["rows"].as_array().unwrap();
        assert_eq!(rows[0]["serialNumber"], "00042", "{name}: leading zeros kept");
        assert_eq!(rows[0]["groupTag"], "Müller-Gruppe", "{name}");
        assert_eq!(rows[0]["line"], 2, "{name}");
        assert_eq!(
            rows[1]["serialNumber"], "VMware-56 4d 8d",
            "{name}: inner spaces kept"
        );
        assert_eq!(rows[1]["groupTag"], Value::Null, "{name}");
        assert_eq!(rows[1]["line"], 3, "{name}");
    }
}

#[test]
fn trailing_blank_lines_are_counted_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "blank.csv",
        format!("{}\r\n\r\n,,,\r\n", autopilot_text("\r\n")),
    );
    let (_, doc) = validate_json(&[&path], &[]);
    assert_eq!(doc["files"][0]["rows"], 2);
    assert_eq!(
        doc["files"][0]["blankRows"], 3,
        "two empty lines and one of bare commas"
    );
    assert_eq!(doc["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn quoted_fields_are_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\"Manufacturer\",\"Model\",\"Serial Number\"\r\n\"Contoso, Ltd\",\"Book 3\",\"SN-1\"\r\n";
    let path = write(dir.path(), "quoted.csv", text);
    let (code, doc) = validate_json(&[&path], &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["rows"][0]["manufacturer"], "Contoso, Ltd");
    assert_eq!(doc["rows"][0]["serialNumber"], "SN-1");
}

#[test]
fn every_dialect_routes_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let h = fake_hash(7, 3000);
    let pc = format!(
        "Device serial number,Windows product ID,Hardware hash,Manufacturer name,Device model\n\
         PC-1,,{h},,\n\
         PC-2,,,Contoso,Laptop 7\n\
         ,12345-67890-09876-54321-13579,,,\n"
    );
    let cases = vec![
        (
            "mmd-partner.csv",
            "Manufacturer,Model,Serial Number\nSpiralOrbit,ContosoABC,000000000000\n".to_string(),
            "mmd-partner",
            vec![("tuple", "partnerCenter")],
        ),
        (
            "mmd-self.csv",
            format!(
                "Manufacturer,Model,Serial Number,Hardware Hash\nMicrosoft Corporation,Surface Laptop,S-1,{}\n",
                fake_hash(8, 1089)
            ),
            "mmd-self",
            vec![("hardwareHash", "graph")],
        ),
        (
            "gwai-user.csv",
            format!(
                "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User\nG-1,,{},Sales,ada@contoso.com\n",
                fake_hash(9, 3000)
            ),
            "autopilot",
            vec![("hardwareHash", "graph")],
        ),
        (
            "pc.csv",
            pc,
            "partner-center",
            vec![
                ("hardwareHash", "graph"),
                ("tuple", "partnerCenter"),
                ("productKey", "partnerCenter"),
            ],
        ),
        (
            "semicolon.csv",
            format!(
                "Device Serial Number;Windows Product ID;Hardware Hash\nS-9;;{}\n",
                fake_hash(10, 3000)
            ),
            "autopilot",
            vec![("hardwareHash", "graph")],
        ),
    ];
    for (name, text, dialect, expect) in cases {
        let path = write(dir.path(), name, text);
        let (code, doc) = validate_json(&[&path], &[]);
        assert_eq!(code, 0, "{name}: {doc}");
        assert_eq!(doc["files"][0]["dialect"], dialect, "{name}");
        let got: Vec<(String, String)> = doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["identity"].as_str().unwrap().to_owned(),
                    r["pipe"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = expect
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn duplicates_across_files_name_both_lines() {
    let dir = tempfile::tempdir().unwrap();
    let h1 = fake_hash(1, 3000);
    let a = write(
        dir.path(),
        "a.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\nA-1,,{h1}\nA-2,,{}\n",
            fake_hash(2, 3000)
        ),
    );
    let b = write(
        dir.path(),
        "b.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\nB-1,,{h1}\nA-2,,{}\nB-3,,{}\n",
            fake_hash(3, 3000),
            fake_hash(4, 3000)
        ),
    );
    let (code, doc) = validate_json(&[&a, &b], &[]);
    assert_eq!(code, 1);
    let hash_dup = problems(&doc, "duplicate-hash");
    assert_eq!(hash_dup.len(), 1);
    assert_eq!(hash_dup[0]["file"], b.display().to_string());
    assert_eq!(hash_dup[0]["line"], 2);
    assert!(
        hash_dup[0]["message"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{}:2", a.display()))
    );
    let serial_dup = problems(&doc, "duplicate-serial");
    assert_eq!(serial_dup.len(), 1);
    assert_eq!(serial_dup[0]["line"], 3);
    assert!(
        serial_dup[0]["message"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{}:3", a.display()))
    );
    assert_eq!(
        doc["summary"]["validRows"], 3,
        "the first sightings and B-3 stay valid"
    );
    assert_eq!(doc["summary"]["invalidRows"], 2);
}

#[test]
fn bad_hashes_are_hardware_hash_not_valid_with_their_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = fake_hash(5, 3000);
    let urlsafe = good.replace('+', "-").replace('/', "_");
    let cut = &good[..3999];
    let text = format!(
        "Device Serial Number,Windows Product ID,Hardware Hash\n\
         OK-1,,{good}\n\
         BAD-URL,,{urlsafe}\n\
         BAD-SHORT,,aGFyZHdhcmVJZGVudGlmaWVy\n\
         BAD-CUT,,{cut}\n\
         OK-2,,{}\n",
        fake_hash(6, 3000)
    );
    let path = write(dir.path(), "hashes.csv", text);
    let (code, doc) = validate_json(&[&path], &[]);
    assert_eq!(code, 1);
    let bad = problems(&doc, "hash-not-valid");
    let lines: Vec<u64> = bad.iter().map(|p| p["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 4, 5]);
    for p in &bad {
        assert_eq!(p["portalMessage"], "Hardware hash not valid");
        assert_eq!(p["column"], 3);
        assert_eq!(p["columnName"], "Hardware Hash");
    }
    assert!(bad[0]["message"].as_str().unwrap().contains("base64url"));
    assert!(bad[1]["message"].as_str().unwrap().contains("too short"));
    assert!(bad[2]["message"].as_str().unwrap().contains("multiple of 4"));
    let valid: Vec<&str> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["valid"] == true)
        .map(|r| r["serialNumber"].as_str().unwrap())
        .collect();
    assert_eq!(valid, ["OK-1", "OK-2"], "bad rows never stop the rest");
}

#[test]
fn every_row_check_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let h = |s| fake_hash(s, 3000);
    let text = format!(
        "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User\n\
         ,,{},,\n\
         PK-1,12345,{},,\n\
         TAG-1,,{},{},\n\
         UPN-1,,{},,not a user\n\
         NOPIPE-1,,,,\n\
         FIELDS-1,,{}\n\
         OK-1,,{},Sales,ada@contoso.com\n",
        h(1),
        h(2),
        h(3),
        "x".repeat(200),
        h(4),
        h(5),
        h(6)
    );
    let path = write(dir.path(), "rows.csv", text);
    let (code, doc) = validate_json(&[&path], &[]);
    assert_eq!(code, 1);
    let at = |code: &str| {
        let p = problems(&doc, code);
        assert_eq!(p.len(), 1, "{code}: {doc}");
        (p[0]["line"].as_u64().unwrap(), p[0]["column"].as_u64())
    };
    assert_eq!(at("empty-serial"), (2, Some(1)));
    assert_eq!(at("product-key-shape"), (3, Some(2)));
    assert_eq!(at("group-tag-shape"), (4, Some(4)));
    assert_eq!(at("assigned-user-shape"), (5, Some(5)));
    assert_eq!(at("no-pipe"), (6, Some(3)));
    assert_eq!(at("field-count"), (7, None));
    assert_eq!(doc["summary"]["validRows"], 1);
    assert_eq!(doc["summary"]["invalidRows"], 6);
    assert_eq!(doc["summary"]["rows"], 7, "every row accounted for once");
}

#[test]
fn strict_names_the_portal_rule_each_line_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("device serial number,Windows Product ID,Hardware Hash\r\n");
    for i in 0..501 {
        text.push_str(&format!("S-{i},,{}\r\n", fake_hash(i, 3000)));
    }
    text.push_str(&format!("\"S-QUOTED\",,{}\r\n", fake_hash(9999, 3000)));
    let path = write(dir.path(), "strict.csv", utf16le_bom(&text));
    let (code, relaxed) = validate_json(&[&path], &[]);
    assert_eq!(code, 0, "without --strict apctl takes all of it");
    assert_eq!(relaxed["summary"]["validRows"], 502);

    let (code, doc) = validate_json(&[&path], &["--strict"]);
    assert_eq!(code, 1);
    assert_eq!(problems(&doc, "strict-encoding").len(), 1);
    assert_eq!(problems(&doc, "strict-header")[0]["line"], 1);
    let limit = problems(&doc, "strict-row-limit");
    assert_eq!(limit.len(), 1);
    assert_eq!(limit[0]["line"], 502, "row 501 sits on line 502");
    let quotes = problems(&doc, "strict-quotes");
    assert_eq!(quotes.len(), 1);
    assert_eq!(
        (quotes[0]["line"].as_u64(), quotes[0]["column"].as_u64()),
        (Some(503), Some(1))
    );
}

#[test]
fn strict_accepts_a_file_the_portal_takes() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag\r\nS-1,,{},Sales\r\n",
        fake_hash(1, 3000)
    );
    let path = write(dir.path(), "ok.csv", text);
    let (code, doc) = validate_json(&[&path], &["--strict"]);
    assert_eq!(code, 0, "{doc}");
}

#[test]
fn a_missing_file_is_exit_2_and_the_others_are_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(
        dir.path(),
        "ok.csv",
        "Manufacturer,Model,Serial Number\nContoso,Book,SN-1\n",
    );
    let missing = dir.path().join("missing.csv");
    let (code, doc) = validate_json(&[&missing, &ok], &["--order-id", "PO-2026-11"]);
    assert_eq!(code, 2);
    assert_eq!(doc["exitCode"], 2);
    assert_eq!(problems(&doc, "unreadable").len(), 1);
    assert_eq!(doc["files"][1]["validRows"], 1);
    assert_eq!(
        doc["orderId"], "PO-2026-11",
        "the order id is carried to the output"
    );
}

#[test]
fn bad_arguments_are_exit_2() {
    let run = apctl(["validate"]);
    assert_eq!(run.code, 2);
    let run = apctl(["validate", "--output", "yaml", "x.csv"]);
    assert_eq!(run.code, 2);
}

#[test]
fn human_output_prints_problems_by_line_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "h.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\nS-1,,{}\nS-2,,abc\n",
            fake_hash(1, 3000)
        ),
    );
    let run = apctl([
        "validate".as_ref(),
        "--order-id".as_ref(),
        "PO-7".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 1);
    let expected_problem = format!(
        "{}:3:3: error: Hardware hash not valid: the hash is not standard base64: 3 characters is not a multiple of 4 (cut off?)",
        path.display()
    );
    assert!(run.stdout.contains(&expected_problem), "{}", run.stdout);
    assert!(run.stdout.contains("  encoding  UTF-8 (no BOM)\n"));
    assert!(
        run.stdout
            .contains("  rows      2 (1 valid, 1 invalid; Graph 1, Partner Center 0)\n")
    );
    assert!(run.stdout.contains("order id: `PO-7`\n"));
    assert!(
        run.stdout.ends_with(
            "summary: 1 file, 2 rows: 1 valid, 1 invalid (Graph 1, Partner Center 0); 1 error, 0 warnings\n"
        ),
        "{}",
        run.stdout
    );
}

/// A serial holding a noncharacter (U+FFFE, U+FFFF: XML 1.0 forbids them)
/// or a bidirectional override is a row error with its line and column;
/// the file's other rows stay valid, and the report's JUnit still parses.
#[test]
fn serials_that_no_report_could_carry_are_row_errors() {
    let dir = tempfile::tempdir().unwrap();
    let h = |s| fake_hash(s, 3000);
    let text = format!(
        "Device Serial Number,Windows Product ID,Hardware Hash\n\
         NC-1\u{fffe},,{}\n\
         NC-2\u{ffff},,{}\n\
         BIDI-\u{202e}1,,{}\n\
         OK-1,,{}\n",
        h(1),
        h(2),
        h(3),
        h(4)
    );
    let path = write(dir.path(), "nonchars.csv", text);
    let (code, doc) = validate_json(&[&path], &[]);
    assert_eq!(code, 1, "{doc}");
    let lines: Vec<u64> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["severity"] == "error")
        .map(|p| {
            assert_eq!(p["column"], 1, "{p}");
            p["line"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(lines, [2, 3, 4], "{doc}");
    assert_eq!(doc["summary"]["validRows"], 1);
    let shown = doc.to_string();
    assert!(
        !shown.contains('\u{fffe}') && !shown.contains('\u{202e}'),
        "{shown}"
    );
}
