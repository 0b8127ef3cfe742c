//! The one place requests are sent and the one retry loop. Every request to
//! a tenant passes that tenant's [`TenantGate`], carries a token from the
//! [`TokenCache`], and is retried as [`retry::classify`] decides: the
//! server's `Retry-After` closes the tenant for that long, backoff with
//! jitter fills in when it is absent, a 401 refreshes the token once, and a
//! POST that may have been sent is handed back to the caller to check.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Method, Url};
use thiserror::Error;

use crate::auth::{AuthError, TokenCache};
use crate::clock::SharedClock;
use crate::net::{read_body, without_url};
use crate::transport::retry::{self, Next, Outcome, Policy};
use crate::transport::service_error::{self, ServiceError};
use crate::transport::throttle::TenantGate;

use super::attempt::{Answer, Failure, finish, outcome_of};

/// Which service a request goes to (headers and error shapes differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Graph,
    PartnerCenter,
}

/// One logical request, sent one or more times.
#[derive(Clone, Debug)]
pub struct Request {
    pub service: Service,
    pub method: Method,
    pub url: Url,
    /// JSON body, already serialised.
    pub body: Option<bytes::Bytes>,
    /// Label for statistics (`graph.import`, `graph.list-registered`…).
    pub kind: &'static str,
    /// The token scope.
    pub scope: &'static str,
    /// Partner Center's `MS-RequestId`, the same on every retry.
    pub ms_request_id: Option<String>,
    /// Extra headers (a Partner Center continuation token).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A request with no body.
    pub fn new(service: Service, method: Method, url: Url, kind: &'static str, scope: &'static str) -> Self {
        let ms_request_id = (service == Service::PartnerCenter).then(|| uuid::Uuid::new_v4().to_string());
        Self {
            service,
            method,
            url,
            body: None,
            kind,
            scope,
            ms_request_id,
            headers: Vec::new(),
        }
    }

    /// Adds a JSON body.
    pub fn json(mut self, body: &impl serde::Serialize) -> Self {
        self.body = Some(serde_json::to_vec(body).expect("request bodies serialise").into());
        self
    }

    fn idempotent(&self) -> bool {
        matches!(self.method, Method::GET | Method::DELETE | Method::HEAD)
    }

    fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// A successful (or final non-retryable) answer.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: bytes::Bytes,
    pub request_id: Option<String>,
    pub location: Option<String>,
}

/// Why a request did not succeed.
#[derive(Debug, Error)]
pub enum CallError {
    #[error(transparent)]
    Auth(Box<AuthError>),
    #[error("{kind}: {error}")]
    Service { kind: &'static str, error: ServiceError },
    #[error("{kind}: the request may have reached the service ({cause}); look before sending it again")]
    MayHaveBeenSent {
        kind: &'static str,
        cause: String,
        request_id: Option<String>,
    },
    /// An answer pointed somewhere else (a link, a `Location`, a
    /// redirect): apctl sends nothing, and no credential, to another host.
    #[error(
        "{kind}: the answer pointed at another host (`{host}`); apctl follows links only to the service it was pointed at"
    )]
    ForeignLink { kind: &'static str, host: String },
    /// The service answered with success, but not with what it documents.
    #[error("{kind}: the answer is not what {service} documents: {why}")]
    Decode {
        kind: &'static str,
        service: &'static str,
        why: String,
    },
    #[error("{kind}: gave up after {attempts} attempts: {last}")]
    GaveUp {
        kind: &'static str,
        attempts: u32,
        last: String,
        request_id: Option<String>,
    },
}

impl From<AuthError> for CallError {
    fn from(e: AuthError) -> Self {
        Self::Auth(Box::new(e))
    }
}

impl CallError {
    /// The request id of the failing call, when there is one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Service { error, .. } => error.request_id.as_deref(),
            Self::GaveUp { request_id, .. } | Self::MayHaveBeenSent { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }
}

/// Counters of what was sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Requests sent, by kind (every attempt counts).
    pub requests: BTreeMap<String, u64>,
    /// Answers with 429 or 503.
    pub throttled: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// Total Retry-After time the services asked for, in milliseconds.
    pub retry_after_ms: u64,
}

impl Stats {
    /// All requests sent.
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Requests sent, deletions of staged import records (housekeeping,
    /// done while polling and after) left out.
    pub fn before_cleanup(&self) -> u64 {
        self.total() - self.requests.get("graph.delete-imported").copied().unwrap_or(0)
    }
}

/// Sends requests for all tenants.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    tokens: std::sync::Arc<TokenCache>,
    clock: SharedClock,
    policy: Policy,
    stats: Mutex<Stats>,
    /// Each tenant's one gate, shared by every request to it in this run.
    gates: Mutex<std::collections::HashMap<String, std::sync::Arc<TenantGate>>>,
    /// Requests sent whose answer has not come yet.
    flights: super::flight::Flights,
}

/// Most pages of one list apctl follows: 10,000 pages of Graph's 1,000
/// devices each is far beyond any tenant; an answer that keeps sending new
/// links is refused rather than followed for ever.
pub const MAX_PAGES: usize = 10_000;

/// How long one request may take before it counts as lost (for a POST:
/// "may have been sent").
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A reqwest client with apctl's user agent and the default timeout.
pub fn reqwest_client() -> reqwest::Client {
    reqwest_client_with_timeout(DEFAULT_TIMEOUT)
}

/// A reqwest client with apctl's user agent and the given request timeout.
pub fn reqwest_client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        // No API apctl calls redirects; following one would resend the
        // request — its token, secret or hashes — somewhere else.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("apctl/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15).min(timeout))
        .timeout(timeout)
        .build()
        .expect("the TLS backend initialises")
}

impl Client {
    /// A client over the given token cache.
    pub fn new(
        http: reqwest::Client,
        tokens: std::sync::Arc<TokenCache>,
        clock: SharedClock,
        policy: Policy,
    ) -> Self {
        Self {
            http,
            tokens,
            clock,
            policy,
            stats: Mutex::default(),
            gates: Mutex::default(),
            flights: super::flight::Flights::default(),
        }
    }

    /// Marks a request as sent until the returned guard is dropped.
    fn flying(&self, kind: &'static str, tenant: &str) -> super::flight::Landed<'_> {
        self.flights.start(kind, tenant, self.clock.now())
    }

    /// The requests whose answers have not come, oldest first.
    pub fn in_flight(&self) -> Vec<super::flight::InFlight> {
        self.flights.list()
    }

    /// The HTTP client underneath (for unauthenticated look-ups).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The token cache (for preflight and statistics).
    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// The clock requests are timed by.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The tenant's gate at Intune's documented limits (see
    /// [`Client::gate_with`]).
    pub fn gate(&self, tenant: &str) -> std::sync::Arc<TenantGate> {
        self.gate_with(tenant, crate::transport::throttle::Limits::default())
    }

    /// A customer's gate within a wider one (its Partner Center gate within
    /// the partner's), made once per run like every gate.
    pub fn gate_within(
        &self,
        key: &str,
        limits: crate::transport::throttle::Limits,
        parent: std::sync::Arc<TenantGate>,
    ) -> std::sync::Arc<TenantGate> {
        self.gate_made(key, || TenantGate::within(limits, self.clock.clone(), parent))
    }

    /// The tenant's gate: made with `limits` the first time the tenant is
    /// named (case and surrounding space aside), the same gate after that,
    /// so every request of the run to one tenant shares one concurrency
    /// limit, one budget and one Retry-After window.
    pub fn gate_with(
        &self,
        tenant: &str,
        limits: crate::transport::throttle::Limits,
    ) -> std::sync::Arc<TenantGate> {
        self.gate_made(tenant, || TenantGate::new(limits, self.clock.clone()))
    }

    /// The gate of `key` (case and surrounding space aside), made by `make`
    /// the first time it is asked for.
    fn gate_made(&self, key: &str, make: impl FnOnce() -> TenantGate) -> std::sync::Arc<TenantGate> {
        self.gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(key.trim().to_lowercase())
            .or_insert_with(|| std::sync::Arc::new(make()))
            .clone()
    }

    /// A server's Retry-After: counted, and the gate closed for it.
    fn close(&self, gate: &TenantGate, wait: Duration) {
        self.note_throttle(wait);
        gate.block_for(wait);
    }

    /// A 503's Retry-After still closes the tenant's gate when the write
    /// it answered is looked up instead of resent: the look waits for it.
    fn hold_for_503(&self, outcome: Outcome<'_>, gate: &TenantGate) {
        if let Outcome::Status {
            status: 503,
            retry_after: Some(v),
            ..
        } = outcome
            && let Some(wait) =
                retry::parse_retry_after(v, self.clock.wall()).filter(|w| *w <= retry::MAX_RETRY_AFTER)
        {
            self.close(gate, wait);
        }
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sends a request to a tenant, retrying as the classifier says.
    pub async fn send(&self, tenant: &str, gate: &TenantGate, req: &Request) -> Result<Response, CallError> {
        let started = self.clock.now();
        let mut backoff = self.policy.backoff(salt(req));
        let mut token = self.tokens.get(tenant, req.scope).await?;
        let mut refreshed = false;
        let (mut attempts, mut refused) = (0u32, 0u32);
        loop {
            attempts += 1;
            let answer = {
                let _permit = gate.admit(req.is_write()).await;
                self.count(req.kind, attempts > 1);
                let _flying = self.flying(req.kind, tenant);
                self.attempt(req, token.expose()).await
            };
            let (outcome, last) = outcome_of(&answer);
            // A host that refuses connections (or has no address) is said
            // within seconds, not after the whole retry budget.
            refused = if matches!(outcome, Outcome::NotSent) {
                refused + 1
            } else {
                0
            };
            let action = retry::classify(outcome, req.idempotent(), refreshed, self.clock.wall());
            tracing::debug!(tenant, kind = req.kind, attempt = attempts, ?action, "{last}");
            let request_id = answer.as_ref().ok().and_then(|r| r.request_id.clone());
            match action {
                Next::Done => return finish(req.kind, answer),
                Next::CheckBeforeResend => {
                    self.hold_for_503(outcome, gate);
                    return Err(CallError::MayHaveBeenSent {
                        kind: req.kind,
                        cause: last,
                        request_id,
                    });
                }
                Next::RefreshToken => {
                    token = self.tokens.refresh(tenant, req.scope, &token).await?;
                    refreshed = true;
                    continue;
                }
                Next::RetryAfter(wait) => self.close(gate, wait),
                Next::Backoff => {
                    let throttled = matches!(
                        outcome,
                        Outcome::Status {
                            status: 429 | 503,
                            ..
                        }
                    );
                    let Some(wait) = backoff.next() else {
                        return Err(gave_up(
                            req.kind,
                            attempts,
                            last,
                            request_id,
                            self.clock.now() - started,
                        ));
                    };
                    if throttled {
                        self.note_throttle(Duration::ZERO);
                        gate.block_for(wait);
                    } else {
                        self.clock.sleep(wait).await;
                    }
                }
            }
            let spent = self.clock.now().saturating_sub(started);
            if attempts >= self.policy.max_attempts
                || spent > self.policy.max_elapsed
                || refused >= REFUSED_ATTEMPTS
            {
                return Err(gave_up(req.kind, attempts, last, request_id, spent));
            }
        }
    }

    /// One attempt through the gate, with no retry and no wait: for a call
    /// whose answer is a nicety (a customer's display name), so a slow or
    /// hostile answer costs the run one request, never its time.
    pub async fn send_once(
        &self,
        tenant: &str,
        gate: &TenantGate,
        req: &Request,
    ) -> Result<Response, CallError> {
        let token = self.tokens.get(tenant, req.scope).await?;
        let answer = {
            let _permit = gate.admit(req.is_write()).await;
            self.count(req.kind, false);
            let _flying = self.flying(req.kind, tenant);
            self.attempt(req, token.expose()).await
        };
        // Not retried, but a throttle it meets still closes the gate for
        // everything after it.
        let (outcome, _) = outcome_of(&answer);
        if let Next::RetryAfter(wait) = retry::classify(outcome, false, true, self.clock.wall()) {
            self.close(gate, wait);
        }
        finish(req.kind, answer)
    }

    /// One attempt; a [`Failure`] when no usable answer came.
    async fn attempt(&self, req: &Request, token: &str) -> Result<Answer, Failure> {
        let mut builder = self
            .http
            .request(req.method.clone(), req.url.clone())
            .bearer_auth(token);
        match req.service {
            Service::Graph => {
                builder = builder.header("client-request-id", uuid::Uuid::new_v4().to_string());
            }
            Service::PartnerCenter => {
                builder = builder
                    .header("MS-RequestId", req.ms_request_id.clone().unwrap_or_default())
                    .header("MS-CorrelationId", uuid::Uuid::new_v4().to_string())
                    .header("Accept", "application/json");
            }
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder
                .header("Content-Type", "application/json")
                .body(body.clone());
        }
        let response = builder.send().await.map_err(|e| {
            let host = req.url.origin().ascii_serialization();
            let why = format!("{host}: {}", without_url(&e));
            if e.is_connect() {
                Failure::NotSent(why)
            } else {
                Failure::MaybeSent(why)
            }
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = match req.service {
            Service::Graph => header("request-id"),
            Service::PartnerCenter => req.ms_request_id.clone(),
        };
        let retry_after = header("retry-after");
        let location = header("location");
        let body = read_body(response).await.map_err(|e| {
            let why = format!("{}: {e}", req.kind);
            if e.is_too_large() {
                Failure::Oversize(why)
            } else {
                Failure::MaybeSent(why)
            }
        })?;
        let error = if (300..400).contains(&status) {
            Some(redirect_refused(status, location.as_deref(), request_id.clone()))
        } else {
            (status >= 400).then(|| service_error::decode(status, request_id.as_deref(), &body))
        };
        let request_id = error.as_ref().and_then(|e| e.request_id.clone()).or(request_id);
        Ok(Answer {
            status,
            body,
            request_id,
            location,
            retry_after,
            error,
        })
    }

    fn count(&self, kind: &'static str, retry: bool) {
        let mut s = self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *s.requests.entry(kind.to_owned()).or_default() += 1;
        s.retries += u64::from(retry);
    }

    fn note_throttle(&self, wait: Duration) {
        let mut s = self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.throttled += 1;
        s.retry_after_ms += wait.as_millis() as u64;
    }
}

/// Attempts in a row whose connection failed (refused, no address) before
/// a call gives up: about seven seconds of backoff.
const REFUSED_ATTEMPTS: u32 = 4;

/// The error of a call that gave up, with the time it spent.
fn gave_up(
    kind: &'static str,
    attempts: u32,
    last: String,
    request_id: Option<String>,
    spent: Duration,
) -> CallError {
    CallError::GaveUp {
        kind,
        attempts,
        last: format!("{last} ({:.1} s spent)", spent.as_secs_f64()),
        request_id,
    }
}

/// A redirect is never followed: the answer says where it pointed.
fn redirect_refused(status: u16, location: Option<&str>, request_id: Option<String>) -> ServiceError {
    let host = location
        .and_then(|l| Url::parse(l).ok())
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "the same host".to_owned());
    ServiceError {
        status,
        code: Some("Redirect".into()),
        message: crate::sanitize::clean_line(&format!(
            "the service answered with a redirect (HTTP {status}) to `{host}`; apctl follows no redirects, so nothing was sent there"
        )),
        request_id,
        date: None,
    }
}

/// Jitter salt per request, so concurrent requests do not retry in step.
fn salt(req: &Request) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    req.url.as_str().hash(&mut h);
    req.body.as_ref().map(bytes::Bytes::len).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use crate::clock::ScaledClock;
    use crate::simulator::{SimConfig, Simulator, demo_world};

    #[tokio::test]
    async fn one_gate_per_tenant_for_the_whole_run() {
        let clock = ScaledClock::scaled(0.0);
        let sim = Simulator::start(demo_world(), SimConfig::default(), clock.clone(), 0)
            .await
            .unwrap();
        let client = sim.demo_client(
            super::reqwest_client(),
            clock,
            crate::transport::retry::Policy::default(),
        );
        let a = client.gate("contoso.onmicrosoft.com");
        let b = client.gate(" Contoso.onmicrosoft.com ");
        assert!(
            std::sync::Arc::ptr_eq(&a, &b),
            "every item of a tenant shares its budget"
        );
        let c = client.gate("fabrikam.onmicrosoft.com");
        assert!(!std::sync::Arc::ptr_eq(&a, &c), "each tenant has its own");
    }
}
