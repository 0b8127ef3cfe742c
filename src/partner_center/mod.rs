//! Typed Partner Center calls for device batches (SPEC §3.3): list a
//! customer's batches and a batch's devices, create a batch or add devices
//! to one, and read a batch job's status at the `Location` the service
//! gave. Bodies are sent in camelCase; answers are read in camelCase or
//! PascalCase, ignoring unknown keys (the docs' own sample has a key with
//! a leading space). Collections are Partner Center's `{totalCount, items}`
//! with an optional `links.next`, not OData.

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

use crate::net::endpoint;
use crate::transport::throttle::TenantGate;
use crate::transport::{CallError, Client, Request, Service};

/// The contract version the headers page marks required on every request.
pub const CONTRACT_VERSION: (&str, &str) = ("MS-Contract-Version", "v1");
/// The header that asks a seek-based list for its next page.
const CONTINUATION: &str = "MS-ContinuationToken";

/// One device as a batch takes it: a tuple, a product key, or a hash.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchDevice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oem_manufacturer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware_hash: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    batch_id: &'a str,
    devices: &'a [BatchDevice],
}

/// A device batch of a customer.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DeviceBatch {
    #[serde(alias = "Id")]
    #[serde(deserialize_with = "crate::sanitize::de::text")]
    pub id: String,
    #[serde(alias = "Status")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub status: Option<String>,
    #[serde(rename = "devicesCount", alias = "DevicesCount")]
    pub devices_count: Option<u64>,
}

/// A device already in a batch.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ListedDevice {
    #[serde(alias = "Id")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub id: Option<String>,
    #[serde(rename = "serialNumber", alias = "SerialNumber")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub serial_number: Option<String>,
    #[serde(rename = "productKey", alias = "ProductKey")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub product_key: Option<String>,
    #[serde(rename = "modelName", alias = "ModelName")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub model_name: Option<String>,
    #[serde(rename = "oemManufacturerName", alias = "OemManufacturerName")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub oem_manufacturer_name: Option<String>,
}

/// A batch job's status (`BatchUploadDetails`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BatchStatus {
    #[serde(rename = "batchTrackingId", alias = "BatchTrackingId")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub batch_tracking_id: Option<String>,
    /// `unknown`, `queued`, `processing`, `finished`, `finished_with_errors`
    /// (kept as text: an unknown value is not an error).
    /// Null reads as empty: not known yet.
    #[serde(alias = "Status", deserialize_with = "crate::sanitize::de::text_or_null")]
    pub status: String,
    #[serde(
        rename = "devicesStatus",
        alias = "DevicesStatus",
        deserialize_with = "crate::net::null_is_default"
    )]
    pub devices_status: Vec<DeviceStatus>,
}

impl BatchStatus {
    /// True once the job will not change any more.
    pub fn is_final(&self) -> bool {
        let s = self.status.to_ascii_lowercase();
        s == "finished" || s == "finished_with_errors"
    }
}

/// One device of a batch job (`DeviceUploadDetails`). `errorCode` is a
/// string in the docs; a number is read too.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DeviceStatus {
    #[serde(rename = "serialNumber", alias = "SerialNumber")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub serial_number: Option<String>,
    #[serde(rename = "productKey", alias = "ProductKey")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub product_key: Option<String>,
    #[serde(alias = "Status", deserialize_with = "crate::sanitize::de::text_or_null")]
    pub status: String,
    #[serde(
        rename = "errorCode",
        alias = "ErrorCode",
        deserialize_with = "text_or_number"
    )]
    pub error_code: Option<String>,
    #[serde(rename = "errorDescription", alias = "ErrorDescription")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub error_description: Option<String>,
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(crate::sanitize::inert(&s)),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Deserialize)]
#[serde(default)]
struct Collection<T> {
    #[serde(alias = "Items")]
    items: Vec<T>,
    #[serde(alias = "Links")]
    links: Option<Links>,
    /// Seek-based lists (a batch's devices) name the next page by a token
    /// sent back as the `MS-ContinuationToken` header.
    #[serde(
        rename = "continuationToken",
        alias = "ContinuationToken",
        deserialize_with = "crate::net::null_is_default"
    )]
    continuation_token: String,
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            links: None,
            continuation_token: String::new(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Links {
    #[serde(alias = "Next")]
    next: Option<Link>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Link {
    #[serde(alias = "Uri")]
    uri: String,
    #[serde(alias = "Headers")]
    headers: Vec<LinkHeader>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkHeader {
    #[serde(alias = "Key")]
    key: String,
    #[serde(alias = "Value")]
    value: String,
}

/// An accepted batch request: where its job status is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The `Location` header as given (relative, without `/v1`).
    pub location: String,
    /// The `MS-RequestId` of the call.
    pub request_id: Option<String>,
}

/// Partner Center calls for one customer, made with the partner's token.
pub struct PartnerCenter<'a> {
    pub client: &'a Client,
    /// Partner Center root; `/v1` is appended.
    pub root: &'a Url,
    /// The partner tenant the token is asked for at.
    pub partner_tenant: &'a str,
    /// The customer's id (its tenant id).
    pub customer: &'a str,
    pub gate: &'a TenantGate,
    /// The token scope of this cloud's Partner Center.
    pub scope: &'static str,
}

impl PartnerCenter<'_> {
    /// The customer's device batches.
    pub async fn list_batches(&self) -> Result<Vec<DeviceBatch>, CallError> {
        let path = format!("/customers/{}/deviceBatches", segment(self.customer));
        self.list(&path, "pc.list-batches").await
    }

    /// The devices already in a batch.
    pub async fn list_batch_devices(&self, batch: &str) -> Result<Vec<ListedDevice>, CallError> {
        let path = format!(
            "/customers/{}/deviceBatches/{}/devices",
            segment(self.customer),
            segment(batch)
        );
        self.list(&path, "pc.list-batch-devices").await
    }

    /// Creates a batch holding `devices`.
    pub async fn create_batch(&self, batch: &str, devices: &[BatchDevice]) -> Result<Accepted, CallError> {
        let path = format!("/customers/{}/deviceBatches", segment(self.customer));
        let body = CreateBody {
            batch_id: batch,
            devices,
        };
        let req = self.request(Method::POST, &path, "pc.create-batch").json(&body);
        self.accepted(&req).await
    }

    /// Adds `devices` to an existing batch.
    pub async fn add_devices(&self, batch: &str, devices: &[BatchDevice]) -> Result<Accepted, CallError> {
        let path = format!(
            "/customers/{}/deviceBatches/{}/devices",
            segment(self.customer),
            segment(batch)
        );
        let req = self.request(Method::POST, &path, "pc.add-devices").json(&devices);
        self.accepted(&req).await
    }

    /// Reads a batch job's status at the `Location` a create or add gave.
    pub async fn batch_status(&self, location: &str) -> Result<BatchStatus, CallError> {
        let req = self.request(Method::GET, location, "pc.batch-status");
        let resp = self.client.send(self.partner_tenant, self.gate, &req).await?;
        serde_json::from_slice(&resp.body).map_err(|e| bad_body("pc.batch-status", &e.to_string()))
    }

    async fn accepted(&self, req: &Request) -> Result<Accepted, CallError> {
        let resp = self.client.send(self.partner_tenant, self.gate, req).await?;
        match resp.location {
            Some(location) if !location.trim().is_empty() => {
                pinned(self.root, &location, req.kind)?;
                Ok(Accepted {
                    location,
                    request_id: resp.request_id,
                })
            }
            _ => Err(bad_body(
                req.kind,
                &format!("the service answered {} without a Location header", resp.status),
            )),
        }
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        kind: &'static str,
    ) -> Result<Vec<T>, CallError> {
        let mut all = Vec::new();
        let mut req = self.request(Method::GET, path, kind);
        let mut seen = std::collections::HashSet::new();
        loop {
            let resp = self.client.send(self.partner_tenant, self.gate, &req).await?;
            let page: Collection<T> =
                serde_json::from_slice(&resp.body).map_err(|e| bad_body(kind, &e.to_string()))?;
            all.extend(page.items);
            let body_token = page.continuation_token;
            let (uri, mut continuation) = match page.links.and_then(|l| l.next) {
                Some(next) => {
                    pinned(self.root, &next.uri, kind)?;
                    // Only the continuation token is carried over: a header
                    // an answer names could be anything (`Authorization`…).
                    let headers: Vec<String> = next
                        .headers
                        .into_iter()
                        .filter(|h| h.key.eq_ignore_ascii_case(CONTINUATION))
                        .map(|h| h.value)
                        .collect();
                    (next.uri, headers)
                }
                None if !body_token.is_empty() => (path.to_owned(), Vec::new()),
                None => return Ok(all),
            };
            if continuation.is_empty() && !body_token.is_empty() {
                continuation.push(body_token);
            }
            let continuation: Vec<(String, String)> = continuation
                .into_iter()
                .map(|v| (CONTINUATION.to_owned(), v))
                .collect();
            if !seen.insert((uri.clone(), continuation.clone())) {
                return Err(bad_body(kind, "the service sent the same next link twice"));
            }
            if seen.len() > crate::transport::MAX_PAGES {
                return Err(bad_body(
                    kind,
                    "more pages than apctl follows: the service keeps sending new links",
                ));
            }
            req = self.request(Method::GET, &uri, kind);
            req.headers.extend(continuation);
        }
    }

    /// A request to a path under `/v1` (Partner Center's `Location` and
    /// links are relative and leave `/v1` out).
    fn request(&self, method: Method, path: &str, kind: &'static str) -> Request {
        let mut req = Request::new(
            Service::PartnerCenter,
            method,
            url(self.root, path),
            kind,
            self.scope,
        );
        req.headers
            .push((CONTRACT_VERSION.0.to_owned(), CONTRACT_VERSION.1.to_owned()));
        req
    }
}

/// The absolute URL of a Partner Center path as the service gives it:
/// relative without `/v1` (`/customers/…`), relative with it, or absolute.
pub fn url(root: &Url, path: &str) -> Url {
    if let Ok(absolute) = Url::parse(path) {
        return absolute;
    }
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let path = if path.to_ascii_lowercase().starts_with("/v1/") {
        path
    } else {
        format!("/v1{path}")
    };
    endpoint::join(root, &path)
}

/// One path segment, percent-encoded (batch ids may hold spaces).
fn segment(text: &str) -> String {
    crate::net::endpoint::segment(text)
}

/// A link or `Location` from an answer, pinned to Partner Center's own
/// origin: relative ones always are; an absolute one elsewhere is refused.
fn pinned(root: &Url, link: &str, kind: &'static str) -> Result<(), CallError> {
    let target = url(root, link);
    if crate::net::endpoint::same_origin(root, &target) {
        Ok(())
    } else {
        Err(CallError::ForeignLink {
            kind,
            host: target.host_str().unwrap_or("").to_owned(),
        })
    }
}

fn bad_body(kind: &'static str, why: &str) -> CallError {
    CallError::Decode {
        kind,
        service: "Partner Center",
        why: why.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/testdata/real-world/partner-center-examples/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn locations_are_relative_without_v1() {
        let root = Url::parse("https://api.partnercenter.microsoft.com").unwrap();
        let create = example("deviceBatch-create.json");
        let location = create["response"]["headers"]["Location"].as_str().unwrap();
        assert_eq!(
            url(&root, location).as_str(),
            "https://api.partnercenter.microsoft.com/v1/customers/c7f3c849-129f-4b85-a96d-4f8e88b315a3/batchJobStatus/beba2053-5401-46ff-9223-7e841ed78fbf"
        );
        assert_eq!(
            url(&root, "/v1/customers/x").as_str(),
            "https://api.partnercenter.microsoft.com/v1/customers/x"
        );
        assert_eq!(segment("Test batch"), "Test%20batch");
    }

    #[test]
    fn the_docs_status_is_read_with_its_string_error_code() {
        let doc = example("batchJobStatus-get.json");
        let status: BatchStatus = serde_json::from_value(doc["response"]["body"].clone()).unwrap();
        assert!(status.is_final());
        assert_eq!(status.status, "finished");
        let d = &status.devices_status[0];
        assert_eq!(d.error_code.as_deref(), Some("808"));
        assert_eq!(d.status, "finished_with_errors");
        assert_eq!(d.serial_number.as_deref(), Some("1234567890"));
    }

    #[test]
    fn pascal_case_answers_and_numeric_codes_are_read() {
        let status: BatchStatus = serde_json::from_str(
            r#"{"Status":"processing","DevicesStatus":[{"SerialNumber":"A","Status":"in-progress","ErrorCode":812}]}"#,
        )
        .unwrap();
        assert!(!status.is_final());
        assert_eq!(status.devices_status[0].error_code.as_deref(), Some("812"));
    }

    #[test]
    fn the_docs_device_list_with_its_odd_key_is_read() {
        let doc = example("deviceBatch-devices-list.json");
        let page: Collection<ListedDevice> = serde_json::from_value(doc["response"]["body"].clone()).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].serial_number.as_deref(), Some("2R9-ZNP67"));
        assert_eq!(
            page.items[1].oem_manufacturer_name.as_deref(),
            Some("Hewlett-Packard")
        );
        let doc = example("deviceBatches-list.json");
        let page: Collection<DeviceBatch> = serde_json::from_value(doc["response"]["body"].clone()).unwrap();
        assert_eq!(page.items[0].id, "Test batch");
    }

    #[test]
    fn create_bodies_carry_only_what_the_row_gave() {
        let devices = [BatchDevice {
            serial_number: Some("000000000000".into()),
            oem_manufacturer_name: Some("SpiralOrbit".into()),
            model_name: Some("ContosoABC".into()),
            ..BatchDevice::default()
        }];
        let body = serde_json::to_value(CreateBody {
            batch_id: "PO-1",
            devices: &devices,
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"batchId": "PO-1", "devices": [{"serialNumber": "000000000000", "oemManufacturerName": "SpiralOrbit", "modelName": "ContosoABC"}]})
        );
    }
}
