//! The words users see: the five registration states and the five device
//! messages of Microsoft's portal (SPEC §2.1, §2.2), spelled exactly as the
//! portal spells them. Every report, table and annotation apctl writes goes
//! through these two types, so the wording lives in one place.

use std::fmt;

use serde::{Serialize, Serializer};

/// Where a device stands, in the portal's own words (SPEC §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegistrationState {
    /// Registration is not done yet; check back later.
    RegistrationPending,
    /// Registration could not be completed; see the message.
    RegistrationFailed,
    /// Registered; the device can be handed to its user.
    ReadyForUser,
    /// Delivered, enrolled, and in contact within the last 7 days.
    Active,
    /// Delivered and enrolled, but not in contact for more than 7 days.
    Inactive,
}

impl RegistrationState {
    /// Every state, in the order the portal lists them.
    pub const ALL: [RegistrationState; 5] = [
        Self::RegistrationPending,
        Self::RegistrationFailed,
        Self::ReadyForUser,
        Self::Active,
        Self::Inactive,
    ];

    /// The portal's name for the state, word for word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegistrationPending => "Registration pending",
            Self::RegistrationFailed => "Registration failed",
            Self::ReadyForUser => "Ready for user",
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }

    /// True once the device is registered in the tenant, whatever its use.
    pub fn is_registered(self) -> bool {
        matches!(self, Self::ReadyForUser | Self::Active | Self::Inactive)
    }
}

impl fmt::Display for RegistrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RegistrationState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RegistrationState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a portal word: {text:?}")))
    }
}

/// The message the portal shows next to a device (SPEC §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceMessage {
    /// A Manufacturer+Model+Serial tuple matched no known device (812).
    DeviceNotFound,
    /// The hardware hash is malformed (802, or caught offline).
    HardwareHashNotValid,
    /// The device is already in this tenant (806). Informational.
    DeviceAlreadyRegistered,
    /// The device belongs to another tenant (808).
    DeviceClaimedByAnotherOrganization,
    /// Anything else; carries the request id of the failing call.
    UnexpectedError,
}

impl DeviceMessage {
    /// Every message, in the order of SPEC §2.2.
    pub const ALL: [DeviceMessage; 5] = [
        Self::DeviceNotFound,
        Self::HardwareHashNotValid,
        Self::DeviceAlreadyRegistered,
        Self::DeviceClaimedByAnotherOrganization,
        Self::UnexpectedError,
    ];

    /// The message's name as the portal shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeviceNotFound => "Device not found",
            Self::HardwareHashNotValid => "Hardware hash not valid",
            Self::DeviceAlreadyRegistered => "Device already registered",
            Self::DeviceClaimedByAnotherOrganization => "Device claimed by another organization",
            Self::UnexpectedError => "Unexpected error",
        }
    }

    /// The details text the portal shows, word for word. Only
    /// [`DeviceMessage::UnexpectedError`] uses the request id; without one the
    /// placeholder `<requestId>` stands, as in the portal's template.
    pub fn details(self, request_id: Option<&str>) -> String {
        match self {
            Self::DeviceNotFound => "We couldn't register this device because we could not find a match for the provided manufacturer, model, or serial number. Confirm these values with your device supplier.".into(),
            Self::HardwareHashNotValid => "The hardware hash you provided for this device was not formatted correctly. Double-check the hardware hash and then resubmit.".into(),
            Self::DeviceAlreadyRegistered => "This device is already registered to your organization. No further action required.".into(),
            Self::DeviceClaimedByAnotherOrganization => "This device has already been claimed by another organization. Check with your device supplier.".into(),
            Self::UnexpectedError => format!(
                "Your request could not be automatically processed. Contact Support and provide the Request ID: {}",
                request_id.unwrap_or("<requestId>")
            ),
        }
    }

    /// True for messages that mean the device is not where it should be.
    /// "Device already registered" is informational: the device is in place.
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::DeviceAlreadyRegistered)
    }
}

impl fmt::Display for DeviceMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for DeviceMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for DeviceMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a portal word: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_are_the_portals_words() {
        let names: Vec<String> = RegistrationState::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "Registration pending",
                "Registration failed",
                "Ready for user",
                "Active",
                "Inactive"
            ]
        );
    }

    #[test]
    fn message_names_are_the_portals_words() {
        let names: Vec<&str> = DeviceMessage::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(
            names,
            [
                "Device not found",
                "Hardware hash not valid",
                "Device already registered",
                "Device claimed by another organization",
                "Unexpected error"
            ]
        );
    }

    #[test]
    fn unexpected_error_details_carry_the_request_id() {
        let text = DeviceMessage::UnexpectedError.details(Some("94fb3b52-452a-4535-a601-69e0a90e3aa2"));
        assert!(text.ends_with("provide the Request ID: 94fb3b52-452a-4535-a601-69e0a90e3aa2"));
        assert!(
            DeviceMessage::UnexpectedError
                .details(None)
                .ends_with("<requestId>")
        );
    }

    #[test]
    fn only_already_registered_is_not_a_failure() {
        let failures: Vec<_> = DeviceMessage::ALL.iter().filter(|m| m.is_failure()).collect();
        assert_eq!(failures.len(), 4);
        assert!(!DeviceMessage::DeviceAlreadyRegistered.is_failure());
    }

    #[test]
    fn serialised_as_display_text() {
        let json =
            serde_json::to_string(&(RegistrationState::ReadyForUser, DeviceMessage::DeviceNotFound)).unwrap();
        assert_eq!(json, r#"["Ready for user","Device not found"]"#);
    }
}
