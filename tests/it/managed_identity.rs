//! Managed identity as the federated credential of the partner's app: the
//! host's identity endpoint gives a token for the exchange audience, which
//! becomes the app's client assertion at the customer's authority. The
//! identity endpoint (App Service style, on loopback) and Entra are
//! wiremock servers here.

use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn graph_and_entra(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path_regex(
            "^/2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01/oauth2/v2.0/token$",
        ))
        .and(body_string_contains("client_assertion=mi-exchange-token"))
        .and(body_string_contains("client_id=partner-app"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "graph-token", "expires_in": 3599})),
        )
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceManagement/windowsAutopilotDeviceIdentities"))
        .and(header("authorization", "Bearer graph-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_assigned_identity_proves_the_partner_app() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/msi/token"))
        .and(query_param("api-version", "2019-08-01"))
        .and(query_param("resource", "api://AzureADTokenExchange"))
        .and(query_param("client_id", "mi-client-789"))
        .and(header("x-identity-header", "platform-secret-header"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "mi-exchange-token",
            "expires_on": "1893456000",
            "resource": "api://AzureADTokenExchange",
            "token_type": "Bearer",
            "client_id": "mi-client-789"
        })))
        .expect(1)
        .mount(&server)
        .await;
    graph_and_entra(&server).await;
    let uri = server.uri();
    let run = tokio::task::spawn_blocking(move || {
        let endpoint = format!("{uri}/msi/token");
        crate::common::apctl_env(
            [
                "-vvv",
                "doctor",
                "--tenant",
                "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01",
                "--managed-identity-client-id",
                "mi-client-789",
            ],
            &[
                ("APCTL_GRAPH_URL", &uri),
                ("AZURE_AUTHORITY_HOST", &uri),
                ("AZURE_CLIENT_ID", "partner-app"),
                ("IDENTITY_ENDPOINT", &endpoint),
                ("IDENTITY_HEADER", "platform-secret-header"),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for secret in ["platform-secret-header", "mi-exchange-token", "graph-token"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "`{secret}` was printed"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identity_endpoint_that_refuses_says_what_to_set_up() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/msi/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "Identity not found"
        })))
        .mount(&server)
        .await;
    let uri = server.uri();
    let run = tokio::task::spawn_blocking(move || {
        let endpoint = format!("{uri}/msi/token");
        crate::common::apctl_env(
            [
                "doctor",
                "--tenant",
                "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01",
                "--managed-identity",
            ],
            &[
                ("APCTL_GRAPH_URL", &uri),
                ("AZURE_AUTHORITY_HOST", &uri),
                ("AZURE_CLIENT_ID", "partner-app"),
                ("IDENTITY_ENDPOINT", &endpoint),
                ("IDENTITY_HEADER", "h"),
            ],
        )
    })
    .await
    .unwrap();
    assert_ne!(run.code, 0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("managed identity endpoint answered 400"), "{all}");
    assert!(all.contains("federated credential"), "{all}");
}

#[test]
fn managed_identity_needs_the_app_it_proves() {
    let run = crate::common::apctl_env(
        [
            "doctor",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--managed-identity",
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("AZURE_CLIENT_ID"), "{}", run.stderr);
}

#[test]
fn an_identity_endpoint_over_plain_http_to_another_host_is_refused() {
    let run = crate::common::apctl_env(
        [
            "doctor",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--managed-identity",
        ],
        &[
            ("AZURE_CLIENT_ID", "partner-app"),
            ("IDENTITY_ENDPOINT", "http://10.1.2.3/msi/token"),
            ("IDENTITY_HEADER", "h"),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("IDENTITY_ENDPOINT"), "{}", run.stderr);
}
