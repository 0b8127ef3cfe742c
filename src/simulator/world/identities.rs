//! Simulated Windows corporate identifiers (Intune's
//! `importedDeviceIdentities`, beta only): upload a list, search, list
//! (paged) and delete. Uploads are Graph writes, so throttling and faults
//! reach them as every other call; an identifier the tenant holds is
//! answered `status: false` unless the upload overwrites.

use serde_json::{Value, json};

use super::*;

/// The `n`th identifier of a tenant's world file, as the service lists
/// it (its id made as the world's registered devices' are).
pub(super) fn seeded(tenant: &str, n: usize, spec: &spec::CorporateSpec) -> Value {
    json!({
        "id": format!("{}-ci{n:04}", &tenant[..8]),
        "importedDeviceIdentifier": spec.identifier,
        "importedDeviceIdentityType": "manufacturerModelSerial",
        "enrollmentState": spec.enrollment_state,
        "platform": "windows",
    })
}

impl World {
    /// The collection and its actions.
    pub(super) fn identities(&mut self, index: usize, rest: &[&str], req: &SimRequest) -> SimResponse {
        match (req.method.as_str(), rest) {
            ("POST", [_, _, "importDeviceIdentityList"]) => self.import_identities(index, &req.body),
            ("POST", [_, _, "searchExistingIdentities"]) => self.search_identities(index, &req.body),
            ("GET", [_, _]) => self.list_identities(index, req),
            ("DELETE", [_, _, id]) => self.delete_identity(index, id),
            _ => not_found(&req.path),
        }
    }

    /// `POST …/importDeviceIdentityList`.
    pub(super) fn import_identities(&mut self, index: usize, body: &[u8]) -> SimResponse {
        self.count("graph.import-identities");
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return graph_error(
                400,
                "BadRequest",
                "The request body is not JSON.",
                &self.request_id(),
            );
        };
        let overwrite = request["overwriteImportedDeviceIdentities"]
            .as_bool()
            .unwrap_or(false);
        let Some(items) = request["importedDeviceIdentities"].as_array().cloned() else {
            return graph_error(
                400,
                "BadRequest",
                "importedDeviceIdentities is required.",
                &self.request_id(),
            );
        };
        let mut results = Vec::new();
        for item in items {
            let identifier = item["importedDeviceIdentifier"].as_str().unwrap_or("").to_owned();
            let windows = item["importedDeviceIdentityType"] == "manufacturerModelSerial"
                && identifier.split(',').filter(|p| !p.trim().is_empty()).count() == 3;
            let key = identifier.to_lowercase();
            let held = self.tenants[index].identities.iter().position(|i| {
                i["importedDeviceIdentifier"].as_str().map(str::to_lowercase) == Some(key.clone())
            });
            let status = match (windows, held) {
                (false, _) => false,
                (true, Some(_)) if !overwrite => false,
                (true, Some(at)) => {
                    self.tenants[index].identities[at]["importedDeviceIdentifier"] = json!(identifier);
                    true
                }
                (true, None) => {
                    let id = self.uuid();
                    self.tenants[index].identities.push(json!({
                        "id": id,
                        "importedDeviceIdentifier": identifier,
                        "importedDeviceIdentityType": "manufacturerModelSerial",
                        "enrollmentState": "notContacted",
                        "platform": "windows",
                    }));
                    self.stats.corporate_identifiers_added += 1;
                    true
                }
            };
            results.push(json!({
                "importedDeviceIdentifier": identifier,
                "importedDeviceIdentityType": "manufacturerModelSerial",
                "status": status,
            }));
        }
        SimResponse::json(200, &json!({ "value": results }))
    }

    /// `POST …/searchExistingIdentities`: the held identifiers among those given.
    pub(super) fn search_identities(&mut self, index: usize, body: &[u8]) -> SimResponse {
        self.count("graph.search-identities");
        let wanted: Vec<String> = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["importedDeviceIdentities"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i["importedDeviceIdentifier"].as_str().map(str::to_lowercase))
            .collect();
        let found: Vec<Value> = self.tenants[index]
            .identities
            .iter()
            .filter(|i| {
                i["importedDeviceIdentifier"]
                    .as_str()
                    .is_some_and(|s| wanted.contains(&s.to_lowercase()))
            })
            .cloned()
            .collect();
        SimResponse::json(200, &json!({ "value": found }))
    }

    /// `GET …/importedDeviceIdentities`, paged.
    pub(super) fn list_identities(&mut self, index: usize, req: &SimRequest) -> SimResponse {
        self.count("graph.list-identities");
        let all = self.tenants[index].identities.clone();
        self.page(&req.path, req.query.as_deref(), all)
    }

    /// `DELETE …/importedDeviceIdentities/{id}`.
    pub(super) fn delete_identity(&mut self, index: usize, id: &str) -> SimResponse {
        self.count("graph.delete-identity");
        let list = &mut self.tenants[index].identities;
        match list.iter().position(|i| i["id"] == id) {
            Some(at) => {
                list.remove(at);
                SimResponse::empty(204)
            }
            None => graph_error(
                404,
                "ResourceNotFound",
                "The identity was not found.",
                &self.request_id(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ScaledClock;

    fn request(method: &str, path: &str, body: Value) -> SimRequest {
        SimRequest {
            method: method.into(),
            path: path.into(),
            query: None,
            authorization: None,
            contract_version: None,
            continuation: None,
            body: serde_json::to_vec(&body).unwrap(),
        }
    }

    fn body(r: &SimResponse) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn uploads_searches_lists_and_deletes_as_the_service_does() {
        let mut w = World::new(
            crate::simulator::demo_world(),
            SimConfig::default(),
            ScaledClock::scaled(0.0),
        );
        let fabrikam = w.find_tenant("fabrikam.onmicrosoft.com").unwrap();
        let base = "/beta/deviceManagement/importedDeviceIdentities";
        let rest = |tail: &str| -> Vec<String> {
            let mut r = vec![
                "deviceManagement".to_owned(),
                "importedDeviceIdentities".to_owned(),
            ];
            if !tail.is_empty() {
                r.push(tail.to_owned());
            }
            r
        };
        let call = |w: &mut World, method: &str, tail: &str, b: Value| {
            let path = if tail.is_empty() {
                base.to_owned()
            } else {
                format!("{base}/{tail}")
            };
            let segments = rest(tail);
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            w.identities(fabrikam, &segments, &request(method, &path, b))
        };
        let list = |ids: &[&str]| {
            json!({
                "importedDeviceIdentities": ids.iter().map(|i| json!({"importedDeviceIdentityType": "manufacturerModelSerial", "importedDeviceIdentifier": i})).collect::<Vec<_>>(),
                "overwriteImportedDeviceIdentities": false
            })
        };
        // One held already (the world's), one new, one not three parts.
        let up = call(
            &mut w,
            "POST",
            "importDeviceIdentityList",
            list(&[
                "fabrikam,book 3,fab-0006",
                "Fabrikam,Book 3,FAB-0500",
                "Fabrikam;Book 3;FAB-0501",
            ]),
        );
        let statuses: Vec<bool> = body(&up)["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_bool().unwrap())
            .collect();
        assert_eq!(statuses, [false, true, false]);
        let found = call(
            &mut w,
            "POST",
            "searchExistingIdentities",
            list(&["Fabrikam,Book 3,FAB-0500", "Fabrikam,Book 3,FAB-9999"]),
        );
        let found = body(&found)["value"].as_array().unwrap().clone();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["enrollmentState"], "notContacted");
        let all = call(&mut w, "GET", "", Value::Null);
        assert_eq!(
            body(&all)["value"].as_array().unwrap().len(),
            3,
            "the world's two and the new one"
        );
        let id = found[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(call(&mut w, "DELETE", &id, Value::Null).status, 204);
        assert_eq!(call(&mut w, "DELETE", &id, Value::Null).status, 404);
    }
}
