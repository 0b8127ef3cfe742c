//! Simulated Partner Center device batches (SPEC §3.3): customers are the
//! tenants the partner resells to; a catalogue of devices the OEMs know,
//! matched case-sensitively by SMBIOS manufacturer, model and serial (or by
//! product key); batch jobs that finish after a delay, with per-device
//! string error codes under a job status that says `finished` either way;
//! throttling with an integer `Retry-After` and Partner Center's own error
//! shapes; and registered devices that then show in the tenant's Graph
//! Autopilot list.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::graph::Rejected;
use super::{RegisteredSpec, SimRequest, SimResponse, World, not_contacted, over_budget, registered_json};

/// A device an OEM knows (the simulated hash store behind tuple and
/// product-key registration).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueSpec {
    pub manufacturer: String,
    pub model: String,
    pub serial_number: String,
    #[serde(default)]
    pub product_key: Option<String>,
    /// Registered by another organisation (808 when uploaded).
    #[serde(default)]
    pub claimed_elsewhere: bool,
}

/// Partner Center's state.
#[derive(Default)]
pub(super) struct PcState {
    sent: VecDeque<(Duration, bool)>,
    blocked_until: Option<Duration>,
    /// Customer tenant index → batches, in creation order.
    batches: BTreeMap<usize, Vec<Batch>>,
    jobs: HashMap<String, Job>,
}

struct Batch {
    id: String,
    created: jiff::Timestamp,
    /// Devices uploaded to it and not refused by processing.
    devices: Vec<Value>,
}

struct Job {
    customer: usize,
    batch: String,
    created: Duration,
    devices: Vec<JobDevice>,
    done: bool,
}

struct JobDevice {
    device: Value,
    /// `None` until processed; then `Ok(())` or the code and name.
    outcome: Option<Result<(), (&'static str, &'static str)>>,
}

impl World {
    /// `/v1/…` requests.
    pub(super) fn partner_center(&mut self, req: &SimRequest, rest: &[&str]) -> SimResponse {
        let contract = req.contract_version.clone().unwrap_or_else(|| "(none)".into());
        self.stats
            .headers
            .entry("MS-Contract-Version".into())
            .or_default()
            .insert(contract);
        let token = req
            .authorization
            .as_deref()
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or("");
        if !self.pc_tokens.contains(token) {
            return pc_error(
                401,
                "401",
                "Unauthorized: the token is not a Partner Center app + user token",
            );
        }
        if let Some(r) = self.pc_throttle(req.method != "GET") {
            return r;
        }
        let ["customers", customer, tail @ ..] = rest else {
            return pc_error(404, "404", "Resource not found");
        };
        let Some(index) = self
            .tenants
            .iter()
            .position(|t| t.spec.id.eq_ignore_ascii_case(customer) && t.spec.partner_center_customer)
        else {
            self.count("pc.unknown-customer");
            return pc_error(
                404,
                "404",
                "The customer was not found for this partner (no reseller relationship).",
            );
        };
        self.settle_jobs();
        let mut r = match (req.method.as_str(), tail) {
            ("GET", ["deviceBatches"]) => self.pc_list_batches(index),
            ("POST", ["deviceBatches"]) => self.pc_create(index, &req.body),
            ("GET", ["deviceBatches", batch, "devices"]) => {
                self.pc_batch_devices(index, &decode(batch), req.continuation.as_deref())
            }
            ("POST", ["deviceBatches", batch, "devices"]) => self.pc_add(index, &decode(batch), &req.body),
            ("GET", [status, tracking]) if status.eq_ignore_ascii_case("batchJobStatus") => {
                self.pc_status(index, tracking)
            }
            _ => pc_error(404, "404", "Resource not found"),
        };
        r.headers.push(("MS-CorrelationId".into(), self.uuid()));
        r
    }

    fn pc_throttle(&mut self, write: bool) -> Option<SimResponse> {
        let now = self.clock.now();
        let limits = self.config.limits?;
        if self.pc.blocked_until.is_some_and(|b| now < b) {
            self.stats.inside_retry_after += 1;
        }
        let wait = over_budget(&mut self.pc.sent, limits, now, write)?;
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        self.pc.blocked_until = Some(now + Duration::from_secs(seconds));
        self.stats.throttled += 1;
        let mut r = SimResponse::json(
            429,
            &json!({"statusCode": 429, "message": format!("Rate limit is exceeded. Try again in {seconds} seconds.")}),
        );
        r.headers.push(("Retry-After".into(), seconds.to_string()));
        Some(r)
    }

    fn pc_list_batches(&mut self, index: usize) -> SimResponse {
        self.count("pc.list-batches");
        let customer = self.tenants[index].spec.id.clone();
        let items: Vec<Value> = self
            .pc
            .batches
            .get(&index)
            .into_iter()
            .flatten()
            .map(|b| {
                json!({
                    "id": b.id,
                    "status": "finished",
                    "creationDate": b.created.to_string(),
                    "devicesCount": b.devices.len(),
                    "devicesLink": {"uri": format!("/customers/{customer}/deviceBatches/{}/devices", b.id), "method": "GET", "headers": []},
                    "attributes": {"objectType": "DeviceBatch"}
                })
            })
            .collect();
        collection(items)
    }

    /// A batch's devices in pages of [`DEVICE_PAGE`]: the next page is asked
    /// for with the body's `continuationToken` sent back as the
    /// `MS-ContinuationToken` header, as the real service pages them.
    fn pc_batch_devices(&mut self, index: usize, batch: &str, continuation: Option<&str>) -> SimResponse {
        self.count("pc.list-batch-devices");
        let Some(b) = self.find_batch(index, batch) else {
            return pc_error(404, "404", "The device batch was not found.");
        };
        let start = match continuation {
            None => 0,
            Some(token) => match token
                .strip_prefix(&format!("simct.{}.", b.id))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= b.devices.len())
            {
                Some(n) => n,
                None => return pc_error(400, "400", "The continuation token is not valid."),
            },
        };
        let end = (start + DEVICE_PAGE).min(b.devices.len());
        let mut body = json!({
            "totalCount": end - start,
            "items": b.devices[start..end].to_vec(),
            "attributes": {"objectType": "Collection"}
        });
        if end < b.devices.len() {
            body["continuationToken"] = json!(format!("simct.{}.{end}", b.id));
        }
        SimResponse::json(200, &body)
    }

    fn pc_create(&mut self, index: usize, body: &[u8]) -> SimResponse {
        self.count("pc.create-batch");
        let Some(body) = serde_json::from_slice::<Value>(body)
            .ok()
            .filter(Value::is_object)
        else {
            return pc_error(
                400,
                "400",
                "The request body is not a DeviceBatchCreationRequest.",
            );
        };
        let Some(batch) = field(&body, "batchId").and_then(Value::as_str).map(str::to_owned) else {
            return pc_error(400, "400", "batchId is required.");
        };
        let devices = match check_devices(field(&body, "devices")) {
            Ok(d) => d,
            Err(why) => {
                self.stats.rejected_bodies += 1;
                return pc_error(400, "400", &why.0);
            }
        };
        if self.find_batch(index, &batch).is_some() {
            return pc_error(409, "409", "A device batch with this id already exists.");
        }
        let created = self.clock.wall();
        self.pc.batches.entry(index).or_default().push(Batch {
            id: batch.clone(),
            created,
            devices: Vec::new(),
        });
        self.pc_accept(index, batch, devices)
    }

    fn pc_add(&mut self, index: usize, batch: &str, body: &[u8]) -> SimResponse {
        self.count("pc.add-devices");
        if self.find_batch(index, batch).is_none() {
            return pc_error(404, "404", "The device batch was not found.");
        }
        let devices = match serde_json::from_slice::<Value>(body) {
            Ok(v) => check_devices(Some(&v)),
            Err(e) => Err(Rejected(format!("The request body is not JSON: {e}"))),
        };
        // The add-devices page lists no Manufacturer+Model+Serial
        // combination: under that reading such a device is refused here.
        let tuple = |d: &Value| d.get("oemManufacturerName").is_some() && d.get("hardwareHash").is_none();
        match devices {
            Ok(d) if self.config.strict_batch_add && d.iter().any(tuple) => {
                self.stats.rejected_bodies += 1;
                pc_error(
                    400,
                    "600",
                    "The device identity combination is not supported when adding devices to an existing batch.",
                )
            }
            Ok(d) => self.pc_accept(index, batch.to_owned(), d),
            Err(why) => {
                self.stats.rejected_bodies += 1;
                pc_error(400, "400", &why.0)
            }
        }
    }

    /// 202 with a relative `Location` (no `/v1`) to the new job.
    fn pc_accept(&mut self, index: usize, batch: String, devices: Vec<Value>) -> SimResponse {
        let tracking = self.uuid();
        let uploaded = self.clock.wall().to_string();
        let mut batch = batch;
        if let Some(b) = self
            .pc
            .batches
            .get_mut(&index)
            .and_then(|bs| bs.iter_mut().find(|b| b.id.eq_ignore_ascii_case(&batch)))
        {
            // The batch's own spelling names the devices' tag.
            batch.clone_from(&b.id);
            // Uploaded devices are listed at once; a device that fails
            // processing leaves the batch again.
            for d in &devices {
                let mut listed = d.clone();
                listed["uploadedDate"] = json!(uploaded);
                listed["attributes"] = json!({"objectType": "Device"});
                b.devices.push(listed);
            }
        }
        let job = Job {
            customer: index,
            batch,
            created: self.clock.now(),
            devices: devices
                .into_iter()
                .map(|device| JobDevice {
                    device,
                    outcome: None,
                })
                .collect(),
            done: false,
        };
        self.pc.jobs.insert(tracking.clone(), job);
        let mut r = SimResponse::empty(202);
        let customer = &self.tenants[index].spec.id;
        r.headers.push((
            "Location".into(),
            format!("/customers/{customer}/batchJobStatus/{tracking}"),
        ));
        r
    }

    fn pc_status(&mut self, index: usize, tracking: &str) -> SimResponse {
        self.count("pc.batch-status");
        let Some(job) = self.pc.jobs.get(tracking).filter(|j| j.customer == index) else {
            return pc_error(404, "404", "The batch tracking id was not found.");
        };
        let devices: Vec<Value> = job
            .devices
            .iter()
            .map(|d| {
                let (status, code, name) = match d.outcome {
                    None => ("in-progress", "", ""),
                    Some(Ok(())) => ("finished", "", ""),
                    Some(Err((code, name))) => ("finished_with_errors", code, name),
                };
                json!({
                    "serialNumber": d.device.get("serialNumber").cloned().unwrap_or(Value::Null),
                    "productKey": d.device.get("productKey").cloned().unwrap_or(Value::Null),
                    "status": status,
                    "errorCode": code,
                    "errorDescription": name,
                    "attributes": {"objectType": "DeviceUploadDetails"}
                })
            })
            .collect();
        // Like the docs' sample: a finished job says `finished` even when
        // a device in it failed; only the elements tell.
        SimResponse::json(
            200,
            &json!({
                "batchTrackingId": tracking,
                "status": if job.done { "finished" } else { "processing" },
                "devicesStatus": devices,
                "attributes": {"objectType": "BatchUploadDetails"}
            }),
        )
    }

    fn find_batch(&self, index: usize, batch: &str) -> Option<&Batch> {
        // Batch ids compare without regard to case, as Partner Center's
        // own tools compare them.
        self.pc
            .batches
            .get(&index)?
            .iter()
            .find(|b| b.id.eq_ignore_ascii_case(batch))
    }

    /// Processes the jobs whose delay has passed: each device is matched
    /// against the catalogue and the registrations of every tenant.
    pub(super) fn settle_jobs(&mut self) {
        let now = self.clock.now();
        let wall = self.clock.wall();
        let due: Vec<String> = self
            .pc
            .jobs
            .iter()
            .filter(|(_, j)| !j.done && now >= j.created + self.config.batch_delay)
            .map(|(k, _)| k.clone())
            .collect();
        for tracking in due {
            let Some(mut job) = self.pc.jobs.remove(&tracking) else {
                continue;
            };
            for d in &mut job.devices {
                let before = d.device.clone();
                let outcome = self.register(job.customer, &job.batch, &mut d.device, wall);
                if let Some(b) = self
                    .pc
                    .batches
                    .get_mut(&job.customer)
                    .and_then(|bs| bs.iter_mut().find(|b| b.id == job.batch))
                    && let Some(pos) = b.devices.iter().position(|l| same_upload(l, &before))
                {
                    if outcome.is_ok() {
                        let id = format!("pc-{:09}", pos);
                        b.devices[pos]["id"] = json!(id);
                        b.devices[pos]["serialNumber"] = d.device["serialNumber"].clone();
                    } else {
                        b.devices.remove(pos);
                    }
                }
                d.outcome = Some(outcome);
            }
            job.done = true;
            self.pc.jobs.insert(tracking, job);
        }
    }

    /// One device's registration: 812 when the OEM knows no such device
    /// (exact, case-sensitive match), 808 when another organisation has it,
    /// 806 when this tenant already has it; else it joins the tenant's
    /// Autopilot list and the batch, with the batch's name as its group tag
    /// (what Intune shows for a Partner Center device: the batch name is
    /// the old `OrderID`, docs/microsoft-behaviour.md).
    fn register(
        &mut self,
        index: usize,
        batch: &str,
        device: &mut Value,
        wall: jiff::Timestamp,
    ) -> Result<(), (&'static str, &'static str)> {
        let text = |k: &str| device.get(k).and_then(Value::as_str).map(str::to_owned);
        let (serial, key) = (text("serialNumber"), text("productKey"));
        let known = self
            .catalogue
            .iter()
            .find(|c| match (&key, text("oemManufacturerName")) {
                (Some(k), None) => c.product_key.as_deref() == Some(k.as_str()),
                (_, manufacturer) => {
                    manufacturer.as_deref() == Some(c.manufacturer.as_str())
                        && text("modelName").as_deref() == Some(c.model.as_str())
                        && serial.as_deref() == Some(c.serial_number.as_str())
                }
            });
        let Some(known) = known.cloned() else {
            return Err(("812", "ZtdDeviceNotFound"));
        };
        // The job reports the serial of a device found by product key.
        device["serialNumber"] = json!(known.serial_number);
        if known.claimed_elsewhere {
            return Err(("808", "ZtdDeviceAssignedToOtherTenant"));
        }
        let holder = self.tenants.iter().position(|t| {
            t.registered
                .iter()
                .any(|r| r["serialNumber"] == known.serial_number.as_str())
        });
        match holder {
            Some(h) if h == index => return Err(("806", "ZtdDeviceAlreadyAssigned")),
            Some(_) => return Err(("808", "ZtdDeviceAssignedToOtherTenant")),
            None => {}
        }
        let tenant = &mut self.tenants[index];
        let spec = RegisteredSpec {
            serial_number: known.serial_number.clone(),
            manufacturer: Some(known.manufacturer.clone()),
            model: Some(known.model.clone()),
            group_tag: Some(batch.to_owned()),
            enrollment_state: not_contacted(),
            last_contact_days_ago: None,
        };
        let n = tenant.registered.len();
        let mut listed = registered_json(&tenant.spec.id, n, &spec, wall);
        listed["productKey"] = json!(known.product_key.clone().unwrap_or_default());
        let id = listed["id"].as_str().unwrap_or_default().to_owned();
        tenant.registered.push(listed);
        tenant.registered_now(&id, self.clock.now(), &self.config);
        Ok(())
    }
}

/// The batch's listing of an uploaded device.
fn same_upload(listed: &Value, uploaded: &Value) -> bool {
    ["serialNumber", "oemManufacturerName", "modelName", "productKey"]
        .iter()
        .all(|k| listed.get(*k).unwrap_or(&Value::Null) == uploaded.get(*k).unwrap_or(&Value::Null))
}

/// A member read in camelCase or PascalCase.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    o.get(name).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Checks a device list as the service would: each device one of the
/// documented identifications; returned in camelCase.
fn check_devices(devices: Option<&Value>) -> Result<Vec<Value>, Rejected> {
    let Some(list) = devices.and_then(Value::as_array) else {
        return Err("devices must be an array.".into());
    };
    if list.is_empty() {
        return Err("devices must not be empty.".into());
    }
    let mut out = Vec::new();
    for d in list {
        let get = |k: &str| field(d, k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let (serial, maker, model, key, hash) = (
            get("serialNumber"),
            get("oemManufacturerName"),
            get("modelName"),
            get("productKey"),
            get("hardwareHash"),
        );
        let tuple = serial.is_some() && maker.is_some() && model.is_some();
        if !(tuple || key.is_some() || hash.is_some()) {
            return Err(
                "Each device needs a hardware hash, a product key, or serial number, manufacturer and model."
                    .into(),
            );
        }
        out.push(json!({
            "serialNumber": serial,
            "oemManufacturerName": maker,
            "modelName": model,
            "productKey": key,
        }));
    }
    Ok(out)
}

/// Devices in one page of a batch's list, as the real service pages them.
const DEVICE_PAGE: usize = 100;

fn collection(items: Vec<Value>) -> SimResponse {
    SimResponse::json(
        200,
        &json!({"totalCount": items.len(), "items": items, "attributes": {"objectType": "Collection"}}),
    )
}

/// Partner Center's error shape.
fn pc_error(status: u16, code: &str, description: &str) -> SimResponse {
    SimResponse::json(
        status,
        &json!({"code": code, "description": description, "data": [], "source": "PartnerCenter"}),
    )
}

/// A percent-encoded path segment, decoded.
fn decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::{SimConfig, SimLimits};
    use super::*;
    use crate::clock::ScaledClock;

    fn request(method: &str, path: &str, token: Option<&str>, body: &str) -> SimRequest {
        SimRequest {
            method: method.into(),
            path: path.into(),
            query: None,
            authorization: token.map(|t| format!("Bearer {t}")),
            body: body.as_bytes().to_vec(),
            contract_version: Some("v1".into()),
            continuation: None,
        }
    }

    fn world(limits: Option<SimLimits>) -> (World, String) {
        let config = SimConfig {
            limits,
            batch_delay: Duration::ZERO,
            ..SimConfig::default()
        };
        let mut w = World::new(crate::simulator::demo_world(), config, ScaledClock::scaled(0.0));
        let form = "grant_type=refresh_token&client_id=6b7c8d9e-0000-4000-8000-00000000a9c1&refresh_token=apctl-demo-refresh-token&scope=https%3A%2F%2Fapi.partnercenter.microsoft.com%2Fuser_impersonation";
        let r = w.handle(&request("POST", "/organizations/oauth2/v2.0/token", None, form));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        let token = v["access_token"].as_str().unwrap().to_owned();
        (w, token)
    }

    const BATCHES: &str = "/v1/customers/2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01/deviceBatches";

    #[test]
    fn partner_center_throttles_with_an_integer_retry_after_and_its_own_error_shape() {
        let limits = SimLimits {
            writes: 1,
            requests: 2,
            window: Duration::from_secs(20),
        };
        let (mut w, token) = world(Some(limits));
        assert_eq!(w.handle(&request("GET", BATCHES, Some(&token), "")).status, 200);
        assert_eq!(w.handle(&request("GET", BATCHES, Some(&token), "")).status, 200);
        let r = w.handle(&request("GET", BATCHES, Some(&token), ""));
        assert_eq!(r.status, 429);
        let retry_after = r.headers.iter().find(|(k, _)| k == "Retry-After").unwrap();
        assert_eq!(retry_after.1, "20", "whole seconds");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["statusCode"], 429);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Rate limit is exceeded")
        );
        assert_eq!(w.stats.inside_retry_after, 0);
        w.handle(&request("GET", BATCHES, Some(&token), ""));
        assert_eq!(
            w.stats.inside_retry_after, 1,
            "a request inside the window is counted"
        );
    }

    #[test]
    fn graph_tokens_are_refused_and_pascal_case_bodies_are_taken() {
        let (mut w, token) = world(None);
        assert_eq!(
            w.handle(&request("GET", BATCHES, Some("sim.graph"), "")).status,
            401
        );
        let body = r#"{"BatchId":"B","Devices":[{"SerialNumber":"000000000000","OemManufacturerName":"SpiralOrbit","ModelName":"ContosoABC","Policies":null}]}"#;
        let r = w.handle(&request("POST", BATCHES, Some(&token), body));
        assert_eq!(r.status, 202);
        let location = &r.headers.iter().find(|(k, _)| k == "Location").unwrap().1;
        assert!(
            location.starts_with("/customers/") && !location.starts_with("/v1"),
            "{location}"
        );
        let status = w.handle(&request("GET", &format!("/v1{location}"), Some(&token), ""));
        let v: Value = serde_json::from_slice(&status.body).unwrap();
        assert_eq!(v["status"], "finished");
        assert_eq!(v["devicesStatus"][0]["status"], "finished");
        let bad = w.handle(&request(
            "POST",
            BATCHES,
            Some(&token),
            r#"{"batchId":"C","devices":[{"serialNumber":"x"}]}"#,
        ));
        assert_eq!(bad.status, 400, "a serial alone is no documented identification");
    }
}
