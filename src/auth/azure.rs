//! App + client secret through azure_identity's `ClientSecretCredential`.
//!
//! Two facts shape this (SPEC §4, §8): azure_identity refuses any authority
//! that is not `https://`, and its credentials cache tokens inside with no
//! way to force a refresh. So a loopback authority (the simulator, test
//! servers) is given to azure_identity as `https://host:port` with a
//! transport that sends the request over plain http to that same loopback
//! address; and every fetch builds a fresh credential, leaving caching and
//! the refresh after a 401 to apctl's [`super::TokenCache`].
//!
//! A third fact was found here: azure_identity 1.0.0 cannot read real Entra
//! error bodies (it borrows `error_description` as `&str`, which fails on the
//! `\r\n` escapes every real one holds), so its error loses `error_codes`.
//! The transport keeps the last error body, and apctl decodes that itself.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::http::{AsyncRawResponse, ClientOptions, HttpClient, Request, Transport};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use reqwest::Url;

use super::{AccessToken, AuthError, TokenFuture, TokenSource};
use crate::clock::SharedClock;
use crate::net::endpoint;
use crate::secret::Secret;

/// The client-credentials grant for an app consented in the customer
/// tenant, through azure_identity.
pub struct AzureClientSecret {
    http: reqwest::Client,
    authority: Url,
    client_id: String,
    secret: Secret,
    clock: SharedClock,
}

impl std::fmt::Debug for AzureClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureClientSecret")
            .field("authority", &self.authority.as_str())
            .field("client_id", &self.client_id)
            .field("secret", &self.secret)
            .finish()
    }
}

impl AzureClientSecret {
    /// A source for the app, at the given authority host.
    pub fn new(
        http: reqwest::Client,
        authority: Url,
        client_id: String,
        secret: Secret,
        clock: SharedClock,
    ) -> Self {
        Self {
            http,
            authority,
            client_id,
            secret,
            clock,
        }
    }

    fn credential(
        &self,
        tenant: &str,
        transport: Arc<EntraTransport>,
    ) -> azure_core::Result<Arc<ClientSecretCredential>> {
        let mut authority = self.authority.clone();
        if transport.plain_loopback {
            let _ = authority.set_scheme("https");
        }
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = authority.as_str().trim_end_matches('/').to_owned();
        // Few, quick retries: an unreachable token endpoint is said within
        // seconds (with its host and cause), not after minutes of silence.
        let retry = azure_core::http::RetryOptions::exponential(azure_core::http::ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(500),
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            max_delay: azure_core::time::Duration::seconds(4),
        });
        let client_options = ClientOptions {
            cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
            transport: Some(Transport::new(transport)),
            retry,
            ..Default::default()
        };
        let options = ClientSecretCredentialOptions { client_options };
        let secret = azure_core::credentials::Secret::new(self.secret.expose().to_owned());
        ClientSecretCredential::new(tenant, self.client_id.clone(), secret, Some(options))
    }
}

impl TokenSource for AzureClientSecret {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            use azure_core::credentials::TokenCredential;
            let transport = Arc::new(EntraTransport {
                http: self.http.clone(),
                plain_loopback: self.authority.scheme() == "http" && endpoint::is_loopback(&self.authority),
                last_error: Mutex::new(None),
                unreachable: Mutex::new(None),
                started: std::time::Instant::now(),
            });
            let credential = self
                .credential(tenant, transport.clone())
                .map_err(|e| to_auth_error(tenant, &e, &transport))?;
            let token = credential
                .get_token(&[scope], None)
                .await
                .map_err(|e| to_auth_error(tenant, &e, &transport))?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs() as i64;
            let life = Duration::from_secs(
                u64::try_from(token.expires_on.unix_timestamp().saturating_sub(now))
                    .unwrap_or(0)
                    .min(super::MAX_TOKEN_LIFE),
            );
            if life.is_zero() {
                return Err(AuthError::expired_at_once(tenant));
            }
            Ok(AccessToken {
                token: Secret::new(token.token.secret().to_owned()),
                expires_at: self.clock.now() + life,
            })
        })
    }
}

/// Turns azure_identity's error into apctl's, decoding the token endpoint's
/// error body by its `error_codes`.
fn to_auth_error(tenant: &str, e: &azure_core::Error, transport: &EntraTransport) -> AuthError {
    if let Some((status, body)) = transport
        .last_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        return AuthError::from_response(tenant, status, &body);
    }
    let mut current: Option<&azure_core::Error> = Some(e);
    while let Some(err) = current {
        if let azure_core::error::ErrorKind::HttpResponse {
            status,
            raw_response: Some(raw),
            ..
        } = err.kind()
        {
            return AuthError::from_response(tenant, u16::from(*status), raw.body());
        }
        current = err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<azure_core::Error>());
    }
    if let Some(why) = transport
        .unreachable
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        let secs = transport.started.elapsed().as_secs_f64();
        return AuthError::transport(tenant, &format!("{why} (gave up after {secs:.1} s)"));
    }
    AuthError::transport(tenant, &first_line(&e.to_string()))
}

/// The deepest cause of an error: `Connection refused (os error 111)`
/// rather than a wrapper's words.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    first_line(&last.to_string())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").chars().take(300).collect()
}

/// An answer's body, at most [`crate::net::MAX_BODY`] bytes of it.
async fn read_capped(
    mut body: azure_core::http::AsyncResponseBody,
) -> Result<bytes::Bytes, crate::net::BodyError> {
    use futures::StreamExt as _;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| crate::net::BodyError(first_line(&e.to_string())))?;
        if out.len() + chunk.len() > crate::net::MAX_BODY {
            return Err(crate::net::BodyError::too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.into())
}

/// A token answer with its `expires_in` and `ext_expires_in` put within
/// `0..=MAX_TOKEN_LIFE` ([`super::token_life`]) before azure_identity reads
/// them: it adds them to the clock unchecked and panics on a value such as
/// 9.2e11 or `u64::MAX`, and refuses a float. Other bodies pass unchanged.
fn tame_lifetimes(body: bytes::Bytes) -> bytes::Bytes {
    let Ok(serde_json::Value::Object(mut answer)) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    for key in ["expires_in", "ext_expires_in"] {
        if let Some(v) = answer.get_mut(key) {
            *v = serde_json::Value::from(super::token_life(v));
        }
    }
    serde_json::to_vec(&answer).map(Into::into).unwrap_or(body)
}

/// azure_identity's transport: apctl's reqwest client, which keeps the last
/// error body, and sends a loopback authority's request over plain http
/// (the only place apctl allows http).
#[derive(Debug)]
struct EntraTransport {
    http: reqwest::Client,
    plain_loopback: bool,
    last_error: Mutex<Option<(u16, bytes::Bytes)>>,
    /// Why the endpoint could not be reached, with its host, if it could not.
    unreachable: Mutex<Option<String>>,
    started: std::time::Instant,
}

#[async_trait::async_trait]
impl HttpClient for EntraTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut request = request.clone();
        if self.plain_loopback && endpoint::is_loopback(request.url()) {
            let _ = request.url_mut().set_scheme("http");
        }
        let host = request.url().origin().ascii_serialization();
        let response = match self.http.execute_request(&request).await {
            Ok(response) => response,
            Err(e) => {
                *self.unreachable.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(format!("{host}: {}", innermost(&e)));
                return Err(e);
            }
        };
        let (status, headers, body) = response.deconstruct();
        // Every answer, error or not, is read with the cap every other
        // body has.
        let bytes = match read_capped(body).await {
            Ok(bytes) => bytes,
            Err(why) => {
                *self.unreachable.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(format!("{host}: {why}"));
                return Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Io,
                    why.to_string(),
                ));
            }
        };
        if u16::from(status) < 400 {
            return Ok(AsyncRawResponse::from_bytes(
                status,
                headers,
                tame_lifetimes(bytes),
            ));
        }
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((u16::from(status), bytes.clone()));
        Ok(AsyncRawResponse::from_bytes(status, headers, bytes))
    }
}
