//! The one wait both pipes use between sending and final states: poll on a
//! steady cadence until the rows are settled, the deadline passes, or the
//! grace period after Ctrl-C ends (the shape of smithy-rs's waiters: the
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
    /// Some rows are still open: poll again.
    Open,
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

/// When and how long to wait.
#[derive(Clone, Copy, Debug)]
pub struct Wait<'a> {
    pub clock: &'a dyn Clock,
    /// Time between polls, kept from the start (not after each answer), so
    /// the poll after the service decides is never a whole interval late.
    pub cadence: Duration,
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
    let mut next_poll = clock.now() + wait.cadence;
    let mut round = Round::First;
    let mut polls = 0;
    loop {
        if step.step(round).await == Check::Settled {
            return Ended::Settled;
        }
        if wait.cancel.is_cancelled() && grace_end.is_none() {
            grace_end = Some(clock.now() + wait.grace);
        }
        let end = grace_end.map_or(wait.deadline, |g| g.min(wait.deadline));
        if next_poll > end {
            return match grace_end {
                Some(g) if g < wait.deadline => Ended::Grace,
                _ => Ended::Deadline,
            };
        }
        sleep_until(clock, next_poll).await;
        next_poll = (next_poll + wait.cadence).max(clock.now());
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
            cadence: Duration::from_secs(1),
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
}
