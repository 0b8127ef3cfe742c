//! Helpers shared by the integration tests: run the built binary, find the
//! real-world material, and make synthetic hashes and files.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a run of `apctl` produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

/// Runs the built `apctl` binary with the arguments.
pub fn apctl<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = apctl_command()
        .args(args)
        .output()
        .expect("the apctl binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A hash-row CSV of `n` devices (`<prefix>-<i>`, hashes from `seed` on)
/// written to `dir/<prefix>.csv`.
pub fn hash_rows(dir: &Path, prefix: &str, n: u64, seed: u64) -> PathBuf {
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for i in 0..n {
        text.push_str(&format!("{prefix}-{i:02},,{}\n", fake_hash(seed + i, 3000)));
    }
    write(dir, &format!("{prefix}.csv"), text)
}

/// A file of `testdata/real-world/`.
pub fn real_world(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/real-world")
        .join(rel);
    assert!(p.exists(), "real-world file missing: {}", p.display());
    p
}

/// A synthetic, well-formed hash: base64 of `bytes` pseudo-random bytes.
/// Not a real device; different seeds give different hashes.
pub fn fake_hash(seed: u64, bytes: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut data = Vec::with_capacity(bytes);
    for _ in 0..bytes {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        data.push((state >> 33) as u8);
    }
    let mut out = String::with_capacity(bytes.div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Writes `text` to `dir/name` as UTF-8 bytes and returns the path.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Encodes text as UTF-16 LE with BOM, as Windows PowerShell 5.1 writes.
pub fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// Encodes text as UTF-16 BE with BOM.
pub fn utf16be_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
    out
}

/// The problems of a validate JSON document with the given code.
pub fn problems<'a>(doc: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["code"] == code)
        .collect()
}

/// Runs `apctl` with extra environment variables.
pub fn apctl_env<I, S>(args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = apctl_command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the apctl binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The variables a test's apctl may see from the developer's or CI's own
/// environment: what a process needs to start and find its temporary
/// folder. Everything else — a developer's own `AZURE_*`, `APCTL_*`, a CI's
/// `TF_BUILD` or `GITHUB_ACTIONS` — is cleared, so no result depends on the
/// machine the tests run on; a test sets what it means to.
const PASSED_THROUGH: &[&str] = &[
    "PATH",
    "Path",
    "SystemRoot",
    "SYSTEMROOT",
    "windir",
    "WINDIR",
    "ComSpec",
    "PATHEXT",
    "TEMP",
    "TMP",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "RUST_BACKTRACE",
    "LLVM_PROFILE_FILE",
];

/// The apctl binary with a cleared environment (see [`PASSED_THROUGH`]) and
/// the tests' own state folder.
pub fn apctl_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apctl"));
    cmd.env_clear();
    for var in PASSED_THROUGH {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd.env("XDG_STATE_HOME", state_home());
    cmd
}

/// The state folder every test run of apctl shares (locks, what was sent),
/// inside the build folder rather than the user's home.
pub fn state_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("state")
}

/// The demo world's app credentials (see wiremock-fixtures/simulator/demo-world.json).
pub const DEMO_CLIENT_ID: &str = "6b7c8d9e-0000-4000-8000-00000000a9c1";
pub const DEMO_SECRET: &str = "apctl-demo-secret";

/// An `apctl simulate` child process, stopped on drop.
pub struct SimProcess {
    child: std::process::Child,
    pub uri: String,
    /// Runs on two agents may both send a device; the service answers the
    /// second 806 (the counter of devices sent twice is then not zero).
    duplicates_allowed: bool,
}

/// `apctl simulate` assigning deployment profiles at once: friendlier than
/// the service (some minutes after registration, a minute after a sync).
/// Tests against a `SimProcess` run apctl's clock at scale 0 and the
/// simulator's on the real clock, so nothing that takes the service minutes
/// happens within them; those that expect "Ready for user" say so with
/// this.
pub const PROFILES_AT_ONCE: &str = "--profile-delay=0s";

impl SimProcess {
    /// Starts `apctl simulate` with the extra arguments and waits for its URL.
    pub fn start(extra: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = apctl_command()
            .arg("simulate")
            .args(["--port", "0"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("apctl simulate starts");
        let mut first = String::new();
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        reader.read_line(&mut first).unwrap();
        // Keep draining, so the simulator never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let uri = first
            .split_whitespace()
            .last()
            .expect("the simulator prints its URL")
            .to_owned();
        assert!(uri.starts_with("http://127.0.0.1:"), "{first}");
        Self {
            child,
            uri,
            duplicates_allowed: false,
        }
    }

    /// Environment that points apctl at this simulator with the demo app.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("APCTL_GRAPH_URL", self.uri.clone()),
            ("AZURE_AUTHORITY_HOST", self.uri.clone()),
            ("APCTL_PARTNER_CENTER_URL", self.uri.clone()),
            ("AZURE_CLIENT_ID", DEMO_CLIENT_ID.into()),
            ("AZURE_CLIENT_SECRET", DEMO_SECRET.into()),
            ("APCTL_TIME_SCALE", "0".into()),
        ]
    }

    /// For runs on two agents started together, which may both send a
    /// device: the test checks the second was answered 806 instead.
    pub fn allow_duplicate_sends(&mut self) {
        self.duplicates_allowed = true;
    }

    /// The simulator's counters.
    pub fn stats(&self) -> serde_json::Value {
        let addr = self.uri.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        use std::io::{Read, Write};
        write!(
            stream,
            "GET /_apctl/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("stats are JSON ({e}): {text}"))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        // Every test against a simulator checks the one thing that must
        // never happen: a device registered twice.
        let twice = if std::thread::panicking() || self.duplicates_allowed {
            None
        } else {
            Some(self.stats()["registeredTwice"].clone())
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(n) = twice {
            assert_eq!(n, 0, "a device was registered twice in the simulator");
        }
    }
}

/// `apctl` with a simulator's environment plus overrides.
pub fn apctl_sim(sim: &SimProcess, args: &[&str], overrides: &[(&str, &str)]) -> Run {
    let mut env: Vec<(&str, String)> = sim.env();
    for (k, v) in overrides {
        env.retain(|(name, _)| name != k);
        env.push((k, v.to_string()));
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    apctl_env(args, &pairs)
}

/// An example file of the repository.
pub fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// The report entry of a serial.
pub fn entry<'a>(report: &'a serde_json::Value, serial: &str) -> &'a serde_json::Value {
    by_serial(report, "entries", serial)
}

/// The element of the document's `list` with this `serialNumber`.
pub fn by_serial<'a>(doc: &'a serde_json::Value, list: &str, serial: &str) -> &'a serde_json::Value {
    doc[list]
        .as_array()
        .unwrap_or_else(|| panic!("no `{list}` in {doc:#}"))
        .iter()
        .find(|e| e["serialNumber"] == serial)
        .unwrap_or_else(|| panic!("no {serial} in `{list}`: {doc:#}"))
}

/// How many requests of a kind the simulator's statistics count (0 when none).
pub fn requests(stats: &serde_json::Value, kind: &str) -> u64 {
    stats["requests"][kind].as_u64().unwrap_or(0)
}

/// A wiremock responder that answers from a list, one per call; the last
/// answer repeats.
pub struct Sequence(Vec<wiremock::ResponseTemplate>, std::sync::atomic::AtomicUsize);

impl Sequence {
    pub fn new(answers: Vec<wiremock::ResponseTemplate>) -> Self {
        Self(answers, std::sync::atomic::AtomicUsize::new(0))
    }
}

impl wiremock::Respond for Sequence {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0[n.min(self.0.len() - 1)].clone()
    }
}

/// Every device read by id on `/beta` has a deployment profile assigned,
/// as a customer with a profile for all devices answers.
pub async fn profiles_assigned(server: &wiremock::MockServer) {
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path_regex(
            "^/beta/deviceManagement/windowsAutopilotDeviceIdentities/[^/]+$",
        ))
        .respond_with(|req: &wiremock::Request| {
            let id = req.url.path().rsplit('/').next().unwrap_or_default().to_owned();
            wiremock::ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"id": id, "deploymentProfileAssignmentStatus": "assignedInSync"}),
            )
        })
        .mount(server)
        .await;
}
