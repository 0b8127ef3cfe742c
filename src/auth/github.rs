//! GitHub Actions workload identity federation: the runner's OIDC
//! endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`, authorised by
//! `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the job needs `permissions: id-token:
//! write`) gives a token for the audience `api://AzureADTokenExchange`,
//! which is the app's client assertion. GitHub's tokens last about five
//! minutes, so a token written to a file once fails later customers of a
//! long run with AADSTS700024: a fresh one is asked for with every access
//! token.

use reqwest::Url;
use serde::Deserialize;

use super::assertion::AssertionApp;
use super::{AuthError, TokenFuture, TokenSource};
use crate::net::without_url;
use crate::secret::Secret;

/// The audience Entra ID expects of a federated token.
pub const AUDIENCE: &str = "api://AzureADTokenExchange";

/// Tokens through the GitHub Actions runner's OIDC endpoint.
pub struct GitHubActions {
    app: AssertionApp,
    settings: GitHubSettings,
}

impl std::fmt::Debug for GitHubActions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubActions")
            .field("app", &self.app)
            .field(
                "request_url",
                &self.settings.request_url.origin().ascii_serialization(),
            )
            .finish_non_exhaustive()
    }
}

/// What the runner provides.
pub struct GitHubSettings {
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`, already checked (https, or http to
    /// loopback).
    pub request_url: Url,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub request_token: Secret,
}

#[derive(Deserialize)]
struct Answer {
    value: String,
}

impl GitHubActions {
    /// A source for the app the workflow's federated credential trusts.
    pub fn new(app: AssertionApp, settings: GitHubSettings) -> Self {
        Self { app, settings }
    }

    async fn id_token(&self, tenant: &str) -> Result<Secret, AuthError> {
        let mut url = self.settings.request_url.clone();
        url.query_pairs_mut().append_pair("audience", AUDIENCE);
        let refused = |summary: String| {
            AuthError {
            tenant: tenant.to_owned(),
            aadsts: None,
            error: "github_actions".into(),
            summary,
            hint: "give the job `permissions: id-token: write`, and add a federated credential for this repository (and branch or environment) to the app".into(),
            trace_id: None,
        }
        };
        let response = self
            .app
            .http()
            .get(url)
            .bearer_auth(self.settings.request_token.expose())
            .send()
            .await
            .map_err(|e| AuthError::transport(tenant, &without_url(&e)))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(refused(format!("the runner's OIDC endpoint answered {status}")));
        }
        let answer: Answer = crate::net::read_json(response)
            .await
            .map_err(|_| refused("the runner's OIDC answer has no `value`".into()))?;
        Ok(Secret::new(answer.value))
    }
}

impl TokenSource for GitHubActions {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let assertion = self.id_token(tenant).await?;
            self.app.assertion_grant(tenant, scope, &assertion).await
        })
    }
}
