//! Issue #29 point 3: help that teaches. Options under headings, `-h` one
//! line of help per option, examples in every command's long help (each
//! of which parses), global `-q`/`-v`/`--color`, man pages for every
//! command, and completions that say where they go.

use crate::common::{apctl, apctl_env, example};

/// The commands, as `apctl --help` lists them (without `help`).
fn commands() -> Vec<Vec<String>> {
    let top = apctl(["--help"]).stdout;
    let listed = &top[top.find("Commands:").unwrap()..];
    let mut all = Vec::new();
    for line in listed.lines().skip(1).take_while(|l| l.starts_with("  ")) {
        if line.starts_with("   ") {
            continue; // a wrapped description
        }
        let name = line.split_whitespace().next().unwrap();
        if name == "help" {
            continue;
        }
        if name == "report" {
            all.push(vec!["report".to_owned(), "merge".to_owned()]);
        } else {
            all.push(vec![name.to_owned()]);
        }
    }
    all
}

/// The example command lines of a `--help`, each as its words (shell
/// quotes removed; a redirection, pipe or comment ends the line).
fn examples(help: &str) -> Vec<Vec<String>> {
    let Some(start) = help.find("Examples:\n") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in help[start..].lines().skip(1).take_while(|l| !l.trim().is_empty()) {
        let Some(at) = line.find("apctl ") else { continue };
        let command = &line[at..];
        let end = command
            .char_indices()
            .find(|(i, c)| matches!(c, '#' | '>' | '|') || command[*i..].starts_with("  ("))
            .map_or(command.len(), |(i, _)| i);
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quoted = false;
        for c in command[..end].chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        out.push(words);
    }
    out
}

#[test]
fn every_option_is_under_a_heading_and_short_help_is_one_line_each() {
    let short = apctl(["import", "-h"]);
    assert_eq!(short.code, 0);
    for heading in [
        "Input:",
        "Customers:",
        "Waiting:",
        "Output files:",
        "Authentication:",
        "Endpoints:",
        "Tuning:",
        "Output:",
    ] {
        assert!(
            short.stdout.contains(&format!("\n{heading}\n")),
            "{heading}\n{}",
            short.stdout
        );
    }
    // Under "Options:" only help itself.
    let options = short.stdout.split("\nOptions:\n").nth(1).unwrap();
    let options = &options[..options.find("\n\n").unwrap()];
    assert_eq!(options.lines().count(), 1, "{options}");
    // `-h` gives each option its first sentence; `--help` the whole text.
    let long = apctl(["import", "--help"]).stdout;
    assert!(
        short.stdout.contains(
            "--no-wait-profile               Do not wait for Intune to assign deployment profiles\n"
        )
    );
    assert!(long.contains("A device counts as"));
    assert!(!short.stdout.contains("A device counts as"));
    assert!(short.stdout.lines().count() * 2 < long.lines().count());
    insta::assert_snapshot!("import_short_help", short.stdout);
}

#[test]
fn every_command_has_examples_and_each_parses() {
    let mut checked = 0;
    for command in commands() {
        let mut args = command.clone();
        args.push("--help".into());
        let help = apctl(&args).stdout;
        let lines = examples(&help);
        assert!(
            !lines.is_empty(),
            "`apctl {}` has no examples:\n{help}",
            command.join(" ")
        );
        for words in lines {
            assert_eq!(words[0], "apctl");
            // Parsed as the line is written: `--help` after it stops the
            // run once every argument before it has parsed.
            let mut args: Vec<String> = words[1..].to_vec();
            if args.first().is_some_and(|a| a == "completions" || a == "man") {
                continue; // their examples are whole shell lines, checked below
            }
            args.push("--help".into());
            let run = apctl(&args);
            assert_eq!(
                run.code,
                0,
                "the example `{}` does not parse: {}",
                words.join(" "),
                run.stderr
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} examples");
}

#[test]
fn completions_say_where_each_shell_reads_them() {
    let help = apctl(["completions", "--help"]).stdout;
    for place in [
        "bash-completion/completions/apctl",
        "~/.zfunc/_apctl",
        "fish/completions/apctl.fish",
        "$PROFILE",
        "elvish/lib/apctl.elv",
    ] {
        assert!(help.contains(place), "{place}:\n{help}");
    }
    let bash = apctl(["completions", "bash"]);
    assert!(
        bash.stdout.contains("--customer-html"),
        "completions know every option"
    );
}

#[test]
fn man_pages_for_every_command() {
    let import = apctl(["man", "import"]);
    assert_eq!(import.code, 0, "{}", import.stderr);
    assert!(
        import.stdout.starts_with(".ie") || import.stdout.contains(".TH apctl-import"),
        "{}",
        &import.stdout[..200]
    );
    assert!(
        import.stdout.contains("customer\\-html"),
        "the page has the options"
    );
    let merge = apctl(["man", "report", "merge"]);
    assert!(
        merge.stdout.contains(".TH apctl-report-merge"),
        "{}",
        merge.stderr
    );
    let wrong = apctl(["man", "imprt"]);
    assert_eq!(wrong.code, 2);
    assert!(
        wrong.stderr.contains("`imprt` is not a command") && wrong.stderr.contains("import"),
        "{}",
        wrong.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let all = apctl(["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for command in commands() {
        let name = format!("apctl-{}.1", command.join("-"));
        assert!(pages.contains(&name), "{name} among {pages:?}");
        // A page names no page that is not written.
        let text = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        for word in text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '\\' | '(' | ')'))) {
            if let Some(page) = word.strip_suffix("(1)") {
                assert!(
                    pages.contains(&format!("{}.1", page.replace("\\-", "-"))),
                    "{name} names {word}"
                );
            }
        }
    }
    assert!(pages.contains(&"apctl.1".to_owned()));
}

#[test]
fn quiet_verbose_and_colour_are_global() {
    let file = example("contoso-autopilot.csv");
    let plain = apctl(["validate", &file, "-q", "--color", "never"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stdout.contains('\u{1b}'));
    let coloured = apctl(["validate", &file, "--color", "always"]);
    let forced = apctl_env(["validate", &file], &[("FORCE_COLOR", "1")]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let import = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "import",
            &file,
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--state-dir",
            state.to_str().unwrap(),
        ];
        args.extend(extra);
        apctl_env(&args, env)
    };
    let never = import(&["-q", "--color", "never"], &[]);
    let always = import(&["--color", "always"], &[]);
    let forced_import = import(&[], &[("FORCE_COLOR", "1")]);
    let no = import(&[], &[("FORCE_COLOR", "0")]);
    assert!(!never.stdout.contains('\u{1b}'), "{}", never.stdout);
    assert!(always.stdout.contains("\u{1b}["), "{}", always.stdout);
    assert!(forced_import.stdout.contains("\u{1b}["));
    assert!(!no.stdout.contains('\u{1b}'));
    // validate's colours follow the same switch, where it has any.
    assert_eq!(coloured.code, 0);
    assert_eq!(forced.code, 0);
}
