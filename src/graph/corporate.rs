//! Windows corporate identifiers (Autopilot device preparation): Intune's
//! `importedDeviceIdentities` (beta). A Windows identifier is the device's
//! manufacturer, model and serial number joined by commas
//! (`importedDeviceIdentityType` `manufacturerModelSerial`), as Intune's
//! own CSV upload and every client found write it; see
//! docs/microsoft-behaviour.md for the sources. Not Autopilot
//! registration: no Autopilot device, profile or group tag comes of it.

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

use crate::graph::{Graph, bad_body, parse_page};
use crate::net::endpoint;
use crate::transport::{CallError, Request, Service};

/// The collection, on Graph's beta endpoint (there is no v1.0 one).
pub const IDENTITIES: &str = "/beta/deviceManagement/importedDeviceIdentities";

/// The one identifier type Windows takes.
pub const MANUFACTURER_MODEL_SERIAL: &str = "manufacturerModelSerial";

/// An identifier the tenant holds.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Identity {
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub id: String,
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub imported_device_identifier: String,
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub imported_device_identity_type: String,
    /// `notContacted`, `enrolled`, `failed`, … (kept as given).
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub enrollment_state: String,
}

/// One identifier's result of an upload: `status` true when taken.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct ImportResult {
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub imported_device_identifier: String,
    pub status: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Item<'a> {
    imported_device_identity_type: &'static str,
    imported_device_identifier: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody<'a> {
    imported_device_identities: Vec<Item<'a>>,
    overwrite_imported_device_identities: bool,
}

/// The key two identifiers are compared by: Intune matches them without
/// regard to case.
pub fn key(identifier: &str) -> String {
    identifier.trim().to_lowercase()
}

/// Identifiers by their comparison [`key`].
pub fn by_key(list: Vec<Identity>) -> std::collections::HashMap<String, Identity> {
    list.into_iter()
        .map(|i| (key(&i.imported_device_identifier), i))
        .collect()
}

impl Graph<'_> {
    fn identities_request(&self, method: Method, url: Url, kind: &'static str) -> Request {
        Request::new(Service::Graph, method, url, kind, self.scope)
    }

    /// Every corporate identifier of the tenant (paged).
    pub async fn list_identities(&self) -> Result<Vec<Identity>, CallError> {
        let url = endpoint::join(self.root, IDENTITIES);
        self.list_url(url, "graph.list-identities").await
    }

    /// Uploads identifiers; one result per identifier sent.
    pub async fn import_identities(
        &self,
        identifiers: &[String],
        overwrite: bool,
    ) -> Result<Vec<ImportResult>, CallError> {
        let url = endpoint::join(self.root, &format!("{IDENTITIES}/importDeviceIdentityList"));
        let body = ListBody {
            imported_device_identities: identifiers
                .iter()
                .map(|i| Item {
                    imported_device_identity_type: MANUFACTURER_MODEL_SERIAL,
                    imported_device_identifier: i,
                })
                .collect(),
            overwrite_imported_device_identities: overwrite,
        };
        let kind = "graph.import-identities";
        let req = self.identities_request(Method::POST, url, kind).json(&body);
        let resp = self.client.send(self.tenant, self.gate, &req).await?;
        let page = parse_page::<ImportResult>(&resp.body).map_err(|e| bad_body(kind, e))?;
        Ok(page.value)
    }

    /// Deletes one identifier by its id.
    pub async fn delete_identity(&self, id: &str) -> Result<(), CallError> {
        let url = endpoint::join(self.root, &format!("{IDENTITIES}/{}", endpoint::segment(id)));
        let req = self.identities_request(Method::DELETE, url, "graph.delete-identity");
        self.client.send(self.tenant, self.gate, &req).await.map(|_| ())
    }
}
