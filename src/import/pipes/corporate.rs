//! The corporate-identifier route (Autopilot device preparation), chosen
//! per customer and never by apctl on its own: a customer's
//! Manufacturer+Model+Serial rows become Windows corporate identifiers
//! instead of Partner Center device batches. The tenant is read first, so
//! an identifier it holds is not sent again; what is sent goes in chunks of
//! at most the admin centre's 5,000 rows (and `--chunk-size`), within the
//! tenant's Graph write budget; the tenant is read again after, so the
//! outcome rests on what it holds, not on an answer that may have been
//! lost.

use std::collections::HashMap;
use std::sync::Arc;

use crate::graph::corporate::{Identity, by_key, key};
use crate::import::report::progress::{Cancel, TenantOutcome, entry_for, interrupted_cause};
use crate::import::settings::ImportSettings;
use crate::input::device::{Device, Identity as DeviceIdentity, Pipe};
use crate::report::{Action, Cause, Entry, IdentifierState, TenantError};
use crate::transport::Client;
use crate::transport::throttle::TenantGate;

/// The admin centre's guidance: at most 5,000 identifiers per upload.
pub const MAX_PER_UPLOAD: usize = 5_000;

/// A customer on this route.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// Replace identifiers the tenant holds (`--overwrite`); by default
    /// they are left as they are.
    pub overwrite: bool,
}

sentence_error! {
    /// Why a row cannot be a corporate identifier.
    NotAnIdentifier
}

/// The identifier a tuple row stands for: `manufacturer,model,serial`,
/// the serial's periods stripped as Intune strips them; or why the row
/// cannot be one.
pub fn identifier(device: &Device) -> Result<String, NotAnIdentifier> {
    let DeviceIdentity::Tuple { manufacturer, model } = &device.identity else {
        return Err(NotAnIdentifier::from(
            "only Manufacturer+Model+Serial rows can be corporate identifiers: a product key cannot (register it through Partner Center, on the default route)",
        ));
    };
    let serial: String = device
        .serial
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| *c != '.')
        .collect();
    let parts = [
        ("manufacturer", manufacturer.as_str()),
        ("model", model.as_str()),
        ("serial number", serial.as_str()),
    ];
    for (name, value) in parts {
        let value = value.trim();
        let why = if value.is_empty() {
            format!("the {name} is empty")
        } else if value.contains(',') {
            format!(
                "the {name} holds a comma, which separates an identifier's parts: correct it as the device reports it"
            )
        } else if value.chars().any(char::is_control) {
            format!("the {name} holds a control character")
        } else if value.chars().count() > 128 {
            format!("the {name} is longer than 128 characters")
        } else {
            continue;
        };
        return Err(NotAnIdentifier(why));
    }
    Ok(format!(
        "{},{},{}",
        manufacturer.trim(),
        model.trim(),
        serial.trim()
    ))
}

/// A row as this route reports it: no portal state, no group tag.
fn entry(device: &Device, settings: &ImportSettings) -> Entry {
    let mut e = entry_for(device, settings);
    e.pipe = Some(Pipe::CorporateIdentifiers);
    e.state = None;
    e.group_tag = None;
    e
}

fn not_sent(mut e: Entry, why: &Arc<Cause>) -> Entry {
    e.not_sent(why);
    e
}

/// A failed call as the customer's error, in the words it needs.
fn failure(settings: &ImportSettings, what: &str, e: &crate::transport::CallError) -> TenantError {
    let mut f = crate::import::pipes::graph::tenant_error(&settings.customer.tenant, e);
    f.error = format!("{what}: {}", f.error);
    f
}

/// What the uploads did: identifiers refused, the call that failed, and
/// where sending stopped.
#[derive(Default)]
struct Sent {
    refused: Vec<String>,
    failed: Option<Arc<Cause>>,
    error: Option<TenantError>,
    interrupted: bool,
    /// Keys of the identifiers never uploaded (after a failure or a stop).
    not_reached: Vec<String>,
}

/// Sending one chunk again after a failed call, at most this many times.
const ATTEMPTS: usize = 5;

/// Uploads `to_send` in chunks. A failed call may have taken effect: the
/// tenant is read, and only what it does not hold is sent again (a few
/// times); sending stops when the call keeps failing, the tenant cannot be
/// read, or the run is stopped.
async fn upload(
    graph: &crate::graph::Graph<'_>,
    settings: &ImportSettings,
    route: Route,
    to_send: &[String],
    cancel: &Cancel,
) -> Sent {
    let chunk = settings.run.chunk_size.get().clamp(1, MAX_PER_UPLOAD);
    let mut sent = Sent::default();
    let chunks: Vec<&[String]> = to_send.chunks(chunk).collect();
    for (n, part) in chunks.iter().enumerate() {
        let mut pending: Vec<String> = part.to_vec();
        let mut attempts = 0;
        while !pending.is_empty() {
            if cancel.is_cancelled() {
                sent.interrupted = true;
                break;
            }
            match graph.import_identities(&pending, route.overwrite).await {
                Ok(results) => {
                    sent.refused.extend(
                        results
                            .into_iter()
                            .filter(|r| !r.status)
                            .map(|r| key(&r.imported_device_identifier)),
                    );
                    pending.clear();
                }
                Err(e) => {
                    attempts += 1;
                    let held = match graph.list_identities().await {
                        Ok(list) if attempts < ATTEMPTS => list,
                        _ => {
                            let f = failure(settings, "uploading corporate identifiers failed", &e);
                            sent.failed = Some(Cause::tenant(&f));
                            sent.error = Some(f);
                            break;
                        }
                    };
                    let held = by_key(held);
                    pending.retain(|p| route.overwrite || !held.contains_key(&key(p)));
                }
            }
        }
        if !pending.is_empty() {
            sent.not_reached.extend(pending.iter().map(|p| key(p)));
            sent.not_reached
                .extend(chunks[n + 1..].iter().flat_map(|c| c.iter()).map(|p| key(p)));
            break;
        }
    }
    sent
}

/// Sends one customer's tuple rows as corporate identifiers.
pub async fn import_customer(
    client: &Client,
    settings: &ImportSettings,
    gate: &TenantGate,
    route: Route,
    devices: Vec<Device>,
    cancel: &Cancel,
) -> TenantOutcome {
    let mut outcome = TenantOutcome {
        entries: Vec::new(),
        error: None,
        interrupted: false,
        staged_left: 0,
    };
    if let Some(f) = &settings.customer.preflight_failure {
        let why = Cause::tenant(f);
        outcome.entries = devices
            .iter()
            .map(|d| not_sent(entry(d, settings), &why))
            .collect();
        return outcome;
    }
    let rows = identifiers(&devices, settings, &mut outcome.entries);
    if rows.is_empty() {
        return outcome;
    }
    let graph = settings.graph(client, gate);
    let before = match graph.list_identities().await {
        Ok(list) => by_key(list),
        Err(e) => {
            // Only read: nothing was sent.
            let f = failure(settings, "cannot read the tenant's corporate identifiers", &e);
            let why = Cause::tenant(&f);
            outcome
                .entries
                .extend(rows.into_iter().map(|(e, _)| not_sent(e, &why)));
            outcome.error = Some(f);
            return outcome;
        }
    };
    let mut to_send: Vec<String> = Vec::new();
    for (_, id) in &rows {
        let k = key(id);
        if (route.overwrite || !before.contains_key(&k)) && !to_send.iter().any(|s| key(s) == k) {
            to_send.push(id.clone());
        }
    }
    let sent = upload(&graph, settings, route, &to_send, cancel).await;
    // Read again, so the outcome rests on what the tenant holds; when it
    // cannot be read, on the answers.
    let after = if to_send.is_empty() {
        Some(before.clone())
    } else {
        graph.list_identities().await.map(by_key).ok()
    };
    let sent_keys: Vec<String> = to_send.iter().map(|s| key(s)).collect();
    for (e, id) in rows {
        outcome.entries.push(judge(
            e,
            &key(&id),
            &before,
            after.as_ref(),
            &sent_keys,
            &sent,
            route,
        ));
    }
    outcome.error = sent.error.clone();
    outcome.interrupted = sent.interrupted;
    outcome
}

/// Each row with its identifier; a row that cannot be one goes to
/// `invalid` with the reason.
fn identifiers(
    devices: &[Device],
    settings: &ImportSettings,
    invalid: &mut Vec<Entry>,
) -> Vec<(Entry, String)> {
    let mut rows = Vec::new();
    for d in devices {
        let mut e = entry(d, settings);
        match identifier(d) {
            Ok(id) => rows.push((e, id)),
            Err(why) => {
                e.action = Action::Invalid;
                e.details = why.0.into();
                invalid.push(e);
            }
        }
    }
    rows
}

/// A row's outcome from what the tenant held before and holds after (or,
/// when it could not be read after, from the answers).
fn judge(
    mut e: Entry,
    k: &str,
    before: &HashMap<String, Identity>,
    after: Option<&HashMap<String, Identity>>,
    sent_keys: &[String],
    sent: &Sent,
    route: Route,
) -> Entry {
    let was_sent = sent_keys.iter().any(|s| s == k);
    let now = after.and_then(|a| a.get(k));
    let stopped = || sent.failed.clone().unwrap_or_else(interrupted_cause);
    if let Some(now) = now {
        e.identifier = Some(if before.contains_key(k) && !(was_sent && route.overwrite) {
            e.action = Action::AlreadyRegistered;
            IdentifierState::AlreadyPresent
        } else {
            e.action = Action::Sent;
            IdentifierState::Added
        });
        held(&mut e, now);
    } else if sent.not_reached.iter().any(|s| s == k) || (!was_sent && !before.contains_key(k)) {
        e = not_sent(e, &stopped());
    } else if sent.refused.iter().any(|s| s == k) {
        e.identifier = Some(IdentifierState::Refused);
        e.action = Action::Sent;
        e.details = "Intune did not take this identifier (its answer gave no reason): check the manufacturer, model and serial number as the device reports them".into();
    } else {
        // Taken, by the answer; the tenant could not be read to show it.
        e.identifier = Some(IdentifierState::Added);
        e.action = Action::Sent;
        e.details = format!("{HELD}; the tenant could not be read after the upload to confirm it").into();
    }
    e
}

const HELD: &str = "marked corporate when it enrolls (Windows Autopilot device preparation); this is not an Autopilot registration";

/// What the tenant says of an identifier it holds.
fn held(e: &mut Entry, identity: &Identity) {
    e.imported_identity_id = Some(identity.id.as_str().into());
    e.enrollment_state = Some(identity.enrollment_state.clone()).filter(|s| !s.is_empty());
    e.details = HELD.into();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::device::RowRef;

    fn tuple(manufacturer: &str, model: &str, serial: &str) -> Device {
        Device {
            source: RowRef {
                file: "f.csv".into(),
                line: 2,
            },
            serial: Some(serial.into()),
            identity: DeviceIdentity::Tuple {
                manufacturer: manufacturer.into(),
                model: model.into(),
            },
            group_tag: None,
            assigned_user: None,
            manufacturer: Some(manufacturer.into()),
            model: Some(model.into()),
            tenant: None,
        }
    }

    #[test]
    fn an_identifier_is_the_three_values_with_the_serials_periods_stripped() {
        let d = tuple("Contoso Devices", "Surface Laptop 7", "PC.0001.A");
        assert_eq!(
            identifier(&d).unwrap(),
            "Contoso Devices,Surface Laptop 7,PC0001A"
        );
    }

    #[test]
    fn a_comma_an_empty_value_or_a_product_key_is_refused_with_the_reason() {
        let comma = identifier(&tuple("Contoso, Inc", "Book", "S1")).unwrap_err();
        assert!(comma.0.contains("manufacturer holds a comma"), "{comma}");
        let empty = identifier(&tuple("Contoso", "Book", "...")).unwrap_err();
        assert!(empty.0.contains("serial number is empty"), "{empty}");
        let mut key = tuple("Contoso", "Book", "S2");
        key.identity = DeviceIdentity::ProductKey("33000-11111-22222-33333-44444".into());
        let refused = identifier(&key).unwrap_err();
        assert!(refused.0.contains("a product key cannot"), "{refused}");
        let long = identifier(&tuple(&"M".repeat(129), "Book", "S3")).unwrap_err();
        assert!(long.0.contains("longer than 128"), "{long}");
    }
}
