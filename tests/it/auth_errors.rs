//! Every AADSTS code a partner meets (SPEC §4) ends, through the built
//! binary, in its own fix. The token endpoint is a wiremock server that
//! answers with the code in `error_codes`; apctl branches on the number.

use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CASES: &[(u64, &str)] = &[
    (700016, "not consented in this customer tenant"),
    (65001, "not consented in this customer tenant"),
    (90099, "not authorised for partner delegated administration"),
    (7000215, "not its ID"),
    (7000222, "has expired: create a new secret"),
    (50020, "not in the GDAP security group"),
    (50076, "multi-factor authentication is required"),
    (50078, "multi-factor authentication is required"),
    (700082, "expired from inactivity"),
    (53003, "Conditional Access"),
    (90002, "no such tenant"),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_aadsts_code_gets_its_own_fix() {
    for &(code, fix) in CASES {
        let server = MockServer::start().await;
        // The description says something else on purpose: apctl must key on the number.
        let body = json!({
            "error": "invalid_request",
            "error_description": format!("AADSTS{code}: (text that apctl does not read)\r\nTrace ID: 11111111-2222-3333-4444-555555555555"),
            "error_codes": [code],
            "trace_id": "11111111-2222-3333-4444-555555555555"
        });
        Mock::given(method("POST"))
            .and(path_regex("/oauth2/v2.0/token$"))
            .respond_with(ResponseTemplate::new(400).set_body_json(body))
            .mount(&server)
            .await;
        let uri = server.uri();
        let run = tokio::task::spawn_blocking(move || {
            crate::common::apctl_env(
                ["doctor", "--tenant", "contoso.onmicrosoft.com"],
                &[
                    ("APCTL_GRAPH_URL", &uri),
                    ("AZURE_AUTHORITY_HOST", &uri),
                    ("AZURE_CLIENT_ID", "app"),
                    ("AZURE_CLIENT_SECRET", "s3cr3t-value"),
                ],
            )
        })
        .await
        .unwrap();
        assert_eq!(run.code, 2, "{code}");
        assert!(
            run.stdout.contains(&format!("AADSTS{code}")),
            "{code}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains(fix),
            "{code} should say `{fix}`: {}",
            run.stdout
        );
        assert!(!run.stdout.contains("s3cr3t-value") && !run.stderr.contains("s3cr3t-value"));
    }
}

/// An unreachable token endpoint is named with its address and cause, and
/// how long apctl tried, for the app secret (azure_identity) and the
/// refresh token alike.
#[test]
fn an_unreachable_token_endpoint_is_named_with_its_address_and_cause() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    for mode in [
        ("AZURE_CLIENT_SECRET", "a-secret"),
        ("APCTL_REFRESH_TOKEN", "a-refresh-token"),
    ] {
        let run = crate::common::apctl_env(
            [
                "import",
                &crate::common::example("contoso-autopilot.csv"),
                "--tenant",
                "contoso.onmicrosoft.com",
            ],
            &[
                ("AZURE_CLIENT_ID", "6b7c8d9e-0000-4000-8000-00000000a9c1"),
                mode,
                ("AZURE_AUTHORITY_HOST", url.as_str()),
                ("APCTL_GRAPH_URL", url.as_str()),
            ],
        );
        assert_eq!(run.code, 2, "{}", run.stdout);
        let cause = run
            .stdout
            .lines()
            .find(|l| l.starts_with("not sent: cause C1"))
            .unwrap_or_else(|| panic!("{}", run.stdout));
        assert!(cause.contains(&url), "{}: the address: {cause}", mode.0);
        assert!(
            cause.to_lowercase().contains("refused"),
            "{}: the cause: {cause}",
            mode.0
        );
        assert!(cause.contains(" s)"), "{}: the time spent: {cause}", mode.0);
    }
}

/// A Graph host that refuses connections is named with its address, the
/// cause and the time spent, after a few attempts rather than the whole
/// retry budget.
#[test]
fn an_unreachable_graph_host_is_named_after_a_few_attempts() {
    let sim = crate::common::SimProcess::start(&[]);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let graph = format!("http://127.0.0.1:{port}");
    let run = crate::common::apctl_sim(
        &sim,
        &[
            "import",
            &crate::common::example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        &[("APCTL_GRAPH_URL", graph.as_str())],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let cause = run
        .stdout
        .lines()
        .find(|l| l.starts_with("not sent: cause C1"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(cause.contains(&graph), "the address: {cause}");
    assert!(cause.contains("refused"), "the cause: {cause}");
    assert!(
        cause.contains("gave up after 4 attempts"),
        "not the whole budget: {cause}"
    );
    assert!(cause.contains(" s spent)"), "the time spent: {cause}");
}

/// A wrong client secret says so whatever `--tenant` looks like: a domain,
/// or a customer's name that needs the partner's GDAP list first (whose
/// token fails the same way). The hint nearest the root cause wins.
#[test]
fn a_wrong_secret_says_so_however_the_customer_is_named() {
    let sim = crate::common::SimProcess::start(&[]);
    let file = crate::common::example("contoso-autopilot.csv");
    let env = [
        ("AZURE_CLIENT_SECRET", "wrong-secret-123456"),
        ("AZURE_TENANT_ID", "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503"),
    ];
    for tenant in ["contoso.onmicrosoft.com", "Contoso Ltd"] {
        let import =
            crate::common::apctl_sim(&sim, &["import", &file, "--tenant", tenant, "-o", "json"], &env);
        let report = import.json();
        let hint = report["causes"][0]["hint"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(hint.contains("client secret is wrong"), "{tenant}: {report}");
        let status = crate::common::apctl_sim(&sim, &["status", "--tenant", tenant], &env);
        assert_ne!(status.code, 0);
        assert!(
            status.stderr.contains("hint: the client secret is wrong"),
            "{tenant}: {}",
            status.stderr
        );
    }
}
