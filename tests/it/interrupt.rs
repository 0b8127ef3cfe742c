//! Ctrl-C during `apctl import`: sending stops, what was sent is followed
//! for the grace period, the report is still written, and the exit code
//! says the run was interrupted.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::example;

#[test]
fn ctrl_c_writes_the_report_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut child = crate::common::apctl_command()
        .args([
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
        ])
        // Real time, so the run is still waiting on the service when interrupted.
        .args([
            "--time-scale",
            "1",
            "--grace",
            "0s",
            "--report",
            report.to_str().unwrap(),
        ])
        .env_remove("APCTL_TIME_SCALE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("devices sent") {
        line.clear();
    }
    assert!(line.contains("6 devices sent"), "{line}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "{rest}");
    assert!(rest.contains("interrupted: sending stops"), "{rest}");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["verdict"], "interrupted");
    assert_eq!(
        r["entries"].as_array().unwrap().len(),
        8,
        "every row is in the report"
    );
    let first = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["serialNumber"] == "CTS-0001")
        .unwrap();
    assert_eq!(
        (first["action"].as_str(), first["state"].as_str()),
        (Some("sent"), Some("Registration pending"))
    );
}

/// A CI agent cancelling the job: SIGTERM stops the run as Ctrl-C does,
/// under Azure DevOps and GitHub Actions alike, with the grace shortened to
/// fit the agent's window before SIGKILL. The final report is written and
/// the exit code is 143.
#[cfg(unix)]
#[test]
fn sigterm_under_either_ci_writes_the_report_and_exits_143() {
    for ci in [("TF_BUILD", "True"), ("GITHUB_ACTIONS", "true")] {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.json");
        let mut child = crate::common::apctl_command()
            .args([
                "import",
                &example("contoso-autopilot.csv"),
                "--tenant",
                "contoso.onmicrosoft.com",
                "--simulate",
                "--time-scale",
                "1",
                "--report",
                report.to_str().unwrap(),
            ])
            .env_remove("APCTL_TIME_SCALE")
            .env(ci.0, ci.1)
            .env("AGENT_TEMPDIRECTORY", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("devices sent") {
            line.clear();
        }
        // SAFETY: a plain kill(2) of the child we started.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        let code = child.wait().unwrap().code();
        assert_eq!(code, Some(143), "{ci:?}: {rest}");
        assert!(
            rest.contains("terminated (SIGTERM): sending stops"),
            "{ci:?}: {rest}"
        );
        assert!(
            rest.contains("for up to 5s"),
            "the CI grace, inside the agent's 7.5 s: {rest}"
        );
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(r["verdict"], "interrupted", "{ci:?}");
        assert_eq!(r["entries"].as_array().unwrap().len(), 8, "{ci:?}: every row");
    }
}

/// Ctrl-C while the service holds the import's answer: the request is
/// abandoned instead of eating the grace, the tenant is looked at, and the
/// devices it staged are followed as sent — not left as "may have been
/// sent" — with nothing sent again.
#[cfg(unix)]
#[test]
fn a_held_import_is_abandoned_at_ctrl_c_and_its_rows_looked_up() {
    let sim = crate::common::SimProcess::start(&[
        crate::common::PROFILES_AT_ONCE,
        "--import-delay",
        "0s",
        "--hold",
        "graph.import:1",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::hash_rows(dir.path(), "HELD", 10, 77);
    let report = dir.path().join("report.json");
    let mut cmd = crate::common::apctl_command();
    cmd.args([
        "import",
        file.to_str().unwrap(),
        "--tenant",
        "contoso.onmicrosoft.com",
    ])
    .args([
        "--time-scale",
        "1",
        "--poll-interval",
        "20ms",
        "--grace",
        "8s",
        "-q",
    ])
    .arg("--report")
    .arg(&report)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    for (k, v) in sim.env() {
        cmd.env(k, v);
    }
    cmd.env_remove("APCTL_TIME_SCALE")
        .env_remove("TF_BUILD")
        .env_remove("GITHUB_ACTIONS")
        .env("XDG_STATE_HOME", dir.path().join("state"));
    let mut child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while sim.stats()["requests"]["held-answer"].as_u64().unwrap_or(0) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apctl ended before its import was held"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the import was never held"
        );
        std::thread::yield_now();
    }
    // SAFETY: a plain kill(2) of the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest}");
    assert!(rest.contains("request was abandoned"), "{rest}");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let entries = r["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 10, "every row");
    for e in entries {
        assert_eq!(e["action"], "sent", "{e}");
        assert!(
            e["importedIdentityId"].is_string(),
            "looked up and found staged: {e}"
        );
        assert!(
            !e["details"].as_str().unwrap_or("").contains("may have been sent"),
            "{e}"
        );
    }
    assert_eq!(
        crate::common::requests(&sim.stats(), "graph.import"),
        1,
        "nothing was sent again after the stop"
    );
}
