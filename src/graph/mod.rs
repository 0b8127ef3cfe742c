//! Typed Microsoft Graph calls for exactly the endpoints apctl uses (SPEC
//! §3.1, §3.2): import, get, list and delete of imported Autopilot device
//! identities, and the list of registered Autopilot devices. Responses are
//! read tolerantly: unknown fields are ignored, unknown enum values kept,
//! and the documentation's `{"value": {…}}` wrapping of a single entity is
//! accepted beside the bare entity the service really sends.

pub mod corporate;
pub mod gdap;
pub mod registered;
pub mod sync;

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::net::endpoint;
use crate::net::endpoint::Endpoints;
use crate::portal::mapping::{EnrollmentState, ImportStatus};
use crate::transport::throttle::TenantGate;
use crate::transport::{CallError, Client, Request, Service};

/// The path of imported identities under `/v1.0`.
pub const IMPORTED: &str = "/v1.0/deviceManagement/importedWindowsAutopilotDeviceIdentities";
/// The path of registered Autopilot devices under `/v1.0`.
pub const REGISTERED: &str = "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities";
/// The same under `/beta`, for the deployment profile assignment.
pub const REGISTERED_BETA: &str = "/beta/deviceManagement/windowsAutopilotDeviceIdentities";

/// One device to import: only the fields the service takes from a client.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportItem {
    pub serial_number: String,
    pub hardware_identifier: std::sync::Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_user_principal_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
}

/// The body of the `import` action.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportBody<'a> {
    imported_windows_autopilot_device_identities: &'a [ImportItem],
}

/// A staged (imported) identity as the service reports it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportedIdentity {
    #[serde(deserialize_with = "crate::sanitize::de::text")]
    pub id: String,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub serial_number: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub group_tag: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub import_id: Option<String>,
    /// A digest of the hash the service lists (nothing of the hash is
    /// kept), or `None` when it lists none, as the captured real answer.
    #[serde(rename = "hardwareIdentifier", deserialize_with = "digest_of_hash")]
    pub hardware_digest: Option<String>,
    /// A null state reads as not yet known.
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub state: ImportState,
}

/// The body of `updateDeviceProperties`: the tag, and a user with the name
/// the device greets them with at setup (`addressableUserName`; apctl knows
/// no other name for the user than the UPN).
pub fn device_properties(group_tag: Option<&str>, upn: Option<&str>) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    if let Some(tag) = group_tag {
        body.insert("groupTag".into(), Value::String(tag.to_owned()));
    }
    if let Some(upn) = upn {
        body.insert("userPrincipalName".into(), Value::String(upn.to_owned()));
        body.insert("addressableUserName".into(), Value::String(upn.to_owned()));
    }
    body
}

/// A stable digest of a hardware hash (FNV-1a, the same in every build),
/// to recognise a hash without keeping it.
pub fn hash_digest(hash: &str) -> String {
    format!("{:016x}", fnv1a(hash.trim()))
}

/// FNV-1a of a text: the same on every machine and in every release, for
/// digests and for choosing a customer's shard.
pub fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn digest_of_hash<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.filter(|t| !t.trim().is_empty()).map(|t| hash_digest(&t)))
}

/// `importedWindowsAutopilotDeviceIdentityState`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportState {
    pub device_import_status: ImportStatus,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub device_registration_id: Option<String>,
    pub device_error_code: Option<i64>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub device_error_name: Option<String>,
}

impl Default for ImportState {
    fn default() -> Self {
        Self {
            device_import_status: ImportStatus::Unknown,
            device_registration_id: None,
            device_error_code: None,
            device_error_name: None,
        }
    }
}

/// A registered Autopilot device (`windowsAutopilotDeviceIdentity`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutopilotDevice {
    #[serde(deserialize_with = "crate::sanitize::de::text")]
    pub id: String,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub serial_number: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub manufacturer: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub model: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub group_tag: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub purchase_order_identifier: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub product_key: Option<String>,
    pub enrollment_state: Option<EnrollmentState>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub last_contacted_date_time: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub user_principal_name: Option<String>,
    /// Only on `/beta`: whether an Autopilot deployment profile is assigned
    /// (`assignedInSync`, `notAssigned`, …; kept as the service says it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub deployment_profile_assignment_status: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub managed_device_id: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub azure_active_directory_device_id: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub display_name: Option<String>,
}

impl AutopilotDevice {
    /// Last contact as a timestamp; Graph's `0001-01-01` placeholder and
    /// unreadable values are `None`.
    pub fn last_contact(&self) -> Option<jiff::Timestamp> {
        let t: jiff::Timestamp = self.last_contacted_date_time.as_deref()?.parse().ok()?;
        (t.as_second() > 0).then_some(t)
    }
}

/// One page of a collection.
#[derive(Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// Graph calls for one tenant.
pub struct Graph<'a> {
    pub client: &'a Client,
    pub root: &'a Url,
    pub tenant: &'a str,
    pub gate: &'a TenantGate,
    /// The token scope of this cloud's Graph.
    pub scope: &'static str,
}

impl<'a> Graph<'a> {
    /// Graph calls for `tenant` at the cloud of `endpoints`, through `gate`.
    pub fn at(client: &'a Client, endpoints: &'a Endpoints, tenant: &'a str, gate: &'a TenantGate) -> Self {
        Self {
            client,
            root: &endpoints.graph,
            tenant,
            gate,
            scope: endpoints.graph_scope,
        }
    }
}

impl Graph<'_> {
    /// Imports a chunk of devices; returns the staged identities.
    /// Also returns the request id of the call.
    pub async fn import(
        &self,
        items: &[ImportItem],
    ) -> Result<(Vec<ImportedIdentity>, Option<String>), CallError> {
        let url = endpoint::join(self.root, &format!("{IMPORTED}/import"));
        let body = ImportBody {
            imported_windows_autopilot_device_identities: items,
        };
        let req = self.request(Method::POST, url, "graph.import").json(&body);
        let resp = self.client.send(self.tenant, self.gate, &req).await?;
        let page = parse_page::<ImportedIdentity>(&resp.body).map_err(|e| bad_body("graph.import", e))?;
        Ok((page.value, resp.request_id))
    }

    /// Reads one staged identity.
    pub async fn get_imported(&self, id: &str) -> Result<ImportedIdentity, CallError> {
        let url = endpoint::join(self.root, &format!("{IMPORTED}/{}", endpoint::segment(id)));
        let resp = self
            .client
            .send(
                self.tenant,
                self.gate,
                &self.request(Method::GET, url, "graph.get-imported"),
            )
            .await?;
        parse_entity(&resp.body).map_err(|e| bad_body("graph.get-imported", e))
    }

    /// Deregisters one Autopilot device by its id (never by serial: two
    /// devices of a tenant can share one). `Ok(false)` when it was gone
    /// already.
    pub async fn delete_registered(&self, id: &str) -> Result<bool, CallError> {
        let url = endpoint::join(self.root, &format!("{REGISTERED}/{}", endpoint::segment(id)));
        let req = self.request(Method::DELETE, url, "graph.delete-registered");
        match self.client.send(self.tenant, self.gate, &req).await {
            Ok(_) => Ok(true),
            Err(CallError::Service { error, .. }) if error.status == 404 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes one staged identity.
    pub async fn delete_imported(&self, id: &str) -> Result<(), CallError> {
        let url = endpoint::join(self.root, &format!("{IMPORTED}/{}", endpoint::segment(id)));
        let req = self.request(Method::DELETE, url, "graph.delete-imported");
        match self.client.send(self.tenant, self.gate, &req).await {
            Ok(_) => Ok(()),
            Err(CallError::Service { error, .. }) if error.status == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every staged identity in the tenant.
    pub async fn list_imported(&self) -> Result<Vec<ImportedIdentity>, CallError> {
        self.list(IMPORTED, "graph.list-imported").await
    }

    /// Every registered Autopilot device in the tenant.
    pub async fn list_registered(&self) -> Result<Vec<AutopilotDevice>, CallError> {
        self.list(REGISTERED, "graph.list-registered").await
    }

    /// Every registered Autopilot device as `/beta` lists it: the only
    /// version whose type has `deploymentProfileAssignmentStatus`.
    pub async fn list_registered_beta(&self) -> Result<Vec<AutopilotDevice>, CallError> {
        self.list(REGISTERED_BETA, "graph.list-profiles").await
    }

    /// The tenant's display name (`GET /organization`), when the token may
    /// read it; `None` otherwise (an app with only Intune permissions).
    pub async fn organization_name(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Org {
            #[serde(
                rename = "displayName",
                default,
                deserialize_with = "crate::sanitize::de::opt_text"
            )]
            display_name: Option<String>,
        }
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            value: Vec<Org>,
        }
        let url = endpoint::join(self.root, "/v1.0/organization?$select=displayName");
        let req = self.request(Method::GET, url, "graph.organization");
        let resp = self.client.send_once(self.tenant, self.gate, &req).await.ok()?;
        let page: Page = serde_json::from_slice(&resp.body).ok()?;
        page.value
            .into_iter()
            .find_map(|o| o.display_name)
            .map(|n| crate::sanitize::clean_line(&n))
            .filter(|n| !n.trim().is_empty())
    }

    /// Reads one registered Autopilot device.
    pub async fn get_registered(&self, id: &str) -> Result<AutopilotDevice, CallError> {
        let url = endpoint::join(self.root, &format!("{REGISTERED}/{}", endpoint::segment(id)));
        let req = self.request(Method::GET, url, "graph.get-registered");
        let resp = self.client.send(self.tenant, self.gate, &req).await?;
        parse_entity(&resp.body).map_err(|e| bad_body("graph.get-registered", e))
    }

    /// Sets a registered device's group tag and, when given, its user
    /// (`updateDeviceProperties`, 204).
    pub async fn update_device_properties(
        &self,
        id: &str,
        group_tag: Option<&str>,
        user_principal_name: Option<&str>,
    ) -> Result<(), CallError> {
        let url = endpoint::join(
            self.root,
            &format!("{REGISTERED}/{}/updateDeviceProperties", endpoint::segment(id)),
        );
        let body = device_properties(group_tag, user_principal_name);
        let req = self
            .request(Method::POST, url, "graph.update-device-properties")
            .json(&body);
        self.client.send(self.tenant, self.gate, &req).await.map(|_| ())
    }

    /// Follows `@odata.nextLink` exactly as given: re-encoding it makes
    /// Graph answer 400 "Resource not found for the segment"
    /// (real-world/errors/graph-400-mangled-nextlink.json).
    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        kind: &'static str,
    ) -> Result<Vec<T>, CallError> {
        self.list_url(endpoint::join(self.root, path), kind).await
    }

    /// Every item of a collection, starting at `url`.
    pub async fn list_url<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        kind: &'static str,
    ) -> Result<Vec<T>, CallError> {
        self.list_keeping(url, kind, |_| true).await
    }

    /// The items of a collection that `keep` keeps, page by page: a large
    /// tenant's list is never held whole for the few the caller wants.
    pub async fn list_keeping<T: serde::de::DeserializeOwned>(
        &self,
        mut url: Url,
        kind: &'static str,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, CallError> {
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            let resp = self
                .client
                .send(self.tenant, self.gate, &self.request(Method::GET, url, kind))
                .await?;
            let page = parse_page::<T>(&resp.body).map_err(|e| bad_body(kind, e))?;
            all.extend(page.value.into_iter().filter(&keep));
            match page.next_link {
                // A link seen before would loop for ever.
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(bad_body(
                        kind,
                        format!("the service sent the same @odata.nextLink twice: {next}"),
                    ));
                }
                Some(next) => {
                    let link = Url::parse(&next).map_err(|e| bad_body(kind, e))?;
                    if !endpoint::same_origin(self.root, &link) {
                        return Err(CallError::ForeignLink {
                            kind,
                            host: link.host_str().unwrap_or("").to_owned(),
                        });
                    }
                    if seen.len() >= crate::transport::MAX_PAGES {
                        return Err(bad_body(
                            kind,
                            format!(
                                "more than {} pages: the service keeps sending new links",
                                crate::transport::MAX_PAGES
                            ),
                        ));
                    }
                    url = link;
                }
                None => return Ok(all),
            }
        }
    }

    fn request(&self, method: Method, url: Url, kind: &'static str) -> Request {
        Request::new(Service::Graph, method, url, kind, self.scope)
    }
}

pub(crate) fn parse_page<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Page<T>, serde_json::Error> {
    serde_json::from_slice(body)
}

/// A single entity, bare or wrapped in `{"value": {…}}` as the docs show.
pub fn parse_entity<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let v: Value = serde_json::from_slice(body)?;
    let inner = match v.get("value") {
        Some(inner) if inner.is_object() => inner.clone(),
        _ => v,
    };
    serde_json::from_value(inner)
}

pub(crate) fn bad_body(kind: &'static str, why: impl std::fmt::Display) -> CallError {
    CallError::Decode {
        kind,
        service: "Microsoft Graph",
        why: why.to_string(),
    }
}

impl Graph<'_> {
    /// Deletes staged records by id, `width` at once through the tenant's
    /// gate, none after `deadline` (a reading of the client's clock);
    /// returns the ids deleted (a record already gone counts). The one
    /// delete loop of imports and `apctl cleanup`.
    pub async fn delete_imported_until(
        &self,
        ids: impl IntoIterator<Item = String>,
        width: usize,
        deadline: std::time::Duration,
    ) -> std::collections::HashSet<String> {
        use futures::StreamExt as _;
        let clock = self.client.clock();
        futures::stream::iter(ids)
            .map(|id| async move {
                if clock.now() >= deadline {
                    return None;
                }
                tokio::select! {
                    done = self.delete_imported(&id) => match done {
                        Ok(()) => Some(id),
                        Err(e) => {
                            tracing::debug!("could not delete staged record `{id}`: {e}");
                            None
                        }
                    },
                    () = crate::clock::reaches(&**clock, deadline) => None,
                }
            })
            .buffer_unordered(width.max(1))
            .filter_map(|deleted| async move { deleted })
            .collect()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_set_with_the_name_the_device_greets_them_with() {
        let body = device_properties(Some("Kiosk"), Some("ada@contoso.com"));
        assert_eq!(
            serde_json::Value::Object(body),
            serde_json::json!({"groupTag": "Kiosk", "userPrincipalName": "ada@contoso.com", "addressableUserName": "ada@contoso.com"})
        );
        let tag_only = device_properties(Some("Kiosk"), None);
        assert!(!tag_only.contains_key("addressableUserName"));
    }

    fn example(name: &str) -> Value {
        let p = format!(
            "{}/testdata/real-world/graph-examples/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn reads_every_graph_example_response() {
        let body = |name| serde_json::to_vec(&example(name)["response"]["body"]).unwrap();
        let page: Page<ImportedIdentity> =
            parse_page(&body("importedWindowsAutopilotDeviceIdentity-import.json")).unwrap();
        assert_eq!(page.value[0].state.device_import_status, ImportStatus::Pending);
        assert_eq!(page.value[0].state.device_error_code, Some(15));
        let page: Page<ImportedIdentity> =
            parse_page(&body("importedWindowsAutopilotDeviceIdentity-list.json")).unwrap();
        assert_eq!(page.value.len(), 1);
        let one: ImportedIdentity =
            parse_entity(&body("importedWindowsAutopilotDeviceIdentity-get.json")).unwrap();
        assert_eq!(one.id, "985b4f49-4f49-985b-494f-5b98494f5b98");
        let created: ImportedIdentity =
            parse_entity(&body("importedWindowsAutopilotDeviceIdentity-create.json")).unwrap();
        assert_eq!(created.serial_number.as_deref(), Some("Serial Number value"));
        for name in [
            "windowsAutopilotDeviceIdentity-list.json",
            "windowsAutopilotDeviceIdentity-list-beta.json",
            "windowsAutopilotDeviceIdentity-list-beta-2021.json",
        ] {
            let page: Page<AutopilotDevice> = parse_page(&body(name)).unwrap();
            assert_eq!(
                page.value[0].enrollment_state,
                Some(EnrollmentState::Enrolled),
                "{name}"
            );
            let t = page.value[0].last_contact().unwrap();
            assert_eq!(
                t.to_string(),
                "2017-01-01T07:58:44.2908994Z",
                "{name}: offset and 7 digits"
            );
        }
        let one: AutopilotDevice = parse_entity(&body("windowsAutopilotDeviceIdentity-get.json")).unwrap();
        assert_eq!(
            one.purchase_order_identifier.as_deref(),
            Some("Purchase Order Identifier value")
        );
    }

    #[test]
    fn the_observed_unknown_answer_reads_as_unknown() {
        let p = format!(
            "{}/testdata/real-world/errors/autopilot-import-state-unknown-observed.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let one: ImportedIdentity =
            parse_entity(&serde_json::to_vec(&doc["observed_body"]).unwrap()).unwrap();
        assert_eq!(one.state.device_import_status, ImportStatus::Unknown);
        assert_eq!(one.state.device_error_code, Some(0));
    }

    #[test]
    fn import_items_send_only_client_fields() {
        let item = ImportItem {
            serial_number: "S".into(),
            hardware_identifier: "QUJD".into(),
            product_key: None,
            group_tag: Some("Sales".into()),
            assigned_user_principal_name: None,
            import_id: Some("apctl-1".into()),
        };
        let v = serde_json::to_value(ImportBody {
            imported_windows_autopilot_device_identities: &[item],
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"importedWindowsAutopilotDeviceIdentities": [
                {"serialNumber": "S", "hardwareIdentifier": "QUJD", "groupTag": "Sales", "importId": "apctl-1"}
            ]})
        );
    }

    #[test]
    fn never_contacted_devices_have_no_last_contact() {
        let d = AutopilotDevice {
            last_contacted_date_time: Some("0001-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        assert_eq!(d.last_contact(), None);
    }
}
