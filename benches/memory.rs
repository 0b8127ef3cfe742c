//! Benchmark: memory in the number of devices (issue #26 point 5). One
//! customer of 1,000, 10,000 and 50,000 new devices, each run of
//! `apctl import` in its own process against `apctl simulate` in another
//! (imports decided at once, no throttling, profiles at once), with the
//! JSON report written as the run goes. Prints each run's wall time, peak
//! resident set (target: under 150 MiB at 50,000) and report size.
//!
//! Run: `cargo bench --bench memory` (`APCTL_BENCH_SIZES=1000,10000` for
//! fewer).

mod common;
#[path = "common/simulate.rs"]
mod simulate;

use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let sizes: Vec<usize> = std::env::var("APCTL_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 50_000]);
    let world = apctl::simulator::demo_world();
    println!("memory: one customer, new devices, imports decided at once, no throttling");
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("devices.csv");
        common::write_devices(&file, (0..n).map(|i| format!("MEM-{i:07}")), n as u64);
        let (mut sim, uri) = simulator();
        let report = dir.path().join("report.json");
        let start = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_apctl"))
            .args([
                "import",
                file.to_str().unwrap(),
                "--tenant",
                "contoso.onmicrosoft.com",
                "-q",
            ])
            .arg("--report")
            .arg(&report)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(["--timeout", "30m"])
            .env("APCTL_GRAPH_URL", &uri)
            .env("AZURE_AUTHORITY_HOST", &uri)
            .env("AZURE_CLIENT_ID", &world.client_id)
            .env("AZURE_CLIENT_SECRET", &world.client_secret)
            .env("APCTL_TIME_SCALE", "0")
            .env_remove("TF_BUILD")
            .env_remove("GITHUB_ACTIONS")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("apctl import starts");
        let (code, peak_kib) = wait_with_peak(child);
        let elapsed = start.elapsed();
        let size = std::fs::metadata(&report).map_or(0, |m| m.len());
        println!(
            "{n:>6} devices: exit {code}, {:.1} s, peak RSS {:.1} MiB ({:.1} KiB per device), report {:.1} MB",
            elapsed.as_secs_f64(),
            peak_kib as f64 / 1024.0,
            peak_kib as f64 / n as f64,
            size as f64 / 1e6
        );
        let _ = sim.kill();
        let _ = sim.wait();
    }
}

/// `apctl simulate` on a free port: imports decided at once, profiles at
/// once (this measures apctl, not the service's pace).
fn simulator() -> (std::process::Child, String) {
    simulate::start(["--import-delay", "0s", "--profile-delay", "0s"])
}

/// Waits for the child; returns its exit code and its own peak resident
/// set in KiB (0 where `wait4` is missing).
#[cfg(unix)]
fn wait_with_peak(child: std::process::Child) -> (i32, u64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 writes only the status and the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    std::mem::forget(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss.max(0) as u64)
}

#[cfg(not(unix))]
fn wait_with_peak(mut child: std::process::Child) -> (i32, u64) {
    let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
    (code, 0)
}
