//! apctl against services that answer badly on purpose, through the built
//! binary: one test per finding of the hostile-server review. Canary
//! secrets, tokens and a whole hash are planted where a hostile answer can
//! echo them; none may appear in stdout, stderr (at `-vvv`), the JSON, CSV
//! and JUnit reports or the pipeline summary. No request may reach another
//! host, and no wait may outlive its bound.

use std::path::{Path, PathBuf};

use crate::common::{Run, apctl_env, fake_hash, write};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const IMPORTED: &str = "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities";
const REGISTERED: &str = "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities";
const SECRET: &str = "canary-client-secret-Q7z9x1";
const TOKEN: &str = "canary-access-token-Xy12abcd";

fn hash() -> String {
    fake_hash(4242, 3000)
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A Graph that issues the canary token and holds nothing.
async fn graph() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(ok(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN}),
        ))
        .with_priority(5)
        .mount(&server)
        .await;
    for p in [REGISTERED, IMPORTED] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ok(json!({"value": []})))
            .with_priority(5)
            .mount(&server)
            .await;
    }
    server
}

/// Everything a run showed or wrote.
struct Seen {
    run: Run,
    /// stdout, stderr and every file written, together.
    all: String,
    dir: tempfile::TempDir,
}

impl Seen {
    /// Asserts that no canary shows anywhere.
    fn clean(&self) {
        // The one place a secret is written on purpose: registering it with
        // the runner's masking, so the runner hides it everywhere else.
        let shown: String = self
            .all
            .lines()
            .filter(|l| !l.starts_with("##vso[task.setsecret]") && !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n");
        for canary in [SECRET, TOKEN, &hash()[1000..1100], "\u{1b}"] {
            assert!(!shown.contains(canary), "`{canary:.20}` leaked:\n{shown}");
        }
    }

    fn report(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.path().join("report.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// `apctl import` of one device (`serial`, with the canary hash) against
/// `server`, at `-vvv`, with every report, under `pipeline` if given.
async fn import(server: &MockServer, serial: &str, extra: &[&str], env: &[(&str, &str)]) -> Seen {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "devices.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag\n{serial},,{},=HYPERLINK(\"x\")\n",
            hash()
        ),
    );
    let d = dir.path().to_path_buf();
    let mut args: Vec<String> = [
        "import",
        file.to_str().unwrap(),
        "--tenant",
        "contoso.onmicrosoft.com",
        "-vvv",
        "--report",
        d.join("report.json").to_str().unwrap(),
        "--report-csv",
        d.join("report.csv").to_str().unwrap(),
        "--junit",
        d.join("junit.xml").to_str().unwrap(),
        "--state-dir",
        d.join("state").to_str().unwrap(),
        "--timeout",
        "10m",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let uri = server.uri();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let run = tokio::task::spawn_blocking(move || {
        let mut all: Vec<(&str, &str)> = vec![
            ("APCTL_GRAPH_URL", &uri),
            ("AZURE_AUTHORITY_HOST", &uri),
            ("APCTL_PARTNER_CENTER_URL", &uri),
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_SECRET", SECRET),
            ("APCTL_TIME_SCALE", "0"),
            ("AGENT_TEMPDIRECTORY", d.to_str().unwrap()),
        ];
        all.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        apctl_env(&args, &all)
    })
    .await
    .unwrap();
    let mut all = format!("{}\n{}\n", run.stdout, run.stderr);
    for entry in walk(dir.path()) {
        if entry
            .extension()
            .is_some_and(|e| e != "csv" || entry.file_name().unwrap() != "devices.csv")
        {
            all.push_str(&std::fs::read_to_string(&entry).unwrap_or_default());
        }
    }
    Seen { run, all, dir }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A Graph whose device list takes ten minutes to answer.
async fn silent_graph() -> MockServer {
    let server = graph().await;
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(ok(json!({"value": []})).set_delay(std::time::Duration::from_secs(600)))
        .with_priority(1)
        .mount(&server)
        .await;
    server
}

/// A file of one device with the canary hash.
fn device_file(dir: &Path, serial: &str) -> PathBuf {
    write(
        dir,
        "d.csv",
        format!(
            "Device Serial Number,Windows Product ID,Hardware Hash\n{serial},,{}\n",
            hash()
        ),
    )
}

/// `apctl` with `args`, pointed at `server` with the canary app (plus
/// `env`), off the async runtime.
async fn apctl_at(server: &MockServer, args: &[&str], env: &[(&str, &str)]) -> Run {
    let uri = server.uri();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    // Later entries win: `env` overrides the defaults.
    let all: Vec<(String, String)> = [
        ("APCTL_GRAPH_URL", uri.as_str()),
        ("AZURE_AUTHORITY_HOST", uri.as_str()),
        ("AZURE_CLIENT_ID", "app"),
        ("AZURE_CLIENT_SECRET", SECRET),
        ("APCTL_TIME_SCALE", "0"),
    ]
    .iter()
    .chain(env)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        apctl_env(&args, &env)
    })
    .await
    .unwrap()
}

/// How many requests reached `server` at `at`.
async fn asked(server: &MockServer, at: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == at)
        .count()
}

async fn requests_to(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// 1. A link in an answer that names another host is never followed, and
/// no token goes there.
#[tokio::test(flavor = "multi_thread")]
async fn links_to_another_host_are_refused() {
    let elsewhere = MockServer::start().await;
    let server = graph().await;
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(ok(
            json!({"value": [], "@odata.nextLink": format!("{}{REGISTERED}?$skiptoken=x", elsewhere.uri())}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    let seen = import(&server, "HOST-1", &[], &[]).await;
    assert_eq!(seen.run.code, 2, "{}", seen.all);
    assert!(seen.all.contains("pointed at another host"), "{}", seen.all);
    assert_eq!(
        requests_to(&elsewhere).await,
        0,
        "nothing, and no token, reached the other host"
    );
    let cause = &seen.report()["causes"][0]["error"];
    assert!(
        cause.as_str().unwrap().contains("127.0.0.1"),
        "the host is named: {cause}"
    );
    seen.clean();
}

/// 2. Redirects are never followed: the token endpoint's 307 does not get
/// the client secret again, an import's 307 does not get the hashes.
#[tokio::test(flavor = "multi_thread")]
async fn redirects_resend_nothing() {
    let elsewhere = MockServer::start().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", format!("{}/steal", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    let seen = import(&server, "REDIR-1", &[], &[]).await;
    assert_eq!(seen.run.code, 2, "{}", seen.all);
    assert_eq!(requests_to(&elsewhere).await, 0, "the secret went nowhere else");
    seen.clean();

    let server = graph().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", format!("{}/steal", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    let seen = import(&server, "REDIR-2", &[], &[]).await;
    assert_eq!(seen.run.code, 2, "{}", seen.all);
    assert!(seen.all.contains("redirect"), "{}", seen.all);
    assert_eq!(requests_to(&elsewhere).await, 0, "the hashes went nowhere else");
    seen.clean();
}

/// 3. Service text that echoes the request is cleaned before any output,
/// in and out of pipelines.
#[tokio::test(flavor = "multi_thread")]
async fn echoed_secrets_and_tokens_never_show() {
    let echo = format!(
        "AADSTS7000215: Invalid client secret provided: client_secret={SECRET}&client_assertion=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl Authorization: Bearer {TOKEN} \u{1b}[2J hash {}",
        hash()
    );
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": echo, "error_codes": [7000215]
        })))
        .mount(&server)
        .await;
    for env in [
        vec![],
        vec![("TF_BUILD", "True")],
        vec![("GITHUB_ACTIONS", "true")],
    ] {
        let seen = import(&server, "ECHO-1", &[], &env).await;
        assert_eq!(seen.run.code, 2, "{}", seen.all);
        seen.clean();
    }
    // The same from Graph, in an error message.
    let server = graph().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": "BadRequest", "message": echo}})),
        )
        .mount(&server)
        .await;
    let seen = import(&server, "ECHO-2", &[], &[("TF_BUILD", "True")]).await;
    assert_eq!(seen.run.code, 2, "{}", seen.all);
    assert!(seen.all.contains("[redacted]"), "{}", seen.all);
    assert!(
        seen.run
            .stderr
            .contains(&format!("##vso[task.setsecret]{SECRET}")),
        "the runner learns the secret first: {}",
        seen.run.stderr
    );
    let leaked: Vec<&str> = seen.run.stdout.lines().filter(|l| l.contains(SECRET)).collect();
    assert!(leaked.is_empty(), "{leaked:?}");
}

/// 4. An answer that does not decode never puts the hash it quotes into
/// any output.
#[tokio::test(flavor = "multi_thread")]
async fn undecodable_answers_do_not_print_whole_hashes() {
    let server = graph().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": hash()})))
        .mount(&server)
        .await;
    let seen = import(&server, "UNDEC-1", &[], &[]).await;
    assert_ne!(seen.run.code, 0, "{}", seen.all);
    seen.clean();
    // A hash under the serial heading is an invalid row, shown shortened.
    let seen = import(&graph().await, &hash(), &[], &[]).await;
    assert_eq!(seen.run.code, 1, "{}", seen.all);
    seen.clean();
}

/// 5. No wait outlives its bound: an absurd Retry-After fails at once, an
/// endless chain of links ends, an answer too large is refused, and a
/// second Ctrl-C ends the process.
#[tokio::test(flavor = "multi_thread")]
async fn waits_and_sizes_are_bounded() {
    for retry_after in ["1000000000", "Thu, 01 Jan 2099 00:00:00 GMT"] {
        let server = graph().await;
        Mock::given(method("GET"))
            .and(path(REGISTERED))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", retry_after))
            .with_priority(1)
            .mount(&server)
            .await;
        let seen = import(&server, "WAIT-1", &[], &[]).await;
        assert_eq!(seen.run.code, 2, "{}", seen.all);
        let asked = asked(&server, REGISTERED).await;
        assert_eq!(asked, 1, "{retry_after}: not waited, not retried");
    }

    struct Endless(std::sync::atomic::AtomicUsize, String);
    impl Respond for Endless {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ok(json!({"value": [], "@odata.nextLink": format!("{}{REGISTERED}?$skiptoken={n}", self.1)}))
        }
    }
    let server = graph().await;
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(Endless(Default::default(), server.uri()))
        .with_priority(1)
        .mount(&server)
        .await;
    let seen = import(&server, "LOOP-1", &[], &[]).await;
    assert_eq!(seen.run.code, 2, "{}", seen.run.stdout);
    assert!(seen.all.contains("more than 10000 pages"), "{}", seen.run.stdout);

    let server = graph().await;
    let huge = format!("{{\"value\": [], \"x\": \"{}\"}}", "a".repeat(33 * 1024 * 1024));
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let seen = import(&server, "HUGE-1", &[], &[]).await;
    assert_eq!(seen.run.code, 2);
    assert!(seen.all.contains("larger than 32 MiB"), "{}", seen.run.stdout);
    assert!(
        seen.all.contains("graph.list-registered: the answer is larger"),
        "the message names the answer: {}",
        seen.run.stdout
    );
    let asked = asked(&server, REGISTERED).await;
    assert_eq!(asked, 1, "an answer over the cap is not asked for again");
}

/// 5b. A second Ctrl-C stops a run that waits on a silent service.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_exits_at_once() {
    let server = silent_graph().await;
    let dir = tempfile::tempdir().unwrap();
    let file = device_file(dir.path(), "C-1");
    let uri = server.uri();
    let mut child = crate::common::apctl_command()
        .args([
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--http-timeout",
            "10m",
        ])
        .env("APCTL_GRAPH_URL", &uri)
        .env("AZURE_AUTHORITY_HOST", &uri)
        .env("AZURE_CLIENT_ID", "app")
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env("APCTL_STATE_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until apctl is waiting on the list, then interrupt it: once
    // (it says so), and again.
    while requests_to(&server).await < 2 {
        tokio::task::yield_now().await;
    }
    let pid = child.id() as i32;
    let stderr = child.stderr.take().unwrap();
    let status = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stderr).lines();
        // SAFETY: a plain kill(2) of the child we started.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let said = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.starts_with("interrupted:"));
        assert!(said.is_some(), "the first Ctrl-C is acknowledged");
        unsafe { libc::kill(pid, libc::SIGINT) };
        std::thread::spawn(move || lines.for_each(drop));
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(130));
}

/// 6. Data never runs as a pipeline command, and escape sequences from a
/// service never reach the terminal or the CSV.
#[tokio::test(flavor = "multi_thread")]
async fn data_never_runs_as_a_pipeline_command() {
    let server = graph().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "Bad\u{1b}[31m", "message": "no \u{1b}]0;title\u{7} ##[error]x ::error::y"}})))
        .mount(&server)
        .await;
    let seen = import(
        &server,
        "X##vso[task.setvariable variable=PWNED]injected",
        &[],
        &[("TF_BUILD", "True")],
    )
    .await;
    for line in seen.run.stdout.lines().chain(seen.run.stderr.lines()) {
        assert!(!line.contains("##vso[task.setvariable"), "{line}");
        assert!(!line.contains("##[error]"), "{line}");
    }
    seen.clean();
    let seen = import(
        &server,
        "Y::set-env name=PWNED::1",
        &[],
        &[("GITHUB_ACTIONS", "true")],
    )
    .await;
    for line in seen.run.stdout.lines() {
        assert!(!line.contains("::set-env"), "{line}");
        assert!(!line.contains("::error::y"), "{line}");
    }
    seen.clean();
}

/// 7. An id from an answer is one path segment: a staged id made of
/// `../windowsAutopilotDeviceIdentities/…` cannot deregister a device.
#[tokio::test(flavor = "multi_thread")]
async fn ids_from_answers_never_leave_their_path_segment() {
    let server = graph().await;
    let evil = "../windowsAutopilotDeviceIdentities/dev-victim";
    let staged = |status: &str| {
        json!({"id": evil, "serialNumber": "PATH-1", "importId": "x",
               "state": {"deviceImportStatus": status, "deviceErrorCode": 0, "deviceErrorName": "None"}})
    };
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(ok(json!({"value": [staged("unknown")]})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{REGISTERED}/dev-victim")))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let seen = import(&server, "PATH-1", &[], &[]).await;
    assert_eq!(
        seen.report()["entries"].as_array().unwrap().len(),
        1,
        "{}",
        seen.all
    );
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs.iter()
            .all(|r| r.url.path() != format!("{REGISTERED}/dev-victim")),
        "{:?}",
        reqs.iter().map(|r| r.url.path()).collect::<Vec<_>>()
    );
    let polled: Vec<String> = reqs
        .iter()
        .filter(|r| r.url.path().starts_with(&format!("{IMPORTED}/")) && !r.url.path().ends_with("/import"))
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(
        !polled.is_empty(),
        "the staged record was polled by its id: {:?} {}",
        reqs.iter()
            .map(|r| format!("{} {}", r.method, r.url))
            .collect::<Vec<_>>(),
        seen.all
    );
    assert!(polled.iter().all(|p| p.contains("%2E%2E%2F")), "{polled:?}");
    seen.clean();
}

/// 8. Files: reports are replaced, never written through a link; CSV cells
/// stay text; credentials in an endpoint URL and absurd numbers are
/// refused without a panic.
#[tokio::test(flavor = "multi_thread")]
async fn files_and_flags_are_safe() {
    let server = graph().await;
    let seen = import(&server, "FILE-1", &[], &[]).await;
    let csv = std::fs::read_to_string(seen.dir.path().join("report.csv")).unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");

    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("report.json");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let file = device_file(dir.path(), "L-1");
    let run = apctl_at(
        &server,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--dry-run",
            "--report",
            link.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    // Refused before anything is sent (issue #26: report paths are files).
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("never through a link"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "keep me",
        "nothing written through the link"
    );
    assert!(link.is_symlink(), "the link is left as it was");

    let before = requests_to(&server).await;
    let userinfo = format!(
        "http://user:{SECRET}@{}",
        server.uri().trim_start_matches("http://")
    );
    let f = file.clone();
    let run = tokio::task::spawn_blocking(move || {
        apctl_env(
            [
                "import",
                f.to_str().unwrap(),
                "--tenant",
                "contoso.onmicrosoft.com",
                "--graph-url",
                &userinfo,
            ],
            &[("AZURE_CLIENT_ID", "app"), ("AZURE_CLIENT_SECRET", SECRET)],
        )
    })
    .await
    .unwrap();
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    assert_eq!(requests_to(&server).await, before, "nothing was sent");

    let f = file.clone();
    let run = tokio::task::spawn_blocking(move || {
        apctl_env(
            [
                "import",
                f.to_str().unwrap(),
                "--tenant",
                "contoso.onmicrosoft.com",
                "--timeout",
                "1e20",
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stderr.contains("at most 7 days"), "{}", run.stderr);
}

/// A Graph on loopback that answers every request at once with headers
/// and then its body one byte every 200 ms (a minute at most, and it stops
/// when the client goes): a slow body, which no per-request timeout shorter
/// than the body catches.
fn trickling_graph() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = stream.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"value\": [";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for _ in 0..300 {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    if stream.write_all(b" ").and_then(|()| stream.flush()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    uri
}

/// 5c. A service that answers too slowly — silent, or a body that trickles
/// in — cannot hold a run past its deadline: the run ends with the report
/// of what was known, naming the answer it was still waiting for.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_service_cannot_hold_a_run_past_its_deadline() {
    let silent = silent_graph().await;
    let tokens = graph().await;
    let trickle = trickling_graph();
    let (a, b) = tokio::join!(
        cut_at_deadline(&silent, None),
        cut_at_deadline(&tokens, Some(trickle.as_str()))
    );
    for (what, report) in [("silent", a), ("trickling body", b)] {
        let error = report["tenantErrors"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains("reached its deadline"), "{what}: {error}");
        assert!(
            error.contains("still waiting for graph."),
            "{what}: names the answer it waited for: {error}"
        );
    }
}

/// An import of one device with a one-second deadline against `server`
/// (its Graph at `graph` when given): the run must end, its report is
/// returned.
async fn cut_at_deadline(server: &MockServer, graph: Option<&str>) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = device_file(dir.path(), "S-1");
    let report = dir.path().join("r.json");
    let state = dir.path().join("state");
    let mut env = vec![
        ("APCTL_TIME_SCALE", "1"),
        ("APCTL_STATE_DIR", state.to_str().unwrap()),
    ];
    if let Some(g) = graph {
        env.push(("APCTL_GRAPH_URL", g));
    }
    let run = apctl_at(
        server,
        &[
            "import",
            file.to_str().unwrap(),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--timeout",
            "1s",
            "--grace",
            "0s",
            "--http-timeout",
            "10m",
            "--report",
            report.to_str().unwrap(),
        ],
        &env,
    )
    .await;
    // Ten minutes of silence (or of trickle) from the service, one second
    // of deadline: the run ended (on its deadline plus the time to write
    // its report).
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let text =
        std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["complete"], false);
    assert_eq!(
        report["entries"].as_array().unwrap().len(),
        1,
        "every row accounted for"
    );
    report
}
