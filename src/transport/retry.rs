//! Retrying, as one pure decision and one loop (the loop is in
//! [`crate::transport`]). [`classify`] looks at one attempt's outcome and says
//! what to do next; [`parse_retry_after`] reads the header in all the forms
//! the services send (integer seconds, fractional seconds like `2.128`, an
//! HTTP date); [`Policy`] caps attempts and total time and gives the
//! exponential backoff with jitter used when no `Retry-After` came.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use jiff::Timestamp;

/// What one attempt came to, as far as retrying cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The service answered with this status.
    Status {
        status: u16,
        /// The raw `Retry-After` header, if any.
        retry_after: Option<&'a str>,
        /// Graph's `error.code`, if the body had one.
        error_code: Option<&'a str>,
    },
    /// Nothing was sent (connection refused, DNS, TLS before the request).
    NotSent,
    /// The request may have reached the service (timeout, reset mid-way).
    MaybeSent,
    /// The answer came, but larger than apctl reads: asking again brings
    /// the same, so a read is not retried (a write is looked up first, as
    /// it may have taken effect).
    Oversize,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// Done: hand the response to the caller (success or final error).
    Done,
    /// Wait exactly this long (the server's `Retry-After`), then retry.
    RetryAfter(Duration),
    /// Wait the next backoff step, then retry.
    Backoff,
    /// Get a fresh token once, then retry at once.
    RefreshToken,
    /// Stop: the request may have taken effect, and resending it blindly
    /// could do it twice. The caller must look before it sends again.
    CheckBeforeResend,
}

/// Longest `Retry-After` apctl waits. Intune's windows are 20 s and Graph's
/// throttles a few minutes at most; a day (or a date in 2099) is a broken
/// or hostile answer, and waiting it would hang a pipeline.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// Decides what follows an attempt. `idempotent` requests (GET, DELETE)
/// can be resent after a timeout; a POST cannot. `refreshed` says a token
/// refresh was already spent on this request.
pub fn classify(outcome: Outcome<'_>, idempotent: bool, refreshed: bool, now: Timestamp) -> Next {
    match outcome {
        Outcome::NotSent => Next::Backoff,
        Outcome::MaybeSent if idempotent => Next::Backoff,
        Outcome::MaybeSent => Next::CheckBeforeResend,
        Outcome::Oversize if idempotent => Next::Done,
        Outcome::Oversize => Next::CheckBeforeResend,
        // A 503 may come after the write took effect (unlike a 429, which
        // throttles before anything is done): a write is looked up before
        // it is sent again, as after a 500, 502 or 504.
        Outcome::Status { status: 503, .. } if !idempotent => Next::CheckBeforeResend,
        Outcome::Status {
            status, retry_after, ..
        } if status == 429 || status == 503 => match retry_after.and_then(|v| parse_retry_after(v, now)) {
            // A wait longer than any real throttle is not waited: the call
            // fails with the service's own words instead.
            Some(d) if d > MAX_RETRY_AFTER => Next::Done,
            Some(d) => Next::RetryAfter(d),
            None => Next::Backoff,
        },
        Outcome::Status {
            status: 401,
            error_code,
            ..
        } if !refreshed && is_token_problem(error_code) => Next::RefreshToken,
        Outcome::Status {
            status: 500 | 502 | 504,
            ..
        } if idempotent => Next::Backoff,
        Outcome::Status {
            status: 500 | 502 | 504,
            ..
        } => Next::CheckBeforeResend,
        Outcome::Status { .. } => Next::Done,
    }
}

/// A 401 is worth one refresh when Graph says the token is bad, or says
/// nothing at all; Intune's `UnknownError` 401s hide a permission problem
/// that a new token will not fix.
fn is_token_problem(code: Option<&str>) -> bool {
    matches!(code, None | Some("InvalidAuthenticationToken"))
}

/// Reads `Retry-After`: seconds (`57`), fractional seconds (`2.128`, as in
/// Graph's own throttling sample), or an HTTP date (RFC 9110). A date in
/// the past means zero. Anything unreadable is `None`.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let date = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let wait = date.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Caps and schedule for one request's retries.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Most attempts in all (the first one included).
    pub max_attempts: u32,
    /// Most clock time from the first attempt to the last.
    pub max_elapsed: Duration,
    /// First backoff step.
    pub min_delay: Duration,
    /// Largest backoff step.
    pub max_delay: Duration,
    /// Seed for the jitter, so a schedule can be reproduced.
    pub jitter_seed: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            max_elapsed: Duration::from_secs(600),
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            jitter_seed: 0x5EED,
        }
    }
}

impl Policy {
    /// The backoff steps for one request: exponential, doubling from
    /// `min_delay` to `max_delay`, each with added random jitter up to its
    /// own length, at most `max_attempts - 1` of them.
    pub fn backoff(&self, salt: u64) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .with_jitter_seed(self.jitter_seed ^ salt)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2020-07-21T04:10:58Z".parse().unwrap()
    }

    fn status(status: u16, retry_after: Option<&str>, code: Option<&str>) -> Outcome<'static> {
        let leak = |s: Option<&str>| s.map(|s| &*Box::leak(s.to_owned().into_boxed_str()));
        Outcome::Status {
            status,
            retry_after: leak(retry_after),
            error_code: leak(code),
        }
    }

    #[test]
    fn retry_after_in_every_form() {
        assert_eq!(parse_retry_after("57", now()), Some(Duration::from_secs(57)));
        assert_eq!(
            parse_retry_after("2.128", now()),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Tue, 21 Jul 2020 04:11:08 GMT", now()),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Tue, 21 Jul 2020 04:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now()), None);
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("NaN", now()), None);
    }

    #[test]
    fn throttling_waits_as_told_or_backs_off() {
        let n = now();
        assert_eq!(
            classify(status(429, Some("2.128"), None), true, false, n),
            Next::RetryAfter(Duration::from_millis(2128))
        );
        assert_eq!(
            classify(status(503, Some("57"), None), true, false, n),
            Next::RetryAfter(Duration::from_secs(57))
        );
        assert_eq!(
            classify(status(503, Some("57"), None), false, false, n),
            Next::CheckBeforeResend,
            "a write answered 503 may have taken effect: looked up, not resent"
        );
        assert_eq!(
            classify(status(429, Some("57"), None), false, false, n),
            Next::RetryAfter(Duration::from_secs(57)),
            "a 429 throttles before anything is done"
        );
        assert_eq!(
            classify(status(429, None, Some("activityLimitReached")), true, false, n),
            Next::Backoff
        );
        assert_eq!(
            classify(status(429, Some("garbage"), None), true, false, n),
            Next::Backoff
        );
    }

    #[test]
    fn a_401_refreshes_once_and_only_for_token_problems() {
        let n = now();
        let expired = status(401, None, Some("InvalidAuthenticationToken"));
        assert_eq!(classify(expired, true, false, n), Next::RefreshToken);
        assert_eq!(classify(expired, true, true, n), Next::Done);
        assert_eq!(
            classify(status(401, None, Some("UnknownError")), true, false, n),
            Next::Done
        );
    }

    #[test]
    fn the_real_expired_token_capture_asks_for_a_refresh() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/real-world/errors/graph-401-token-expired-headers-rust-client.json"
        );
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let code = doc["error_code"].as_str();
        assert_eq!(
            classify(status(401, None, code), true, false, now()),
            Next::RefreshToken
        );
    }

    #[test]
    fn other_client_errors_are_final() {
        for s in [400, 403, 404, 409] {
            assert_eq!(
                classify(status(s, Some("1"), None), true, false, now()),
                Next::Done,
                "{s}"
            );
        }
        assert_eq!(classify(status(200, None, None), false, false, now()), Next::Done);
        assert_eq!(classify(status(202, None, None), false, false, now()), Next::Done);
    }

    #[test]
    fn a_post_that_may_have_been_sent_is_never_blindly_resent() {
        let n = now();
        assert_eq!(
            classify(Outcome::MaybeSent, false, false, n),
            Next::CheckBeforeResend
        );
        assert_eq!(classify(Outcome::MaybeSent, true, false, n), Next::Backoff);
        assert_eq!(
            classify(Outcome::Oversize, true, false, n),
            Next::Done,
            "not asked again"
        );
        assert_eq!(
            classify(Outcome::Oversize, false, false, n),
            Next::CheckBeforeResend
        );
        assert_eq!(classify(Outcome::NotSent, false, false, n), Next::Backoff);
        assert_eq!(
            classify(status(500, None, None), false, false, n),
            Next::CheckBeforeResend
        );
        assert_eq!(classify(status(502, None, None), true, false, n), Next::Backoff);
    }

    #[test]
    fn backoff_is_capped_jittered_and_reproducible() {
        let policy = Policy {
            max_attempts: 5,
            ..Policy::default()
        };
        let a: Vec<Duration> = policy.backoff(1).collect();
        let b: Vec<Duration> = policy.backoff(1).collect();
        assert_eq!(a, b, "same seed, same schedule");
        assert_eq!(a.len(), 4, "attempts - 1 waits");
        for (i, d) in a.iter().enumerate() {
            let base = policy.min_delay * 2u32.pow(i as u32);
            assert!(*d >= base && *d <= base * 2, "step {i}: {d:?}");
        }
    }
}
