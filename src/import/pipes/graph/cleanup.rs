//! Deleting staged records: housekeeping, never what decides a row. Records
//! are deleted as their rows settle, while the run polls (a few a round,
//! within the write budget left after sends and reads), then the rest once
//! every verdict is on record, and none after the deadline: what is left
//! is counted on the report, for the next run to delete.

use std::collections::HashSet;

use super::*;

/// The most records deleted in one round of polling: well inside Intune's
/// 100 writes per 20 s, so resends and tags still have room.
const PER_ROUND: usize = 25;

/// A row whose staged record this run deletes now.
fn to_delete(t: &Tracked) -> bool {
    matches!(t.phase, Phase::Done | Phase::Tag) && t.x.deletes_record(t.entry.autopilot_device_id.is_some())
}

/// Deletes the records of rows that settled, a few each round of polling,
/// each row's verdict on record (a checkpoint) before its record goes.
pub(super) async fn clean_as_settled(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
    progress: &dyn Progress,
) {
    let picked: Vec<usize> = (0..tracked.len())
        .filter(|&i| to_delete(&tracked[i]))
        .take(PER_ROUND)
        .collect();
    if picked.is_empty() {
        return;
    }
    snapshot(tracked, settings, progress, true);
    let ids: Vec<String> = picked
        .iter()
        .filter_map(|&i| tracked[i].x.staged_id.clone())
        .collect();
    let deleted = delete_all(graph, ids, settings).await;
    for i in picked {
        if tracked[i]
            .x
            .staged_id
            .as_ref()
            .is_some_and(|id| deleted.contains(id))
        {
            tracked[i].x.deleted = true;
        }
    }
}

/// Deletes the staged records this run created (or an earlier apctl run
/// did) once their device is settled, and an earlier run's leftovers:
/// several at once, as the tenant's concurrency limit and write budget
/// allow, and none after the deadline (housekeeping never holds the run
/// past it: the next run deletes what is left). A record already gone
/// counts as deleted. Returns how many were left.
pub(super) async fn cleanup(
    graph: &Graph<'_>,
    tracked: &[Tracked],
    leftovers: Vec<String>,
    settings: &ImportSettings,
    progress: &dyn Progress,
) -> u64 {
    // A record seen gone (another run or an admin deleted it) is not
    // deleted again.
    let ids: Vec<String> = tracked
        .iter()
        .filter(|t| to_delete(t))
        .filter_map(|t| t.x.staged_id.clone())
        .chain(leftovers)
        .collect();
    let wanted = ids.len() as u64;
    let left = wanted - delete_all(graph, ids, settings).await.len() as u64;
    if left > 0 {
        progress.event(warning(
            graph.tenant,
            format!(
                "{left} staged import record{} left for the next import of this customer, or `apctl cleanup`, to delete (cleanup stops at the deadline; the devices' states are final)",
                if left == 1 { "" } else { "s" }
            ),
        ));
    }
    left
}

/// The tenant's records deleted, as many at once as its concurrency
/// allows, until the customer's deadline.
async fn delete_all(graph: &Graph<'_>, ids: Vec<String>, settings: &ImportSettings) -> HashSet<String> {
    let width = settings.run.limits.concurrency.get() as usize;
    graph
        .delete_imported_until(ids, width, settings.customer.deadline)
        .await
}
