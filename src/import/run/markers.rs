//! Which staged records are left over, and how apctl knows its own: the
//! `importId` marker `apctl-<until>-<run id>` tells a live run's records
//! from an ended run's where the service keeps it (Graph's does not: the
//! ledger gives this machine's records their marker back), and a staged
//! record of a registered serial is a leftover whoever made it.

use crate::graph::ImportedIdentity;
use crate::import::settings::IMPORT_ID_PREFIX;

/// True for a staged record of another apctl run that may still be going
/// (its marker's end time is still ahead) and whose device has no verdict
/// yet.
pub(crate) fn another_live_run(record: &ImportedIdentity, mine: &str, now_epoch: i64) -> bool {
    let Some(marker) = record.import_id.as_deref().filter(|m| *m != mine) else {
        return false;
    };
    !settled(record) && marker_until(marker).is_some_and(|until| until > now_epoch)
}

/// True once the service has given the record its verdict.
pub(crate) fn settled(record: &ImportedIdentity) -> bool {
    matches!(
        record.state.device_import_status,
        crate::portal::mapping::ImportStatus::Complete | crate::portal::mapping::ImportStatus::Error
    )
}

/// Staged records that nobody needs any more, for whoever sees them to
/// delete: every record of a serial the tenant has registered, whoever
/// made it (an import of a registered device can only end in 806, and a
/// run still following one sees it vanish and finds the device
/// registered), and apctl's records with a verdict from a run that has
/// ended (its marker's end time passed, or a marker of the older shape).
/// The service rewrites `importId`, so the first rule is the one a fresh
/// agent can rely on; the second needs a kept marker or this machine's
/// ledger.
pub fn leftovers<'a>(
    staged: &'a [ImportedIdentity],
    registered: &std::collections::HashSet<&str>,
    now_epoch: i64,
) -> Vec<&'a ImportedIdentity> {
    staged
        .iter()
        .filter(|r| {
            let serial_registered = r.serial_number.as_deref().is_some_and(|s| registered.contains(s));
            let ended = r
                .import_id
                .as_deref()
                .and_then(marker_until)
                .is_none_or(|until| until <= now_epoch);
            serial_registered || (is_apctls(r) && settled(r) && ended)
        })
        .collect()
}

/// The end time in an apctl marker, if it is one of the current shape.
pub fn marker_until(marker: &str) -> Option<i64> {
    let rest = marker.strip_prefix(IMPORT_ID_PREFIX)?;
    let (until, _) = rest.split_once('-')?;
    until.parse().ok()
}

/// A staged record an apctl run created (its `importId` marker).
pub(crate) fn is_apctls(record: &ImportedIdentity) -> bool {
    record
        .import_id
        .as_deref()
        .is_some_and(|i| i.starts_with(IMPORT_ID_PREFIX))
}
