//! Managed identity (SPEC §4, hosted runners): a managed identity's token
//! reaches only its own tenant, so apctl uses it the way Entra lets one
//! reach customers: as a federated credential of the partner's multi-tenant
//! app. The identity asks its host for a token for the cloud's exchange
//! audience (`api://AzureADTokenExchange`), and that token is the app's
//! client assertion at each customer's authority. No secret is stored
//! anywhere.
//!
//! Where the token comes from: App Service, Functions and Container Apps
//! set `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` (a loopback URL); VMs and
//! scale sets (self-hosted agents and runners) answer at the Instance
//! Metadata Service, [`crate::net::endpoint::IMDS_TOKEN`].

use reqwest::Url;
use serde::Deserialize;

use super::assertion::AssertionApp;
use super::{AuthError, TokenFuture, TokenSource};
use crate::net::without_url;
use crate::secret::Secret;

/// Where the host hands out managed identity tokens.
pub enum IdentityHost {
    /// The Instance Metadata Service of a VM or scale set.
    Imds,
    /// App Service / Functions / Container Apps: `IDENTITY_ENDPOINT` (checked:
    /// https, or http to loopback) and `IDENTITY_HEADER`.
    AppService { endpoint: Url, header: Secret },
}

/// Tokens for the partner's app, proven by a managed identity.
pub struct ManagedIdentity {
    app: AssertionApp,
    host: IdentityHost,
    /// A user-assigned identity's client id; `None` for the system-assigned one.
    identity: Option<String>,
    audience: &'static str,
}

impl std::fmt::Debug for ManagedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = match &self.host {
            IdentityHost::Imds => "imds".to_owned(),
            IdentityHost::AppService { endpoint, .. } => endpoint.to_string(),
        };
        f.debug_struct("ManagedIdentity")
            .field("app", &self.app)
            .field("host", &host)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer {
    access_token: String,
}

impl ManagedIdentity {
    /// `identity` is a user-assigned identity's client id (`None`: the
    /// system-assigned one); `audience` the cloud's exchange audience.
    pub fn new(
        app: AssertionApp,
        host: IdentityHost,
        identity: Option<String>,
        audience: &'static str,
    ) -> Self {
        Self {
            app,
            host,
            identity,
            audience,
        }
    }

    /// The request for the identity's token, as the host wants it.
    fn request(&self) -> reqwest::RequestBuilder {
        let (url, api_version) = match &self.host {
            IdentityHost::Imds => (
                Url::parse(crate::net::endpoint::IMDS_TOKEN).expect("constant URL"),
                "2018-02-01",
            ),
            IdentityHost::AppService { endpoint, .. } => (endpoint.clone(), "2019-08-01"),
        };
        let mut url = url;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", api_version)
                .append_pair("resource", self.audience);
            if let Some(id) = &self.identity {
                q.append_pair("client_id", id);
            }
        }
        let request = self.app.http().get(url);
        match &self.host {
            IdentityHost::Imds => request.header("Metadata", "true"),
            IdentityHost::AppService { header, .. } => request.header("X-IDENTITY-HEADER", header.expose()),
        }
    }

    async fn identity_token(&self, tenant: &str) -> Result<Secret, AuthError> {
        let refused = |summary: String| {
            AuthError {
            tenant: tenant.to_owned(),
            aadsts: None,
            error: "managed_identity".into(),
            summary,
            hint: "run on a host with a managed identity (a VM, scale set agent, App Service or Container App), give `--managed-identity-client-id` for a user-assigned one, and add the identity as a federated credential of the app in `AZURE_CLIENT_ID`".into(),
            trace_id: None,
        }
        };
        let response = self.request().send().await.map_err(|e| {
            refused(format!(
                "the managed identity endpoint cannot be reached: {}",
                without_url(&e)
            ))
        })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(refused(format!(
                "the managed identity endpoint answered {status}"
            )));
        }
        let answer: Answer = crate::net::read_json(response)
            .await
            .map_err(|_| refused("the managed identity answer has no `access_token`".into()))?;
        Ok(Secret::new(answer.access_token))
    }
}

impl TokenSource for ManagedIdentity {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let assertion = self.identity_token(tenant).await?;
            self.app.assertion_grant(tenant, scope, &assertion).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ScaledClock;

    fn source(host: IdentityHost, identity: Option<&str>) -> ManagedIdentity {
        let app = AssertionApp::new(
            reqwest::Client::new(),
            Url::parse("https://login.microsoftonline.com").unwrap(),
            "app".into(),
            ScaledClock::scaled(0.0),
        );
        ManagedIdentity::new(
            app,
            host,
            identity.map(str::to_owned),
            "api://AzureADTokenExchange",
        )
    }

    #[test]
    fn imds_is_asked_with_the_metadata_header_and_the_exchange_audience() {
        let r = source(IdentityHost::Imds, Some("mi-client"))
            .request()
            .build()
            .unwrap();
        assert_eq!(
            r.url().as_str(),
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api%3A%2F%2FAzureADTokenExchange&client_id=mi-client"
        );
        assert_eq!(r.headers()["Metadata"], "true");
    }

    #[test]
    fn app_service_is_asked_with_its_header_and_no_metadata_header() {
        let host = IdentityHost::AppService {
            endpoint: Url::parse("http://127.0.0.1:41741/msi/token").unwrap(),
            header: Secret::new("h"),
        };
        let s = source(host, None);
        let r = s.request().build().unwrap();
        assert_eq!(
            r.url().as_str(),
            "http://127.0.0.1:41741/msi/token?api-version=2019-08-01&resource=api%3A%2F%2FAzureADTokenExchange"
        );
        assert_eq!(r.headers()["X-IDENTITY-HEADER"], "h");
        assert!(r.headers().get("Metadata").is_none());
        assert!(!format!("{s:?}").contains("\"h\""));
    }
}
