//! Issue #29: the README's first-customer path, followed literally. Every
//! `$ apctl …` line of its console blocks is run as written (in a folder
//! holding the examples, on an agent with no state), and what it prints on
//! stdout is what the README shows (dates aside: the demo world's are
//! relative to today). The README stays short and its links lead somewhere.

use std::path::Path;

use crate::common::apctl_command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// Each console block: the command's words and the output shown under it.
fn console_blocks(text: &str) -> Vec<(Vec<String>, String)> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```console\n") {
        let body = &rest[start + "```console\n".len()..];
        let end = body.find("\n```").expect("a closed block");
        let block = &body[..end];
        let (command, output) = block.split_once('\n').unwrap_or((block, ""));
        let command = command
            .strip_prefix("$ ")
            .expect("a block starts with its command");
        let words = command.split_whitespace().map(str::to_owned).collect();
        blocks.push((words, output.to_owned()));
        rest = &body[end..];
    }
    blocks
}

#[test]
fn the_quickstart_runs_as_written_and_prints_what_the_readme_shows() {
    let text = readme();
    let blocks = console_blocks(&text);
    assert!(blocks.len() >= 4, "the five steps' commands: {blocks:?}");
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let copy = dir.path().join("examples");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&examples).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    for (words, shown) in blocks {
        assert_eq!(words[0], "apctl");
        let out = apctl_command()
            .args(&words[1..])
            .current_dir(dir.path())
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            crate::mistakes::undated(printed.trim_end()),
            crate::mistakes::undated(shown.trim_end()),
            "`{}` printed something else than the README shows (stderr: {})",
            words.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What step 5 says it wrote.
    assert!(dir.path().join("report.html").is_file());
    assert!(dir.path().join("customers/contoso-ltd.html").is_file());
}

#[test]
fn the_readme_is_short_starts_with_the_two_commands_and_its_links_lead_somewhere() {
    let text = readme();
    assert!(text.lines().count() <= 400, "{} lines", text.lines().count());
    let first_block = &text[text.find("```sh\n").unwrap()..];
    assert!(first_block.starts_with(
        "```sh\ncargo run -- import examples/contoso-autopilot.csv --tenant contoso.onmicrosoft.com --simulate\ncargo test --locked\n```"
    ));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, text) in [
        (root.join("README.md"), text.clone()),
        (
            root.join("docs/guide.md"),
            std::fs::read_to_string(root.join("docs/guide.md")).unwrap(),
        ),
        (
            root.join("docs/development.md"),
            std::fs::read_to_string(root.join("docs/development.md")).unwrap(),
        ),
    ] {
        let base = file.parent().unwrap();
        for link in text.split("](").skip(1) {
            let target = &link[..link.find(')').unwrap()];
            if target.starts_with("http") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = if path.is_empty() {
                file.clone()
            } else {
                base.join(path)
            };
            assert!(
                path.exists(),
                "{}: the link {target} leads nowhere",
                file.display()
            );
            if !anchor.is_empty() {
                let doc = std::fs::read_to_string(&path).unwrap();
                let found = doc.lines().filter(|l| l.starts_with('#')).any(|h| {
                    let slug: String = h
                        .trim_start_matches('#')
                        .trim()
                        .to_lowercase()
                        .chars()
                        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                        .map(|c| if c == ' ' { '-' } else { c })
                        .collect();
                    slug == anchor
                });
                assert!(
                    found,
                    "{}: no heading for #{anchor} in {}",
                    file.display(),
                    path.display()
                );
            }
        }
    }
}
