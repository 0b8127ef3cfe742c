//! Sending: new devices into the order's device batch, in chunks, each
//! accepted request's `Location` kept to follow its job.

use super::*;

/// The device as a batch takes it.
pub(super) fn batch_device(d: &Device) -> BatchDevice {
    match &d.identity {
        Identity::Tuple { manufacturer, model } => BatchDevice {
            serial_number: d.serial.clone(),
            oem_manufacturer_name: Some(manufacturer.clone()),
            model_name: Some(model.clone()),
            ..BatchDevice::default()
        },
        Identity::ProductKey(key) => BatchDevice {
            product_key: Some(key.clone()),
            serial_number: d.serial.clone(),
            ..BatchDevice::default()
        },
        Identity::HardwareHash { hash, product_key } => BatchDevice {
            serial_number: d.serial.clone(),
            hardware_hash: Some(hash.shared().to_string()),
            product_key: product_key.clone(),
            ..BatchDevice::default()
        },
    }
}

/// Sends every device still to send: the first chunk creates the tag's
/// batch when it does not exist, the others are added to it. A request
/// that may have reached the service is checked against the batch before
/// anything is sent again. Tuple rows Partner Center refuses to add to an
/// existing batch (the create-batch page documents them, the add-devices
/// page does not) are not sent, with the reason and the fix: another batch
/// would give them another group tag.
pub(super) async fn send(
    ctx: &mut Ctx<'_>,
    tracked: &mut [Tracked],
    jobs: &mut Vec<Accepted>,
    mut batch_exists: bool,
    progress: &dyn Progress,
    cancel: &Cancel,
) {
    let todo: Vec<usize> = (0..tracked.len())
        .filter(|&i| tracked[i].phase == Phase::ToSend)
        .collect();
    for chunk in todo.chunks(ctx.settings.run.chunk_size.get()) {
        // After Ctrl-C, no further chunk goes out.
        if cancel.is_cancelled() {
            break;
        }
        engine::posting(tracked, chunk);
        let devices: Vec<BatchDevice> = chunk.iter().map(|&i| batch_device(&tracked[i].device)).collect();
        let target = ctx.batch.clone();
        // A request the service holds is abandoned at the stop, and looked
        // up like a lost answer.
        let answer = if batch_exists {
            engine::unless_stopped("pc.add-devices", ctx.pc.add_devices(&target, &devices), cancel).await
        } else {
            engine::unless_stopped("pc.create-batch", ctx.pc.create_batch(&target, &devices), cancel).await
        };
        let has_tuples = chunk
            .iter()
            .any(|&i| matches!(tracked[i].device.identity, Identity::Tuple { .. }));
        if batch_exists && has_tuples && is_refusal(&answer) {
            refused_in_existing_batch(ctx, tracked, chunk, answer.err().as_ref());
            continue;
        }
        match answer {
            Ok(accepted) => {
                batch_exists = true;
                for &i in chunk {
                    let t = &mut tracked[i];
                    t.entry.action = Action::Sent;
                    // Answered: accepted, its verdict is to come.
                    t.entry.details = std::sync::Arc::from("");
                    t.posted = false;
                    t.entry.request_id = accepted.request_id.as_deref().map(Into::into);
                    t.entry.batch_id = Some(target.clone());
                    t.x.job = Some(jobs.len());
                    t.phase = Phase::Sent;
                }
                jobs.push(accepted);
                progress.event(Event::Sent {
                    tenant: label(ctx.settings),
                    count: chunk.len(),
                });
            }
            Err(CallError::MayHaveBeenSent {
                request_id, cause, ..
            }) => {
                let lost = Lost {
                    request_id,
                    cause: &cause,
                    stopped: cancel.is_cancelled(),
                };
                let reached = after_lost_answer(ctx, tracked, chunk, &target, lost).await;
                batch_exists = batch_exists || reached;
            }
            Err(e) => {
                // Partner Center refused the batch as a whole: its devices
                // got no verdict.
                let why = Cause::tenant(&tenant_error(&ctx.settings.customer.tenant, &e));
                for &i in chunk {
                    let t = &mut tracked[i];
                    t.entry.request_id = e.request_id().map(Into::into);
                    t.entry.not_sent(&why);
                    t.phase = Phase::Done;
                }
            }
        }
    }
}

/// Tuple rows Partner Center would not add to the tag's existing batch:
/// not sent, one reason for all, with the fix.
fn refused_in_existing_batch(
    ctx: &Ctx<'_>,
    tracked: &mut [Tracked],
    chunk: &[usize],
    error: Option<&CallError>,
) {
    let batch = &ctx.batch;
    let why = Cause::tenant(&TenantError {
        tenant: ctx.settings.customer.tenant.clone(),
        error: format!(
            "Partner Center would not add Manufacturer+Model+Serial devices to the existing device batch `{batch}` ({}); a batch of another name would give them another group tag",
            error.map(ToString::to_string).unwrap_or_default()
        ),
        hint: Some(format!(
            "add them to batch `{batch}` in Partner Center (Customers > the customer > Devices > `{batch}` > Add devices), or import their hardware hashes instead (Get-WindowsAutopilotInfo), which go through Graph with the same tag"
        )),
    });
    for &i in chunk {
        let t = &mut tracked[i];
        t.entry.request_id = error.and_then(CallError::request_id).map(Into::into);
        t.entry.not_sent(&why);
        t.phase = Phase::Done;
    }
}

/// A 400: Partner Center refused the request's content as a whole.
fn is_refusal(answer: &Result<Accepted, CallError>) -> bool {
    matches!(answer, Err(CallError::Service { error, .. }) if error.status == 400)
}

/// A batch request whose answer is not known.
struct Lost<'a> {
    request_id: Option<String>,
    cause: &'a str,
    /// The run was stopped: the lookup is shorter, and a device not found
    /// may still land.
    stopped: bool,
}

/// Looks before sending again after a lost answer: whatever reached the
/// batch is followed in the tenant's list, the rest is not sent in this
/// run (after a stop, the rest may have been sent, and says so). True when
/// the batch holds anything (so it exists).
async fn after_lost_answer(
    ctx: &Ctx<'_>,
    tracked: &mut [Tracked],
    chunk: &[usize],
    batch: &str,
    lost_answer: Lost<'_>,
) -> bool {
    let Lost {
        request_id,
        cause,
        stopped,
    } = lost_answer;
    // The request may still be in the service's hands: let it land first
    // (after a stop, for a share of the grace).
    let pause = engine::lookup_pause(ctx.settings.run.grace, stopped);
    ctx.graph.client.clock().sleep(pause).await;
    let listed = ctx.pc.list_batch_devices(batch).await.unwrap_or_default();
    let lost = Cause::tenant(&TenantError {
        tenant: ctx.settings.customer.tenant.clone(),
        error: format!(
            "Partner Center: the answer to a batch request was lost ({cause}) and its devices are not in device batch `{batch}`"
        ),
        hint: Some(
            "run apctl again to send them: it looks in the batch first, so nothing is sent twice".into(),
        ),
    });
    for &i in chunk {
        let t = &mut tracked[i];
        t.entry.request_id = request_id.as_deref().map(Into::into);
        if listed.iter().any(|l| same_device(&t.device, l)) {
            t.entry.action = Action::Sent;
            t.entry.batch_id = Some(batch.to_owned());
            t.entry.say(Detail::LostAnswerFoundInBatch {
                cause: cause.to_string(),
                batch: batch.to_string(),
            });
            t.phase = Phase::Confirm;
        } else if stopped {
            // Left to send, marked as posted: may have been sent.
        } else {
            t.entry.not_sent(&lost);
            t.phase = Phase::Done;
        }
    }
    !listed.is_empty()
}
