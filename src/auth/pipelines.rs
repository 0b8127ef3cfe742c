//! Azure DevOps workload identity federation: the pipeline asks its own
//! OIDC endpoint (`SYSTEM_OIDCREQUESTURI`, authorised by the job's
//! `SYSTEM_ACCESSTOKEN`) for a token for the service connection, and that
//! token is the app's client assertion. A fresh OIDC token is asked for
//! with every access token, as they are short-lived.

use reqwest::Url;
use serde::Deserialize;

use super::assertion::AssertionApp;
use super::{AuthError, TokenFuture, TokenSource};
use crate::net::without_url;
use crate::secret::Secret;

/// The Azure DevOps REST API version of the OIDC token request.
const API_VERSION: &str = "7.1";

/// Tokens through an Azure DevOps service connection.
pub struct AzurePipelines {
    app: AssertionApp,
    settings: PipelineSettings,
}

impl std::fmt::Debug for AzurePipelines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzurePipelines")
            .field("app", &self.app)
            .field("service_connection_id", &self.settings.service_connection_id)
            .finish_non_exhaustive()
    }
}

/// What the pipeline provides besides the app.
pub struct PipelineSettings {
    /// `SYSTEM_OIDCREQUESTURI`, already checked (https, or http to loopback).
    pub oidc_request_uri: Url,
    pub service_connection_id: String,
    /// `SYSTEM_ACCESSTOKEN`.
    pub system_access_token: Secret,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Oidc {
    oidc_token: String,
}

impl AzurePipelines {
    /// A source for the service connection's app.
    pub fn new(app: AssertionApp, settings: PipelineSettings) -> Self {
        Self { app, settings }
    }

    async fn oidc_token(&self, tenant: &str) -> Result<Secret, AuthError> {
        let mut url = self.settings.oidc_request_uri.clone();
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION)
            .append_pair("serviceConnectionId", &self.settings.service_connection_id);
        let refused = |summary: String| {
            AuthError {
            tenant: tenant.to_owned(),
            aadsts: None,
            error: "azure_pipelines".into(),
            summary,
            hint: "give the job `SYSTEM_ACCESSTOKEN` (env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)) and use a workload identity service connection".into(),
            trace_id: None,
        }
        };
        let response = self
            .app
            .http()
            .post(url)
            .bearer_auth(self.settings.system_access_token.expose())
            .header("Content-Type", "application/json")
            .send()
            .await
            .map_err(|e| AuthError::transport(tenant, &without_url(&e)))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(refused(format!("the pipeline's OIDC endpoint answered {status}")));
        }
        let oidc: Oidc = crate::net::read_json(response)
            .await
            .map_err(|_| refused("the pipeline's OIDC answer has no `oidcToken`".into()))?;
        Ok(Secret::new(oidc.oidc_token))
    }
}

impl TokenSource for AzurePipelines {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let assertion = self.oidc_token(tenant).await?;
            self.app.assertion_grant(tenant, scope, &assertion).await
        })
    }
}
