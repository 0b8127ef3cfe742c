//! A tenant's Autopilot devices in the portal's states (SPEC §2.1, §3.5):
//! registered devices are Ready for user, Active or Inactive by enrollment
//! and the 7-day rule; devices staged by imports and not registered yet are
//! Registration pending, or Registration failed with the portal's message.
//! What `apctl status` shows and what `apctl reconcile` compares against.

use std::collections::HashSet;

use serde::Serialize;

use crate::graph::{AutopilotDevice, Graph, ImportedIdentity};
use crate::portal::mapping::{self, EnrollmentState, Meaning};
use crate::portal::state::{DeviceMessage, RegistrationState};
use crate::transport::CallError;

/// Where a device's state comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The tenant's registered Autopilot devices.
    Registered,
    /// A staged import not (yet) registered.
    Import,
}

/// One device of a tenant.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceState {
    pub tenant: String,
    /// The customer's display name, when the command knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    pub serial_number: String,
    pub state: RegistrationState,
    pub message: Option<DeviceMessage>,
    pub group_tag: Option<String>,
    pub order_id: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub user_principal_name: Option<String>,
    /// The Windows product key (product key id) the device was registered
    /// with, when there is one.
    pub product_key: Option<String>,
    /// Enrollment as Graph gives it (`enrolled`, `notContacted`, …).
    pub enrollment_state: Option<String>,
    /// Last contact, when the device has been in contact.
    pub last_contact: Option<String>,
    /// The registered device's id, or the staged record's.
    pub id: String,
    pub source: Source,
}

/// Every device of the tenant: registered ones, then staged ones that are
/// not registered.
pub async fn tenant_devices(graph: &Graph<'_>) -> Result<Vec<DeviceState>, CallError> {
    Ok(tenant_view(graph, &crate::import::run::ledger::Ledger::none())
        .await?
        .devices)
}

/// A staged record an earlier apctl run left behind (see
/// [`crate::import::run::markers::leftovers`]): the next import for the tenant deletes it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Leftover {
    pub tenant: String,
    pub serial_number: Option<String>,
    /// The staged record's id.
    pub id: String,
    /// The marker of the run that created it.
    pub import_id: Option<String>,
}

impl Leftover {
    /// A staged record of `tenant` as a leftover.
    pub fn of(tenant: &str, r: &ImportedIdentity) -> Self {
        Self {
            tenant: tenant.to_owned(),
            serial_number: r.serial_number.clone(),
            id: r.id.clone(),
            import_id: r.import_id.clone(),
        }
    }
}

/// A tenant's devices, and the staged records apctl runs left behind.
#[derive(Clone, Debug)]
pub struct TenantView {
    pub devices: Vec<DeviceState>,
    pub leftovers: Vec<Leftover>,
}

/// Reads the tenant's devices and apctl's leftover staged records (known
/// by their marker, or by the ledger when the service rewrote it).
pub async fn tenant_view(
    graph: &Graph<'_>,
    ledger: &crate::import::run::ledger::Ledger,
) -> Result<TenantView, CallError> {
    let registered = graph.list_registered().await?;
    let mut staged = graph.list_imported().await?;
    ledger.restore(&mut staged);
    let now = graph.client.clock().wall();
    let serials: HashSet<&str> = registered
        .iter()
        .filter_map(|d| d.serial_number.as_deref())
        .collect();
    let leftovers = crate::import::run::markers::leftovers(&staged, &serials, now.as_second())
        .into_iter()
        .map(|r| Leftover::of(graph.tenant, r))
        .collect();
    Ok(TenantView {
        devices: combine(graph.tenant, registered, staged, now),
        leftovers,
    })
}

/// The states of registered and staged devices; a staged device whose
/// serial is registered is shown once, as registered.
pub fn combine(
    tenant: &str,
    registered: Vec<AutopilotDevice>,
    staged: Vec<ImportedIdentity>,
    now: jiff::Timestamp,
) -> Vec<DeviceState> {
    let serials: HashSet<String> = registered
        .iter()
        .filter_map(|d| d.serial_number.clone())
        .collect();
    let mut out: Vec<DeviceState> = registered
        .into_iter()
        .map(|d| {
            let enrollment = d.enrollment_state.clone().unwrap_or(EnrollmentState::Unknown);
            let last = d.last_contact();
            DeviceState {
                customer: None,
                tenant: tenant.to_owned(),
                serial_number: clean(d.serial_number.as_deref().unwrap_or_default()),
                state: mapping::registered_state(&enrollment, last, now),
                message: None,
                group_tag: text(&d.group_tag),
                order_id: text(&d.purchase_order_identifier),
                manufacturer: text(&d.manufacturer),
                model: text(&d.model),
                user_principal_name: text(&d.user_principal_name),
                product_key: d.product_key.clone().filter(|t| !t.is_empty()),
                enrollment_state: d.enrollment_state.as_ref().map(|e| {
                    serde_json::to_value(e)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                }),
                last_contact: last.map(|t| t.to_string()),
                id: d.id,
                source: Source::Registered,
            }
        })
        .collect();
    for s in staged {
        let Some(serial) = s.serial_number.clone() else {
            continue;
        };
        if serials.contains(&serial) {
            continue;
        }
        let st = &s.state;
        let meaning = mapping::graph_import_meaning(
            &st.device_import_status,
            st.device_error_code,
            st.device_error_name.as_deref(),
        );
        let (state, message) = match meaning {
            Meaning::Failed(kind) => (RegistrationState::RegistrationFailed, kind.message()),
            Meaning::Transient => (
                RegistrationState::RegistrationFailed,
                Some(DeviceMessage::UnexpectedError),
            ),
            _ => (RegistrationState::RegistrationPending, None),
        };
        out.push(DeviceState {
            customer: None,
            tenant: tenant.to_owned(),
            serial_number: clean(&serial),
            state,
            message,
            group_tag: text(&s.group_tag),
            order_id: None,
            manufacturer: None,
            model: None,
            user_principal_name: None,
            product_key: None,
            enrollment_state: None,
            last_contact: None,
            id: s.id,
            source: Source::Import,
        });
    }
    out
}

/// Text from the service, for display: sanitised (see [`crate::sanitize`]).
fn clean(text: &str) -> String {
    crate::sanitize::clean_line(text)
}

/// An optional text from the service: sanitised, and empty as absent.
fn text(value: &Option<String>) -> Option<String> {
    value.as_deref().filter(|t| !t.is_empty()).map(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(rel: &str) -> serde_json::Value {
        let p = format!("{}/testdata/real-world/{rel}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn the_docs_lists_give_portal_states() {
        let list = real("graph-examples/windowsAutopilotDeviceIdentity-list.json");
        let body = &list["response"]["body"]["value"];
        let registered: Vec<AutopilotDevice> = serde_json::from_value(body.clone()).unwrap();
        let staged_doc = real("graph-examples/importedWindowsAutopilotDeviceIdentity-list.json");
        let staged: Vec<ImportedIdentity> =
            serde_json::from_value(staged_doc["response"]["body"]["value"].clone()).unwrap();
        let now: jiff::Timestamp = "2026-11-26T00:00:00Z".parse().unwrap();
        let out = combine("t", registered.clone(), staged.clone(), now);
        let serials: HashSet<_> = registered
            .iter()
            .filter_map(|d| d.serial_number.clone())
            .collect();
        let new_staged = staged
            .iter()
            .filter(|s| s.serial_number.as_ref().is_some_and(|x| !serials.contains(x)))
            .count();
        assert_eq!(out.len(), registered.len() + new_staged, "each device once");
        for d in out.iter().filter(|d| d.source == Source::Registered) {
            assert!(d.state.is_registered(), "{d:?}");
        }
        for d in out.iter().filter(|d| d.source == Source::Import) {
            assert!(!d.state.is_registered(), "{d:?}");
        }
    }
}
