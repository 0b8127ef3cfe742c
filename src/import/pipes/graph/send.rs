//! Sending: hash rows in chunks, several chunks at once, each answer
//! handled as it arrives; an answer that may be lost is looked up before
//! anything is sent again.

use super::*;
use crate::input::device::HardwareHash;

/// A device as the import takes it, with its hash still where the plan
/// put it: read into the item only when its chunk goes out.
pub(super) fn import_item(t: &Tracked, marker: &str) -> Option<(ImportItem, HardwareHash)> {
    let Identity::HardwareHash { hash, product_key } = &t.device.identity else {
        return None;
    };
    let item = ImportItem {
        serial_number: t.device.serial.clone()?,
        hardware_identifier: std::sync::Arc::from(""),
        product_key: product_key.clone(),
        group_tag: t.entry.group_tag.clone(),
        assigned_user_principal_name: t.device.assigned_user.clone(),
        import_id: Some(marker.to_owned()),
    };
    Some((item, hash.clone()))
}

/// The chunk's items with their hashes read in.
fn with_hashes(prepared: Vec<(ImportItem, HardwareHash)>) -> Vec<ImportItem> {
    prepared
        .into_iter()
        .map(|(mut item, hash)| {
            item.hardware_identifier = hash.shared();
            item
        })
        .collect()
}

/// Sends every device still to send, in chunks; the chunks go out
/// together, as far as the tenant's concurrency limit lets them.
pub(super) async fn send_all(
    graph: &Graph<'_>,
    tracked: &mut [Tracked],
    settings: &ImportSettings,
    ledger: &Ledger,
    progress: &dyn Progress,
    cancel: &Cancel,
) {
    if cancel.is_cancelled() {
        return;
    }
    let now = graph.client.clock().now();
    let todo: Vec<usize> = (0..tracked.len())
        .filter(|&i| tracked[i].phase == Phase::ToSend && tracked[i].x.resend_at <= now)
        .collect();
    if todo.is_empty() {
        return;
    }
    let chunks: Vec<&[usize]> = todo.chunks(settings.run.chunk_size.get()).collect();
    engine::posting(tracked, &todo);
    snapshot(tracked, settings, progress, true);
    let marker = settings.run.marker();
    // As many chunks in flight as the tenant's concurrency allows; a
    // chunk's hashes are read in only when it goes out, so a large run
    // never holds them all.
    let prepared: Vec<Vec<(ImportItem, HardwareHash)>> = chunks
        .iter()
        .map(|chunk| {
            chunk
                .iter()
                .filter_map(|&i| import_item(&tracked[i], &marker))
                .collect()
        })
        .collect();
    let width = settings.run.limits.concurrency.get() as usize;
    let mut posts = futures::StreamExt::buffer_unordered(
        futures::stream::iter(prepared.into_iter().enumerate().map(|(k, prepared)| async move {
            let items = with_hashes(prepared);
            (
                k,
                post_chunk(graph, items, settings, ledger, progress, cancel).await,
            )
        })),
        width,
    );
    // Each chunk's answer is taken as it comes, and put on record at once:
    // a run killed while later chunks are on the wire knows these.
    while let Some((k, answer)) = futures::StreamExt::next(&mut posts).await {
        take_answer(tracked, chunks[k], answer, settings, progress);
    }
}

/// One chunk's answer onto its rows.
fn take_answer(
    tracked: &mut [Tracked],
    chunk: &[usize],
    answer: ChunkAnswer,
    settings: &ImportSettings,
    progress: &dyn Progress,
) {
    adopt(tracked, chunk, answer.staged);
    // One request id for the chunk's rows, shared.
    let request_id: Option<std::sync::Arc<str>> = answer.request_id.as_deref().map(Into::into);
    for &i in chunk {
        tracked[i].entry.request_id.clone_from(&request_id);
    }
    if let Some(went_out) = answer.stopped {
        // Stopped: nothing more goes out. A row whose chunk never went out
        // was not sent; one that went out and was not found staged may
        // still have been.
        for &i in chunk {
            if tracked[i].phase == Phase::ToSend {
                tracked[i].posted = went_out;
            }
        }
        return;
    }
    match answer.failure {
        Some(e) => {
            let unsent: Vec<usize> = chunk
                .iter()
                .copied()
                .filter(|&i| tracked[i].phase == Phase::ToSend)
                .collect();
            fail_all(tracked, &unsent, &tenant_error(&settings.customer.tenant, &e));
        }
        None => missing_from_answer(tracked, chunk),
    }
    let sent = chunk
        .iter()
        .filter(|&&i| tracked[i].entry.action == Action::Sent)
        .count();
    progress.event(Event::Sent {
        tenant: settings.customer.label(),
        count: sent,
    });
    // On record at once for a small customer; a large one's report is
    // megabytes, and every row in flight already says it may have been
    // sent (the ledger holds what was staged).
    snapshot(tracked, settings, progress, tracked.len() <= LARGE_CUSTOMER);
}

/// Rows above which a customer's per-chunk snapshots are not written at
/// once, but with the run's other checkpoints.
const LARGE_CUSTOMER: usize = 5_000;

/// How many times a chunk is sent when answers leave it open whether it
/// took effect (each time after looking at what was staged): a service
/// answering 30 % of requests 503 still takes nearly every chunk.
const SEND_TRIES: usize = 5;

/// What one chunk's import came to.
#[derive(Default)]
pub(super) struct ChunkAnswer {
    staged: Vec<ImportedIdentity>,
    request_id: Option<String>,
    failure: Option<CallError>,
    /// Set when the run was stopped before the chunk was done with: true
    /// when a try of it went out (its rows not found staged may have been
    /// sent), false when none did.
    stopped: Option<bool>,
}

impl ChunkAnswer {
    fn ended(mut self, failure: Option<CallError>, stopped: Option<bool>) -> Self {
        self.failure = failure;
        self.stopped = stopped;
        self
    }
}

/// Imports one chunk. A POST that may have been sent is never resent
/// blindly: the staged list is read, and only the devices this run has not
/// staged yet are sent again.
pub(super) async fn post_chunk(
    graph: &Graph<'_>,
    mut items: Vec<ImportItem>,
    settings: &ImportSettings,
    ledger: &Ledger,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> ChunkAnswer {
    let mut answer = ChunkAnswer::default();
    let marker = settings.run.marker();
    let note = |e: crate::import::run::ledger::LedgerError| {
        progress.event(warning(&settings.customer.label(), e.to_string()));
    };
    for attempt in 0..SEND_TRIES {
        // After Ctrl-C or SIGTERM, no chunk and no resend goes out.
        if cancel.is_cancelled() {
            return answer.ended(None, Some(attempt > 0));
        }
        // On record before the call: if its answer is lost, or the run is
        // killed, what was sent is still known.
        ledger.sending(&items).unwrap_or_else(note);
        let e = match engine::unless_stopped("graph.import", graph.import(&items), cancel).await {
            Ok((staged, rid)) => {
                ledger.staged(&marker, &staged).unwrap_or_else(note);
                answer.staged.extend(staged);
                answer.request_id = rid;
                return answer;
            }
            Err(e) => e,
        };
        let CallError::MayHaveBeenSent {
            cause,
            request_id: rid,
            ..
        } = &e
        else {
            answer.request_id = e.request_id().map(str::to_owned);
            return answer.ended(Some(e), None);
        };
        answer.request_id.clone_from(rid);
        let stopping = cancel.is_cancelled();
        progress.event(warning(
            &settings.customer.label(),
            if stopping {
                format!("import may have been sent ({cause}); looking it up (nothing is sent after the stop)")
            } else {
                format!("import may have been sent ({cause}); looking before resending")
            },
        ));
        let pause = engine::lookup_pause(settings.run.grace, stopping);
        match recover(graph, ledger, &mut items, pause).await {
            Ok(found) => {
                ledger.staged(&marker, &found).unwrap_or_else(note);
                answer.staged.extend(found);
            }
            Err(e) => return answer.ended(Some(e), cancel.is_cancelled().then_some(true)),
        }
        if items.is_empty() {
            return answer;
        }
    }
    let failure = CallError::MayHaveBeenSent {
        kind: "graph.import",
        cause: format!("the service did not confirm the import in {SEND_TRIES} tries, each looked up first"),
        request_id: answer.request_id.clone(),
    };
    answer.ended(Some(failure), None)
}

/// After an answer that may be lost: the staged records this chunk
/// created, found in the tenant's list by serial and, when the service
/// lists the hash, by hash — not by `importId`, which the service rewrites.
/// The lookup found no record of these serials before they were sent, so a
/// record of one now came from this chunk (or from a run elsewhere sending
/// it at the same moment: following that one is as right). `items` keeps
/// the rest, which were not staged and may be sent again.
async fn recover(
    graph: &Graph<'_>,
    ledger: &Ledger,
    items: &mut Vec<ImportItem>,
    pause: std::time::Duration,
) -> Result<Vec<ImportedIdentity>, CallError> {
    // A request whose answer was lost may still be in the service's hands:
    // give it time to land before reading what is staged, or a late write
    // would meet a second one.
    graph.client.clock().sleep(pause).await;
    let mut all = graph.list_imported().await?;
    ledger.restore(&mut all);
    let found: Vec<ImportedIdentity> = all
        .into_iter()
        .filter(|s| items.iter().any(|i| was_sent_as(s, i)))
        .collect();
    items.retain(|i| !found.iter().any(|s| was_sent_as(s, i)));
    Ok(found)
}

/// A listed staged record is the one made from this item: same serial,
/// and the same hash when the service lists it.
fn was_sent_as(record: &ImportedIdentity, item: &ImportItem) -> bool {
    record.serial_number.as_deref() == Some(item.serial_number.as_str())
        && record
            .hardware_digest
            .as_ref()
            .is_none_or(|d| *d == crate::graph::hash_digest(&item.hardware_identifier))
}

/// Matches staged records to devices by serial.
pub(super) fn adopt(tracked: &mut [Tracked], indices: &[usize], staged: Vec<ImportedIdentity>) {
    let mut by = by_serial(staged, |s| s.serial_number.clone());
    for &i in indices {
        let t = &mut tracked[i];
        let Some(record) = t.device.serial.as_ref().and_then(|s| by.remove(s)) else {
            continue;
        };
        t.x.staged_id = Some(record.id.clone());
        t.entry.imported_identity_id = Some(record.id.into());
        t.entry.action = Action::Sent;
        // Answered: it was sent, and its verdict is to come.
        t.entry.details = std::sync::Arc::from("");
        t.posted = false;
        t.x.ours = true;
        t.phase = Phase::Sent;
    }
}

pub(super) fn missing_from_answer(tracked: &mut [Tracked], indices: &[usize]) {
    for &i in indices {
        let t = &mut tracked[i];
        if t.phase == Phase::ToSend {
            t.entry.action = Action::Sent;
            t.entry.set(
                RegistrationState::RegistrationFailed,
                Some(DeviceMessage::UnexpectedError),
            );
            t.entry.details =
                "the import answer did not list this device; run apctl again to retry it".into();
            t.phase = Phase::Done;
        }
    }
}

/// The import call for these devices failed as a whole: the service gave
/// them no verdict, so they are not sent, for that one reason.
pub(super) fn fail_all(tracked: &mut [Tracked], indices: &[usize], error: &TenantError) {
    let why = Cause::tenant(error);
    for &i in indices {
        tracked[i].entry.not_sent(&why);
        tracked[i].phase = Phase::Done;
    }
}
