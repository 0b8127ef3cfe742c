//! Two small stand-ins for the CI runners the example pipelines are written
//! for (issue #27 point 3): each reads an example file as its runner does —
//! jobs and stages in their order, the matrix expanded, conditions
//! (`always()`, `succeeded()`), variables and secrets mapped only where the
//! file maps them, artifacts uploaded and downloaded — and runs every step's
//! own script in bash, on an agent folder that starts empty.
//!
//! What is not real: Microsoft's services are the simulator (its endpoints
//! are the one thing added to every step's environment), the runner's OIDC
//! endpoint is a wiremock server, and `curl`, `sha256sum` and `tar` are
//! stand-ins on the PATH, so the install step "downloads" the apctl under
//! test. Everything else a step does, it does as written.

pub mod azure;
pub mod github;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{DEMO_CLIENT_ID, PROFILES_AT_ONCE, SimProcess};

/// The demo world's partner tenant (`partnerTenantId` of the demo world).
pub const PARTNER_TENANT_ID: &str = "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503";
/// The demo partner admin's refresh token, for Partner Center rows.
pub const REFRESH_TOKEN: &str = "apctl-demo-refresh-token";

/// One night: the simulated Microsoft, the runner's OIDC endpoint, the
/// repository's checkout and a folder for the agents and artifacts.
pub struct Night {
    pub sim: SimProcess,
    oidc: MockServer,
    _runtime: tokio::runtime::Runtime,
    pub root: tempfile::TempDir,
    /// The files of the repository (the manifest and its CSVs).
    pub repo: PathBuf,
}

impl Night {
    /// A night whose repository holds `files` (name, text).
    pub fn new(files: &[(&str, String)]) -> Self {
        let sim = SimProcess::start(&["--import-delay=0s", "--batch-delay=0s", PROFILES_AT_ONCE]);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let oidc = runtime.block_on(async {
            let server = MockServer::start().await;
            // GitHub: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…
            Mock::given(method("GET"))
                .and(path("/github-oidc"))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "value": "github-oidc-token"
                })))
                .mount(&server)
                .await;
            // Azure DevOps: POST $SYSTEM_OIDCREQUESTURI?serviceConnectionId=…
            Mock::given(method("POST"))
                .and(path("/ado-oidc"))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "oidcToken": "ado-oidc-token"
                })))
                .mount(&server)
                .await;
            server
        });
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        for (name, text) in files {
            std::fs::write(repo.join(name), text).unwrap();
        }
        shims(&root.path().join("shims"));
        Self {
            sim,
            oidc,
            _runtime: runtime,
            root,
            repo,
        }
    }

    fn oidc_url(&self, path: &str) -> String {
        format!("{}{path}", self.oidc.uri())
    }

    /// What every step of every job gets besides the runner's own variables:
    /// the simulator's endpoints and apctl's clock at scale 0 (no real
    /// waiting), a PATH with the stand-ins, and a home of the agent's own.
    fn base_env(&self, agent: &Path) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (k, v) in self.sim.env() {
            if k.starts_with("APCTL_") || k == "AZURE_AUTHORITY_HOST" {
                env.insert(k.to_owned(), v);
            }
        }
        let system = std::env::var("PATH").unwrap_or_default();
        let shims = self.root.path().join("shims");
        env.insert("PATH".into(), format!("{}:{system}", shims.display()));
        env.insert("HOME".into(), agent.join("home").display().to_string());
        env.insert("APCTL_UNDER_TEST".into(), env!("CARGO_BIN_EXE_apctl").into());
        env
    }

    /// The folder artifacts are kept in, one folder per artifact.
    pub fn artifacts(&self) -> PathBuf {
        self.root.path().join("artifacts")
    }
}

/// `curl`, `sha256sum` and `tar` for the install step: the download is the
/// apctl under test, the checksum holds, and the archive unpacks to it.
fn shims(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let scripts = [
        (
            "curl",
            // Every URL's last part becomes a file in the working folder.
            "#!/bin/bash\nfor a in \"$@\"; do case \"$a\" in http*) : > \"${a##*/}\";; esac; done\n",
        ),
        (
            "sha256sum",
            "#!/bin/bash\n[ \"$1\" = -c ] && [ -f \"$2\" ] && echo \"${2%.sha256}: OK\"\n",
        ),
        (
            "tar",
            // tar -xJf ARCHIVE -C DIR … : DIR/apctl is the binary under test.
            "#!/bin/bash\nwhile [ $# -gt 0 ]; do [ \"$1\" = -C ] && dir=$2; shift; done\n\
             ln -sf \"$APCTL_UNDER_TEST\" \"$dir/apctl\"\n",
        ),
    ];
    for (name, text) in scripts {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// What one step's script did.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `script` with `bash` (and `flags`) in `dir`, with exactly `env`.
fn bash(script: &str, flags: &[&str], dir: &Path, env: &BTreeMap<String, String>) -> Ran {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), script).unwrap();
    let out = Command::new("bash")
        .args(["--noprofile", "--norc"])
        .args(flags)
        .arg(file.path())
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .output()
        .expect("bash runs");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A YAML scalar as the runners read it: text, a number or a boolean.
fn scalar(v: &serde_yaml_ng::Value) -> String {
    use serde_yaml_ng::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `*` in a file or artifact name, as the runners' patterns have it.
pub fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
        }
    }
}

/// Copies every file of `from` (recursively) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The apctl-written reports of a run's merged artifact, read back.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The GitHub repository's variables and secrets, or the Azure DevOps
/// pipeline's, as a partner defines them following the file's header.
pub fn defined() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let vars = BTreeMap::from([
        ("AZURE_CLIENT_ID".to_owned(), DEMO_CLIENT_ID.to_owned()),
        ("PARTNER_TENANT_ID".to_owned(), PARTNER_TENANT_ID.to_owned()),
    ]);
    let secrets = BTreeMap::from([("APCTL_REFRESH_TOKEN".to_owned(), REFRESH_TOKEN.to_owned())]);
    (vars, secrets)
}
