//! Azure DevOps workload identity federation: the job's OIDC endpoint gives
//! a token for the service connection, which becomes the app's client
//! assertion. The OIDC endpoint and Entra are wiremock servers here.

use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test(flavor = "multi_thread")]
async fn the_service_connection_token_is_the_client_assertion() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oidc"))
        .and(query_param("serviceConnectionId", "sc-123"))
        .and(query_param("api-version", "7.1"))
        .and(header("authorization", "Bearer job-access-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"oidcToken": "ado-oidc-token"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .and(body_string_contains("client_assertion=ado-oidc-token"))
        .and(body_string_contains("client_id=app-456"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "graph-token", "expires_in": 3599})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceManagement/windowsAutopilotDeviceIdentities"))
        .and(header("authorization", "Bearer graph-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let uri = server.uri();
    let run = tokio::task::spawn_blocking(move || {
        let oidc = format!("{uri}/oidc");
        crate::common::apctl_env(
            ["doctor", "--tenant", "contoso.onmicrosoft.com"],
            &[
                ("APCTL_GRAPH_URL", &uri),
                ("AZURE_AUTHORITY_HOST", &uri),
                ("SYSTEM_OIDCREQUESTURI", &oidc),
                ("SYSTEM_ACCESSTOKEN", "job-access-token"),
                ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "sc-123"),
                ("AZURESUBSCRIPTION_CLIENT_ID", "app-456"),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("job-access-token") && !run.stdout.contains("ado-oidc-token"));
}

#[test]
fn a_missing_system_access_token_says_how_to_expose_it() {
    let run = crate::common::apctl_env(
        ["doctor", "--tenant", "contoso.onmicrosoft.com"],
        &[
            (
                "SYSTEM_OIDCREQUESTURI",
                "https://dev.azure.com/x/_apis/distributedtask/oidc",
            ),
            ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "sc"),
            ("AZURE_CLIENT_ID", "a"),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("SYSTEM_ACCESSTOKEN: $(System.AccessToken)"),
        "{}",
        run.stderr
    );
}
