//! Tokens for customer tenants (SPEC §4). A [`TokenSource`] knows how to
//! get one token for a tenant and scope; the [`TokenCache`] in front of it
//! keeps one per tenant and scope, refreshes it ahead of expiry with one
//! refresh in flight, and forces a new one after a 401. Token endpoint
//! errors are decoded by their `error_codes` into [`AuthError`]s that say
//! what to do.

mod assertion;
mod azure;
mod azure_cli;
mod certificate;
mod device_code;
mod github;
mod managed_identity;
mod pipelines;
mod refresh;

pub use assertion::{AssertionApp, FederatedToken, JWT_BEARER};
pub use azure::AzureClientSecret;
pub use azure_cli::AzureCli;
pub use certificate::{ClientCertificate, SigningCertificate};
pub use device_code::{DEVICE_CODE_GRANT, DeviceCode, Login};
pub use github::{GitHubActions, GitHubSettings};
pub use managed_identity::{IdentityHost, ManagedIdentity};
pub use pipelines::{AzurePipelines, PipelineSettings};
pub use refresh::{RefreshToken, RefreshTokenSettings, write_private};

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::clock::SharedClock;
use crate::secret::Secret;

/// Graph's scope for app and delegated tokens.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Refresh a cached token when less than this much life remains.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(300);

/// A token and when it stops working (in clock time).
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_at: Duration,
}

/// A boxed future of a token.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + 'a>>;

/// Gets a token for a tenant and scope. One implementation per credential
/// mode.
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// Fetches a new token (no caching here).
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a>;
}

/// Graph tokens from one source and Partner Center tokens from another:
/// Partner Center's device batches take only app + user tokens (SPEC §3.3),
/// so with app-only credentials (secret, certificate, federation, managed
/// identity) a partner admin's refresh token must be given as well.
#[derive(Debug)]
pub struct ByService {
    pub graph: Arc<dyn TokenSource>,
    /// `None`: Partner Center cannot be reached with these credentials.
    pub partner_center: Option<Arc<dyn TokenSource>>,
}

impl TokenSource for ByService {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        if !crate::net::endpoint::is_partner_center_scope(scope) {
            return self.graph.fetch(tenant, scope);
        }
        match &self.partner_center {
            Some(source) => source.fetch(tenant, scope),
            None => Box::pin(async move {
                Err(AuthError {
                    tenant: tenant.to_owned(),
                    aadsts: None,
                    error: "no_partner_sign_in".into(),
                    summary: "Partner Center takes only a partner admin's sign-in (app + user), and these credentials are an app's alone".into(),
                    hint: "run `apctl login --save partner.rt` once as a partner admin, then give that refresh token as well (`--refresh-token-file partner.rt` or `APCTL_REFRESH_TOKEN`): Partner Center takes it, for the same app; or give these devices' hardware hashes so they go through Graph".into(),
                    trace_id: None,
                })
            }),
        }
    }
}

/// Why no token could be had, with the fix.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("no token for tenant `{tenant}`: {summary}")]
pub struct AuthError {
    /// The tenant asked for.
    pub tenant: String,
    /// The AADSTS number, when the token endpoint gave one.
    pub aadsts: Option<u64>,
    /// The OAuth `error` value (`invalid_client`, …) or the transport cause.
    pub error: String,
    /// One line saying what went wrong.
    pub summary: String,
    /// What to do about it.
    pub hint: String,
    /// The token endpoint's trace id, for a support case.
    pub trace_id: Option<String>,
}

/// The token endpoint's error body.
#[derive(Debug, Default, Deserialize)]
struct TokenErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
    trace_id: Option<String>,
}

/// The fix for each AADSTS code a partner meets (SPEC §4), keyed on the
/// number in `error_codes`, never on the text.
pub fn aadsts_hint(code: u64) -> Option<&'static str> {
    Some(match code {
        700016 | 65001 => {
            "the app is not consented in this customer tenant: an admin of the customer (or you, through GDAP with a role that can grant consent) must consent to the app in that tenant, e.g. by opening https://login.microsoftonline.com/{tenant}/adminconsent?client_id=<the app's id>"
        }
        90099 => {
            "the app is not authorised for partner delegated administration in this tenant: consent it in the customer tenant, or use the Secure Application Model with a GDAP role"
        }
        7000215 => "the client secret is wrong: use the secret's value, not its ID (`AZURE_CLIENT_SECRET`)",
        7000222 => {
            "the client secret has expired: create a new secret for the app and update `AZURE_CLIENT_SECRET`"
        }
        50020 => {
            "the user is not in this tenant or not in the GDAP security group: add them to a group that holds Intune Administrator in the GDAP relationship"
        }
        50076 | 50078 => {
            "multi-factor authentication is required: run `apctl login` again to get a new refresh token"
        }
        700082 => "the refresh token expired from inactivity: run `apctl login` again",
        53003 => {
            "blocked by the customer's Conditional Access: ask them to exclude the partner's service principal or location"
        }
        90002 => "no such tenant: check the tenant id or verified domain",
        700024 => {
            "the federated token has expired (GitHub's last about five minutes): let apctl fetch a fresh one for every token — it does when `ACTIONS_ID_TOKEN_REQUEST_URL` is set (`permissions: id-token: write`) — instead of writing one to a file at the start of the job"
        }
        700213 | 70021 => {
            "the federated token matches no federated credential of the app: check the issuer and subject (repository, branch or environment; or the service connection) in the app's federated credentials"
        }
        _ => return None,
    })
}

impl AuthError {
    /// Decodes a token endpoint error response.
    pub fn from_response(tenant: &str, status: u16, body: &[u8]) -> Self {
        let parsed: TokenErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let aadsts = parsed.error_codes.first().copied();
        let first_line = parsed
            .error_description
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let summary = if first_line.is_empty() {
            format!("the token endpoint answered {status} {}", parsed.error)
        } else {
            first_line
        };
        // The answer names the app ("Application with identifier '…'"):
        // the consent link gets its real id.
        let app = parsed
            .error_description
            .split_once("identifier '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(id, _)| id)
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let mut hint = aadsts
            .and_then(aadsts_hint)
            .unwrap_or("check the app registration and the tenant; the trace id identifies the request for Microsoft support")
            .replace("{tenant}", tenant);
        if let Some(app) = app {
            hint = hint.replace("<the app's id>", app);
        }
        Self {
            tenant: tenant.to_owned(),
            aadsts,
            error: parsed.error,
            summary,
            hint,
            trace_id: parsed.trace_id,
        }
    }

    /// The token endpoint could not be reached.
    pub fn transport(tenant: &str, cause: &str) -> Self {
        Self {
            tenant: tenant.to_owned(),
            aadsts: None,
            error: "transport".into(),
            summary: format!("the token endpoint could not be reached: {cause}"),
            hint: "check the network and `--authority-host` / `AZURE_AUTHORITY_HOST`".into(),
            trace_id: None,
        }
    }
}

impl AuthError {
    /// A token answer whose `expires_in` says the token is dead already.
    pub fn expired_at_once(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_owned(),
            aadsts: None,
            error: "expires_in".into(),
            summary: "the token endpoint answered a token that expires at once (`expires_in` of 0 or less, or no number)".into(),
            hint: "try again in a minute; if it persists, check that `--authority-host` / `AZURE_AUTHORITY_HOST` is Entra ID's".into(),
            trace_id: None,
        }
    }
}

/// The longest life apctl gives a token, whatever `expires_in` says: Entra
/// ID issues access tokens for at most about a day, and a larger value
/// (1e18, `u64::MAX`) must neither overflow a clock nor keep a token past
/// its real end. Taking a token for less than the service said is safe: it
/// is fetched again sooner.
pub const MAX_TOKEN_LIFE: u64 = 86_400;

/// `expires_in` as whole seconds in `0..=MAX_TOKEN_LIFE`, from what a
/// token endpoint gave: an integer, a float or a numeric string (Entra's
/// older endpoints send strings). 0 for a token dead already: zero,
/// negative, or no number at all.
pub fn token_life(value: &serde_json::Value) -> u64 {
    let seconds = match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if s.is_finite() && s >= 1.0 => (s.min(MAX_TOKEN_LIFE as f64)) as u64,
        _ => 0,
    }
}

/// Serde: an `expires_in` field read through [`token_life`] (absent: an
/// hour, as Entra's documented default).
pub(crate) fn de_token_life<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    serde_json::Value::deserialize(d).map(|v| token_life(&v))
}

pub(crate) fn an_hour() -> u64 {
    3599
}

/// POSTs a form to `{authority}/{tenant}/oauth2/v2.0/{endpoint}` and
/// returns the status and body: the one place token endpoints are called
/// outside azure_identity.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    authority: &reqwest::Url,
    tenant: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Result<(u16, bytes::Bytes), AuthError> {
    let url = crate::net::endpoint::join(authority, &format!("/{tenant}/oauth2/v2.0/{endpoint}"));
    let host = url.origin().ascii_serialization();
    let started = std::time::Instant::now();
    let response = http.post(url).form(form).send().await.map_err(|e| {
        let secs = started.elapsed().as_secs_f64();
        AuthError::transport(
            tenant,
            &format!("{host}: {} (after {secs:.1} s)", crate::net::without_url(&e)),
        )
    })?;
    let status = response.status().as_u16();
    if (300..400).contains(&status) {
        // Never followed: a redirect would carry the secret or refresh
        // token somewhere else.
        return Err(AuthError::transport(
            tenant,
            &format!("the token endpoint answered with a redirect (HTTP {status}); apctl follows none"),
        ));
    }
    let body = crate::net::read_body(response)
        .await
        .map_err(|e| AuthError::transport(tenant, &e.0))?;
    Ok((status, body))
}

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// Tokens per tenant and scope, refreshed ahead of expiry, one refresh in
/// flight per tenant and scope.
#[derive(Debug)]
pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    clock: SharedClock,
    slots: std::sync::Mutex<HashMap<(String, String), Slot>>,
    fetches: AtomicU64,
}

impl TokenCache {
    /// A cache in front of a source.
    pub fn new(source: Arc<dyn TokenSource>, clock: SharedClock) -> Self {
        Self {
            source,
            clock,
            slots: Default::default(),
            fetches: AtomicU64::new(0),
        }
    }

    /// A valid token for the tenant and scope.
    pub async fn get(&self, tenant: &str, scope: &str) -> Result<Secret, AuthError> {
        let slot = self.slot(tenant, scope);
        let mut held = slot.lock().await;
        if let Some(t) = held.as_ref()
            && t.expires_at > self.clock.now() + REFRESH_AHEAD
        {
            return Ok(t.token.clone());
        }
        let fresh = self.fetch(tenant, scope).await?;
        let token = fresh.token.clone();
        *held = Some(fresh);
        Ok(token)
    }

    /// A new token after `stale` was refused. If another task already
    /// replaced `stale`, its token is returned without a second fetch.
    pub async fn refresh(&self, tenant: &str, scope: &str, stale: &Secret) -> Result<Secret, AuthError> {
        let slot = self.slot(tenant, scope);
        let mut held = slot.lock().await;
        if let Some(t) = held.as_ref()
            && t.token != *stale
        {
            return Ok(t.token.clone());
        }
        let fresh = self.fetch(tenant, scope).await?;
        let token = fresh.token.clone();
        *held = Some(fresh);
        Ok(token)
    }

    /// How many tokens were fetched from the source so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    async fn fetch(&self, tenant: &str, scope: &str) -> Result<AccessToken, AuthError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(tenant, scope, "fetching a token");
        self.source.fetch(tenant, scope).await
    }

    fn slot(&self, tenant: &str, scope: &str) -> Slot {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots
            .entry((tenant.to_owned(), scope.to_owned()))
            .or_default()
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ScaledClock;

    #[test]
    fn decodes_the_real_invalid_secret_response() {
        let raw = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/real-world/errors/aadsts-7000215-invalid-client-secret.json"
        ))
        .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let body = serde_json::to_vec(&doc["body"]).unwrap();
        let e = AuthError::from_response("contoso.onmicrosoft.com", 401, &body);
        assert_eq!(e.aadsts, Some(7000215));
        assert_eq!(e.error, "invalid_client");
        assert!(
            e.summary
                .starts_with("AADSTS7000215: Invalid client secret provided.")
        );
        assert!(!e.summary.contains("Trace ID"), "only the first line");
        assert!(e.hint.contains("not its ID"));
        assert_eq!(
            e.trace_id.as_deref(),
            Some("3ce379e4-441f-4eae-9730-fc0220183001")
        );
    }

    #[test]
    fn every_aadsts_code_of_the_spec_has_its_own_hint() {
        let codes = [
            700016, 65001, 90099, 7000215, 7000222, 50020, 50076, 50078, 700082, 53003, 90002,
        ];
        for c in codes {
            assert!(aadsts_hint(c).is_some(), "{c}");
        }
        assert_ne!(aadsts_hint(7000215), aadsts_hint(7000222));
        assert_eq!(aadsts_hint(1), None);
    }

    #[derive(Debug, Default)]
    struct Counting(AtomicU64);

    impl TokenSource for Counting {
        fn fetch<'a>(&'a self, _: &'a str, _: &'a str) -> TokenFuture<'a> {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            Box::pin(async move {
                Ok(AccessToken {
                    token: Secret::new(format!("t{n}")),
                    expires_at: Duration::from_secs(3600),
                })
            })
        }
    }

    #[tokio::test]
    async fn one_fetch_per_tenant_and_one_refresh_for_many_401s() {
        let cache = TokenCache::new(Arc::new(Counting::default()), ScaledClock::scaled(0.0));
        let a = cache.get("a", GRAPH_SCOPE).await.unwrap();
        assert_eq!(cache.get("a", GRAPH_SCOPE).await.unwrap(), a);
        cache.get("b", GRAPH_SCOPE).await.unwrap();
        assert_eq!(cache.fetches(), 2);
        let fresh = cache.refresh("a", GRAPH_SCOPE, &a).await.unwrap();
        assert_ne!(fresh, a);
        let again = cache.refresh("a", GRAPH_SCOPE, &a).await.unwrap();
        assert_eq!(again, fresh, "a second 401 on the old token does not fetch again");
        assert_eq!(cache.fetches(), 3);
    }
}
