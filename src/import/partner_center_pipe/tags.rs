//! Group tags for devices Partner Center registered: set with
//! `updateDeviceProperties` and read back; a tag that could not be set is
//! said so on the row.

use super::*;

/// Tag writes tried per device before the row says the tag was not applied.
pub(super) const TAG_ATTEMPTS: u32 = 3;

/// Sets each wanted group tag with `updateDeviceProperties` and reads the
/// device back to verify it.
pub(super) async fn tag(ctx: &mut Ctx<'_>, tracked: &mut [Tracked], progress: &dyn Progress) {
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Tag) {
        let (Some(id), Some(wanted)) = (t.entry.autopilot_device_id.clone(), t.entry.group_tag.clone())
        else {
            t.phase = Phase::Done;
            continue;
        };
        t.tag_attempts += 1;
        let result = async {
            ctx.graph
                .update_device_properties(&id, Some(&wanted), t.device.assigned_user.as_deref())
                .await?;
            ctx.graph.get_registered(&id).await
        }
        .await;
        match result {
            Ok(device) if device.group_tag.as_deref() == Some(wanted.as_str()) => {
                t.entry.group_tag_applied = Some(true);
                t.phase = Phase::Done;
            }
            Ok(device) if t.tag_attempts >= TAG_ATTEMPTS => {
                tag_not_applied(
                    t,
                    &format!(
                        "the device still reads group tag {:?} after {TAG_ATTEMPTS} updates",
                        device.group_tag.unwrap_or_default()
                    ),
                );
            }
            Ok(_) => {}
            Err(e) if is_denied(&e) || t.tag_attempts >= TAG_ATTEMPTS => {
                tag_not_applied(t, &graph_reason(&e));
            }
            Err(e) => progress.event(warning(
                &ctx.settings.customer.tenant,
                format!("setting a group tag failed (tried again): {e}"),
            )),
        }
    }
}

pub(super) fn tag_not_applied(t: &mut Tracked, why: &str) {
    t.entry.group_tag_applied = Some(false);
    let tag = t.entry.group_tag.clone().unwrap_or_default();
    let sep = if t.entry.details.is_empty() { "" } else { " " };
    t.entry.details = format!(
        "{}{sep}Group tag `{tag}` was NOT applied: {why}. Set it in Intune (Devices > Windows > Enrollment > Devices) or run apctl again once Graph access works.",
        t.entry.details
    );
    t.phase = Phase::Done;
}
