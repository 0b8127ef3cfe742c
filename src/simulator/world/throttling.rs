//! Simulated throttling: per-tenant Intune budgets, `Retry-After` in the
//! forms the real service uses, and the announced windows.

use std::time::Duration;

use super::*;

impl World {
    /// Enforces the per-tenant limits; records requests that arrive inside
    /// an announced Retry-After window.
    pub(super) fn throttle(&mut self, index: usize, write: bool) -> Option<SimResponse> {
        let now = self.clock.now();
        let limits = self.config.limits?;
        let tenant = &mut self.tenants[index];
        if tenant.blocked_until.is_some_and(|b| now < b) {
            self.stats.inside_retry_after += 1;
        }
        let wait = over_budget(&mut tenant.sent, limits, now, write)?;
        let style = self.next_style();
        let header = match style {
            RetryAfterStyle::Integer => Some(wait.as_secs_f64().ceil().max(1.0).to_string()),
            RetryAfterStyle::Fraction => Some(format!("{:.3}", wait.as_secs_f64().max(0.001))),
            _ => None,
        };
        if let Some(h) = &header {
            let announced = Duration::from_secs_f64(h.parse::<f64>().unwrap_or(0.0));
            self.tenants[index].blocked_until = Some(now + announced);
        }
        self.stats.throttled += 1;
        let inner = format!(
            "{{\r\n  \"_version\": 3,\r\n  \"Message\": \"Too many requests - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: {} - Url: https://fef.msua01.manage.microsoft.com/DeviceEnrollmentFE/StatelessDeviceEnrollmentFEService/deviceManagement\",\r\n  \"CustomApiErrorPhrase\": \"\",\r\n  \"RetryAfter\": null,\r\n  \"ErrorSourceService\": \"\",\r\n  \"HttpHeaders\": \"{{}}\"\r\n}}",
            self.request_id()
        );
        let mut r = graph_error(429, "TooManyRequests", &inner, &self.request_id());
        if let Some(h) = header {
            r.headers.push(("Retry-After".into(), h));
        }
        Some(r)
    }

    pub(super) fn next_style(&mut self) -> RetryAfterStyle {
        self.styles_used += 1;
        match self.config.retry_after {
            RetryAfterStyle::Mixed => match self.styles_used % 3 {
                0 => RetryAfterStyle::Integer,
                1 => RetryAfterStyle::Fraction,
                _ => RetryAfterStyle::Absent,
            },
            s => s,
        }
    }
}

/// A sliding-window budget: records the request and returns `None` while
/// within the limits, else how long until the oldest counted request
/// leaves the window.
pub(super) fn over_budget(
    sent: &mut VecDeque<(Duration, bool)>,
    limits: SimLimits,
    now: Duration,
    write: bool,
) -> Option<Duration> {
    while sent.front().is_some_and(|(t, _)| *t + limits.window <= now) {
        sent.pop_front();
    }
    let writes = sent.iter().filter(|(_, w)| *w).count() as u32;
    let over = sent.len() as u32 >= limits.requests || (write && writes >= limits.writes);
    if !over {
        sent.push_back((now, write));
        return None;
    }
    let oldest = if write && writes >= limits.writes {
        sent.iter().find(|(_, w)| *w).map(|(t, _)| *t)
    } else {
        sent.front().map(|(t, _)| *t)
    };
    Some((oldest.unwrap_or(now) + limits.window).saturating_sub(now))
}
