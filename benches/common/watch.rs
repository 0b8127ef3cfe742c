//! A [`Progress`] that notes when every device of a run has its verdict.

use std::sync::Mutex;
use std::time::Duration;

use apctl::clock::SharedClock;
use apctl::import::{Event, Progress};
use apctl::transport;

/// Notes the clock reading and the requests sent when every device has
/// settled; staged records deleted while polling are housekeeping and not
/// counted.
pub struct Watch<'a> {
    clock: SharedClock,
    client: &'a transport::Client,
    settled_at: Mutex<Option<(Duration, u64)>>,
}

impl<'a> Watch<'a> {
    pub fn new(clock: SharedClock, client: &'a transport::Client) -> Self {
        Self {
            clock,
            client,
            settled_at: Mutex::new(None),
        }
    }

    /// When every device had settled, and the requests sent by then.
    pub fn settled(&self) -> Option<(Duration, u64)> {
        *self.settled_at.lock().unwrap()
    }
}

impl Progress for Watch<'_> {
    fn event(&self, event: Event) {
        if let Event::Settled { settled, total, .. } = event
            && settled == total
        {
            let sent = self.client.stats().before_cleanup();
            self.settled_at
                .lock()
                .unwrap()
                .get_or_insert((self.clock.now(), sent));
        }
    }
}
