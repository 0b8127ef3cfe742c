//! A simulator world in which every string a customer's admin can write —
//! organization and GDAP names, group tags, models, manufacturers — carries
//! terminal escapes (SGR, OSC 8 links, OSC 52 clipboard writes, C1 CSI),
//! bidirectional overrides, both runners' command markers, HTML, a Markdown
//! image and a spreadsheet formula. apctl runs its commands against it under
//! Azure DevOps and under GitHub Actions; every stream and every written file
//! is checked.

use std::path::{Path, PathBuf};

use crate::common::{Run, SimProcess, apctl_sim, example};

/// What a customer's admin typed.
const HOSTILE: &str = "X\u{1b}[31mRED\u{1b}]8;;https://evil.example/\u{7}link\u{1b}]8;;\u{7}\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{9b}2J\u{202e}desrever\u{2066} ##vso[task.setvariable variable=AZURE_AUTHORITY_HOST]https://evil.example ::error::pwned <img src=x onerror=alert(1)> ![i](https://evil.example/i.png)";
/// What is left of it once cleaned (the text survives, nothing live does).
const SURVIVES: &str = "XREDlinkdesrever";
/// A formula a spreadsheet would run.
const FORMULA: &str = "=HYPERLINK(\"https://evil.example\",\"x\")";

const CONTOSO: &str = "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01";
const PARTNER: &str = "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503";

/// The demo world with hostile strings wherever a customer writes them, and
/// one extra device (not in any file) for `reconcile --prune` to list.
fn hostile_world(dir: &Path) -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("wiremock-fixtures/simulator/demo-world.json");
    let mut world: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo).unwrap()).unwrap();
    for tenant in world["tenants"].as_array_mut().unwrap() {
        let id = tenant["id"].as_str().unwrap().to_owned();
        if id == CONTOSO {
            tenant["displayName"] = HOSTILE.into();
            let registered = tenant["registered"].as_array_mut().unwrap();
            for device in registered.iter_mut() {
                device["manufacturer"] = HOSTILE.into();
                device["model"] = FORMULA.into();
                device["groupTag"] = HOSTILE.into();
            }
            registered.push(serde_json::json!({
                "serialNumber": "EVIL-0001",
                "manufacturer": FORMULA,
                "model": HOSTILE,
                "groupTag": HOSTILE,
            }));
        }
        let relationships = tenant.get_mut("relationships").and_then(|r| r.as_array_mut());
        for r in relationships.into_iter().flatten() {
            r["displayName"] = HOSTILE.into();
            if r["customerTenantId"] == CONTOSO {
                r["customerName"] = HOSTILE.into();
            }
        }
    }
    let path = dir.join("world.json");
    std::fs::write(&path, serde_json::to_string(&world).unwrap()).unwrap();
    path
}

/// The two runners and what each is told of the run.
fn runners(dir: &Path) -> [(&'static str, Vec<(&'static str, String)>); 2] {
    [
        (
            "azure",
            vec![
                ("TF_BUILD", "True".into()),
                ("AGENT_TEMPDIRECTORY", dir.display().to_string()),
            ],
        ),
        (
            "github",
            vec![
                ("GITHUB_ACTIONS", "true".into()),
                (
                    "GITHUB_STEP_SUMMARY",
                    dir.join("step-summary.md").display().to_string(),
                ),
            ],
        ),
    ]
}

/// Nothing that steers a terminal, in any text.
fn inert(what: &str, text: &str) {
    for bad in [
        '\u{1b}', '\u{9b}', '\u{9d}', '\u{7}', '\u{202e}', '\u{2066}', '\u{fffe}',
    ] {
        assert!(!text.contains(bad), "{what} holds U+{:04X}:\n{text}", bad as u32);
    }
    assert!(
        !text.contains("cm0gLXJmIH4="),
        "{what} holds the clipboard payload"
    );
}

/// A stream a runner reads: no command marker from the data survives.
fn no_commands(runner: &str, what: &str, text: &str) {
    inert(what, text);
    for line in text.lines() {
        // apctl's own commands start a line; data never does, and never
        // holds a whole marker.
        let data = match runner {
            "azure" if line.starts_with("##vso[task.") => line.split_once(']').map_or("", |(_, m)| m),
            "github" if line.starts_with("::") => line.splitn(3, "::").nth(2).unwrap_or(""),
            _ => line,
        };
        let marker = if runner == "azure" { "##" } else { "::" };
        assert!(
            !data.contains(marker),
            "{what}: a marker from the data reaches the runner: {line}"
        );
    }
}

/// Every Markdown table cell or quote holding the data's HTML or image is a
/// code span, where nothing is live.
fn markdown_is_dead(what: &str, md: &str) {
    inert(what, md);
    for line in md.lines() {
        for piece in line.split(" | ") {
            let piece = piece.trim_matches(['|', ' ']);
            let piece = piece.strip_prefix("> **Error:** ").unwrap_or(piece);
            if piece.contains("<img") || piece.contains("![i]") || piece.contains("https://") {
                assert!(
                    piece.starts_with('`') && piece.ends_with('`'),
                    "{what}: live Markdown in `{piece}`"
                );
            }
        }
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().unwrap() != "world.json")
        .collect();
    out.sort();
    out
}

/// Every file the run wrote, each checked for its format.
fn check_files(dir: &Path) {
    for path in files(dir) {
        let text = std::fs::read_to_string(&path).unwrap();
        let what = path.display().to_string();
        inert(&what, &text);
        match path.extension().and_then(|e| e.to_str()) {
            Some("md") => markdown_is_dead(&what, &text),
            Some("html") => assert!(!text.contains("<img src=x"), "{what}: a live tag"),
            Some("xml") => {
                assert!(!text.contains("<img"), "{what}: a tag from the data");
                assert!(
                    text.chars().all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)),
                    "{what}: a character XML 1.0 forbids"
                );
            }
            Some("csv") => {
                let mut r = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_path(&path)
                    .unwrap();
                for record in r.records() {
                    for cell in record.unwrap().iter() {
                        assert!(!cell.starts_with(['=', '+', '@']), "{what}: formula cell {cell}");
                    }
                }
            }
            Some("json") => {
                let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
                inert(&what, &doc.to_string());
                // Escaped in the file, the escapes would come back when a
                // program reads the field and prints it.
                assert!(!text.contains("\\u001b"), "{what}: an escaped ESC");
            }
            _ => {}
        }
    }
}

fn check(runner: &str, what: &str, run: &Run) {
    assert_ne!(run.code, 101, "{what} panicked: {}", run.stderr);
    no_commands(runner, &format!("{what} stdout"), &run.stdout);
    no_commands(runner, &format!("{what} stderr"), &run.stderr);
}

#[test]
fn customer_text_steers_nothing_under_either_runner() {
    let world_dir = tempfile::tempdir().unwrap();
    let world = hostile_world(world_dir.path());
    let sim = SimProcess::start(&[
        "--world",
        world.to_str().unwrap(),
        "--import-delay",
        "0s",
        "--batch-delay",
        "0s",
    ]);
    let csv = example("contoso-autopilot.csv");
    let mut seen_survivor = false;
    for (runner, env) in runners(world_dir.path()) {
        let dir = tempfile::tempdir().unwrap();
        let mut env: Vec<(&str, String)> = env;
        if runner == "azure" {
            env.retain(|(k, _)| *k != "AGENT_TEMPDIRECTORY");
            env.push(("AGENT_TEMPDIRECTORY", dir.path().display().to_string()));
        } else {
            env.retain(|(k, _)| *k != "GITHUB_STEP_SUMMARY");
            env.push((
                "GITHUB_STEP_SUMMARY",
                dir.path().join("step-summary.md").display().to_string(),
            ));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = |name: &str| dir.path().join(name).display().to_string();
        let partner = [env.clone(), vec![("AZURE_TENANT_ID", PARTNER)]].concat();

        let import = apctl_sim(
            &sim,
            &[
                "import",
                &csv,
                "--tenant",
                CONTOSO,
                "--report",
                &out("r.json"),
                "--report-csv",
                &out("r.csv"),
                "--junit",
                &out("r.xml"),
                "--html",
                &out("r.html"),
                "--summary",
                &out("s.md"),
            ],
            &partner,
        );
        check(runner, "import", &import);
        for format in ["human", "json", "csv"] {
            let status = apctl_sim(
                &sim,
                &["status", "--tenant", CONTOSO, "--output", format],
                &partner,
            );
            check(runner, &format!("status -o {format}"), &status);
            seen_survivor |= status.stdout.contains(SURVIVES);
        }
        let prune = apctl_sim(
            &sim,
            &[
                "reconcile",
                &csv,
                "--tenant",
                CONTOSO,
                "--prune",
                "--yes",
                "--max-delete",
                "0",
            ],
            &partner,
        );
        check(runner, "reconcile --prune", &prune);
        assert!(
            prune.stderr.contains("EVIL-0001"),
            "the prune list names the extra device: {}",
            prune.stderr
        );
        assert!(
            prune.stderr.contains(SURVIVES),
            "the prune list shows the tag, cleaned: {}",
            prune.stderr
        );
        for args in [
            &["tenants"][..],
            &["tenants", "--output", "json"],
            &["doctor", "--tenant", CONTOSO],
        ] {
            let run = apctl_sim(&sim, args, &partner);
            check(runner, &args.join(" "), &run);
        }
        check_files(dir.path());
        let written = files(dir.path());
        for name in ["r.json", "r.csv", "r.xml", "r.html", "s.md"] {
            assert!(
                written.iter().any(|p| p.ends_with(name)),
                "{name} written: {written:?}"
            );
        }
    }
    assert!(seen_survivor, "the hostile text reached the output at all");
}
