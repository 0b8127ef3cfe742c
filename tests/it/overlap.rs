//! Runs that overlap: two `apctl import` processes on the same file and
//! customer against one simulator, on one machine (the per-customer lock)
//! and as if on two machines (separate state folders: only the tenant's
//! staged records tell them apart). Every device is sent at most once in
//! all, both reports account for every row, no staged record is left, and
//! a run that follows another's records never reports a false pending when
//! the other cleans them up. The simulator answers a second registration
//! of a device as the real service does (806), and every test's simulator
//! asserts on drop that nothing was registered twice.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use crate::common::{SimProcess, fake_hash, write};
use serde_json::Value;

const DEVICES: u64 = 12;
const CONTOSO: &str = "contoso.onmicrosoft.com";

fn devices(dir: &Path) -> String {
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\r\n");
    for i in 0..DEVICES {
        text.push_str(&format!("OVER-{i:03},,{}\r\n", fake_hash(900 + i, 3000)));
    }
    write(dir, "devices.csv", text).display().to_string()
}

/// A run that polls in real time, every 20 ms, for at most 2 minutes: it
/// waits on the simulator, which another process steers, so its clock
/// cannot skip ahead.
const LIVE: &[&str] = &["--time-scale", "1", "--poll-interval", "20ms", "--timeout", "2m"];

/// Starts `apctl import` in the background.
fn spawn(sim: &SimProcess, file: &str, report: &Path, state: &Path, extra: &[&str]) -> Child {
    let mut cmd = crate::common::apctl_command();
    cmd.args(["import", file, "--tenant", CONTOSO, "--report"])
        .arg(report)
        .args(extra)
        .env("APCTL_STATE_DIR", state)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in sim.env() {
        cmd.env(k, v);
    }
    for k in ["TF_BUILD", "GITHUB_ACTIONS"] {
        cmd.env_remove(k);
    }
    cmd.spawn().expect("apctl starts")
}

fn finish(child: Child) -> i32 {
    child.wait_with_output().unwrap().status.code().unwrap_or(-1)
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The report has every row once, each in a final, truthful outcome.
fn every_row_once(r: &Value) -> Vec<(String, Option<String>)> {
    let entries = r["entries"].as_array().unwrap();
    assert_eq!(entries.len() as u64, DEVICES, "{r}");
    let mut lines: Vec<u64> = entries.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    lines.dedup();
    assert_eq!(lines.len() as u64, DEVICES);
    entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["state"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Waits until the simulator has seen `n` requests of `kind`.
fn until_seen(sim: &SimProcess, kind: &str, n: u64) {
    let start = std::time::Instant::now();
    while crate::common::requests(&sim.stats(), kind) < n {
        assert!(start.elapsed().as_secs() < 60, "never saw {n} {kind}");
        std::thread::yield_now();
    }
}

/// Two runs started at once, on one machine (one state folder: the lock
/// lets one work, or with `--wait-for-other-runs` wait for it) and on two
/// agents (two state folders: both may send, and the service answers 806
/// to the second registration). Either way each report is right and
/// nothing is left staged.
#[test]
fn two_runs_started_together_send_every_device_once() {
    for (wait, agents) in [(false, 1), (true, 1), (false, 2)] {
        let mut sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
        let dir = tempfile::tempdir().unwrap();
        let file = devices(dir.path());
        let (ra, rb) = (dir.path().join("a.json"), dir.path().join("b.json"));
        let other = tempfile::tempdir().unwrap();
        let state_b = if agents == 2 { other.path() } else { dir.path() };
        let extra: &[&str] = if wait { &["--wait-for-other-runs"] } else { &[] };
        let a = spawn(&sim, &file, &ra, dir.path(), extra);
        let b = spawn(&sim, &file, &rb, state_b, extra);
        let (code_a, code_b) = (finish(a), finish(b));
        for (code, path) in [(code_a, &ra), (code_b, &rb)] {
            let outcomes = every_row_once(&report(path));
            for (action, state) in &outcomes {
                match action.as_str() {
                    "sent" | "already-registered" | "followed-staged" => {
                        assert_eq!(state.as_deref(), Some("Ready for user"), "{outcomes:?}")
                    }
                    "another-run" => {
                        assert!(
                            !wait && agents == 1,
                            "only this machine's lock leaves devices to the other"
                        )
                    }
                    other => panic!("{other}: {outcomes:?}"),
                }
            }
            let left = outcomes.iter().any(|(a, _)| a == "another-run");
            assert_eq!(
                code,
                if left { 3 } else { 0 },
                "wait={wait}, agents={agents}: {outcomes:?}"
            );
        }
        let stats = sim.stats();
        let sent = stats["importedItems"].as_u64().unwrap();
        if agents == 1 {
            assert_eq!(
                sent, DEVICES,
                "wait={wait}: each device sent once in all: {stats}"
            );
        } else {
            // Two agents that look in the same instant may both send: the
            // second import of a device is answered 806, and the tenant
            // holds each device once.
            assert!((DEVICES..=2 * DEVICES).contains(&sent), "{stats}");
            let listed = crate::common::apctl_sim(&sim, &["status", "--tenant", CONTOSO, "-o", "json"], &[]);
            let serials: Vec<String> = listed.json()["devices"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|d| {
                    d["serialNumber"]
                        .as_str()
                        .filter(|s| s.starts_with("OVER-"))
                        .map(str::to_owned)
                })
                .collect();
            let once: std::collections::BTreeSet<&String> = serials.iter().collect();
            assert_eq!(
                (serials.len(), once.len()),
                (DEVICES as usize, DEVICES as usize),
                "{serials:?}"
            );
            sim.allow_duplicate_sends();
        }
        assert_eq!(stats["stagedRecords"], 0, "{stats}");
    }
}

#[test]
fn a_run_on_this_machine_leaves_a_busy_customer_to_the_run_working_on_it() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "1h"]);
    let dir = tempfile::tempdir().unwrap();
    let file = devices(dir.path());
    let (ra, rb) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let a = spawn(&sim, &file, &ra, dir.path(), LIVE);
    until_seen(&sim, "graph.import", 1);
    // A holds the customer while it polls: B leaves every device to it.
    let b = spawn(&sim, &file, &rb, dir.path(), &[]);
    assert_eq!(finish(b), 3, "left to another run: run again later");
    let b = report(&rb);
    for (action, state) in every_row_once(&b) {
        assert_eq!((action.as_str(), state), ("another-run", None));
    }
    assert!(
        b["causes"][0]["error"]
            .as_str()
            .unwrap()
            .contains("another apctl run on this machine"),
        "{}",
        b["causes"]
    );
    sim_finish_imports(&sim);
    assert_eq!(finish(a), 0);
    let stats = sim.stats();
    assert_eq!(stats["importedItems"], DEVICES, "{stats}");
    assert_eq!(stats["stagedRecords"], 0, "{stats}");
}

#[test]
fn a_run_on_another_agent_follows_a_live_runs_records_to_their_verdicts() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "1h"]);
    let dir = tempfile::tempdir().unwrap();
    let file = devices(dir.path());
    // Two machines: two state folders, so no lock is shared.
    let (state_a, state_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ra, rb) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let a = spawn(&sim, &file, &ra, state_a.path(), LIVE);
    until_seen(&sim, "graph.import", 1);

    // A run on another agent follows A's records, reading only: one that
    // ends before they settle sends nothing and says they are pending.
    let rb0 = dir.path().join("b0.json");
    let b0 = spawn(
        &sim,
        &file,
        &rb0,
        state_b.path(),
        &["--time-scale", "1", "--poll-interval", "20ms", "--timeout", "1s"],
    );
    assert_eq!(finish(b0), 3);
    for (action, state) in every_row_once(&report(&rb0)) {
        assert_eq!(
            (action.as_str(), state.as_deref()),
            ("followed-staged", Some("Registration pending"))
        );
    }

    // One that waits long enough follows them to their verdicts.
    let mut b = spawn(&sim, &file, &rb, state_b.path(), LIVE);
    let mut lines = BufReader::new(b.stderr.take().unwrap()).lines();
    let looked = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("staged"))
        .expect("B's lookup line");
    assert!(looked.contains(&format!("{DEVICES} staged")), "{looked}");
    std::thread::spawn(move || lines.for_each(drop));
    // The service decides; A confirms and deletes its records, B sees
    // them settle or vanish and finds the devices registered.
    sim_finish_imports(&sim);
    assert_eq!(finish(a), 0);
    assert_eq!(finish(b), 0, "no false pending");
    for (action, state) in every_row_once(&report(&rb)) {
        assert_eq!(action, "followed-staged");
        assert_eq!(state.as_deref(), Some("Ready for user"));
    }
    let stats = sim.stats();
    assert_eq!(stats["importedItems"], DEVICES, "B sent nothing: {stats}");
    assert_eq!(stats["stagedRecords"], 0, "{stats}");
}

#[test]
fn the_simulator_answers_a_second_registration_with_806() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let hash = fake_hash(77, 3000);
    // The same hash twice in one upload (two serials), and CTS-0003, which
    // the tenant already holds, sent anyway through a file of its own
    // (apctl itself would never send it: it looks first).
    let twice = write(
        dir.path(),
        "twice.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\r\nDUP-1,,{hash}\r\nDUP-2,,{hash}\r\n"
        ),
    );
    let run = crate::common::apctl_sim(
        &sim,
        &["validate", twice.to_str().unwrap(), "--output", "json"],
        &[],
    );
    assert_eq!(run.code, 1, "apctl refuses the duplicate before sending");
    assert_eq!(crate::common::problems(&run.json(), "duplicate-hash").len(), 1);
    // Straight to the simulator, as a client that does not look first.
    let token = sim_token(&sim);
    let body = serde_json::json!({"importedWindowsAutopilotDeviceIdentities": [
        {"serialNumber": "DUP-1", "hardwareIdentifier": hash},
        {"serialNumber": "DUP-2", "hardwareIdentifier": hash},
        {"serialNumber": "CTS-0003", "hardwareIdentifier": fake_hash(78, 3000)},
    ]});
    let answer = sim_post(
        &sim,
        "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities/import",
        &token,
        &body,
    );
    assert!(answer.contains("\"value\""), "{answer}");
    let list = sim_get(
        &sim,
        "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities",
        &token,
    );
    let list: Value = serde_json::from_str(&list).unwrap();
    let name = |serial: &str| {
        list["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["serialNumber"] == serial)
            .map(|r| r["state"]["deviceErrorName"].as_str().unwrap_or("").to_owned())
            .unwrap()
    };
    assert_eq!(name("DUP-2"), "ZtdDeviceDuplicated");
    assert_eq!(name("CTS-0003"), "ZtdDeviceAlreadyAssigned");
    assert_eq!(name("DUP-1"), "None");
}

fn sim_finish_imports(sim: &SimProcess) {
    http(sim, "POST", "/_apctl/finish-imports", None, None);
}

fn sim_token(sim: &SimProcess) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        crate::common::DEMO_CLIENT_ID,
        crate::common::DEMO_SECRET
    );
    let body = http(
        sim,
        "POST",
        &format!("/{CONTOSO}/oauth2/v2.0/token"),
        None,
        Some(("application/x-www-form-urlencoded", form)),
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

fn sim_post(sim: &SimProcess, path: &str, token: &str, body: &Value) -> String {
    http(
        sim,
        "POST",
        path,
        Some(token),
        Some(("application/json", body.to_string())),
    )
}

fn sim_get(sim: &SimProcess, path: &str, token: &str) -> String {
    http(sim, "GET", path, Some(token), None)
}

/// A plain HTTP/1.1 request to the simulator on loopback.
fn http(
    sim: &SimProcess,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, String)>,
) -> String {
    use std::io::{Read, Write};
    let addr = sim.uri.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let (kind, text) = body.unwrap_or(("text/plain", String::new()));
    head.push_str(&format!(
        "Content-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
        text.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(text.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split("\r\n\r\n").nth(1).unwrap_or("").to_owned()
}

/// An outage gives the same exit code every time, and rows that never
/// reached the service are not sent, never "Registration failed".
#[test]
fn the_same_outage_gives_the_same_exit_code_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = devices(dir.path());
    let mut codes = Vec::new();
    for _ in 0..3 {
        let sim = SimProcess::start(&[
            crate::common::PROFILES_AT_ONCE,
            "--import-delay",
            "0s",
            "--fault-rate",
            "0.9",
        ]);
        let run = crate::common::apctl_sim(
            &sim,
            &[
                "import",
                &file,
                "--tenant",
                CONTOSO,
                "--concurrency",
                "1",
                "--output",
                "json",
            ],
            &[("APCTL_STATE_DIR", dir.path().to_str().unwrap())],
        );
        let r = run.json();
        assert_eq!(
            r["totals"]["byState"]["Registration failed"], 0,
            "{}",
            r["totals"]
        );
        for (action, state) in every_row_once(&r) {
            assert_eq!((action.as_str(), state), ("not-sent", None));
        }
        assert_eq!(r["causes"].as_array().unwrap().len(), 1, "{}", r["causes"]);
        codes.push(run.code);
    }
    assert_eq!(codes, [2, 2, 2]);
}
