//! Time as the engine sees it. Every wait (Retry-After, backoff, polling)
//! goes through a [`Clock`], so a test or a demo can run with waits scaled
//! down to nothing while windows and deadlines still hold in clock time.
//! The simulator, when in-process, shares the engine's clock.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

/// A boxed future that completes after a wait.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of time and of waiting.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Time since the clock started.
    fn now(&self) -> Duration;
    /// Waits `d` of this clock's time.
    fn sleep(&self, d: Duration) -> Sleep;
    /// The wall-clock time now (for HTTP dates and the 7-day rule).
    fn wall(&self) -> Timestamp;
    /// How much of a wait is really waited (1.0 real time, 0.0 none); the
    /// simulator scales its latency by it.
    fn scale(&self) -> f64 {
        1.0
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// Real time, with every wait multiplied by `scale` (1.0 is real time; 0.0
/// skips waits: the clock jumps ahead by the wait instead, so anything that
/// compares times still sees the full wait pass).
#[derive(Debug)]
pub struct ScaledClock {
    start: Instant,
    wall_start: Timestamp,
    scale: f64,
    /// Nanoseconds of waiting skipped so far.
    skipped: AtomicU64,
}

impl ScaledClock {
    /// Real time (`scale` 1.0).
    pub fn real() -> SharedClock {
        Self::scaled(1.0)
    }

    /// Waits multiplied by `scale`, which is clamped to 0..=1.
    pub fn scaled(scale: f64) -> SharedClock {
        Arc::new(Self {
            start: Instant::now(),
            wall_start: Timestamp::now(),
            scale: scale.clamp(0.0, 1.0),
            skipped: AtomicU64::new(0),
        })
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Duration {
        self.start.elapsed() + Duration::from_nanos(self.skipped.load(Ordering::Relaxed))
    }

    fn sleep(&self, d: Duration) -> Sleep {
        let real = d.mul_f64(self.scale);
        let skipped = d.saturating_sub(real);
        self.skipped
            .fetch_add(skipped.as_nanos() as u64, Ordering::Relaxed);
        Box::pin(async move {
            if !real.is_zero() {
                tokio::time::sleep(real).await;
            }
        })
    }

    fn scale(&self) -> f64 {
        self.scale
    }

    fn wall(&self) -> Timestamp {
        let since = SignedDuration::try_from(self.now()).unwrap_or(SignedDuration::MAX);
        self.wall_start.checked_add(since).unwrap_or(self.wall_start)
    }
}

/// A clock on which time passes only by waiting: every sleep moves it
/// ahead by the wait and returns at once. For tests of anything that waits
/// on one task: the readings are exact, whatever the machine's speed.
#[derive(Debug, Default)]
pub struct VirtualClock {
    nanos: AtomicU64,
}

impl VirtualClock {
    pub fn shared() -> Arc<Self> {
        Arc::default()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn sleep(&self, d: Duration) -> Sleep {
        self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
        Box::pin(std::future::ready(()))
    }

    fn scale(&self) -> f64 {
        0.0
    }

    fn wall(&self) -> Timestamp {
        let since = SignedDuration::try_from(self.now()).unwrap_or(SignedDuration::MAX);
        Timestamp::UNIX_EPOCH
            .checked_add(since)
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// Completes once the clock reads `at`: a deadline that also counts the
/// time a scaled clock skips. It checks the clock at least every 250 ms of
/// real time, so it fires at most that late and never early.
pub async fn reaches(clock: &dyn Clock, at: Duration) {
    loop {
        let now = clock.now();
        if now >= at {
            return;
        }
        tokio::time::sleep((at - now).min(Duration::from_millis(250))).await;
    }
}

/// Sleeps until the clock reads at least `until`.
pub async fn sleep_until(clock: &dyn Clock, until: Duration) {
    let now = clock.now();
    if until > now {
        clock.sleep(until - now).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_zero_scale_clock_jumps_instead_of_waiting() {
        let clock = ScaledClock::scaled(0.0);
        let before = clock.now();
        let started = Instant::now();
        clock.sleep(Duration::from_secs(30)).await;
        assert!(started.elapsed() < Duration::from_secs(5), "no real wait");
        assert!(
            clock.now() - before >= Duration::from_secs(30),
            "clock time passed"
        );
        assert!(clock.wall() >= Timestamp::now() + SignedDuration::from_secs(29));
    }
}
