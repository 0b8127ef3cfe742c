//! Benchmark: 1,000,000 invalid rows through `validate` and `import
//! --dry-run`, each in its own `apctl` process, with wall time and the
//! process's peak memory (its maximum resident set, from `getrusage`).
//!
//! Run: `cargo bench --bench bad_input` (set `APCTL_BENCH_ROWS` for another
//! size). Targets on the project's 2-core machine: under 10 s and under
//! 64 MiB each, because problems beyond the first 1,000 of a file are
//! counted rather than kept, and rows never sent are not kept either.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let rows: u64 = std::env::var("APCTL_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.csv");
    let bytes = write_file(&path, rows);
    let file = path.to_str().expect("a UTF-8 path");
    println!(
        "input: {rows} invalid rows, {:.1} MB (bad hashes, empty serials, Excel-mangled serials, wrong field counts)",
        bytes as f64 / 1e6
    );
    for (name, args) in [
        ("validate", vec!["validate", file, "--output", "json"]),
        (
            "import --dry-run",
            vec![
                "import",
                file,
                "--tenant",
                "contoso.onmicrosoft.com",
                "--simulate",
                "--dry-run",
                "--output",
                "json",
            ],
        ),
    ] {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_apctl"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .output()
            .expect("apctl runs");
        let secs = start.elapsed().as_secs_f64();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        let counted = doc["summary"]["invalidRows"]
            .as_u64()
            .or_else(|| doc["totals"]["invalid"].as_u64())
            .unwrap_or(0);
        assert_eq!(counted, rows, "{name}: every row accounted for");
        println!(
            "{name:<17} {secs:>6.2} s  peak RSS {:>6.1} MiB  exit {}  output {:.0} KiB  (targets: < 10 s, < 64 MiB)",
            max_child_rss_kib() as f64 / 1024.0,
            out.status.code().unwrap_or(-1),
            out.stdout.len() as f64 / 1024.0
        );
    }
}

/// The largest resident set of any child waited for so far, in KiB (the
/// processes run one after another and grow, so this is the last one's
/// when it is the largest; each line reports the maximum so far).
#[cfg(unix)]
fn max_child_rss_kib() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } == 0;
    if ok { usage.ru_maxrss.max(0) as u64 } else { 0 }
}

/// Not measured where there is no getrusage (Windows): printed as 0.
#[cfg(not(unix))]
fn max_child_rss_kib() -> u64 {
    0
}

/// Writes a Get-WindowsAutopilotInfo file whose every row is invalid, in
/// four different ways in turn.
fn write_file(path: &std::path::Path, rows: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create bench file"));
    let header = b"Device Serial Number,Windows Product ID,Hardware Hash,Group Tag\r\n";
    out.write_all(header).unwrap();
    let mut bytes = header.len() as u64;
    for i in 0..rows {
        let line = match i % 4 {
            0 => format!("BAD-{i:08},,not-a-hash-{i},Sales\r\n"),
            1 => format!(",,QUJD{i:08},Sales\r\n"),
            2 => format!("1.23457E+{:02},,QUJD,Sales\r\n", i % 90 + 10),
            _ => format!("BAD-{i:08},,QUJD\r\n"),
        };
        out.write_all(line.as_bytes()).unwrap();
        bytes += line.len() as u64;
    }
    out.flush().unwrap();
    bytes
}
