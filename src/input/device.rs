//! A device as apctl understands one CSV row: one identity (hardware hash,
//! product key, or Manufacturer+Model+Serial tuple), the registration pipe
//! that identity must take (SPEC §3), and the optional group tag and user.
//! Hardware hashes are sensitive device data; [`HardwareHash`] never prints
//! itself whole.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Where a row came from: the file and the 1-based line its record starts on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct RowRef {
    /// The file as the user named it.
    pub file: Arc<str>,
    /// 1-based line number of the record's first line.
    pub line: u64,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A hardware hash exactly as the CSV gave it (standard base64, sent
/// unchanged). `Debug` shows only its shortened form.
#[derive(Clone, PartialEq, Eq)]
pub struct HardwareHash(Arc<str>);

impl HardwareHash {
    /// Wraps an already validated base64 text.
    pub fn new(text: String) -> Self {
        Self(text.into())
    }

    /// The full text, shared rather than copied (4,000 characters a
    /// device add up over 10,000 devices).
    pub fn shared(&self) -> Arc<str> {
        self.0.clone()
    }

    /// The full text, for the request body that registers the device.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Number of base64 characters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty hash (never produced by the CSV reader).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What a person may read: `T0GX…a1Q= (4000 chars)`.
    pub fn shortened(&self) -> String {
        shorten_secret_text(&self.0)
    }
}

impl fmt::Debug for HardwareHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HardwareHash({})", self.shortened())
    }
}

/// The first and last four characters of a long value and its length, so
/// two values can be told apart without showing either.
pub fn shorten_secret_text(text: &str) -> String {
    let chars = text.chars().count();
    if chars <= 12 {
        return format!("… ({chars} chars)");
    }
    let head: String = text.chars().take(4).collect();
    let tail: String = text.chars().skip(chars - 4).collect();
    format!("{head}…{tail} ({chars} chars)")
}

/// Which Microsoft API registers a device (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Pipe {
    /// Graph `importedWindowsAutopilotDeviceIdentities/import`: hash rows.
    Graph,
    /// Partner Center device batches: tuple and product-key rows.
    PartnerCenter,
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Graph => "Graph",
            Self::PartnerCenter => "Partner Center",
        })
    }
}

/// The one thing that identifies a device to Autopilot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A hardware hash, optionally with the Windows product key.
    HardwareHash {
        hash: HardwareHash,
        product_key: Option<String>,
    },
    /// A product key (PKID) alone.
    ProductKey(String),
    /// Manufacturer + model + serial, matched by the OEM exactly.
    Tuple { manufacturer: String, model: String },
}

impl Identity {
    /// The pipe this identity must take.
    pub fn pipe(&self) -> Pipe {
        match self {
            Self::HardwareHash { .. } => Pipe::Graph,
            Self::ProductKey(_) | Self::Tuple { .. } => Pipe::PartnerCenter,
        }
    }

    /// Short name of the identity kind, as reports write it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::HardwareHash { .. } => "hardwareHash",
            Self::ProductKey(_) => "productKey",
            Self::Tuple { .. } => "tuple",
        }
    }
}

/// One valid CSV row: a device ready for its pipe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Where the row came from.
    pub source: RowRef,
    /// The serial number verbatim (leading zeros, inner spaces, hyphens);
    /// `None` only for product-key rows that gave none.
    pub serial: Option<String>,
    /// The identity and, through it, the pipe.
    pub identity: Identity,
    /// Autopilot group tag, if the row gave one.
    pub group_tag: Option<String>,
    /// User principal name to assign, if the row gave one.
    pub assigned_user: Option<String>,
    /// Manufacturer as the row gave it (tuple rows and MMD files).
    pub manufacturer: Option<String>,
    /// Model as the row gave it (tuple rows and MMD files).
    pub model: Option<String>,
    /// The customer the row names in apctl's `Tenant` column, if any.
    pub tenant: Option<String>,
}

impl Device {
    /// The pipe this device takes.
    pub fn pipe(&self) -> Pipe {
        self.identity.pipe()
    }

    /// The Windows product key the row carries, alone or beside a hash.
    pub fn product_key(&self) -> Option<&str> {
        match &self.identity {
            Identity::ProductKey(k) => Some(k),
            Identity::HardwareHash { product_key, .. } => product_key.as_deref(),
            Identity::Tuple { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_debug_never_shows_the_whole_hash() {
        let text = format!("T0GX{}a1Q=", "A".repeat(3992));
        let hash = HardwareHash::new(text.clone());
        let debug = format!("{hash:?}");
        assert_eq!(debug, "HardwareHash(T0GX…a1Q= (4000 chars))");
        let device_debug = format!(
            "{:?}",
            Identity::HardwareHash {
                hash,
                product_key: None
            }
        );
        assert!(!device_debug.contains(&text[..40]));
    }

    #[test]
    fn short_values_are_not_partly_shown() {
        assert_eq!(shorten_secret_text("abc"), "… (3 chars)");
    }

    #[test]
    fn pipes_follow_identity() {
        let hash = Identity::HardwareHash {
            hash: HardwareHash::new("x".into()),
            product_key: None,
        };
        assert_eq!(hash.pipe(), Pipe::Graph);
        assert_eq!(Identity::ProductKey("k".into()).pipe(), Pipe::PartnerCenter);
        let tuple = Identity::Tuple {
            manufacturer: "m".into(),
            model: "n".into(),
        };
        assert_eq!(tuple.pipe(), Pipe::PartnerCenter);
    }
}
