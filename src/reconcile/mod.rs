//! What the files say a tenant should hold against what it holds: a plan
//! first (like `terraform plan`), changes only when asked. Missing devices
//! are imported through the same engine as `apctl import`; group tags and
//! users are set with `updateDeviceProperties` and read back; extras are
//! deregistered one by one by device id (never by serial: a tenant can hold
//! two devices with one serial, and one of them may be the file's), never
//! an enrolled one unless forced;
//! Autopilot sync is asked for at most once per tenant per 10 minutes and
//! never waited on.

mod apply;

pub use apply::{apply, deregister, prune_plan, sync, to_prune};

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::graph::{AutopilotDevice, Graph};
use crate::import::after::tags::Wanted;
use crate::input::device::{Device, Identity};
use crate::portal::state::{DeviceMessage, RegistrationState};
use crate::status::{DeviceState, Source};
use crate::transport::CallError;

/// How a device differs from what the files say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// In a file, not in the tenant (nor staged): to import.
    Missing,
    /// Registered with another group tag than the file's: to set.
    TagMismatch,
    /// Registered with another assigned user than the file's: to set.
    UserMismatch,
    /// Staged by an import that failed.
    Failed,
    /// Staged by an import that failed with 808: for the supplier.
    Claimed,
    /// Staged and still pending.
    Staged,
    /// Registered, but in no file: deregistered by `--prune`.
    Extra,
    /// Registered as the files say.
    Registered,
}

impl Category {
    /// The plan's mark for the category.
    pub fn mark(self) -> char {
        match self {
            Self::Missing => '+',
            Self::TagMismatch | Self::UserMismatch => '~',
            Self::Extra => '-',
            Self::Failed | Self::Claimed => '!',
            Self::Staged => '…',
            Self::Registered => '=',
        }
    }
}

/// One line of the plan.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub tenant: String,
    pub category: Category,
    pub serial_number: String,
    /// Where the file names the device (`file:line`), for file devices.
    pub source: Option<String>,
    pub wanted_group_tag: Option<String>,
    pub group_tag: Option<String>,
    pub wanted_user: Option<String>,
    pub user: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub order_id: Option<String>,
    /// The registered device's id (or the staged record's).
    pub id: Option<String>,
    /// Enrolled devices are never deregistered without `--force`.
    pub enrolled: bool,
    pub state: Option<RegistrationState>,
    pub message: Option<DeviceMessage>,
    /// What happened to it when the plan was applied.
    pub outcome: Option<String>,
}

/// Compares one tenant's file devices with its devices. `group_tag` is the
/// tag for rows without one; `order_id` goes on the hand-off list.
pub fn compare(
    tenant: &str,
    wanted: &[Device],
    have: &[DeviceState],
    group_tag: Option<&str>,
    order_id: Option<&str>,
) -> Vec<Item> {
    let by_serial: HashMap<&str, &DeviceState> = have
        .iter()
        .filter(|d| !d.serial_number.is_empty())
        .map(|d| (d.serial_number.as_str(), d))
        .collect();
    let by_key: HashMap<&str, &DeviceState> = have
        .iter()
        .filter_map(|d| Some((d.product_key.as_deref()?, d)))
        .collect();
    // Every identity a row carries names its device: a device matched by
    // any of them is never "extra".
    let mut named: HashSet<&str> = HashSet::new();
    let mut items = Vec::new();
    for d in wanted {
        let found = d
            .serial
            .as_deref()
            .and_then(|s| by_serial.get(s))
            .or_else(|| d.product_key().and_then(|k| by_key.get(k)))
            .copied();
        let mut item = wanted_item(tenant, d, found, group_tag, order_id);
        if let Some(have) = found {
            named.insert(have.id.as_str());
            item.category = category(d, have, item.wanted_group_tag.as_deref());
        }
        items.push(item);
    }
    // Serials the files name: a second device with one of them (whitebox
    // boards that all say `Default string`, a re-imaged board) may be the
    // very device the file means, so it is listed and kept, never pruned.
    let named_serials: HashSet<&str> = wanted.iter().filter_map(|d| d.serial.as_deref()).collect();
    for have in have
        .iter()
        .filter(|h| h.source == Source::Registered && !named.contains(h.id.as_str()))
    {
        let mut item = extra_item(tenant, have);
        if named_serials.contains(have.serial_number.as_str()) {
            item.outcome = Some(format!(
                "kept: the tenant holds more than one device with serial {}, which the files name; deregister the stale one in Intune by its id",
                crate::input::problem::quoted(&have.serial_number)
            ));
        }
        items.push(item);
    }
    items.sort_by(|a, b| (a.category, &a.serial_number).cmp(&(b.category, &b.serial_number)));
    items
}

/// A file's row as an item: missing until a registered or staged device
/// is `found` for it (whose values it then carries).
fn wanted_item(
    tenant: &str,
    d: &Device,
    found: Option<&DeviceState>,
    group_tag: Option<&str>,
    order_id: Option<&str>,
) -> Item {
    let tuple = |pick: fn(&str, &str) -> String| match &d.identity {
        Identity::Tuple { manufacturer, model } => Some(pick(manufacturer, model)),
        _ => None,
    };
    Item {
        tenant: tenant.to_owned(),
        category: Category::Missing,
        serial_number: d
            .serial
            .clone()
            .or_else(|| found.map(|h| h.serial_number.clone()))
            .unwrap_or_default(),
        source: Some(d.source.to_string()),
        wanted_group_tag: d.group_tag.clone().or(group_tag.map(str::to_owned)),
        group_tag: found.and_then(|h| h.group_tag.clone()),
        wanted_user: d.assigned_user.clone(),
        user: found.and_then(|h| h.user_principal_name.clone()),
        manufacturer: d.manufacturer.clone().or_else(|| tuple(|m, _| m.to_owned())),
        model: d.model.clone().or_else(|| tuple(|_, n| n.to_owned())),
        order_id: order_id.map(str::to_owned),
        id: found.map(|h| h.id.clone()),
        enrolled: found.is_some_and(|h| h.enrollment_state.as_deref() == Some("enrolled")),
        state: found.map(|h| h.state),
        message: found.and_then(|h| h.message),
        outcome: None,
    }
}

/// What a row's device in the tenant is, against what the row wants.
fn category(d: &Device, have: &DeviceState, wanted_tag: Option<&str>) -> Category {
    match have.source {
        Source::Import if have.message == Some(DeviceMessage::DeviceClaimedByAnotherOrganization) => {
            Category::Claimed
        }
        Source::Import if have.state == RegistrationState::RegistrationFailed => Category::Failed,
        Source::Import => Category::Staged,
        Source::Registered => {
            let tag_differs = wanted_tag.is_some_and(|w| have.group_tag.as_deref().unwrap_or("") != w);
            let user_differs = d.assigned_user.as_deref().is_some_and(|w| {
                !have
                    .user_principal_name
                    .as_deref()
                    .unwrap_or("")
                    .eq_ignore_ascii_case(w)
            });
            if tag_differs {
                Category::TagMismatch
            } else if user_differs {
                Category::UserMismatch
            } else {
                Category::Registered
            }
        }
    }
}

/// A registered device no row names.
fn extra_item(tenant: &str, have: &DeviceState) -> Item {
    Item {
        tenant: tenant.to_owned(),
        category: Category::Extra,
        serial_number: have.serial_number.clone(),
        source: None,
        wanted_group_tag: None,
        group_tag: have.group_tag.clone(),
        wanted_user: None,
        user: have.user_principal_name.clone(),
        manufacturer: have.manufacturer.clone(),
        model: have.model.clone(),
        order_id: have.order_id.clone(),
        id: Some(have.id.clone()),
        enrolled: have.enrollment_state.as_deref() == Some("enrolled"),
        state: Some(have.state),
        message: None,
        outcome: None,
    }
}

/// Sets the file's tag and user on a registered device and reads it back,
/// with the same comparisons as the import's tag work ([`Wanted`]).
pub async fn fix_properties(graph: &Graph<'_>, item: &Item) -> Result<(), FixError> {
    let id = item.id.as_deref().ok_or(FixError::NoDeviceId)?;
    let wanted = Wanted {
        group_tag: item.wanted_group_tag.clone(),
        user: item.wanted_user.clone(),
    };
    let have = AutopilotDevice {
        group_tag: item.group_tag.clone(),
        user_principal_name: item.user.clone(),
        ..AutopilotDevice::default()
    };
    let (tag, user) = wanted.differing(Some(&have));
    graph.update_device_properties(id, tag, user).await?;
    let now = graph.get_registered(id).await?;
    if wanted.met_by(&now) {
        Ok(())
    } else {
        Err(FixError::NotReadBack)
    }
}

/// Why a device's tag or user was not fixed.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("no device id")]
    NoDeviceId,
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(
        "sent and accepted, but the device does not show it yet (Intune can take ten minutes or more); run `apctl reconcile` again later to check it"
    )]
    NotReadBack,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::device::{HardwareHash, RowRef};

    fn row(serial: &str, tag: Option<&str>, user: Option<&str>) -> Device {
        Device {
            source: RowRef {
                file: "f.csv".into(),
                line: 2,
            },
            serial: Some(serial.into()),
            identity: Identity::HardwareHash {
                hash: HardwareHash::new("x".into()),
                product_key: None,
            },
            group_tag: tag.map(str::to_owned),
            assigned_user: user.map(str::to_owned),
            manufacturer: None,
            model: None,
            tenant: None,
        }
    }

    fn have(
        serial: &str,
        source: Source,
        state: RegistrationState,
        tag: &str,
        enrolled: bool,
    ) -> DeviceState {
        DeviceState {
            customer: None,
            tenant: "t".into(),
            serial_number: serial.into(),
            state,
            message: None,
            group_tag: Some(tag.to_owned()).filter(|t| !t.is_empty()),
            order_id: None,
            manufacturer: None,
            model: None,
            user_principal_name: None,
            product_key: None,
            enrollment_state: Some(if enrolled { "enrolled" } else { "notContacted" }.into()),
            last_contact: None,
            id: format!("id-{serial}"),
            source,
        }
    }

    #[test]
    fn every_category_is_found() {
        use RegistrationState::*;
        let mut claimed = have("C", Source::Import, RegistrationFailed, "", false);
        claimed.message = Some(DeviceMessage::DeviceClaimedByAnotherOrganization);
        let mut failed = have("F", Source::Import, RegistrationFailed, "", false);
        failed.message = Some(DeviceMessage::HardwareHashNotValid);
        let devices = vec![
            have("OK", Source::Registered, ReadyForUser, "Sales", false),
            have("TAG", Source::Registered, ReadyForUser, "Old", false),
            have("USER", Source::Registered, Active, "Sales", true),
            claimed,
            failed,
            have("S", Source::Import, RegistrationPending, "", false),
            have("EXTRA", Source::Registered, ReadyForUser, "", false),
            have("EXTRA-ENROLLED", Source::Registered, Active, "", true),
        ];
        let wanted = vec![
            row("OK", None, None),
            row("TAG", None, None),
            row("USER", None, Some("ada@contoso.com")),
            row("C", None, None),
            row("F", None, None),
            row("S", None, None),
            row("NEW", None, None),
        ];
        let items = compare("t", &wanted, &devices, Some("Sales"), Some("PO-1"));
        let got: Vec<(&str, Category, bool)> = items
            .iter()
            .map(|i| (i.serial_number.as_str(), i.category, i.enrolled))
            .collect();
        assert_eq!(
            got,
            [
                ("NEW", Category::Missing, false),
                ("TAG", Category::TagMismatch, false),
                ("USER", Category::UserMismatch, true),
                ("F", Category::Failed, false),
                ("C", Category::Claimed, false),
                ("S", Category::Staged, false),
                ("EXTRA", Category::Extra, false),
                ("EXTRA-ENROLLED", Category::Extra, true),
                ("OK", Category::Registered, false),
            ]
        );
        let claimed = items.iter().find(|i| i.category == Category::Claimed).unwrap();
        assert_eq!(claimed.order_id.as_deref(), Some("PO-1"));
    }
}
