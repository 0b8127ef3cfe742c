//! A report's counts: rows by portal state (in the portal's order) and by
//! message, the rows never sent, and group tags not yet where they should be.

use serde::{Deserialize, Serialize};

use super::{Action, Entry};
use crate::portal::state::{DeviceMessage, RegistrationState};

/// Counts by state and by message.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub rows: u64,
    /// Every state, in the portal's order, with its count.
    pub by_state: Ordered,
    /// The messages that occurred, in the portal's order.
    pub by_message: Ordered,
    /// Rows never sent because they are invalid.
    pub invalid: u64,
    /// Rows never sent for a reason shared with others (see `causes`).
    pub not_sent: u64,
    /// Partner Center rows registered whose group tag could not be set.
    pub group_tags_not_applied: u64,
    /// Group tag updates sent that did not show by the end of the run.
    #[serde(default)]
    pub group_tags_pending: u64,
    /// `--dry-run` rows that would have been sent.
    #[serde(default)]
    pub would_send: u64,
    /// Rows sent as Windows corporate identifiers, by outcome (absent when
    /// there are none).
    #[serde(default, skip_serializing_if = "Ordered::is_empty")]
    pub identifiers: Ordered,
}

impl Totals {
    /// Counts the entries.
    pub fn of(entries: &[Entry]) -> Self {
        let count_state = |s: RegistrationState| entries.iter().filter(|e| e.state == Some(s)).count() as u64;
        let count_message = |m: DeviceMessage| entries.iter().filter(|e| e.message == Some(m)).count() as u64;
        let by_state = RegistrationState::ALL
            .iter()
            .map(|s| (s.to_string(), count_state(*s)))
            .collect();
        let by_message = DeviceMessage::ALL
            .iter()
            .map(|m| (m.to_string(), count_message(*m)))
            .filter(|(_, n)| *n > 0)
            .collect();
        Self {
            rows: entries.len() as u64,
            by_state: Ordered(by_state),
            by_message: Ordered(by_message),
            invalid: entries
                .iter()
                .filter(|e| e.unsent() && e.action == Action::Invalid)
                .count() as u64,
            not_sent: entries
                .iter()
                .filter(|e| e.unsent() && e.action != Action::Invalid)
                .count() as u64,
            group_tags_not_applied: entries.iter().filter(|e| e.tag_missing()).count() as u64,
            group_tags_pending: entries.iter().filter(|e| e.tag_pending()).count() as u64,
            would_send: entries.iter().filter(|e| e.action == Action::WouldSend).count() as u64,
            identifiers: Ordered(
                super::IdentifierState::ALL
                    .iter()
                    .map(|s| {
                        (
                            s.as_str().to_owned(),
                            entries.iter().filter(|e| e.identifier == Some(*s)).count() as u64,
                        )
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect(),
            ),
        }
    }
}

impl Totals {
    /// The rows never sent, by the words [`Entry::state_text`] gives them.
    pub fn unsent(&self) -> [(&'static str, u64); 2] {
        [(NOT_SENT_INVALID, self.invalid), (NOT_SENT, self.not_sent)]
    }

    /// `--dry-run` rows that would have been sent, by their words.
    pub fn would_send(&self) -> (&'static str, u64) {
        (WOULD_SEND, self.would_send)
    }
}

pub(super) const NOT_SENT_INVALID: &str = "Not sent (invalid row)";
pub(super) const NOT_SENT: &str = "Not sent";
pub(super) const WOULD_SEND: &str = "Would be sent (dry run)";

/// Name → count pairs that serialise as a JSON object in their own order.
#[derive(Clone, Debug, Default)]
pub struct Ordered(pub Vec<(String, u64)>);

impl Ordered {
    /// True when it counts nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The count for a name (0 when absent).
    pub fn get(&self, name: &str) -> u64 {
        self.0.iter().find(|(n, _)| n == name).map_or(0, |(_, c)| *c)
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of counts")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Ordered(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
}

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
