//! The shape the code keeps: no file over 600 lines outside its tests, no
//! function over 80 lines, no `Result<_, String>` in the library, no two
//! top-level modules that need each other, and one way out to stdout and
//! stderr (`src/cli/term.rs`, which cleans every byte). A change that breaks one of
//! these splits the file, the function or the module instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            // One separator on every platform: the checks name paths with `/`.
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The text before the file's unit-test module.
fn without_tests(text: &str) -> &str {
    text.find("\n#[cfg(test)]\nmod ").map_or(text, |i| &text[..i])
}

/// The text with comments, strings and character literals blanked (line
/// breaks kept), so braces and words in them do not count.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend(bytes.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }))
    };
    while i < b.len() {
        let rest = &b[i..];
        let end = if rest.starts_with(b"//") {
            rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"r#\"") || rest.starts_with(b"r\"") {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let body = 2 + hashes;
            body + rest[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .unwrap_or(0)
                + close.len()
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else if rest[0] == b'\'' && rest.len() > 2 && (rest[2] == b'\'' || rest[1] == b'\\') {
            // A character literal, not a lifetime.
            let mut j = 1;
            while j < rest.len() && rest[j] != b'\'' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        let end = end.min(rest.len());
        blank(&mut out, &rest[..end]);
        i += end;
    }
    String::from_utf8(out).unwrap()
}

/// Every function with a body: its name, first line and length in lines.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = code[from..].find("fn ") {
        let at = from + pos;
        from = at + 3;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let Some(open) = code[at..].find(['{', ';']).map(|o| at + o) else {
            break;
        };
        if b[open] == b';' {
            continue;
        }
        let mut depth = 0;
        let mut close = open;
        for (k, &c) in b[open..].iter().enumerate() {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let first = code[..at].matches('\n').count() + 1;
        let last = code[..close].matches('\n').count() + 1;
        out.push((name, first, last - first + 1));
    }
    out
}

#[test]
fn no_file_over_600_lines_outside_its_tests() {
    let long: Vec<String> = sources()
        .iter()
        .map(|(path, text)| (path, without_tests(text).lines().count()))
        .filter(|(_, n)| *n > MAX_FILE_LINES)
        .map(|(path, n)| format!("{path}: {n} lines"))
        .collect();
    assert!(long.is_empty(), "split these files: {long:#?}");
}

#[test]
fn no_function_over_80_lines() {
    let mut long = Vec::new();
    for (path, text) in sources() {
        for (name, line, n) in functions(&code_only(&text)) {
            if n > MAX_FN_LINES {
                long.push(format!("{path}:{line} {name}: {n} lines"));
            }
        }
    }
    assert!(long.is_empty(), "split these functions: {long:#?}");
}

#[test]
fn the_library_returns_typed_errors() {
    let mut text_errors = Vec::new();
    for (path, text) in sources()
        .iter()
        .filter(|(p, _)| !p.starts_with("src/cli") && !p.ends_with("main.rs"))
    {
        for (n, line) in code_only(without_tests(text)).lines().enumerate() {
            let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.contains("Result<") && compact.contains(",String>") {
                text_errors.push(format!("{path}:{}", n + 1));
            }
        }
    }
    assert!(
        text_errors.is_empty(),
        "give these a typed error: {text_errors:#?}"
    );
}

#[test]
fn no_two_modules_need_each_other() {
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let Some(module) = path
            .strip_prefix("src/")
            .and_then(|p| p.split(['/', '.']).next())
            .filter(|m| !matches!(*m, "cli" | "main" | "lib"))
        else {
            continue;
        };
        let code = code_only(without_tests(&text));
        for (i, _) in code.match_indices("crate::") {
            let other: String = code[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if other != module && !other.is_empty() {
                needs.entry(module.to_owned()).or_default().insert(other);
            }
        }
    }
    // A module reaches itself through others: a circle.
    let mut circles = Vec::new();
    for start in needs.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = needs[start].iter().collect();
        while let Some(m) = todo.pop() {
            if m == start {
                circles.push(start.clone());
                break;
            }
            if seen.insert(m.clone()) {
                todo.extend(needs.get(m).into_iter().flatten());
            }
        }
    }
    assert!(
        circles.is_empty(),
        "these modules reach themselves: {circles:?}\n{needs:#?}"
    );
}

/// The one writer: the only file allowed to reach stdout or stderr.
const WRITER: &str = "src/cli/term.rs";

/// Where code (outside strings and comments) prints or takes a standard
/// stream by itself.
fn ways_out(code: &str) -> Vec<usize> {
    const FORBIDDEN: &[&str] = &[
        "println!",
        "print!",
        "eprintln!",
        "eprint!",
        "stdout()",
        "stderr()",
        "dbg!",
    ];
    code.lines()
        .enumerate()
        .filter(|(_, line)| {
            FORBIDDEN.iter().any(|f| {
                line.match_indices(f).any(|(at, _)| {
                    // `print!` inside `eprint!` or `sprint!`-like names counts
                    // once, under its own name.
                    at == 0
                        || !line.as_bytes()[at - 1].is_ascii_alphanumeric() && line.as_bytes()[at - 1] != b'_'
                })
            })
        })
        .map(|(n, _)| n + 1)
        .collect()
}

#[test]
fn every_byte_out_goes_through_the_one_writer() {
    let mut stray = Vec::new();
    for (path, text) in sources().iter().filter(|(p, _)| p != WRITER) {
        for line in ways_out(&code_only(without_tests(text))) {
            stray.push(format!("{path}:{line}"));
        }
    }
    assert!(
        stray.is_empty(),
        "write through `cli::term` (it cleans every byte), not here: {stray:#?}"
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The way-out check finds each form in code, and none in text or comments.
    let code = code_only(
        "fn a() {\n    println!(\"x\");\n    let s = \"eprintln!\"; // print!\n    std::io::stderr().flush();\n    eprint!(\"y\");\n    sprint!(z);\n}\n",
    );
    assert_eq!(ways_out(&code), [2, 4, 5]);
    assert!(
        sources()
            .iter()
            .any(|(p, t)| p == WRITER && !ways_out(&code_only(t)).is_empty())
    );
    let code = code_only(
        "fn a() {\n    let s = \"}{\"; // }\n    let c = '}';\n}\nfn b(x: &'a str) -> Result<(), String>;\n",
    );
    assert_eq!(functions(&code), [("a".to_owned(), 1, 4)]);
    assert!(code.contains("Result<(), String>"));
    assert!(!code.contains("\"}{\""));
}
