//! What apctl sent to a customer's Graph import, kept in its state folder
//! (`sent/<tenant>.json`), so its own staged records are known even when
//! the service does not keep the `importId` apctl sent: the one captured
//! real answer gives every record `importId` = `productKey` = its own id
//! (SPEC §3.1 documents no promise either way).
//!
//! Each device is put on record *before* its import call (serial, a digest
//! of its hash, the run's marker) and given its record id when the answer
//! names it. Records listed later are matched to these entries by id, or,
//! for an entry whose answer never came (a lost answer, a killed run), by
//! serial and, when the service lists the hash, by its digest. A matched
//! record gets the marker back, so everything that reads markers
//! ([`crate::import::run::markers`]) works the same either way.
//!
//! The file is only written while the run holds the customer's lock
//! ([`crate::import::run::lock`]). Runs on other machines cannot see it:
//! there, with a service that rewrites `importId`, another machine's
//! records read as someone else's and are followed, never deleted.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::graph::{ImportItem, ImportedIdentity, hash_digest};
use crate::import::run::markers::{is_apctls, marker_until};

/// One device sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    serial: String,
    /// FNV-1a digest of the hardware hash, in hex: nothing of it is kept.
    hash: String,
    /// The `importId` marker sent with it.
    marker: String,
    /// The staged record's id, once an answer named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

/// The ledger's format (`version` in the file): a file of a newer format is
/// not read nor written.
const VERSION: u64 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Contents {
    version: u64,
    sent: Vec<Sent>,
}

/// Why the ledger could not be used. The run goes on without it: records
/// whose `importId` the service kept are still known by their marker.
#[derive(Debug, thiserror::Error)]
#[error("cannot use `{}`: {why}", path.display())]
pub struct LedgerError {
    path: PathBuf,
    why: String,
}

/// A customer's record of what apctl sent.
#[derive(Debug, Default)]
pub struct Ledger {
    path: Option<PathBuf>,
    sent: Mutex<Vec<Sent>>,
    /// What was wrong with the file when it was opened, to say once.
    said: Mutex<Option<LedgerError>>,
}

impl Ledger {
    /// What was wrong with the file when it was opened (a corrupt file is
    /// started again), once.
    pub fn take_problem(&self) -> Option<LedgerError> {
        self.said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// No state folder: nothing is kept.
    pub fn none() -> Self {
        Self::default()
    }

    /// The customer's ledger in `dir` (created when first written). An
    /// unreadable file is an error; a missing one is empty.
    pub fn open(dir: &Path, tenant: &str) -> Result<Self, LedgerError> {
        Self::at(crate::import::run::lock::path_for(dir, tenant).with_extension("json"))
    }

    /// The ledger of the customer whose lock is held: `sent/<key>.json`
    /// beside the `locks` folder.
    pub fn for_lock(lock: &crate::import::run::lock::TenantLock) -> Result<Self, LedgerError> {
        let file = Path::new(lock.path().file_name().unwrap_or_default()).with_extension("json");
        let state = lock
            .path()
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        Self::at(state.join("sent").join(file))
    }

    fn at(path: PathBuf) -> Result<Self, LedgerError> {
        let (sent, said) = match crate::state::load::<Contents>(&path, VERSION) {
            crate::state::Loaded::Missing => (Vec::new(), None),
            crate::state::Loaded::Read(contents) => (contents.sent, None),
            // Started again: what it held is lost, and the tenant (the
            // source of truth) still tells every record's state.
            crate::state::Loaded::Corrupt(why) => (Vec::new(), Some(format!("{why}; it is started again"))),
            // Neither read nor written.
            crate::state::Loaded::Newer(why) => return Err(LedgerError { path, why }),
        };
        Ok(Self {
            said: Mutex::new(said.map(|why| LedgerError {
                path: path.clone(),
                why,
            })),
            path: Some(path),
            sent: Mutex::new(sent),
        })
    }

    fn sent(&self) -> std::sync::MutexGuard<'_, Vec<Sent>> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Gives listed records whose `importId` is not an apctl marker the
    /// marker they were sent with, when this ledger knows them. Returns
    /// the ids of every listed record this machine sent.
    pub fn restore(&self, records: &mut [ImportedIdentity]) -> std::collections::HashSet<String> {
        let mut known = std::collections::HashSet::new();
        let sent = self.sent();
        if sent.is_empty() {
            return known;
        }
        for r in records.iter_mut() {
            if let Some(s) = sent.iter().find(|s| s.id.as_deref() == Some(r.id.as_str())) {
                known.insert(r.id.clone());
                if !is_apctls(r) {
                    r.import_id = Some(s.marker.clone());
                }
                continue;
            }
            if is_apctls(r) {
                continue;
            }
            let by_what_was_sent = sent.iter().rev().find(|s| {
                s.id.is_none()
                    && r.serial_number.as_deref() == Some(s.serial.as_str())
                    && r.hardware_digest.as_ref().is_none_or(|d| *d == s.hash)
            });
            if let Some(s) = by_what_was_sent {
                known.insert(r.id.clone());
                r.import_id = Some(s.marker.clone());
            }
        }
        known
    }

    /// Puts devices on record before their import call.
    pub fn sending(&self, items: &[ImportItem]) -> Result<(), LedgerError> {
        if self.path.is_none() {
            return Ok(());
        }
        let mut sent = self.sent();
        for item in items {
            sent.push(Sent {
                serial: item.serial_number.clone(),
                hash: hash_digest(&item.hardware_identifier),
                marker: item.import_id.clone().unwrap_or_default(),
                id: None,
            });
        }
        self.save(&sent)
    }

    /// Gives the entries of devices the service staged their record ids.
    pub fn staged(&self, marker: &str, records: &[ImportedIdentity]) -> Result<(), LedgerError> {
        if self.path.is_none() || records.is_empty() {
            return Ok(());
        }
        let mut sent = self.sent();
        for r in records {
            let open = sent.iter_mut().rev().find(|s| {
                s.id.is_none() && s.marker == marker && r.serial_number.as_deref() == Some(s.serial.as_str())
            });
            if let Some(s) = open {
                s.id = Some(r.id.clone());
            }
        }
        self.save(&sent)
    }

    /// Keeps only what may still matter: entries whose record is listed,
    /// and entries of runs that may still be going.
    pub fn prune(&self, listed: &[ImportedIdentity], now_epoch: i64) -> Result<(), LedgerError> {
        if self.path.is_none() {
            return Ok(());
        }
        let mut sent = self.sent();
        let before = sent.len();
        sent.retain(|s| {
            let live = marker_until(&s.marker).is_some_and(|until| until > now_epoch);
            let listed = listed.iter().any(|r| match &s.id {
                Some(id) => *id == r.id,
                None => r.serial_number.as_deref() == Some(s.serial.as_str()),
            });
            live || listed
        });
        if sent.len() == before {
            return Ok(());
        }
        self.save(&sent)
    }

    fn save(&self, sent: &[Sent]) -> Result<(), LedgerError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let fail = |why: String| LedgerError {
            path: path.clone(),
            why,
        };
        if let Some(dir) = path.parent() {
            crate::state::ensure_dir(dir).map_err(|e| fail(e.to_string()))?;
        }
        let contents = Contents {
            version: VERSION,
            sent: sent.to_vec(),
        };
        let bytes = serde_json::to_vec(&contents).map_err(|e| fail(e.to_string()))?;
        // Written whole then renamed: a killed run leaves the old file or
        // the new one, never half of one.
        crate::state::write_whole(path, &bytes).map_err(|e| fail(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(serial: &str, hash: &str, marker: &str) -> ImportItem {
        ImportItem {
            serial_number: serial.into(),
            hardware_identifier: hash.into(),
            product_key: None,
            group_tag: None,
            assigned_user_principal_name: None,
            import_id: Some(marker.into()),
        }
    }

    /// A record as the rewriting service lists it: `importId` = its id.
    fn rewritten(id: &str, serial: &str) -> ImportedIdentity {
        ImportedIdentity {
            id: id.into(),
            serial_number: Some(serial.into()),
            import_id: Some(id.into()),
            ..ImportedIdentity::default()
        }
    }

    const MARKER: &str = "apctl-4102444800-run1";

    #[test]
    fn records_get_their_marker_back_by_id_or_by_what_was_sent() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), "contoso.onmicrosoft.com").unwrap();
        ledger
            .sending(&[item("A", "hash-a", MARKER), item("B", "hash-b", MARKER)])
            .unwrap();
        // A's answer came; B's was lost.
        ledger.staged(MARKER, &[rewritten("id-a", "A")]).unwrap();

        let again = Ledger::open(dir.path(), "contoso.onmicrosoft.com").unwrap();
        let mut listed = vec![
            rewritten("id-a", "A"),
            rewritten("id-b", "B"),
            rewritten("id-c", "C"),
        ];
        listed[1].hardware_digest = Some(hash_digest("hash-b"));
        again.restore(&mut listed);
        assert_eq!(listed[0].import_id.as_deref(), Some(MARKER), "by id");
        assert_eq!(listed[1].import_id.as_deref(), Some(MARKER), "by serial and hash");
        assert_eq!(
            listed[2].import_id.as_deref(),
            Some("id-c"),
            "never sent: not apctl's"
        );

        // The same serial uploaded with another hash is someone else's.
        let mut other = vec![rewritten("id-x", "B")];
        other[0].hardware_digest = Some(hash_digest("another hash"));
        again.restore(&mut other);
        assert_eq!(other[0].import_id.as_deref(), Some("id-x"));
    }

    #[test]
    fn prune_keeps_listed_records_and_live_runs_only() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), "t").unwrap();
        let ended = "apctl-100-old";
        ledger
            .sending(&[
                item("A", "h", ended),
                item("B", "h", ended),
                item("C", "h", MARKER),
            ])
            .unwrap();
        ledger
            .staged(ended, &[rewritten("id-a", "A"), rewritten("id-b", "B")])
            .unwrap();
        ledger.prune(&[rewritten("id-a", "A")], 200).unwrap();
        let kept: Vec<String> = Ledger::open(dir.path(), "t")
            .unwrap()
            .sent()
            .iter()
            .map(|s| s.serial.clone())
            .collect();
        assert_eq!(kept, ["A", "C"]);
    }

    #[test]
    fn a_damaged_file_is_started_again_a_newer_one_is_left_and_no_folder_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.json"), "{not json").unwrap();
        let damaged = Ledger::open(dir.path(), "t").unwrap();
        assert!(damaged.sent().is_empty());
        let said = damaged.take_problem().expect("the damage is said").to_string();
        assert!(said.contains("started again"), "{said}");
        assert!(damaged.take_problem().is_none(), "once");
        std::fs::write(dir.path().join("n.json"), r#"{"version": 2, "sent": []}"#).unwrap();
        let newer = Ledger::open(dir.path(), "n").unwrap_err().to_string();
        assert!(newer.contains("newer apctl"), "{newer}");
        let none = Ledger::none();
        none.sending(&[item("A", "h", MARKER)]).unwrap();
        let mut listed = vec![rewritten("id-a", "A")];
        none.restore(&mut listed);
        assert_eq!(listed[0].import_id.as_deref(), Some("id-a"));
    }
}
