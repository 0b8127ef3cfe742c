//! Requests sent whose answers have not come (or not whole) yet: what a
//! run cut at its deadline was still waiting for, so its report can say
//! which answer held it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A request whose answer has not come (or not whole) yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    pub kind: &'static str,
    pub tenant: String,
    /// When it was sent, on the client's clock.
    pub since: Duration,
}

/// The requests in flight, each by a number of its own.
#[derive(Debug, Default)]
pub struct Flights {
    flying: Mutex<BTreeMap<u64, InFlight>>,
    next: AtomicU64,
}

impl Flights {
    /// Marks a request as sent until the returned guard is dropped (its
    /// attempt ended, or a deadline cut it).
    pub fn start(&self, kind: &'static str, tenant: &str, now: Duration) -> Landed<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id,
            InFlight {
                kind,
                tenant: tenant.to_owned(),
                since: now,
            },
        );
        Landed { flights: self, id }
    }

    /// The requests in flight, oldest first.
    pub fn list(&self) -> Vec<InFlight> {
        let mut all: Vec<InFlight> = self.lock().values().cloned().collect();
        all.sort_by_key(|f| f.since);
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, InFlight>> {
        self.flying
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Takes its request off the list when dropped.
pub struct Landed<'a> {
    flights: &'a Flights,
    id: u64,
}

impl Drop for Landed<'_> {
    fn drop(&mut self) {
        self.flights.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_listed_until_its_guard_goes() {
        let flights = Flights::default();
        let a = flights.start("graph.list-registered", "contoso", Duration::from_secs(2));
        let b = flights.start("graph.import", "fabrikam", Duration::from_secs(1));
        let kinds: Vec<&str> = flights.list().iter().map(|f| f.kind).collect();
        assert_eq!(kinds, ["graph.import", "graph.list-registered"], "oldest first");
        drop(b);
        assert_eq!(flights.list().len(), 1);
        drop(a);
        assert!(flights.list().is_empty());
    }
}
