//! The one mapping table from what the services answer to what the user
//! reads (SPEC §3.4, §3.5): Graph import states and Autopilot error codes,
//! Partner Center per-device statuses and string error codes, and the
//! enrollment state plus last contact of a registered device. Pipes call these
//! pure functions; nothing else decides a device's state or message.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};

use crate::portal::state::{DeviceMessage, RegistrationState};

/// How long after its last contact an enrolled device still counts as
/// Active (SPEC §2.1: "not used in the last 7 days" is Inactive).
pub const ACTIVE_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// Graph's `deviceImportStatus`. Values the service adds later are kept as
/// [`ImportStatus::Other`] instead of failing deserialisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportStatus {
    Unknown,
    Pending,
    Partial,
    Complete,
    Error,
    Other(String),
}

impl ImportStatus {
    /// Parses the wire value; never fails.
    pub fn parse(s: &str) -> Self {
        match s {
            "unknown" => Self::Unknown,
            "pending" => Self::Pending,
            "partial" => Self::Partial,
            "complete" => Self::Complete,
            "error" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for ImportStatus {
    /// A null status is `unknown`: not yet known.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map_or(Self::Unknown, |s| Self::parse(&s)))
    }
}

/// Graph's `enrollmentState` of a registered Autopilot device (beta adds
/// `blocked`; anything newer is kept as [`EnrollmentState::Other`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum EnrollmentState {
    Unknown,
    Enrolled,
    PendingReset,
    Failed,
    NotContacted,
    Blocked,
    Other(String),
}

impl EnrollmentState {
    /// Parses the wire value; never fails.
    pub fn parse(s: &str) -> Self {
        match s {
            "unknown" => Self::Unknown,
            "enrolled" => Self::Enrolled,
            "pendingReset" => Self::PendingReset,
            "failed" => Self::Failed,
            "notContacted" => Self::NotContacted,
            "blocked" => Self::Blocked,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unknown => "unknown",
            Self::Enrolled => "enrolled",
            Self::PendingReset => "pendingReset",
            Self::Failed => "failed",
            Self::NotContacted => "notContacted",
            Self::Blocked => "blocked",
            Self::Other(s) => s,
        }
    }
}

impl From<EnrollmentState> for String {
    fn from(e: EnrollmentState) -> String {
        e.as_str().to_owned()
    }
}

impl<'de> Deserialize<'de> for EnrollmentState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

/// An Autopilot registration error, keyed on its number where there is one
/// and on its name otherwise (SPEC §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 802 `InvalidZtdHardwareHash`.
    InvalidHash,
    /// 806 `ZtdDeviceAlreadyAssigned`: already in this tenant.
    AlreadyAssigned,
    /// 808 `ZtdDeviceAssignedToOtherTenant` / `...ToAnotherTenant`.
    OtherTenant,
    /// 812 `ZtdDeviceNotFound`: a tuple that matched no hash.
    NotFound,
    /// `ZtdDeviceDuplicated`: the same hash twice in one upload.
    Duplicated,
    /// 640 `StorageError`: transient, retry later.
    Transient,
    /// 801, 803, 807, 809–811, 813, 814 and anything unknown.
    Other,
}

impl ErrorKind {
    /// Classifies a Graph (`Int32`) or Partner Center (numeric string) code
    /// with its name. A code of 0 or none falls back to the name.
    pub fn classify(code: Option<i64>, name: Option<&str>) -> Self {
        match code {
            Some(802) => return Self::InvalidHash,
            Some(806) => return Self::AlreadyAssigned,
            Some(808) => return Self::OtherTenant,
            Some(812) => return Self::NotFound,
            Some(640) => return Self::Transient,
            Some(0) | None => {}
            Some(_) => return Self::Other,
        }
        match name.map(str::trim) {
            Some("InvalidZtdHardwareHash") => Self::InvalidHash,
            Some("ZtdDeviceAlreadyAssigned") => Self::AlreadyAssigned,
            Some("ZtdDeviceAssignedToOtherTenant" | "ZtdDeviceAssignedToAnotherTenant") => Self::OtherTenant,
            Some("ZtdDeviceNotFound") => Self::NotFound,
            Some("ZtdDeviceDuplicated") => Self::Duplicated,
            Some("StorageError") => Self::Transient,
            _ => Self::Other,
        }
    }

    /// The portal message for a device that ends with this error.
    /// `ZtdDeviceDuplicated` has no portal message of its own: the report
    /// names the row it duplicates instead.
    pub fn message(self) -> Option<DeviceMessage> {
        match self {
            Self::InvalidHash => Some(DeviceMessage::HardwareHashNotValid),
            Self::AlreadyAssigned => Some(DeviceMessage::DeviceAlreadyRegistered),
            Self::OtherTenant => Some(DeviceMessage::DeviceClaimedByAnotherOrganization),
            Self::NotFound => Some(DeviceMessage::DeviceNotFound),
            Self::Duplicated => None,
            Self::Transient | Self::Other => Some(DeviceMessage::UnexpectedError),
        }
    }
}

/// What one answer about a sent device means for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// Not decided yet: keep polling.
    Pending,
    /// Accepted; the registered-device list gives the final state.
    Imported,
    /// 806: confirm by finding the serial among registered devices.
    AlreadyRegistered,
    /// 640: the service asks to try again later.
    Transient,
    /// Registration failed for good.
    Failed(ErrorKind),
}

impl Meaning {
    /// The state to show while this verdict stands (SPEC §3.5): everything
    /// short of a final failure is still Registration pending until the
    /// device is found among registered devices.
    pub fn state(self) -> RegistrationState {
        match self {
            Self::Failed(_) => RegistrationState::RegistrationFailed,
            _ => RegistrationState::RegistrationPending,
        }
    }

    /// Maps an error kind to the verdict it ends in.
    fn from_error(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::AlreadyAssigned => Self::AlreadyRegistered,
            ErrorKind::Transient => Self::Transient,
            other => Self::Failed(other),
        }
    }
}

/// One poll of a Graph imported identity. `unknown`, `pending` and `partial`
/// are never final, even with an error code: the first answer can say
/// `unknown`, code 0, for a device that later fails with 808.
pub fn graph_import_meaning(status: &ImportStatus, code: Option<i64>, name: Option<&str>) -> Meaning {
    match status {
        ImportStatus::Complete => Meaning::Imported,
        ImportStatus::Error => Meaning::from_error(ErrorKind::classify(code, name)),
        _ => Meaning::Pending,
    }
}

/// One element of a Partner Center batch's `devicesStatus`. The code is a
/// string (`"808"`); an element with a non-zero code failed whatever its
/// status says, since a `finished` batch can hold failed devices.
pub fn partner_center_meaning(status: &str, code: Option<&str>, description: Option<&str>) -> Meaning {
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let number = code.and_then(|c| c.parse::<i64>().ok());
    let failed = status.eq_ignore_ascii_case("finished_with_errors")
        || number.is_some_and(|n| n != 0)
        || (code.is_some() && number.is_none());
    if failed {
        let name = if number.is_none() {
            code.or(description)
        } else {
            description
        };
        return Meaning::from_error(ErrorKind::classify(number, name));
    }
    if status.eq_ignore_ascii_case("finished") {
        Meaning::Imported
    } else {
        Meaning::Pending
    }
}

/// The state of a device found among the tenant's registered Autopilot
/// devices (SPEC §3.5 with the 7-day rule of §2.1). A device never in
/// contact (no date, or Graph's `0001-01-01` placeholder) is Inactive once
/// enrolled.
pub fn registered_state(
    enrollment: &EnrollmentState,
    last_contact: Option<Timestamp>,
    now: Timestamp,
) -> RegistrationState {
    if *enrollment != EnrollmentState::Enrolled {
        return RegistrationState::ReadyForUser;
    }
    match last_contact {
        Some(t) if now.duration_since(t) <= ACTIVE_WINDOW => RegistrationState::Active,
        _ => RegistrationState::Inactive,
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::InvalidHash => "InvalidZtdHardwareHash",
            Self::AlreadyAssigned => "ZtdDeviceAlreadyAssigned",
            Self::OtherTenant => "ZtdDeviceAssignedToOtherTenant",
            Self::NotFound => "ZtdDeviceNotFound",
            Self::Duplicated => "ZtdDeviceDuplicated",
            Self::Transient => "StorageError",
            Self::Other => "other",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nulls the schemas allow read as "not yet known", never as an error.
    #[test]
    fn null_statuses_mean_not_yet_known() {
        let record: crate::graph::ImportedIdentity =
            serde_json::from_str(r#"{"id":"r","serialNumber":"S","state":null}"#).unwrap();
        assert_eq!(record.state.device_import_status, ImportStatus::Unknown);
        let status: crate::graph::ImportedIdentity =
            serde_json::from_str(r#"{"id":"r","state":{"deviceImportStatus":null,"deviceErrorCode":null}}"#)
                .unwrap();
        let s = &status.state;
        assert_eq!(
            graph_import_meaning(
                &s.device_import_status,
                s.device_error_code,
                s.device_error_name.as_deref()
            ),
            Meaning::Pending
        );
        let job: crate::partner_center::BatchStatus =
            serde_json::from_str(r#"{"status":null,"devicesStatus":null}"#).unwrap();
        assert!(!job.is_final() && job.devices_status.is_empty());
        let job: crate::partner_center::BatchStatus =
            serde_json::from_str(r#"{"status":"processing","devicesStatus":[{"serialNumber":"S","status":null,"errorCode":null}]}"#)
                .unwrap();
        assert_eq!(
            partner_center_meaning(&job.devices_status[0].status, None, None),
            Meaning::Pending
        );
    }
    use DeviceMessage::*;

    /// Every code and name of SPEC §3.4 with the message it must end in.
    const TABLE: &[(Option<i64>, Option<&str>, Option<DeviceMessage>)] = &[
        (
            Some(802),
            Some("InvalidZtdHardwareHash"),
            Some(HardwareHashNotValid),
        ),
        (
            Some(806),
            Some("ZtdDeviceAlreadyAssigned"),
            Some(DeviceAlreadyRegistered),
        ),
        (
            Some(808),
            Some("ZtdDeviceAssignedToOtherTenant"),
            Some(DeviceClaimedByAnotherOrganization),
        ),
        (
            None,
            Some("ZtdDeviceAssignedToAnotherTenant"),
            Some(DeviceClaimedByAnotherOrganization),
        ),
        (
            Some(0),
            Some("ZtdDeviceAssignedToOtherTenant"),
            Some(DeviceClaimedByAnotherOrganization),
        ),
        (Some(812), Some("ZtdDeviceNotFound"), Some(DeviceNotFound)),
        (None, Some("ZtdDeviceDuplicated"), None),
        (Some(640), Some("StorageError"), Some(UnexpectedError)),
        (Some(801), Some("InvalidZtdRequestBody"), Some(UnexpectedError)),
        (
            Some(803),
            Some("MissingZtdSerialNumberAndProductKey"),
            Some(UnexpectedError),
        ),
        (Some(807), None, Some(UnexpectedError)),
        (Some(809), None, Some(UnexpectedError)),
        (Some(810), None, Some(UnexpectedError)),
        (Some(811), None, Some(UnexpectedError)),
        (Some(813), None, Some(UnexpectedError)),
        (Some(814), None, Some(UnexpectedError)),
        (Some(999), Some("SomethingNew"), Some(UnexpectedError)),
        (None, None, Some(UnexpectedError)),
    ];

    #[test]
    fn every_documented_code_maps_to_its_message() {
        for &(code, name, message) in TABLE {
            assert_eq!(
                ErrorKind::classify(code, name).message(),
                message,
                "{code:?} {name:?}"
            );
        }
    }

    #[test]
    fn the_compiled_real_world_code_table_maps_as_the_spec_says() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/real-world/errors/autopilot-import-error-codes.json"
        );
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let codes = doc["codes"].as_array().unwrap();
        assert!(codes.len() >= 7);
        for c in codes {
            let code = c["code"].as_i64();
            let name = c["name"].as_str();
            let got = ErrorKind::classify(code, name).message();
            let want = match (code, name) {
                (Some(802), _) => Some(HardwareHashNotValid),
                (Some(806), _) => Some(DeviceAlreadyRegistered),
                (Some(808), _) => Some(DeviceClaimedByAnotherOrganization),
                (Some(812), _) => Some(DeviceNotFound),
                (None, Some("ZtdDeviceDuplicated")) => None,
                _ => Some(UnexpectedError),
            };
            assert_eq!(got, want, "{c}");
        }
    }

    #[test]
    fn the_number_wins_over_the_name() {
        assert_eq!(
            ErrorKind::classify(Some(808), Some("ZtdDeviceNotFound")),
            ErrorKind::OtherTenant
        );
    }

    #[test]
    fn graph_states_before_the_verdict_are_pending() {
        for s in ["unknown", "pending", "partial", "somethingNew"] {
            let v = graph_import_meaning(&ImportStatus::parse(s), Some(808), None);
            assert_eq!(v, Meaning::Pending, "{s}");
            assert_eq!(v.state(), RegistrationState::RegistrationPending);
        }
    }

    #[test]
    fn graph_final_states() {
        let complete = graph_import_meaning(&ImportStatus::Complete, Some(0), Some("None"));
        assert_eq!(complete, Meaning::Imported);
        assert_eq!(
            complete.state(),
            RegistrationState::RegistrationPending,
            "complete but not listed yet"
        );
        let e = |code, name| graph_import_meaning(&ImportStatus::Error, code, name);
        assert_eq!(e(Some(806), None), Meaning::AlreadyRegistered);
        assert_eq!(e(Some(640), None), Meaning::Transient);
        assert_eq!(e(Some(808), None), Meaning::Failed(ErrorKind::OtherTenant));
        assert_eq!(e(Some(802), None).state(), RegistrationState::RegistrationFailed);
    }

    #[test]
    fn partner_center_reads_string_codes_on_every_element() {
        let doc_sample = partner_center_meaning(
            "finished_with_errors",
            Some("808"),
            Some("ZtdDeviceAssignedToOtherTenant"),
        );
        assert_eq!(doc_sample, Meaning::Failed(ErrorKind::OtherTenant));
        assert_eq!(
            partner_center_meaning("finished", Some("812"), None),
            Meaning::Failed(ErrorKind::NotFound)
        );
        assert_eq!(
            partner_center_meaning("finished", Some("806"), None),
            Meaning::AlreadyRegistered
        );
        assert_eq!(
            partner_center_meaning("finished", Some(""), None),
            Meaning::Imported
        );
        assert_eq!(
            partner_center_meaning("finished", Some("0"), None),
            Meaning::Imported
        );
        assert_eq!(
            partner_center_meaning("in-progress", None, None),
            Meaning::Pending
        );
        assert_eq!(
            partner_center_meaning("finished_with_errors", Some("ZtdDeviceNotFound"), None),
            Meaning::Failed(ErrorKind::NotFound)
        );
        assert_eq!(
            partner_center_meaning("finished_with_errors", Some("802"), None).state(),
            RegistrationState::RegistrationFailed
        );
    }

    #[test]
    fn registered_states_follow_the_seven_day_rule() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let days = |d: i64| now - SignedDuration::from_hours(24 * d);
        let enrolled = EnrollmentState::Enrolled;
        assert_eq!(
            registered_state(&enrolled, Some(days(1)), now),
            RegistrationState::Active
        );
        assert_eq!(
            registered_state(&enrolled, Some(days(7)), now),
            RegistrationState::Active
        );
        let just_over = days(7) - SignedDuration::from_secs(1);
        assert_eq!(
            registered_state(&enrolled, Some(just_over), now),
            RegistrationState::Inactive
        );
        assert_eq!(
            registered_state(&enrolled, None, now),
            RegistrationState::Inactive
        );
        for other in [
            "notContacted",
            "unknown",
            "pendingReset",
            "failed",
            "blocked",
            "newValue",
        ] {
            let e = EnrollmentState::parse(other);
            assert_eq!(
                registered_state(&e, Some(days(1)), now),
                RegistrationState::ReadyForUser,
                "{other}"
            );
        }
    }

    #[test]
    fn unknown_enum_values_deserialise() {
        let s: ImportStatus = serde_json::from_str(r#""unknownFutureValue""#).unwrap();
        assert_eq!(s, ImportStatus::Other("unknownFutureValue".into()));
        let e: EnrollmentState = serde_json::from_str(r#""blocked""#).unwrap();
        assert_eq!(e, EnrollmentState::Blocked);
        let e: EnrollmentState = serde_json::from_str(r#""quarantined""#).unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), r#""quarantined""#);
    }
}
