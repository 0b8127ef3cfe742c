//! Tokens from the Azure CLI, with a stand-in `az` that prints what the
//! real one prints (or fails as it does when nobody is signed in).

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fake_az(dir: &std::path::Path, script: &str) -> String {
    let p = dir.join("az");
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signed_in_cli_gives_the_token_for_each_tenant() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceManagement/windowsAutopilotDeviceIdentities"))
        .and(header(
            "authorization",
            "Bearer cli-token-for-contoso.onmicrosoft.com",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    // Partner Center: the signed-in admin's own tenant (no `--tenant`, so
    // `$4` is the scope), and the customer's id from its domain.
    Mock::given(method("GET"))
        .and(path(
            "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"issuer": "https://login.microsoftonline.com/2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01/v2.0"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/v1/customers/2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01/deviceBatches",
        ))
        .and(header(
            "authorization",
            "Bearer cli-token-for-https://api.partnercenter.microsoft.com/user_impersonation",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalCount": 0, "items": []})))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    // Prints a token naming the tenant it was asked for (`--tenant` is the 4th argument).
    let az = fake_az(
        dir.path(),
        r#"echo "{\"accessToken\": \"cli-token-for-$4\", \"expires_on\": 4102444800, \"tokenType\": \"Bearer\"}""#,
    );
    let uri = server.uri();
    let run = tokio::task::spawn_blocking(move || {
        crate::common::apctl_env(
            ["doctor", "--tenant", "contoso.onmicrosoft.com", "--azure-cli"],
            &[
                ("APCTL_GRAPH_URL", &uri),
                ("AZURE_AUTHORITY_HOST", &uri),
                ("APCTL_PARTNER_CENTER_URL", &uri),
                ("APCTL_AZURE_CLI", &az),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains("cli-token-for"),
        "the token is never printed"
    );
}

#[test]
fn a_cli_nobody_signed_in_to_says_how_to_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let az = fake_az(
        dir.path(),
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1",
    );
    let run = crate::common::apctl_env(
        ["doctor", "--tenant", "contoso.onmicrosoft.com", "--azure-cli"],
        &[("APCTL_AZURE_CLI", &az)],
    );
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("Please run 'az login'"), "{}", run.stdout);
    assert!(
        run.stdout.contains("az login --tenant contoso.onmicrosoft.com"),
        "{}",
        run.stdout
    );
}

/// The Azure CLI's `expires_on` at its extremes (the past, 0, `i64::MIN`,
/// `i64::MAX`) never panics: the token's life is kept within a day, and a
/// token dead on arrival is asked for again.
#[tokio::test(flavor = "multi_thread")]
async fn no_expiry_the_cli_prints_panics() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("/deviceManagement/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    for expires_on in [i64::MIN, -1, 0, i64::MAX] {
        let az = fake_az(
            dir.path(),
            &format!(
                r#"echo "{{\"accessToken\": \"cli-token\", \"expires_on\": {expires_on}, \"tokenType\": \"Bearer\"}}""#
            ),
        );
        let uri = server.uri();
        let run = tokio::task::spawn_blocking(move || {
            crate::common::apctl_env(
                [
                    "status",
                    "--tenant",
                    "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01",
                    "--azure-cli",
                    "-o",
                    "json",
                ],
                &[
                    ("APCTL_GRAPH_URL", uri.as_str()),
                    ("APCTL_AZURE_CLI", az.as_str()),
                ],
            )
        })
        .await
        .unwrap();
        assert_eq!(
            run.code, 0,
            "expires_on {expires_on}: {}{}",
            run.stdout, run.stderr
        );
    }
}
