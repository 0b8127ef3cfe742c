//! The one wait both pipes use between sending and final states: poll on a
//! cadence that backs off while nothing changes and starts again from its
//! first interval when something does, until the rows are settled, the
//! deadline passes, or the grace period after Ctrl-C ends (the shape of smithy-rs's waiters: the
//! waiter owns time, the pipe's step owns what an answer means, through the
//! portal mapping).

use std::time::Duration;

use crate::clock::{Clock, sleep_until};
use crate::import::Cancel;

/// What a step found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Every row has its final answer: stop waiting.
    Settled,
    /// Some rows are still open and nothing changed this round: the next
    /// poll waits longer.
    Open,
    /// Some rows are still open but something changed this round (a row
    /// settled, moved on, or was resent): the next poll comes soon.
    Moved,
}

/// Why the wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Settled,
    /// The run's deadline came first.
    Deadline,
    /// Ctrl-C was pressed and its grace period ran out first.
    Grace,
}

/// Which call of the step this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Before any wait: only look at what is known.
    First,
    /// After the n-th wait (from 1): poll, then look.
    Poll(u32),
}

/// Time between polls: `first`, doubled after each round in which nothing
/// changed, up to `max`; back to `first` when something changes. Real
/// imports take minutes: a steady half second would spend thousands of
/// requests on one device that never settles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    pub first: Duration,
    pub max: Duration,
}

impl Cadence {
    /// The same interval every time.
    pub fn steady(interval: Duration) -> Self {
        Self {
            first: interval,
            max: interval,
        }
    }

    /// The interval after `current` when nothing changed.
    pub fn after(self, current: Duration) -> Duration {
        current.saturating_mul(2).min(self.max).max(self.first)
    }

    /// The interval in force `elapsed` after a change when nothing changed
    /// since: how late the poll after the service decides can be.
    pub fn interval_at(self, elapsed: Duration) -> Duration {
        let (mut interval, mut poll_at) = (self.first, self.first);
        while poll_at < elapsed && interval < self.max {
            interval = self.after(interval);
            poll_at += interval;
        }
        interval
    }
}

/// When and how long to wait.
#[derive(Clone, Copy, Debug)]
pub struct Wait<'a> {
    pub clock: &'a dyn Clock,
    /// Time between polls, counted from the start of the last poll (not
    /// from its answer), the same for every customer of a run.
    pub cadence: Cadence,
    /// The clock reading after which no poll starts.
    pub deadline: Duration,
    /// After Ctrl-C, how long polling goes on.
    pub grace: Duration,
    pub cancel: &'a Cancel,
}

/// What a pipe does each round: poll (except in the first round), then
/// judge every open row by the portal mapping and say whether any is left.
pub trait Step {
    fn step(&mut self, round: Round) -> impl Future<Output = Check> + Send;
}

/// Calls `step` with [`Round::First`], then after each wait with
/// [`Round::Poll`], until it answers [`Check::Settled`] or no further poll
/// fits before the deadline (or the grace period's end after Ctrl-C).
pub async fn until(wait: Wait<'_>, mut step: impl Step) -> Ended {
    let clock = wait.clock;
    let mut grace_end: Option<Duration> = None;
    let mut interval = wait.cadence.first;
    let mut woke = clock.now();
    let mut round = Round::First;
    let mut polls = 0;
    loop {
        match step.step(round).await {
            Check::Settled => return Ended::Settled,
            Check::Moved => interval = wait.cadence.first,
            Check::Open if polls > 0 => interval = wait.cadence.after(interval),
            Check::Open => {}
        }
        if wait.cancel.is_cancelled() && grace_end.is_none() {
            grace_end = Some(clock.now() + wait.grace);
        }
        let next_poll = (woke + interval).max(clock.now());
        let end = grace_end.map_or(wait.deadline, |g| g.min(wait.deadline));
        if next_poll > end {
            return match grace_end {
                Some(g) if g < wait.deadline => Ended::Grace,
                _ => Ended::Deadline,
            };
        }
        sleep_until(clock, next_poll).await;
        woke = clock.now();
        polls += 1;
        round = Round::Poll(polls);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VirtualClock;

    /// A step that records its rounds and answers by a rule.
    struct Script<'a, F: FnMut(Round) -> Check + Send> {
        rounds: &'a mut Vec<Round>,
        rule: F,
    }

    impl<F: FnMut(Round) -> Check + Send> Step for Script<'_, F> {
        async fn step(&mut self, round: Round) -> Check {
            self.rounds.push(round);
            (self.rule)(round)
        }
    }

    fn polls(rounds: &[Round]) -> usize {
        rounds.iter().filter(|r| matches!(r, Round::Poll(_))).count()
    }

    fn wait<'a>(clock: &'a dyn Clock, cancel: &'a Cancel, deadline: u64) -> Wait<'a> {
        Wait {
            clock,
            cadence: Cadence::steady(Duration::from_secs(1)),
            deadline: clock.now() + Duration::from_secs(deadline),
            grace: Duration::from_secs(3),
            cancel,
        }
    }

    #[tokio::test]
    async fn settles_on_the_round_the_step_says_so() {
        let clock = VirtualClock::shared();
        let cancel = Cancel::default();
        let mut rounds = Vec::new();
        let rule = |r| {
            if r == Round::Poll(3) {
                Check::Settled
            } else {
                Check::Open
            }
        };
        let ended = until(
            wait(&*clock, &cancel, 60),
            Script {
                rounds: &mut rounds,
                rule,
            },
        )
        .await;
        assert_eq!(ended, Ended::Settled);
        assert_eq!(
            rounds,
            [Round::First, Round::Poll(1), Round::Poll(2), Round::Poll(3)]
        );
    }

    #[tokio::test]
    async fn stops_at_the_deadline_without_polling_past_it() {
        let clock = VirtualClock::shared();
        let cancel = Cancel::default();
        let start = clock.now();
        let mut rounds = Vec::new();
        let rule = |_| Check::Open;
        let ended = until(
            wait(&*clock, &cancel, 10),
            Script {
                rounds: &mut rounds,
                rule,
            },
        )
        .await;
        assert_eq!(ended, Ended::Deadline);
        assert_eq!(polls(&rounds), 10, "one poll a second for ten seconds");
        assert_eq!(clock.now() - start, Duration::from_secs(10));
    }

    #[tokio::test]
    async fn ctrl_c_leaves_the_grace_period_then_stops() {
        let clock = VirtualClock::shared();
        let cancel = Cancel::default();
        let mut rounds = Vec::new();
        let stop = cancel.clone();
        let rule = move |r| {
            if r == Round::Poll(2) {
                stop.cancel();
            }
            Check::Open
        };
        let ended = until(
            wait(&*clock, &cancel, 600),
            Script {
                rounds: &mut rounds,
                rule,
            },
        )
        .await;
        assert_eq!(ended, Ended::Grace);
        assert_eq!(
            polls(&rounds),
            5,
            "two polls before Ctrl-C, three in its 3 s of grace"
        );
    }

    #[tokio::test]
    async fn backs_off_while_nothing_changes_and_starts_over_when_something_does() {
        let clock = VirtualClock::shared();
        let cancel = Cancel::default();
        let start = clock.now();
        let mut at = Vec::new();
        let mut rounds = Vec::new();
        let c = clock.clone();
        let rule = |r| {
            at.push((c.now() - start).as_secs());
            match r {
                Round::Poll(5) => Check::Moved,
                Round::Poll(9) => Check::Settled,
                _ => Check::Open,
            }
        };
        let mut w = wait(&*clock, &cancel, 3600);
        w.cadence = Cadence {
            first: Duration::from_secs(1),
            max: Duration::from_secs(8),
        };
        let ended = until(
            w,
            Script {
                rounds: &mut rounds,
                rule,
            },
        )
        .await;
        assert_eq!(ended, Ended::Settled);
        // 1, 2, 4, 8 (the cap), a change at 23, then 1, 2, 4, 8 again.
        assert_eq!(at, [0, 1, 3, 7, 15, 23, 24, 26, 30, 38]);
    }

    #[tokio::test]
    async fn a_row_that_never_settles_costs_few_polls_before_the_deadline() {
        let clock = VirtualClock::shared();
        let cancel = Cancel::default();
        let mut rounds = Vec::new();
        let mut w = wait(&*clock, &cancel, 30 * 60);
        w.cadence = Cadence {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        let ended = until(
            w,
            Script {
                rounds: &mut rounds,
                rule: |_| Check::Open,
            },
        )
        .await;
        assert_eq!(ended, Ended::Deadline);
        // 1+2+…+32 = 63 s in six polls, then one a minute: 28 more.
        assert_eq!(polls(&rounds), 34);
    }
}
