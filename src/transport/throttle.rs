//! Per-tenant partitions: each customer tenant has its own concurrency
//! limit, its own request budget at the documented Intune limits, and its
//! own Retry-After window, so one throttled tenant never slows another and
//! nothing is ever sent to a tenant inside its window.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::clock::{SharedClock, sleep_until};

/// Documented Intune enrollment limits per app per tenant: 100 writes
/// (POST/PUT/PATCH/DELETE) per 20 s. (graph-docs
/// includes/throttling-intune-enrollment.md; SPEC §5.)
pub const INTUNE_WRITES_PER_WINDOW: u32 = 100;
/// Documented Intune limit per app per tenant: 1,000 requests of any
/// method per 20 s.
pub const INTUNE_REQUESTS_PER_WINDOW: u32 = 1000;
/// The window those limits are counted over.
pub const INTUNE_WINDOW: Duration = Duration::from_secs(20);
/// Requests in flight at once per tenant by default.
pub const DEFAULT_CONCURRENCY: u32 = 4;

/// One tenant's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub writes_per_window: NonZeroU32,
    pub requests_per_window: NonZeroU32,
    pub window: Duration,
    pub concurrency: NonZeroU32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            writes_per_window: NonZeroU32::new(INTUNE_WRITES_PER_WINDOW).expect("non-zero"),
            requests_per_window: NonZeroU32::new(INTUNE_REQUESTS_PER_WINDOW).expect("non-zero"),
            window: INTUNE_WINDOW,
            concurrency: NonZeroU32::new(DEFAULT_CONCURRENCY).expect("non-zero"),
        }
    }
}

#[derive(Debug, Default)]
struct Budget {
    /// Until when the service asked us to wait (clock time).
    blocked_until: Duration,
    writes: VecDeque<Duration>,
    requests: VecDeque<Duration>,
}

/// The gate every request to one tenant passes.
#[derive(Debug)]
pub struct TenantGate {
    limits: Limits,
    clock: SharedClock,
    budget: Mutex<Budget>,
    /// A wider gate this one sits within (a customer's Partner Center gate
    /// within the partner's): its Retry-After window closes this one too,
    /// and a Retry-After met here closes it as well, since the service
    /// throttles some calls per partner.
    parent: Option<std::sync::Arc<TenantGate>>,
    permits: Semaphore,
}

impl TenantGate {
    /// A gate with the given limits.
    pub fn new(limits: Limits, clock: SharedClock) -> Self {
        let permits = Semaphore::new(limits.concurrency.get() as usize);
        Self {
            limits,
            clock,
            budget: Mutex::default(),
            parent: None,
            permits,
        }
    }

    /// A gate within `parent` (see [`TenantGate::parent`]).
    pub fn within(limits: Limits, clock: SharedClock, parent: std::sync::Arc<TenantGate>) -> Self {
        Self {
            parent: Some(parent),
            ..Self::new(limits, clock)
        }
    }

    /// Waits for a concurrency slot, the end of any Retry-After window, and
    /// room in the budget; then counts the request as sent.
    pub async fn admit(&self, write: bool) -> SemaphorePermit<'_> {
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        loop {
            let ready_at = {
                let mut b = self
                    .budget
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = self.clock.now();
                let wider = self.parent.as_ref().map_or(Duration::ZERO, |p| p.blocked_until());
                let at = self.ready_at(&mut b, now, write).max(wider);
                if at <= now {
                    b.requests.push_back(now);
                    if write {
                        b.writes.push_back(now);
                    }
                    return permit;
                }
                at
            };
            sleep_until(&*self.clock, ready_at).await;
        }
    }

    /// Closes the tenant for `wait` from now (a server's Retry-After).
    pub fn block_for(&self, wait: Duration) {
        let mut b = self
            .budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = self.clock.now() + wait;
        if until > b.blocked_until {
            b.blocked_until = until;
        }
        drop(b);
        if let Some(parent) = &self.parent {
            parent.block_for(wait);
        }
    }

    /// Until when the tenant is closed (clock time).
    pub fn blocked_until(&self) -> Duration {
        self.budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .blocked_until
    }

    fn ready_at(&self, b: &mut Budget, now: Duration, write: bool) -> Duration {
        let window = self.limits.window;
        for q in [&mut b.requests, &mut b.writes] {
            while q.front().is_some_and(|t| *t + window <= now) {
                q.pop_front();
            }
        }
        let mut at = b.blocked_until;
        if b.requests.len() >= self.limits.requests_per_window.get() as usize {
            at = at.max(b.requests[0] + window);
        }
        if write && b.writes.len() >= self.limits.writes_per_window.get() as usize {
            at = at.max(b.writes[0] + window);
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ScaledClock;

    fn limits(writes: u32) -> Limits {
        Limits {
            writes_per_window: NonZeroU32::new(writes).unwrap(),
            ..Limits::default()
        }
    }

    #[tokio::test]
    async fn writes_beyond_the_budget_wait_for_the_window() {
        let clock = ScaledClock::scaled(0.0);
        let gate = TenantGate::new(limits(3), clock.clone());
        let start = clock.now();
        for _ in 0..3 {
            drop(gate.admit(true).await);
        }
        assert!(clock.now() - start < Duration::from_secs(1));
        drop(gate.admit(true).await);
        assert!(
            clock.now() - start >= INTUNE_WINDOW,
            "the 4th write waits a window"
        );
        drop(gate.admit(false).await);
    }

    #[tokio::test]
    async fn a_gate_within_another_shares_its_retry_after_windows() {
        let clock = ScaledClock::scaled(0.0);
        let partner = std::sync::Arc::new(TenantGate::new(Limits::default(), clock.clone()));
        let a = TenantGate::within(Limits::default(), clock.clone(), partner.clone());
        let b = TenantGate::within(Limits::default(), clock.clone(), partner.clone());
        a.block_for(Duration::from_secs(30));
        assert!(
            partner.blocked_until() >= clock.now() + Duration::from_secs(29),
            "a 429 at one customer closes the partner"
        );
        let start = clock.now();
        drop(b.admit(false).await);
        assert!(
            clock.now() - start >= Duration::from_secs(29),
            "another customer waits for the partner's window"
        );
        assert_eq!(b.blocked_until(), Duration::ZERO, "but its own window stays open");
    }

    #[tokio::test]
    async fn nothing_is_admitted_inside_a_retry_after_window() {
        let clock = ScaledClock::scaled(0.0);
        let gate = TenantGate::new(Limits::default(), clock.clone());
        gate.block_for(Duration::from_millis(2128));
        let until = gate.blocked_until();
        drop(gate.admit(false).await);
        assert!(clock.now() >= until);
        gate.block_for(Duration::from_secs(1));
        gate.block_for(Duration::ZERO);
        assert!(
            gate.blocked_until() >= clock.now() + Duration::from_millis(900),
            "a shorter wait never shortens the window"
        );
    }
}
