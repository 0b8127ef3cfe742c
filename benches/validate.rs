//! Benchmark: validate 100,000 rows with 4,000-character hashes (about
//! 410 MB) and print throughput and peak memory.
//!
//! Run: `cargo bench --bench validate` (set `APCTL_BENCH_ROWS` for another
//! size). Targets on the project's 2-core machine: at least 150 MB/s and a
//! peak RSS under 64 MiB, because rows are streamed and duplicates are found
//! from digests.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use apctl::input::validate::{self, ValidateOptions};

fn main() {
    let rows: u64 = std::env::var("APCTL_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.csv");
    let bytes = write_file(&path, rows);
    reset_peak_rss();
    let base_rss = peak_rss_kib();
    let start = Instant::now();
    let mut seen = 0u64;
    let result = validate::validate(std::slice::from_ref(&path), &ValidateOptions::default(), |_| {
        seen += 1
    });
    let secs = start.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    assert_eq!(result.summary.valid_rows, rows, "every generated row is valid");
    assert_eq!(seen, rows);
    let mb = bytes as f64 / 1e6;
    println!("validate: {rows} rows, {mb:.0} MB in {secs:.2} s");
    println!(
        "throughput: {:.0} MB/s ({:.0} rows/s)  target >= 150 MB/s",
        mb / secs,
        rows as f64 / secs
    );
    match (peak, base_rss) {
        (Some(p), Some(b)) => println!(
            "peak RSS: {:.1} MiB (process before validating: {:.1} MiB)  target < 64 MiB",
            p as f64 / 1024.0,
            b as f64 / 1024.0
        ),
        _ => println!("peak RSS: unavailable (no /proc/self/status)"),
    }
}

/// Writes an Autopilot CSV with distinct serials and 4,000-character hashes.
fn write_file(path: &std::path::Path, rows: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create bench file"));
    let header = b"Device Serial Number,Windows Product ID,Hardware Hash,Group Tag\r\n";
    out.write_all(header).unwrap();
    let mut bytes = header.len() as u64;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut hash = vec![b'A'; 4000];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..rows {
        for b in hash.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = alphabet[(state & 63) as usize];
        }
        let line = format!("BENCH-{i:08},,{},Sales\r\n", std::str::from_utf8(&hash).unwrap());
        out.write_all(line.as_bytes()).unwrap();
        bytes += line.len() as u64;
    }
    out.flush().unwrap();
    bytes
}

/// Resets the kernel's peak-RSS mark so generation does not count.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// VmHWM of this process in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
