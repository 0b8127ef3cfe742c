//! A token endpoint's `expires_in` of 0, negative, 1e18, 9.2e11 or
//! `u64::MAX`, in every way apctl gets a token (client secret through
//! azure_identity, refresh token, federated assertion): never a panic (exit
//! 101); a dead token is a clear error, a huge life a working run. And the
//! token endpoint's error body is read with the same cap as every body.

use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Run, apctl_env};

const TENANT: &str = "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01";

async fn server(token_answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(token_answer)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/deviceManagement/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/organization"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [{"displayName": "Contoso"}]})),
        )
        .mount(&server)
        .await;
    server
}

/// The three ways a token is asked for, as environments.
fn modes(dir: &std::path::Path) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let assertion = dir.join("oidc-token");
    std::fs::write(&assertion, "eyJhbGciOiJSUzI1NiJ9.federated.sig").unwrap();
    vec![
        (
            "client secret",
            vec![("AZURE_CLIENT_SECRET", "s3cret-value-x".into())],
        ),
        (
            "refresh token",
            vec![
                ("APCTL_REFRESH_TOKEN", "refresh-token-value-x".into()),
                ("AZURE_TENANT_ID", TENANT.into()),
            ],
        ),
        (
            "federated token",
            vec![("AZURE_FEDERATED_TOKEN_FILE", assertion.display().to_string())],
        ),
    ]
}

async fn status(server: &MockServer, env: &[(&'static str, String)]) -> Run {
    let uri = server.uri();
    let mut all: Vec<(String, String)> = vec![
        ("APCTL_GRAPH_URL".into(), uri.clone()),
        ("AZURE_AUTHORITY_HOST".into(), uri),
        ("AZURE_CLIENT_ID".into(), "app".into()),
        ("APCTL_TIME_SCALE".into(), "0".into()),
    ];
    all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        apctl_env(["status", "--tenant", TENANT, "--output", "json"], &env)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_lifetime_panics_in_any_credential_mode() {
    let dir = tempfile::tempdir().unwrap();
    // (raw `expires_in`, whether the token is usable)
    let cases = [
        ("0", false),
        ("-5", false),
        ("\"0\"", false),
        ("1e18", true),
        ("920000000000", true),
        ("18446744073709551615", true),
        ("-9223372036854775808", false),
        ("\"3599\"", true),
    ];
    for (raw, usable) in cases {
        let body = format!(
            r#"{{"token_type":"Bearer","expires_in":{raw},"ext_expires_in":{raw},"access_token":"tok-abcdefgh"}}"#
        );
        let answer = ResponseTemplate::new(200).set_body_raw(body, "application/json");
        let server = server(answer).await;
        for (mode, env) in modes(dir.path()) {
            let run = status(&server, &env).await;
            let what = format!("{mode}, expires_in {raw}");
            assert_ne!(run.code, 101, "{what} panicked: {}", run.stderr);
            if usable {
                assert_eq!(
                    run.code, 0,
                    "{what}: a working run\n{}\n{}",
                    run.stdout, run.stderr
                );
            } else {
                assert_ne!(run.code, 0, "{what}: refused");
                let said = format!("{}{}", run.stdout, run.stderr);
                assert!(said.contains("expires at once"), "{what}: says why: {said}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_token_error_is_cut_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    // 33 MiB of error body, streamed without a length the client could check first.
    let big = "x".repeat(33 << 20);
    let answer = ResponseTemplate::new(400).set_body_raw(big, "application/json");
    let server = server(answer).await;
    for (mode, env) in modes(dir.path()) {
        let run = status(&server, &env).await;
        assert_ne!(run.code, 101, "{mode} panicked: {}", run.stderr);
        assert_ne!(run.code, 0, "{mode}");
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(
            said.contains("32 MiB"),
            "{mode}: says the answer is too large: {said}"
        );
    }
}

/// A rotated refresh token that is empty, very short or of several lines
/// never replaces the saved one (`--save-refresh-token`): the run goes on
/// with the old one and says why; a good one is saved.
#[tokio::test(flavor = "multi_thread")]
async fn rotated_refresh_tokens_are_checked_before_they_are_saved() {
    const OLD: &str = "old-refresh-token-0123456789abcdef";
    let good = "new-refresh-token-0123456789abcdefghijkl";
    for (fresh, kept) in [
        ("", true),
        ("abc", true),
        ("line-one-of-a-token-0123\nline-two-0123456789", true),
        (" padded-refresh-token-0123456789 ", true),
        (good, false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rt");
        std::fs::write(&file, format!("{OLD}\n")).unwrap();
        let answer = ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "tok-abcdefgh", "refresh_token": fresh
        }));
        let server = server(answer).await;
        let uri = server.uri();
        let path = file.display().to_string();
        let run = tokio::task::spawn_blocking(move || {
            apctl_env(
                [
                    "status",
                    "--tenant",
                    TENANT,
                    "--output",
                    "json",
                    "--refresh-token-file",
                    &path,
                    "--save-refresh-token",
                ],
                &[
                    ("APCTL_GRAPH_URL", uri.as_str()),
                    ("AZURE_AUTHORITY_HOST", uri.as_str()),
                    ("AZURE_CLIENT_ID", "app"),
                    ("AZURE_TENANT_ID", TENANT),
                    ("APCTL_TIME_SCALE", "0"),
                ],
            )
        })
        .await
        .unwrap();
        let what = format!("rotated to {fresh:?}");
        assert_eq!(run.code, 0, "{what}: the run goes on\n{}", run.stderr);
        let saved = std::fs::read_to_string(&file).unwrap();
        if kept {
            assert_eq!(saved.trim(), OLD, "{what}: the old token stays");
            assert!(
                run.stderr.contains("does not keep"),
                "{what}: says why: {}",
                run.stderr
            );
        } else {
            assert_eq!(saved.trim(), good, "{what}: saved");
        }
        assert!(
            !run.stderr.contains(OLD) && !run.stderr.contains(good),
            "no token shown"
        );
    }
}

/// `apctl login` shows the device-code message and URL the service sent,
/// cleaned: no OSC 8 link, no OSC 52 clipboard write, no hidden or
/// reordered text reaches the partner's terminal.
#[tokio::test(flavor = "multi_thread")]
async fn the_device_code_prompt_is_shown_cleaned() {
    let server = MockServer::start().await;
    let hostile = "To sign in, open \u{1b}]8;;https://evil.example/\u{7}https://microsoft.com/devicelogin\u{1b}]8;;\u{7} \u{1b}]52;c;Y3VybCBldmlsIHwgc2g=\u{7}and enter the code ABCD-1234\u{202e}\u{1b}[8mhidden\u{1b}[0m";
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/devicecode$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user_code": "ABCD-1234",
            "device_code": "dc-0123456789",
            "verification_uri": "https://microsoft.com/devicelogin\u{1b}]8;;https://evil.example/\u{7}",
            "expires_in": 900,
            "interval": 1,
            "message": hostile,
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "expired_token"})))
        .mount(&server)
        .await;
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("rt").display().to_string();
    let run = tokio::task::spawn_blocking(move || {
        apctl_env(
            ["login", "--save", &save],
            &[
                ("AZURE_AUTHORITY_HOST", uri.as_str()),
                ("AZURE_CLIENT_ID", "app"),
                ("AZURE_TENANT_ID", TENANT),
            ],
        )
    })
    .await
    .unwrap();
    assert_ne!(run.code, 101, "{}", run.stderr);
    assert!(
        run.stderr.contains("ABCD-1234"),
        "the code is shown: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("https://microsoft.com/devicelogin"),
        "{}",
        run.stderr
    );
    for bad in [
        "\u{1b}",
        "\u{7}",
        "\u{202e}",
        "Y3VybCBldmlsIHwgc2g=",
        "evil.example",
    ] {
        assert!(
            !run.stderr.contains(bad),
            "{bad:?} reached the terminal: {}",
            run.stderr
        );
    }
}

/// `apctl login`'s device code with an absurd `expires_in` (`u64::MAX`)
/// ends in the service's own answer, never a panic; a code that expires at
/// once is refused with the fix. (The first poll waits the code's interval,
/// 1 s, on the real clock: `login` has no time scale.)
#[tokio::test(flavor = "multi_thread")]
async fn no_device_code_lifetime_panics() {
    for (expires_in, interval, dead) in [("18446744073709551615", "1", false), ("0", "5", true)] {
        let server = MockServer::start().await;
        let body = format!(
            r#"{{"user_code":"ABCD-1234","device_code":"dc-0123456789","verification_uri":"https://microsoft.com/devicelogin","expires_in":{expires_in},"interval":{interval}}}"#
        );
        Mock::given(method("POST"))
            .and(path_regex("/oauth2/v2.0/devicecode$"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex("/oauth2/v2.0/token$"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "expired_token"})))
            .mount(&server)
            .await;
        let uri = server.uri();
        let dir = tempfile::tempdir().unwrap();
        let save = dir.path().join("rt").display().to_string();
        let run = tokio::task::spawn_blocking(move || {
            apctl_env(
                ["login", "--save", &save],
                &[
                    ("AZURE_AUTHORITY_HOST", uri.as_str()),
                    ("AZURE_CLIENT_ID", "app"),
                    ("AZURE_TENANT_ID", TENANT),
                    ("APCTL_TIME_SCALE", "0"),
                ],
            )
        })
        .await
        .unwrap();
        assert_ne!(run.code, 101, "expires_in {expires_in}: {}", run.stderr);
        assert_ne!(run.code, 0, "expires_in {expires_in}");
        let said = if dead { "expires at once" } else { "expired" };
        assert!(
            run.stderr.contains(said),
            "expires_in {expires_in}: {}",
            run.stderr
        );
    }
}
