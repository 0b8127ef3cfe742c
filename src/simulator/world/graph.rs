//! Simulated Microsoft Graph: imported (staged) Autopilot records and
//! their processing, registered devices, group tags, deletes, sync, and
//! the partner's GDAP relationships.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

impl World {
    pub(super) fn import(&mut self, index: usize, body: &[u8]) -> SimResponse {
        self.count("graph.import");
        let items = match check_import_body(body) {
            Ok(items) => items,
            Err(why) => {
                self.stats.rejected_bodies += 1;
                return graph_error(400, "BadRequest", &why.0, &self.request_id());
            }
        };
        let now = self.clock.now();
        let mut out = Vec::new();
        self.stats.imported_items += items.len() as u64;
        let mut hashes_here: std::collections::HashSet<u64> = std::collections::HashSet::new();
        for mut item in items {
            let id = self.uuid();
            let serial = item["serialNumber"].as_str().unwrap_or("").to_owned();
            // The hash is judged here and never read again (the service
            // answers it as null): not kept, so a big run stays small.
            let hash = item
                .as_object_mut()
                .and_then(|o| o.remove("hardwareIdentifier"))
                .unwrap_or_default();
            let hash = hash.as_str().unwrap_or("");
            let mut planned = self.tenants[index]
                .spec
                .outcomes
                .get(&serial)
                .map_or(Planned::Complete, |s| Planned::parse(s));
            if planned == Planned::Complete && !plausible_hash(hash) {
                planned = Planned::InvalidHash;
            }
            // The real service never registers a device twice: a serial the
            // tenant holds is answered 806, and a hash given twice in one
            // upload is ZtdDeviceDuplicated for the second.
            let registered = self.tenants[index]
                .registered
                .iter()
                .any(|r| r["serialNumber"] == serial.as_str());
            if planned == Planned::Complete && registered {
                planned = Planned::AlreadyAssigned;
            }
            if !hashes_here.insert(hash_key(hash)) {
                planned = Planned::Duplicated;
            }
            let staged = Staged {
                id: id.clone(),
                item,
                serial,
                created: now,
                finished: false,
                planned,
                registered: false,
                device_id: None,
            };
            out.push(self.staged_json(&staged, now, true));
            self.tenants[index].staged.insert(id, staged);
        }
        let mut r = SimResponse::json(200, &json!({ "value": out }));
        r.headers.push(("request-id".into(), self.request_id()));
        r
    }

    pub(super) fn get_staged(&mut self, index: usize, id: &str) -> SimResponse {
        self.count("graph.get-imported");
        self.settle(index);
        let now = self.clock.now();
        match self.tenants[index].staged.get(id) {
            Some(s) => SimResponse::json(200, &self.staged_json(s, now, false)),
            None => graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id()),
        }
    }

    pub(super) fn delete_staged(&mut self, index: usize, id: &str) -> SimResponse {
        self.count("graph.delete-imported");
        match self.tenants[index].staged.remove(id) {
            Some(_) => SimResponse::empty(204),
            None => graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id()),
        }
    }

    /// Deregisters one device by id (204), as `DELETE
    /// …/windowsAutopilotDeviceIdentities/{id}` does.
    pub(super) fn delete_registered(&mut self, index: usize, id: &str) -> SimResponse {
        self.count("graph.delete-registered");
        let registered = &mut self.tenants[index].registered;
        match registered.iter().position(|r| r["id"] == id) {
            Some(pos) => {
                registered.remove(pos);
                SimResponse::empty(204)
            }
            None => graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id()),
        }
    }

    pub(super) fn list_staged(&mut self, index: usize, req: &SimRequest) -> SimResponse {
        self.count("graph.list-imported");
        self.settle(index);
        let now = self.clock.now();
        let all: Vec<Value> = self.tenants[index]
            .staged
            .values()
            .map(|s| self.staged_json(s, now, false))
            .collect();
        self.page(&req.path, req.query.as_deref(), all)
    }

    /// The registered list, whole or filtered by
    /// `$filter=contains(serialNumber,'X')` (case-insensitive here, a
    /// superset either way: apctl compares serials exactly). As SPEC §3.2
    /// has it, `serialNumber eq` is refused, and so is a `contains` whose
    /// text has a hyphen.
    pub(super) fn list_registered(&mut self, index: usize, req: &SimRequest) -> SimResponse {
        let filter = req.query.as_deref().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find_map(|(k, v)| (k == "$filter").then(|| v.into_owned()))
        });
        if filter.as_deref().is_some_and(|f| f.contains("serialNumber eq")) {
            self.count("graph.list-registered");
            return graph_error(400, "BadRequest", "Invalid filter clause", &self.request_id());
        }
        let contains = filter
            .as_deref()
            .and_then(|f| f.strip_prefix("contains(serialNumber,'"))
            .and_then(|rest| rest.strip_suffix("')"));
        self.count(if contains.is_some() {
            "graph.find-registered"
        } else {
            "graph.list-registered"
        });
        if contains.is_some_and(|text| text.contains('-')) {
            return graph_error(400, "BadRequest", "Invalid filter clause", &self.request_id());
        }
        self.settle(index);
        let needle = contains.map(str::to_ascii_lowercase);
        let mut all: Vec<Value> = self.tenants[index]
            .registered
            .iter()
            .filter(|r| {
                needle.as_deref().is_none_or(|n| {
                    r["serialNumber"]
                        .as_str()
                        .is_some_and(|s| s.to_ascii_lowercase().contains(n))
                })
            })
            .cloned()
            .collect();
        if req.path.starts_with("/beta/") {
            // Only the beta type has the profile assignment.
            for device in &mut all {
                device["deploymentProfileAssignmentStatus"] = json!(self.profile_status(index, device));
            }
        }
        self.page(&req.path, req.query.as_deref(), all)
    }

    /// A device's `deploymentProfileAssignmentStatus` now.
    fn profile_status(&self, index: usize, device: &Value) -> &'static str {
        let id = device["id"].as_str().unwrap_or_default();
        let assigned = !self.config.no_profile
            && self.tenants[index]
                .profile_at
                .get(id)
                .is_none_or(|at| self.clock.now() >= *at);
        if assigned { "assignedInSync" } else { "notAssigned" }
    }

    pub(super) fn get_registered(&mut self, index: usize, id: &str, beta: bool) -> SimResponse {
        self.count(if beta {
            "graph.get-profile"
        } else {
            "graph.get-registered"
        });
        self.settle(index);
        match self.tenants[index].registered.iter().find(|r| r["id"] == id) {
            Some(r) => {
                let mut device = r.clone();
                if beta {
                    device["deploymentProfileAssignmentStatus"] = json!(self.profile_status(index, r));
                }
                SimResponse::json(200, &device)
            }
            None => graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id()),
        }
    }

    /// `updateDeviceProperties`: only the documented members, as strings.
    pub(super) fn update_device_properties(&mut self, index: usize, id: &str, body: &[u8]) -> SimResponse {
        self.count("graph.update-device-properties");
        const KNOWN: &[&str] = &[
            "groupTag",
            "userPrincipalName",
            "addressableUserName",
            "displayName",
        ];
        let parsed: Option<serde_json::Map<String, Value>> = serde_json::from_slice(body).ok();
        let Some(members) = parsed.filter(|m| {
            m.iter()
                .all(|(k, v)| KNOWN.contains(&k.as_str()) && (v.is_string() || v.is_null()))
        }) else {
            self.stats.rejected_bodies += 1;
            return graph_error(
                400,
                "BadRequest",
                "The request body is not valid for 'updateDeviceProperties'.",
                &self.request_id(),
            );
        };
        if !self.tenants[index].registered.iter().any(|r| r["id"] == id) {
            return graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id());
        }
        let shows_at =
            self.clock.now() + Duration::from_secs(self.tenants[index].spec.property_delay_seconds);
        self.tenants[index]
            .unseen
            .push((shows_at, id.to_owned(), members));
        self.show_updates(index);
        SimResponse::empty(204)
    }

    /// Property updates whose time has come show on their devices.
    fn show_updates(&mut self, index: usize) {
        let now = self.clock.now();
        let tenant = &mut self.tenants[index];
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut tenant.unseen)
            .into_iter()
            .partition(|(at, _, _)| *at <= now);
        tenant.unseen = later;
        for (_, id, members) in due {
            if let Some(device) = tenant.registered.iter_mut().find(|r| r["id"] == id.as_str()) {
                for (k, v) in members {
                    device[k.as_str()] = v;
                }
            }
        }
    }

    /// `deleteDevices`: each listed serial is deregistered
    /// (`deletionState: accepted`); an unknown one is `failed`.
    pub(super) fn delete_devices(&mut self, index: usize, body: &[u8]) -> SimResponse {
        self.count("graph.delete-devices");
        let serials: Vec<String> = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| serde_json::from_value(v["serialNumbers"].clone()).ok())
            .unwrap_or_default();
        if serials.is_empty() {
            self.stats.rejected_bodies += 1;
            return graph_error(
                400,
                "BadRequest",
                "serialNumbers is required.",
                &self.request_id(),
            );
        }
        let tenant = &mut self.tenants[index];
        let mut out = Vec::new();
        for serial in serials {
            let found = tenant
                .registered
                .iter()
                .position(|r| r["serialNumber"] == serial.as_str());
            let (state, message, id) = match found {
                Some(pos) => {
                    let removed = tenant.registered.remove(pos);
                    ("accepted", "", removed["id"].clone())
                }
                None => ("failed", "The device was not found.", Value::Null),
            };
            out.push(json!({
                "@odata.type": "microsoft.graph.deletedWindowsAutopilotDeviceState",
                "serialNumber": serial,
                "deviceRegistrationId": id,
                "deletionState": state,
                "errorMessage": message
            }));
        }
        SimResponse::json(200, &json!({ "value": out }))
    }

    /// `windowsAutopilotSettings`: when a sync was last asked for (SPEC
    /// §3.5), and whether one runs now.
    pub(super) fn sync_settings(&mut self, index: usize) -> SimResponse {
        self.count("graph.sync-settings");
        let (now, wall) = (self.clock.now(), self.clock.wall());
        let last = self.tenants[index].last_sync;
        let at = |t: Duration| {
            let ago = jiff::SignedDuration::try_from(now.saturating_sub(t)).unwrap_or_default();
            (wall - ago).to_string()
        };
        let running = last.is_some_and(|t| now < t + SYNC_RUNS);
        SimResponse::json(
            200,
            &json!({
                "@odata.type": "#microsoft.graph.windowsAutopilotSettings",
                "id": "6b9c5d2e-0000-4000-8000-00000000ab01",
                "lastSyncDateTime": last.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), at),
                "lastManualSyncTriggerDateTime": last.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), at),
                "syncStatus": if running { "inProgress" } else if last.is_some() { "completed" } else { "unknown" }
            }),
        )
    }

    /// Autopilot sync: at most once per 10 minutes per tenant.
    pub(super) fn sync(&mut self, index: usize) -> SimResponse {
        self.count("graph.sync");
        let now = self.clock.now();
        let tenant = &mut self.tenants[index];
        // As SPEC §5 has it: 409 while a sync runs (here, the minute it
        // takes to assign profiles), 429 within 10 minutes of the last.
        if tenant.last_sync.is_some_and(|t| now < t + SYNC_RUNS) {
            return graph_error(
                409,
                "Conflict",
                "A sync is already in progress.",
                &self.request_id(),
            );
        }
        if tenant
            .last_sync
            .is_some_and(|t| now < t + Duration::from_secs(600))
        {
            return graph_error(429, "TooManyRequests", "Too many requests", &self.request_id());
        }
        tenant.last_sync = Some(now);
        // A sync assigns waiting profiles within a minute.
        let soon = now + Duration::from_secs(60);
        for at in tenant.profile_at.values_mut() {
            *at = (*at).min(soon);
        }
        SimResponse::empty(204)
    }

    /// Devices whose verdict has come and that succeed join the registered
    /// list (and 806s stand for a device that was there all along).
    pub(super) fn settle(&mut self, index: usize) {
        self.settle_jobs();
        self.show_updates(index);
        let now = self.clock.now();
        let wall = self.clock.wall();
        let delay = self.config.import_delay;
        let tenant = &mut self.tenants[index];
        let mut joining: Vec<Value> = Vec::new();
        let mut twice = 0;
        let base = tenant.registered.len();
        for s in tenant.staged.values_mut() {
            let done = s.finished || now >= s.created + delay;
            if done && !s.registered && matches!(s.planned, Planned::Complete | Planned::AlreadyAssigned) {
                s.registered = true;
                // Two staged records of one serial settling together
                // register it once, as the real service does.
                let known = |r: &Value| r["serialNumber"] == s.serial.as_str();
                if !tenant.registered.iter().any(known) && !joining.iter().any(known) {
                    // `complete` names the device it made.
                    s.device_id = Some(device_id(&tenant.spec.id, base + joining.len()));
                    joining.push(s.item.clone());
                } else if s.planned == Planned::Complete {
                    // Sent twice and settling together: the second is an
                    // 806, as the real service answers it.
                    twice += 1;
                    s.planned = Planned::AlreadyAssigned;
                }
            }
        }
        for item in joining {
            let n = tenant.registered.len();
            tenant.registered_now(&device_id(&tenant.spec.id, n), now, &self.config);
            let spec = RegisteredSpec {
                serial_number: item["serialNumber"].as_str().unwrap_or("").to_owned(),
                manufacturer: None,
                model: None,
                group_tag: item["groupTag"].as_str().map(str::to_owned),
                enrollment_state: not_contacted(),
                last_contact_days_ago: None,
            };
            tenant
                .registered
                .push(registered_json(&tenant.spec.id, n, &spec, wall));
        }
        self.stats.registered_twice += twice;
    }

    pub(super) fn staged_json(&self, s: &Staged, now: Duration, first: bool) -> Value {
        let done = s.finished || now >= s.created + self.config.import_delay;
        let (status, code, name) = match (s.planned, done && !first) {
            (_, false) | (Planned::Stuck, _) => ("unknown", 0, ""),
            (Planned::Complete, true) => ("complete", 0, "None"),
            (Planned::AlreadyAssigned, true) => ("error", 806, "ZtdDeviceAlreadyAssigned"),
            (Planned::OtherTenant | Planned::UnknownThenOtherTenant, true) => {
                ("error", 808, "ZtdDeviceAssignedToOtherTenant")
            }
            (Planned::InvalidHash, true) => ("error", 802, "InvalidZtdHardwareHash"),
            (Planned::Transient, true) => ("error", 640, "StorageError"),
            (Planned::Duplicated, true) => ("error", 0, "ZtdDeviceDuplicated"),
        };
        let status = if s.planned == Planned::Stuck && done {
            "pending"
        } else {
            status
        };
        json!({
            "@odata.type": "#microsoft.graph.importedWindowsAutopilotDeviceIdentity",
            "id": s.id,
            "groupTag": s.item.get("groupTag").cloned().unwrap_or(Value::Null),
            "serialNumber": s.serial,
            "productKey": if self.config.keep_import_id { s.item.get("productKey").cloned().unwrap_or(Value::String(String::new())) } else { json!(s.id) },
            "importId": if self.config.keep_import_id { s.item.get("importId").cloned().unwrap_or(Value::Null) } else { json!(s.id) },
            "hardwareIdentifier": null,
            "assignedUserPrincipalName": s.item.get("assignedUserPrincipalName").cloned().unwrap_or(Value::Null),
            "state": {
                "@odata.type": "microsoft.graph.importedWindowsAutopilotDeviceIdentityState",
                "deviceImportStatus": status,
                "deviceRegistrationId": if status == "complete" { s.device_id.clone().map_or(Value::Null, Value::String) } else { Value::Null },
                "deviceErrorCode": code,
                "deviceErrorName": name
            }
        })
    }
}

/// The id of a tenant's `n`th registered device.
pub(super) fn device_id(tenant: &str, n: usize) -> String {
    format!("{}-{n:06}", &tenant[..8])
}

/// A registered device's JSON as Graph lists it.
pub(super) fn registered_json(tenant: &str, n: usize, r: &RegisteredSpec, now: jiff::Timestamp) -> Value {
    let last = match r.last_contact_days_ago {
        Some(days) => (now - jiff::SignedDuration::from_hours(24 * days)).to_string(),
        None => "0001-01-01T00:00:00Z".to_owned(),
    };
    json!({
        "@odata.type": "#microsoft.graph.windowsAutopilotDeviceIdentity",
        "id": device_id(tenant, n),
        "groupTag": r.group_tag.clone().unwrap_or_default(),
        "purchaseOrderIdentifier": "",
        "serialNumber": r.serial_number,
        "productKey": "",
        "manufacturer": r.manufacturer.clone().unwrap_or_default(),
        "model": r.model.clone().unwrap_or_default(),
        "enrollmentState": r.enrollment_state,
        "lastContactedDateTime": last,
        "addressableUserName": "",
        "userPrincipalName": "",
        "displayName": ""
    })
}

sentence_error! {
    /// Why the simulator refuses a request body, in the service's words.
    Rejected
}

/// The import body the real service takes: one member holding an array of
/// objects whose properties all exist on `importedWindowsAutopilotDeviceIdentity`
/// (graph-schema-excerpt), with the right types.
pub fn check_import_body(body: &[u8]) -> Result<Vec<Value>, Rejected> {
    const KNOWN: &[&str] = &[
        "@odata.type",
        "id",
        "groupTag",
        "serialNumber",
        "productKey",
        "importId",
        "hardwareIdentifier",
        "state",
        "assignedUserPrincipalName",
    ];
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("The request body is not valid JSON: {e}"))?;
    let Some(obj) = v.as_object() else {
        return Err("The request body must be a JSON object.".into());
    };
    if let Some(extra) = obj
        .keys()
        .find(|k| *k != "importedWindowsAutopilotDeviceIdentities")
    {
        return Err(Rejected(format!(
            "The parameter '{extra}' in the request payload is not a valid parameter for the operation 'import'."
        )));
    }
    let Some(items) = obj
        .get("importedWindowsAutopilotDeviceIdentities")
        .and_then(Value::as_array)
    else {
        return Err(
            "The parameter 'importedWindowsAutopilotDeviceIdentities' is missing or not an array.".into(),
        );
    };
    for item in items {
        let Some(o) = item.as_object() else {
            return Err("Each imported identity must be an object.".into());
        };
        for (k, val) in o {
            if !KNOWN.contains(&k.as_str()) {
                return Err(Rejected(format!(
                    "The property '{k}' does not exist on type 'microsoft.graph.importedWindowsAutopilotDeviceIdentity'. Make sure to only use property names that are defined by the type."
                )));
            }
            let ok = if k == "state" {
                val.is_object() || val.is_null()
            } else {
                val.is_string() || val.is_null()
            };
            if !ok {
                return Err(Rejected(format!(
                    "Cannot convert the literal '{val}' to the expected type 'Edm.String' for '{k}'."
                )));
            }
        }
        for required in ["serialNumber", "hardwareIdentifier"] {
            if o.get(required).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(Rejected(format!("The property '{required}' is required.")));
            }
        }
    }
    Ok(items.clone())
}

pub(super) fn plausible_hash(hash: &str) -> bool {
    crate::input::csv::checks::check_hash(hash).is_ok()
}

/// A key for a hash within one upload (the hash itself is not kept).
pub(super) fn hash_key(hash: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    hash.hash(&mut h);
    h.finish()
}

/// How long a simulated Autopilot sync runs: a second one asked within it
/// is answered 409 (SPEC §5: "409 while a sync runs").
const SYNC_RUNS: Duration = Duration::from_secs(60);
