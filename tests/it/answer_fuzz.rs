//! Thousands of malformed service answers: bad JSON, nulls, huge numbers,
//! wrong types, escape sequences, echoed secrets, tokens and hashes, odd
//! status codes and headers. Through the built binary (every answer of a
//! run drawn at random, seeded) and through the error decoder: no panic,
//! an exit code a pipeline knows, bounded runs, and no canary in any
//! output.

use std::sync::Mutex;

use crate::common::{apctl_env, fake_hash, write};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET: &str = "fuzz-canary-secret-8Hq2";
const TOKEN: &str = "fuzz-canary-token-Zt7kw";

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// A malformed (or well-formed, sometimes) answer body.
fn body(rng: &mut Rng) -> String {
    let hash = fake_hash(rng.next() % 50, 3000);
    let nasty = [
        format!("Bearer {TOKEN}"),
        format!("client_secret={SECRET}"),
        hash.clone(),
        "\u{1b}[2J\u{1b}]0;pwned\u{7}".into(),
        "##vso[task.setvariable variable=X]1".into(),
        "::error::x".into(),
        "9".repeat(400),
        String::new(),
    ];
    let text = rng.pick(&nasty).clone();
    let serial = format!("FZ-{}", rng.next() % 3);
    match rng.next() % 14 {
        0 => "{".into(),
        1 => "null".into(),
        2 => format!("{{\"value\": \"{text}\"}}"),
        3 => format!(
            "{{\"value\": [{{\"id\": {}, \"serialNumber\": null}}]}}",
            "9".repeat(40)
        ),
        4 => format!(
            "{{\"value\": [{{\"id\": \"{text}\", \"serialNumber\": \"{serial}\", \"state\": null}}]}}"
        ),
        5 => format!(
            "{{\"value\": [{{\"id\": \"x\", \"serialNumber\": \"{serial}\", \"importId\": \"{text}\", \"state\": {{\"deviceImportStatus\": \"{text}\", \"deviceErrorCode\": 1e300, \"deviceErrorName\": \"{text}\"}}}}]}}"
        ),
        6 => format!(
            "{{\"error\": {{\"code\": \"{text}\", \"message\": \"{text}\", \"innerError\": {{\"request-id\": \"{text}\"}}}}}}"
        ),
        7 => format!(
            "{{\"error\": {{\"code\": \"x\", \"message\": \"{{\\\"_version\\\": 3, \\\"Message\\\": \\\"{text}\\\"}}\"}}}}"
        ),
        8 => format!("{{\"value\": [], \"@odata.nextLink\": \"{text}\"}}"),
        9 => format!(
            "{{\"value\": [{{\"id\": \"d\", \"serialNumber\": \"{serial}\", \"enrollmentState\": 7, \"lastContactedDateTime\": \"{text}\"}}]}}"
        ),
        10 => "[]".into(),
        11 => format!("<html>{text}</html>"),
        12 => format!(
            "{{\"value\": [{{\"id\": \"s\", \"serialNumber\": \"{serial}\", \"state\": {{\"deviceImportStatus\": \"complete\", \"deviceErrorCode\": 0, \"deviceErrorName\": \"None\"}}}}]}}"
        ),
        _ => "{\"value\": []}".into(),
    }
}

/// Answers every Graph request at random; the token endpoint works.
struct Chaos(Mutex<Rng>);

impl Respond for Chaos {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let mut rng = self.0.lock().unwrap();
        if r.url.path().ends_with("/oauth2/v2.0/token") {
            return ResponseTemplate::new(200).set_body_raw(
                format!("{{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"{TOKEN}\"}}"),
                "application/json",
            );
        }
        let status = *rng.pick(&[200, 200, 200, 200, 400, 401, 403, 404, 409, 429, 500, 503, 302]);
        let mut t = ResponseTemplate::new(status).set_body_raw(body(&mut rng), "application/json");
        let header = *rng.pick(&["1", "0.5", "-3", "1e308", "Thu, 01 Jan 2099 00:00:00 GMT", "soon"]);
        t = t.insert_header("Retry-After", header);
        if rng.next().is_multiple_of(4) {
            t = t.insert_header("request-id", format!("rid {SECRET} \\x1b[31m").as_str());
        }
        if status == 302 {
            t = t.insert_header("Location", "http://example.invalid/steal");
        }
        t
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_answers_never_panic_or_leak() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Chaos(Mutex::new(Rng(0x00DD_BA11_5EED))))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for i in 0..3 {
        text.push_str(&format!("FZ-{i},,{}\n", fake_hash(10 + i, 3000)));
    }
    let file = write(dir.path(), "d.csv", text);
    let report = dir.path().join("r.json");
    let uri = server.uri();
    let mut codes = std::collections::BTreeMap::new();
    // The middle of every hash an answer can echo.
    let hashes: Vec<String> = (0..50)
        .map(|i| fake_hash(i, 3000)[1000..1100].to_owned())
        .collect();
    for run_no in 0..std::env::var("FUZZ_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
    {
        let (f, r, u) = (file.clone(), report.clone(), uri.clone());
        let d = dir.path().display().to_string();
        let pipeline = if run_no % 2 == 0 {
            "TF_BUILD"
        } else {
            "GITHUB_ACTIONS"
        };
        let run = tokio::task::spawn_blocking(move || {
            apctl_env(
                [
                    "import",
                    f.to_str().unwrap(),
                    "--tenant",
                    "contoso.onmicrosoft.com",
                    "--timeout",
                    "1m",
                    "--poll-interval",
                    "5s",
                    "-vv",
                    "--report",
                    r.to_str().unwrap(),
                ],
                &[
                    ("APCTL_GRAPH_URL", u.as_str()),
                    ("AZURE_AUTHORITY_HOST", u.as_str()),
                    ("AZURE_CLIENT_ID", "app"),
                    ("AZURE_CLIENT_SECRET", SECRET),
                    ("APCTL_TIME_SCALE", "0"),
                    ("AGENT_TEMPDIRECTORY", d.as_str()),
                    (pipeline, "true"),
                ],
            )
        })
        .await
        .unwrap();
        assert!(
            [0, 1, 2, 3].contains(&run.code),
            "run {run_no}: exit {}\n{}\n{}",
            run.code,
            run.stdout,
            run.stderr
        );
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!("run {run_no}: exit {}\n{}", run.code, run.stderr);
        }
        let written = std::fs::read_to_string(&report).unwrap_or_default();
        let all = format!("{}\n{}\n{written}", run.stdout, run.stderr);
        assert!(!all.contains("panicked"), "run {run_no}: {all}");
        for line in all.lines() {
            if line.starts_with("##vso[task.setsecret]") || line.starts_with("::add-mask::") {
                continue;
            }
            assert!(
                !line.contains(SECRET) && !line.contains(TOKEN),
                "run {run_no}: {line}"
            );
            assert!(!line.contains('\u{1b}'), "run {run_no}: {line:?}");

            assert!(
                !hashes.iter().any(|h| line.contains(h.as_str())),
                "run {run_no}: a whole hash: {line:.300}"
            );
        }
        // What the runner reads (stdout and stderr, not the files) never
        // holds a command that came from a service.
        for line in run.stdout.lines().chain(run.stderr.lines()) {
            if pipeline == "TF_BUILD" {
                assert!(!line.contains("##vso[task.setvariable"), "run {run_no}: {line}");
            } else {
                assert!(!line.contains("::error::x"), "run {run_no}: {line}");
            }
        }
        *codes.entry(run.code).or_insert(0u32) += 1;
    }
    assert!(
        codes.len() >= 2,
        "the answers drive different outcomes: {codes:?}"
    );
}

#[test]
fn the_error_decoder_cleans_whatever_it_is_given() {
    // apctl registers every secret and token it holds as it gets them.
    apctl::sanitize::register_secret(SECRET);
    apctl::sanitize::register_secret(TOKEN);
    let mut rng = Rng(0xC0FF_EE00_1234);
    for _ in 0..5_000 {
        let text = body(&mut rng);
        let mut bytes = text.into_bytes();
        // Break some of them below the text level too.
        if rng.next().is_multiple_of(3) && !bytes.is_empty() {
            let i = (rng.next() % bytes.len() as u64) as usize;
            bytes[i] = (rng.next() % 256) as u8;
        }
        let status = *rng.pick(&[400u16, 401, 403, 404, 429, 500, 503]);
        let e = apctl::transport::service_error::decode(status, Some("rid"), &bytes);
        let shown = format!("{e}");
        assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains('\u{1b}'), "{shown:?}");
        assert!(shown.chars().count() < 1_500, "bounded: {}", shown.len());
    }
}
