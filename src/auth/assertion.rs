//! Workload identity federation: a federated token (GitHub Actions OIDC,
//! an Azure DevOps service connection's token written to a file, or
//! Kubernetes' projected token) sent as the client assertion of the
//! partner's app, so no secret is stored in the pipeline (SPEC §4). The
//! file is read again for every token, since pipelines rotate it.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::{AccessToken, AuthError, TokenFuture, TokenSource};
use crate::clock::SharedClock;
use crate::secret::Secret;

/// The `client_assertion_type` of a JWT bearer assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Client credentials with a federated token as the assertion.
#[derive(Debug)]
pub struct FederatedToken {
    app: AssertionApp,
    token_file: PathBuf,
}

#[derive(Deserialize)]
struct Answer {
    access_token: String,
    #[serde(default = "super::an_hour", deserialize_with = "super::de_token_life")]
    expires_in: u64,
}

impl FederatedToken {
    /// A source reading its assertion from `token_file`
    /// (`AZURE_FEDERATED_TOKEN_FILE`).
    pub fn new(app: AssertionApp, token_file: PathBuf) -> Self {
        Self { app, token_file }
    }
}

impl TokenSource for FederatedToken {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let assertion = std::fs::read_to_string(&self.token_file).map_err(|e| AuthError {
                tenant: tenant.to_owned(),
                aadsts: None,
                error: "io".into(),
                summary: format!("cannot read the federated token file `{}`: {e}", self.token_file.display()),
                hint: "in GitHub Actions grant `id-token: write` and write the OIDC token to the file; in Azure DevOps use a workload identity service connection".into(),
                trace_id: None,
            })?;
            let assertion = Secret::new(assertion.trim());
            self.app.assertion_grant(tenant, scope, &assertion).await
        })
    }
}

/// The partner's app as a client that proves itself with an assertion
/// (certificate, federated token, Azure DevOps OIDC token) instead of a
/// secret: what the three assertion sources share.
#[derive(Clone)]
pub struct AssertionApp {
    http: reqwest::Client,
    authority: Url,
    client_id: String,
    clock: SharedClock,
}

impl std::fmt::Debug for AssertionApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionApp")
            .field("authority", &self.authority.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl AssertionApp {
    /// The app `client_id` at the authority host.
    pub fn new(http: reqwest::Client, authority: Url, client_id: String, clock: SharedClock) -> Self {
        Self {
            http,
            authority,
            client_id,
            clock,
        }
    }

    /// The HTTP client its requests go through.
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The clock tokens are timed by.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The token endpoint of `tenant`, which an assertion names as audience.
    pub(super) fn token_url(&self, tenant: &str) -> Url {
        crate::net::endpoint::join(&self.authority, &format!("/{tenant}/oauth2/v2.0/token"))
    }

    /// The client-credentials grant with `assertion` in place of a secret.
    pub(super) async fn assertion_grant(
        &self,
        tenant: &str,
        scope: &str,
        assertion: &Secret,
    ) -> Result<AccessToken, AuthError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.expose()),
            ("scope", scope),
        ];
        let (status, body) = super::post_form(&self.http, &self.authority, tenant, "token", &form).await?;
        token_from(tenant, status, &body, &self.clock)
    }
}

/// Reads a token endpoint's answer: the token, or the decoded error.
// One call per token fetch: the size of the error does not matter here.
#[allow(clippy::result_large_err)]
pub(super) fn token_from(
    tenant: &str,
    status: u16,
    body: &[u8],
    clock: &SharedClock,
) -> Result<AccessToken, AuthError> {
    if status != 200 {
        return Err(AuthError::from_response(tenant, status, body));
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|_| AuthError::transport(tenant, "the token response is not the expected JSON"))?;
    if answer.expires_in == 0 {
        return Err(AuthError::expired_at_once(tenant));
    }
    Ok(AccessToken {
        token: Secret::new(answer.access_token),
        expires_at: clock.now() + Duration::from_secs(answer.expires_in),
    })
}
