//! `apctl import` through the built binary against wiremock servers that
//! serve the real-world Graph answers of `testdata/real-world/`: throttling
//! with and without `Retry-After`, an expired token, the misleading first
//! `unknown`, `{"value": {…}}` on get, nextLink, Intune's nested messages,
//! and a POST whose answer was lost. Call counts are asserted.

use crate::common::{Run, Sequence, apctl_env, fake_hash, real_world, write};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const IMPORTED: &str = "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities";
const REGISTERED: &str = "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities";

fn real(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(real_world(rel)).unwrap()).unwrap()
}

fn staged(id: &str, serial: &str, status: &str, code: i64, name: &str) -> Value {
    json!({"id": id, "serialNumber": serial, "importId": "x", "state": {"deviceImportStatus": status, "deviceRegistrationId": null, "deviceErrorCode": code, "deviceErrorName": name}})
}

fn registered(serial: &str) -> Value {
    json!({"id": format!("dev-{serial}"), "serialNumber": serial, "enrollmentState": "notContacted", "lastContactedDateTime": "0001-01-01T00:00:00Z"})
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A server that takes one device `WM-0001` through a normal import.
async fn graph_for_one_device() -> MockServer {
    let server = MockServer::start().await;
    token(&server, 3).await;
    crate::common::profiles_assigned(&server).await;
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(Sequence::new(vec![
            ok(json!({"value": []})),
            ok(json!({"value": [registered("WM-0001")]})),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(IMPORTED))
        .respond_with(ok(json!({"value": []})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(
            ok(json!({"value": [staged("id-1", "WM-0001", "unknown", 0, "")]}))
                .insert_header("request-id", "rid-import"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMPORTED}/id-1")))
        .respond_with(ok(staged("id-1", "WM-0001", "complete", 0, "None")))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{IMPORTED}/id-1")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

async fn token(server: &MockServer, priority: u8) {
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(ok(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "test-access-token"}),
        ))
        .with_priority(priority)
        .named("token")
        .mount(server)
        .await;
}

/// Runs `apctl import` on a CSV of `serials` against the server.
async fn import(server: &MockServer, serials: &[String]) -> (Run, Value) {
    import_with(server, serials, &[]).await
}

/// The same with extra environment variables.
async fn import_with(
    server: &MockServer,
    serials: &[String],
    extra: &[(&'static str, &'static str)],
) -> (Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Device Serial Number,Windows Product ID,Hardware Hash\n");
    for (i, s) in serials.iter().enumerate() {
        text.push_str(&format!("{s},,{}\n", fake_hash(i as u64 + 1, 3000)));
    }
    let file = write(dir.path(), "devices.csv", text);
    let report = dir.path().join("report.json");
    let uri = server.uri();
    let args = vec![
        "import".to_string(),
        file.display().to_string(),
        "--tenant".into(),
        "contoso.onmicrosoft.com".into(),
        "--report".into(),
        report.display().to_string(),
        "--timeout".into(),
        "5m".into(),
    ];
    let extra = extra.to_vec();
    let run = tokio::task::spawn_blocking(move || {
        let mut env: Vec<(&str, &str)> = vec![
            ("APCTL_GRAPH_URL", &uri),
            ("AZURE_AUTHORITY_HOST", &uri),
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_SECRET", "test-secret"),
            ("APCTL_TIME_SCALE", "0"),
        ];
        env.extend(extra.iter().copied());
        apctl_env(args, &env)
    })
    .await
    .unwrap();
    let report = std::fs::read_to_string(&report)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (run, report)
}

fn one() -> Vec<String> {
    vec!["WM-0001".to_string()]
}

async fn count(server: &MockServer, m: &str, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_import_settles_and_cleans_up() {
    let server = graph_for_one_device().await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["entries"][0]["state"], "Ready for user");
    assert_eq!(report["entries"][0]["requestId"], "rid-import");
    assert_eq!(
        count(&server, "DELETE", &format!("{IMPORTED}/id-1")).await,
        1,
        "the staged record is removed"
    );
    assert_eq!(
        count(&server, "GET", &format!("{IMPORTED}/id-1")).await,
        1,
        "an `unknown` first answer is polled once more"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fractional_retry_after_is_honoured() {
    let server = graph_for_one_device().await;
    let sample = real("errors/graph-429-throttling-doc-sample.json");
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "2.128")
                .set_body_json(&sample["body"]),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(count(&server, "POST", &format!("{IMPORTED}/import")).await, 2);
    assert_eq!(report["http"]["throttled"], 1);
    assert_eq!(
        report["http"]["retryAfterMs"], 2128,
        "waited exactly the fractional Retry-After"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_without_retry_after_backs_off_and_retries() {
    let server = graph_for_one_device().await;
    let sample = real("errors/graph-429-activityLimitReached-no-retry-after.json");
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(ResponseTemplate::new(429).set_body_json(&sample["body"]))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["http"]["throttled"], 2);
    assert_eq!(report["http"]["retryAfterMs"], 0);
    assert_eq!(report["entries"][0]["state"], "Ready for user");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refreshed_once() {
    let server = graph_for_one_device().await;
    let sample = real("errors/graph-401-token-expired.json");
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(ResponseTemplate::new(401).set_body_json(&sample["body"]))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, _) = import(&server, &one()).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let tokens = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .count();
    assert_eq!(tokens, 2, "one token, one refresh after the 401");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_first_answer_that_turns_into_808() {
    let server = graph_for_one_device().await;
    let observed = real("errors/autopilot-import-state-unknown-observed.json");
    let mut first = observed["observed_body"].clone();
    first["id"] = json!("id-1");
    first["serialNumber"] = json!("WM-0001");
    Mock::given(method("GET"))
        .and(path(format!("{IMPORTED}/id-1")))
        .respond_with(Sequence::new(vec![
            ok(first),
            ok(staged(
                "id-1",
                "WM-0001",
                "error",
                808,
                "ZtdDeviceAssignedToOtherTenant",
            )),
        ]))
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let e = &report["entries"][0];
    assert_eq!(e["state"], "Registration failed");
    assert_eq!(e["message"], "Device claimed by another organization");
    assert_eq!(
        (e["errorCode"].as_str(), e["errorName"].as_str()),
        (Some("808"), Some("ZtdDeviceAssignedToOtherTenant"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_wrapped_get_is_read() {
    let server = graph_for_one_device().await;
    Mock::given(method("GET"))
        .and(path(format!("{IMPORTED}/id-1")))
        .respond_with(ok(
            json!({"value": staged("id-1", "WM-0001", "complete", 0, "None")}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["entries"][0]["state"], "Ready for user");
}

#[tokio::test(flavor = "multi_thread")]
async fn next_link_is_followed_exactly_as_given() {
    let server = graph_for_one_device().await;
    let link = format!(
        "{}{REGISTERED}?$skiptoken=RFNwdAIAAQAAACA6%3D%3D&$top=1",
        server.uri()
    );
    // The whole list's first page, and the serial's filtered read, both
    // go on at the link.
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .and(|r: &Request| {
            r.url
                .query()
                .is_none_or(|q| q.starts_with("$filter=contains(serialNumber,"))
        })
        .respond_with(ok(json!({"value": [], "@odata.nextLink": link})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .and(|r: &Request| r.url.query() == Some("$skiptoken=RFNwdAIAAQAAACA6%3D%3D&$top=1"))
        .respond_with(ok(json!({"value": [registered("WM-0001")]})))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        report["entries"][0]["action"], "already-registered",
        "found on page 2"
    );
    assert_eq!(count(&server, "POST", &format!("{IMPORTED}/import")).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn intune_nested_messages_are_decoded_and_the_permission_named() {
    let server = graph_for_one_device().await;
    let sample = real("errors/graph-403-intune-decoded-inner-message.json");
    let nested = serde_json::to_string(&sample["decoded_message"]).unwrap();
    let body = json!({"error": {"code": "Forbidden", "message": nested, "innerError": {"request-id": "rid-403", "date": "2025-06-19T10:00:00"}}});
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(ResponseTemplate::new(403).set_body_json(body))
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Application is not authorized to perform this operation"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("rid-403"));
    assert!(run.stdout.contains("DeviceManagementServiceConfig.ReadWrite.All"));
    assert_eq!(report["entries"][0]["action"], "not-sent");
    assert_eq!(count(&server, "POST", &format!("{IMPORTED}/import")).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_nested_429_is_shown_after_giving_up() {
    let server = graph_for_one_device().await;
    let sample = real("errors/graph-429-intune-nested-message.json");
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(ResponseTemplate::new(429).set_body_string(sample["body_text"].as_str().unwrap()))
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, _) = import(&server, &one()).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stdout
            .contains("An error has occurred - Operation ID (for customer support)"),
        "{}",
        run.stdout
    );
    assert!(
        count(&server, "GET", REGISTERED).await <= 8,
        "attempts are capped"
    );
}

/// Echoes an import body back as staged records.
struct EchoImport;

impl Respond for EchoImport {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let items = body["importedWindowsAutopilotDeviceIdentities"]
            .as_array()
            .unwrap();
        let value: Vec<Value> = items
            .iter()
            .map(|i| {
                staged(
                    &format!("id-{}", i["serialNumber"].as_str().unwrap()),
                    i["serialNumber"].as_str().unwrap(),
                    "unknown",
                    0,
                    "",
                )
            })
            .collect();
        ok(json!({"value": value}))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_devices_take_one_import_call_and_valid_bodies() {
    let serials: Vec<String> = (0..300).map(|i| format!("BULK-{i:04}")).collect();
    let server = MockServer::start().await;
    token(&server, 1).await;
    crate::common::profiles_assigned(&server).await;
    let all_complete: Vec<Value> = serials
        .iter()
        .map(|s| staged(&format!("id-{s}"), s, "complete", 0, "None"))
        .collect();
    let all_registered: Vec<Value> = serials.iter().map(|s| registered(s)).collect();
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(Sequence::new(vec![
            ok(json!({"value": []})),
            ok(json!({"value": all_registered})),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(IMPORTED))
        .respond_with(Sequence::new(vec![
            ok(json!({"value": []})),
            ok(json!({"value": all_complete})),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(EchoImport)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex(
            "^/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities/id-",
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(300)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &serials).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["totals"]["byState"]["Ready for user"], 300);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.url.path().starts_with(&format!("{IMPORTED}/id-")) && r.method.as_str() == "GET")
            .count(),
        0,
        "many staged records are polled by listing, not one GET each"
    );
    let import_body = &requests
        .iter()
        .find(|r| r.url.path().ends_with("/import"))
        .unwrap()
        .body;
    let items = apctl::simulator::check_import_body(import_body)
        .expect("the body validates against the schema excerpt");
    assert_eq!(items.len(), 300);
    let doc = real("graph-examples/importedWindowsAutopilotDeviceIdentity-import.json");
    let doc_fields = doc["request"]["body"]["importedWindowsAutopilotDeviceIdentities"][0]
        .as_object()
        .unwrap()
        .clone();
    for key in items[0].as_object().unwrap().keys() {
        assert!(
            doc_fields.contains_key(key),
            "{key} is not a field of the documented body"
        );
    }
    assert_eq!(
        items[0]["hardwareIdentifier"].as_str().unwrap().len(),
        4000,
        "the hash is sent whole and unchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_import_answer_is_checked_before_resending_and_carries_its_request_id() {
    let server = graph_for_one_device().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMPORTED}/import")))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("request-id", "c0ffee00-0000-4000-8000-000000000500")
                .set_body_json(json!({"error": {"code": "InternalServerError", "message": "boom"}})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 2, "the service failed: {}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("warning: contoso.onmicrosoft.com: import may have been sent"),
        "the engine's warning reaches the person through the reporter: {}",
        run.stderr
    );
    assert_eq!(
        count(&server, "POST", &format!("{IMPORTED}/import")).await,
        5,
        "sent at most five times, each after looking"
    );
    assert!(
        count(&server, "GET", IMPORTED).await >= 3,
        "the staged list was read before each resend"
    );
    // The service never judged the device: it is not sent, not
    // "Registration failed", and the reason is given once.
    let e = &report["entries"][0];
    assert_eq!(e["state"], Value::Null, "{e}");
    assert_eq!(e["action"], "not-sent");
    assert_eq!(e["cause"], "C1");
    assert_eq!(e["requestId"], "c0ffee00-0000-4000-8000-000000000500");
    let cause = &report["causes"][0];
    assert_eq!(cause["rows"], 1);
    assert!(
        cause["error"].as_str().unwrap().contains("did not confirm"),
        "{cause}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cloud_sets_the_graph_scope() {
    let server = graph_for_one_device().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .and(wiremock::matchers::body_string_contains(
            "scope=https%3A%2F%2Fgraph.microsoft.us%2F.default",
        ))
        .respond_with(ok(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "gov-token"}),
        ))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    let (run, _) = import_with(&server, &one(), &[("APCTL_CLOUD", "usgov")]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// A customer whose deployment profiles cannot be read (here `/beta`
/// answers 403): one warning says so, once, and the device keeps the state
/// its registration gives it.
#[tokio::test(flavor = "multi_thread")]
async fn unreadable_profiles_are_said_once_and_the_registered_state_stands() {
    let server = graph_for_one_device().await;
    Mock::given(method("GET"))
        .and(path_regex("^/beta/deviceManagement/windowsAutopilotDeviceIdentities"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": {"code": "Forbidden", "message": "Application is not authorized to perform this operation."}
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    let (run, report) = import(&server, &one()).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["entries"][0]["state"], "Ready for user");
    let said = run
        .stderr
        .matches("could not read deployment profile assignments")
        .count();
    assert_eq!(said, 1, "{}", run.stderr);
}
