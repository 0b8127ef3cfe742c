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
/// unchanged), in memory or, in a large import, moved to the run's
/// [`crate::input::spill::HashStore`]. `Debug` shows only its shortened
/// form.
#[derive(Clone)]
pub struct HardwareHash(Repr);

#[derive(Clone)]
enum Repr {
    Memory(Arc<str>),
    Spilled {
        store: Arc<crate::input::spill::HashStore>,
        offset: u64,
        len: u32,
        shortened: Arc<str>,
    },
}

impl HardwareHash {
    /// Wraps an already validated base64 text.
    pub fn new(text: String) -> Self {
        Self(Repr::Memory(text.into()))
    }

    /// Moves the text to `store`, keeping only where it is (a failed write
    /// keeps it in memory).
    pub fn spill(&mut self, store: &Arc<crate::input::spill::HashStore>) {
        if let Repr::Memory(text) = &self.0
            && let Ok((offset, len)) = store.put(text)
        {
            let shortened = shorten_secret_text(text).into();
            self.0 = Repr::Spilled {
                store: store.clone(),
                offset,
                len,
                shortened,
            };
        }
    }

    /// The full text, for the request body that registers the device:
    /// shared rather than copied when in memory, read back when spilled (a
    /// store that cannot be read gives an empty text, which the service
    /// refuses for the whole request: said, never silently lost).
    pub fn shared(&self) -> Arc<str> {
        match &self.0 {
            Repr::Memory(text) => text.clone(),
            Repr::Spilled {
                store, offset, len, ..
            } => store.get(*offset, *len).map(Arc::from).unwrap_or_else(|e| {
                tracing::error!("cannot read a hardware hash back from the run's temporary file: {e}");
                Arc::from("")
            }),
        }
    }

    /// Number of base64 characters.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Memory(text) => text.len(),
            Repr::Spilled { len, .. } => *len as usize,
        }
    }

    /// True for an empty hash (never produced by the CSV reader).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What a person may read: `T0GX…a1Q= (4000 chars)`.
    pub fn shortened(&self) -> String {
        match &self.0 {
            Repr::Memory(text) => shorten_secret_text(text),
            Repr::Spilled { shortened, .. } => shortened.to_string(),
        }
    }
}

impl PartialEq for HardwareHash {
    fn eq(&self, other: &Self) -> bool {
        self.shared() == other.shared()
    }
}

impl Eq for HardwareHash {}

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
    /// Graph `importedDeviceIdentities/importDeviceIdentityList`: tuple
    /// rows of a customer that chose Windows corporate identifiers
    /// (Autopilot device preparation) instead of Autopilot registration.
    CorporateIdentifiers,
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Graph => "Graph",
            Self::PartnerCenter => "Partner Center",
            Self::CorporateIdentifiers => "corporate identifiers",
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
