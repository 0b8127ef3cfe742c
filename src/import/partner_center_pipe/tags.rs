//! Group tags and users for devices Partner Center registered, or the
//! tenant held already with other values: one round of the shared
//! follow-up ([`crate::import::tags`]) per round of the wait.

use super::*;

/// Writes or reads back each row's tag once; a decided row is done.
pub(super) async fn tag(ctx: &Ctx<'_>, tracked: &mut [Tracked], progress: &dyn Progress) {
    for t in tracked.iter_mut().filter(|t| t.phase == Phase::Tag) {
        if tag_work::decided(&mut t.tag, &ctx.graph, &mut t.entry, progress).await {
            t.phase = Phase::Done;
        }
    }
}
