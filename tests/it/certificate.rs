//! App + certificate through the built binary: the client assertion is a
//! JWT signed with the certificate's key, and the test verifies its
//! signature against the certificate's public key.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wiremock-fixtures/cert/demo-app.pem");
const PUBLIC_KEY: &[u8] = include_bytes!("../../wiremock-fixtures/cert/demo-app.pub.der");

const PFX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wiremock-fixtures/cert/demo-app.pfx");

#[tokio::test(flavor = "multi_thread")]
async fn the_assertion_is_signed_with_the_certificate() {
    assertion_signed_with(CERT, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pfx_certificate_signs_the_same_way() {
    assertion_signed_with(PFX, Some("apctl-demo")).await;
}

#[test]
fn a_pfx_with_the_wrong_password_is_refused_with_a_hint() {
    let run = crate::common::apctl_env(
        ["doctor", "--tenant", "contoso.onmicrosoft.com"],
        &[
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", PFX),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "nope"),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("wrong password?"), "{}", run.stderr);
    assert!(!run.stderr.contains("nope"));
}

async fn assertion_signed_with(cert: &'static str, password: Option<&'static str>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "t", "expires_in": 3599})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceManagement/windowsAutopilotDeviceIdentities"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let uri = server.uri();
    let run = tokio::task::spawn_blocking(move || {
        crate::common::apctl_env(
            [
                "doctor",
                "--tenant",
                "contoso.onmicrosoft.com",
                "--output",
                "json",
            ],
            &[
                ("APCTL_GRAPH_URL", &uri),
                ("AZURE_AUTHORITY_HOST", &uri),
                ("AZURE_CLIENT_ID", "app-123"),
                ("AZURE_CLIENT_CERTIFICATE_PATH", cert),
                ("AZURE_CLIENT_CERTIFICATE_PASSWORD", password.unwrap_or("")),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    let requests = server.received_requests().await.unwrap();
    let token_request = requests
        .iter()
        .find(|r| r.url.path().ends_with("/token"))
        .unwrap();
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(&token_request.body)
        .into_owned()
        .collect();
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!form.contains_key("client_secret"));
    let jwt = &form["client_assertion"];
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(header["x5t"].as_str().unwrap())
            .unwrap()
            .len(),
        20,
        "SHA-1 thumbprint"
    );
    assert_eq!(
        (claims["iss"].as_str(), claims["sub"].as_str()),
        (Some("app-123"), Some("app-123"))
    );
    assert_eq!(
        claims["aud"],
        format!("{}/contoso.onmicrosoft.com/oauth2/v2.0/token", server.uri())
    );
    assert!(claims["exp"].as_i64().unwrap() > claims["nbf"].as_i64().unwrap());
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, PUBLIC_KEY)
        .verify(signed.as_bytes(), &signature)
        .expect("the signature verifies with the certificate's public key");
}

#[test]
fn a_file_without_a_key_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let only_cert: String = std::fs::read_to_string(CERT)
        .unwrap()
        .split("-----BEGIN PRIVATE KEY-----")
        .next()
        .unwrap()
        .to_owned();
    let path = crate::common::write(dir.path(), "cert-only.pem", only_cert);
    let run = crate::common::apctl_env(
        ["doctor", "--tenant", "contoso.onmicrosoft.com"],
        &[
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", path.to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no private key"), "{}", run.stderr);
    assert!(run.stderr.contains("AZURE_CLIENT_CERTIFICATE_PATH"));
}
