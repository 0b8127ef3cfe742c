//! The Partner Center pipe through the built binary against wiremock
//! servers that answer with the Partner Center documentation's own
//! examples (`testdata/real-world/partner-center-examples/`) and error
//! samples (`errors/pc-*.json`). The requests apctl sent are asserted: the
//! batch bodies, the headers, the `Location` followed, and the same
//! `MS-RequestId` on a retry.

use crate::common::{Run, Sequence, apctl_env, entry, real_world, write};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const REGISTERED: &str = "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities";
/// The customer of the docs' list examples.
const CUSTOMER: &str = "47021739-3426-40bf-9601-61b4b6d7c793";

fn real(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(real_world(rel)).unwrap()).unwrap()
}

/// The documented answer of an example file, as a wiremock response.
fn answer(example: &Value) -> ResponseTemplate {
    let r = &example["response"];
    let mut t = ResponseTemplate::new(r["status"].as_u64().unwrap() as u16);
    if !r["body"].is_null() {
        t = t.set_body_json(r["body"].clone());
    }
    for (k, v) in r["headers"].as_object().unwrap() {
        if k != "Content-Length" {
            t = t.insert_header(k.as_str(), v.as_str().unwrap());
        }
    }
    t
}

/// The path of an example's `Location` header.
fn location(example: &Value) -> String {
    format!(
        "/v1{}",
        example["response"]["headers"]["Location"].as_str().unwrap()
    )
}

async fn server_with_tokens_and_batches() -> MockServer {
    let server = MockServer::start().await;
    crate::common::profiles_assigned(&server).await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "pc-access-token", "refresh_token": "rotated"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{CUSTOMER}/deviceBatches")))
        .respond_with(answer(&real("partner-center-examples/deviceBatches-list.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1/customers/{CUSTOMER}/deviceBatches/Test%20batch/devices"
        )))
        .respond_with(answer(&real(
            "partner-center-examples/deviceBatch-devices-list.json",
        )))
        .mount(&server)
        .await;
    server
}

async fn run(server: &MockServer, csv: &str, extra: &[&str]) -> (Run, Value) {
    run_with(server, csv, "5m", "0", extra).await
}

/// `run` with its deadline (`--timeout`) and time scale.
async fn run_with(
    server: &MockServer,
    csv: &str,
    timeout: &str,
    time_scale: &'static str,
    extra: &[&str],
) -> (Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "devices.csv", csv);
    let report = dir.path().join("report.json");
    let uri = server.uri();
    let mut args: Vec<String> = [
        "import",
        file.to_str().unwrap(),
        "--tenant",
        CUSTOMER,
        "--report",
        report.to_str().unwrap(),
        "--timeout",
        timeout,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = apctl_at(uri, args, time_scale).await;
    let report =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default()).unwrap_or(Value::Null);
    (out, report)
}

/// `apctl` with `args` against the server at `uri` as the partner's app
/// and admin, at the given time scale, off the async runtime.
async fn apctl_at(uri: String, args: Vec<String>, time_scale: &'static str) -> Run {
    tokio::task::spawn_blocking(move || {
        apctl_env(
            &args,
            &[
                ("APCTL_GRAPH_URL", uri.as_str()),
                ("AZURE_AUTHORITY_HOST", uri.as_str()),
                ("APCTL_PARTNER_CENTER_URL", uri.as_str()),
                ("AZURE_CLIENT_ID", "partner-app"),
                ("APCTL_REFRESH_TOKEN", "partner-admin-refresh-token"),
                ("AZURE_TENANT_ID", "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503"),
                ("APCTL_TIME_SCALE", time_scale),
            ],
        )
    })
    .await
    .unwrap()
}

async fn received(server: &MockServer, verb: &str, path_is: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == path_is)
        .collect()
}

fn header(r: &Request, name: &str) -> String {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_already_in_the_batch_are_not_sent_and_the_rest_are_added_and_followed() {
    let server = server_with_tokens_and_batches().await;
    let add = real("partner-center-examples/deviceBatch-addDevices.json");
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1/customers/{CUSTOMER}/deviceBatches/Test%20batch/devices"
        )))
        .respond_with(answer(&add))
        .expect(1)
        .mount(&server)
        .await;
    // The docs' status: the job says `finished`, its one device failed 808.
    Mock::given(method("GET"))
        .and(path(location(&add)))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(real("errors/pc-batch-device-808.json")["body"].clone()),
        )
        .mount(&server)
        .await;
    // Graph: nothing registered at lookup; the batch's device shows later.
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(json!({"value": []})),
            ResponseTemplate::new(200).set_body_json(json!({"value": [{
                "id": "ap-1", "serialNumber": "2R9-ZNP67", "manufacturer": "Dell Inc.",
                "model": "Precision WorkStation T7500", "enrollmentState": "notContacted"
            }]})),
        ]))
        .mount(&server)
        .await;
    let csv = "Manufacturer,Model,Serial Number\nDell Inc.,Precision WorkStation T7500,2R9-ZNP67\nHewlett-Packard,HP Z440 Workstation,1234567890\n";
    let (out, report) = run(&server, csv, &["--order-id", "PO-1", "--group-tag", "Test batch"]).await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);

    let in_batch = entry(&report, "2R9-ZNP67");
    assert_eq!(in_batch["action"], "already-registered");
    assert_eq!(in_batch["message"], "Device already registered");
    assert_eq!(in_batch["state"], "Ready for user");
    assert_eq!(in_batch["autopilotDeviceId"], "ap-1");

    let sent = received(
        &server,
        "POST",
        &format!("/v1/customers/{CUSTOMER}/deviceBatches/Test%20batch/devices"),
    )
    .await;
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        body,
        json!([{"serialNumber": "1234567890", "oemManufacturerName": "Hewlett-Packard", "modelName": "HP Z440 Workstation"}]),
        "a bare array of the one device not already in the batch"
    );
    let request_id = header(&sent[0], "ms-requestid");
    assert_eq!(request_id.len(), 36, "a GUID: {request_id}");
    assert!(!header(&sent[0], "ms-correlationid").is_empty());
    assert_eq!(header(&sent[0], "authorization"), "Bearer pc-access-token");
    assert!(
        !received(&server, "GET", &location(&add)).await.is_empty(),
        "the relative Location, without /v1, was followed"
    );

    let claimed = entry(&report, "1234567890");
    assert_eq!(claimed["state"], "Registration failed");
    assert_eq!(claimed["message"], "Device claimed by another organization");
    assert_eq!(claimed["errorCode"], "808");
    assert_eq!(claimed["errorName"], "ZtdDeviceAssignedToOtherTenant");
    assert_eq!(claimed["requestId"], request_id.as_str());
    assert_eq!(claimed["batchId"], "Test batch");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_batch_create_is_retried_with_the_same_request_id_after_retry_after() {
    let server = server_with_tokens_and_batches().await;
    let create = real("partner-center-examples/deviceBatch-create.json");
    let throttled = real("errors/pc-429-throttling-doc-sample.json");
    let mut too_many = ResponseTemplate::new(429).set_body_json(throttled["body"].clone());
    too_many = too_many.insert_header(
        "Retry-After",
        throttled["headers"]["Retry-After"].as_str().unwrap(),
    );
    Mock::given(method("POST"))
        .and(path(format!("/v1/customers/{CUSTOMER}/deviceBatches")))
        .respond_with(Sequence::new(vec![too_many, answer(&create)]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(location(&create)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "batchTrackingId": "beba2053-5401-46ff-9223-7e841ed78fbf",
            "status": "finished",
            "devicesStatus": [{"serialNumber": "PO1-0001", "status": "finished", "errorCode": "", "errorDescription": ""}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(json!({"value": []})),
            ResponseTemplate::new(200).set_body_json(json!({"value": [{
                // Registered with its batch's name as its tag, as Partner
                // Center registers devices.
                "id": "ap-7", "serialNumber": "PO1-0001", "enrollmentState": "notContacted", "groupTag": "PO-1"
            }]})),
        ]))
        .mount(&server)
        .await;
    let csv = "Manufacturer,Model,Serial Number\nFabrikam,Book 3,PO1-0001\n";
    let (out, report) = run(&server, csv, &["--order-id", "PO-0", "--group-tag", "PO-1"]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    let creates = received(
        &server,
        "POST",
        &format!("/v1/customers/{CUSTOMER}/deviceBatches"),
    )
    .await;
    assert_eq!(creates.len(), 2, "one 429, one retry");
    assert_eq!(
        header(&creates[0], "ms-requestid"),
        header(&creates[1], "ms-requestid"),
        "the same request keeps its MS-RequestId"
    );
    assert_ne!(
        header(&creates[0], "ms-correlationid"),
        header(&creates[1], "ms-correlationid"),
        "each call has its own MS-CorrelationId"
    );
    let body: Value = serde_json::from_slice(&creates[1].body).unwrap();
    assert_eq!(
        body,
        json!({"batchId": "PO-1", "devices": [{"serialNumber": "PO1-0001", "oemManufacturerName": "Fabrikam", "modelName": "Book 3"}]})
    );
    assert_eq!(report["http"]["throttled"], 1);
    assert_eq!(
        report["http"]["retryAfterMs"], 57_000,
        "the integer Retry-After was honoured"
    );
    let e = entry(&report, "PO1-0001");
    assert_eq!(e["state"], "Ready for user");
    assert_eq!(e["autopilotDeviceId"], "ap-7");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_graph_access_a_device_is_registered_with_its_batchs_tag_unconfirmed() {
    let server = server_with_tokens_and_batches().await;
    let create = real("partner-center-examples/deviceBatch-create.json");
    Mock::given(method("POST"))
        .and(path(format!("/v1/customers/{CUSTOMER}/deviceBatches")))
        .respond_with(answer(&create))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(location(&create)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "finished",
            "devicesStatus": [{"serialNumber": "TAG-1", "status": "finished", "errorCode": "0"}]
        })))
        .mount(&server)
        .await;
    let forbidden = real("errors/graph-403-intune-decoded-inner-message.json");
    Mock::given(method("GET"))
        .and(path(REGISTERED))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": {"code": forbidden["error_code"], "message": forbidden["decoded_message"]["Message"], "innerError": {"request-id": "rid-403"}}
        })))
        .mount(&server)
        .await;
    let csv = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag\nTAG-1,33000-11111-22222-33333-55555,,Kiosk\n";
    let (out, report) = run(&server, csv, &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let e = entry(&report, "TAG-1");
    assert_eq!(e["pipe"], "partnerCenter");
    assert_eq!(e["state"], "Ready for user");
    assert_eq!(
        (e["groupTag"].as_str(), e["batchId"].as_str()),
        (Some("Kiosk"), Some("Kiosk")),
        "the batch is named after the tag, which Partner Center gives the device"
    );
    assert_eq!(e["groupTagStatus"], "applied");
    let details = e["details"].as_str().unwrap();
    assert!(
        details.contains("not confirmed in the tenant's Autopilot list"),
        "{details}"
    );
    assert_eq!(report["totals"]["groupTagsNotApplied"], 0);
    let creates = received(
        &server,
        "POST",
        &format!("/v1/customers/{CUSTOMER}/deviceBatches"),
    )
    .await;
    let body: Value = serde_json::from_slice(&creates[0].body).unwrap();
    assert_eq!(
        body["devices"],
        json!([{"serialNumber": "TAG-1", "productKey": "33000-11111-22222-33333-55555"}])
    );
}

/// A Partner Center list whose continuation token changes on every page
/// (never the same link twice, so the loop check never fires) cannot hold
/// a run past `--timeout` and its grace: the run ends, every row is in the
/// report, and the report names the answer it was still waiting for.
#[tokio::test(flavor = "multi_thread")]
async fn continuation_tokens_that_never_end_stop_at_the_deadline() {
    struct Endless(std::sync::atomic::AtomicUsize);
    impl wiremock::Respond for Endless {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"totalCount": 0, "items": [], "continuationToken": format!("token-{n}")}),
                )
                .set_delay(std::time::Duration::from_millis(100))
        }
    }
    let server = server_with_tokens_and_batches().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{CUSTOMER}/deviceBatches")))
        .respond_with(Endless(Default::default()))
        .with_priority(1)
        .mount(&server)
        .await;
    let csv = "Device Serial Number,Windows Product ID,Hardware Hash\nPK-1,33000-11111-22222-33333-66666,\n";
    let (out, report) = run_with(&server, csv, "1s", "1", &["--grace", "0s", "--group-tag", "Lab"]).await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        report["entries"].as_array().unwrap().len(),
        1,
        "every row accounted for"
    );
    let errors = report["tenantErrors"].to_string();
    assert!(errors.contains("reached its deadline"), "{errors}");
    assert!(
        errors.contains("still waiting for pc."),
        "names the answer: {errors}"
    );
    let pages = received(&server, "GET", &format!("/v1/customers/{CUSTOMER}/deviceBatches")).await;
    assert!(
        pages.len() > 3,
        "the service kept sending new tokens: {}",
        pages.len()
    );
}
