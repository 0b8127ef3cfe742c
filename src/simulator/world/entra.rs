//! Simulated Entra ID: the token endpoint (client credentials, assertions,
//! refresh tokens, device code), bearer checks, and OpenID configuration.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;

impl World {
    pub(super) fn token(&mut self, tenant: &str, body: &[u8]) -> SimResponse {
        let form: HashMap<String, String> = form_urlencoded(body);
        if let Some(scope) = form.get("scope") {
            self.stats.token_scopes.insert(scope.clone());
        }
        // A user's sign-in at `organizations` lands in their home tenant:
        // the demo partner's.
        let home = self.partner_tenant_id.clone().unwrap_or_default();
        let tenant = if matches!(tenant, "organizations" | "common") && !home.is_empty() {
            home.as_str()
        } else {
            tenant
        };
        let Some(index) = self.find_tenant(tenant) else {
            return fixture_error(
                400,
                include_str!("../../../wiremock-fixtures/token/no-such-tenant.json"),
                "{tenant}",
                tenant,
            );
        };
        let client = form.get("client_id").map(String::as_str).unwrap_or("");
        if form.get("client_secret").map(String::as_str) == Some("apctl-demo-expired-secret") {
            let body = json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000222: The provided client secret keys for app '{client}' are expired. Visit the Azure portal to create new keys for your app.\r\nTrace ID: 00000000-0000-0000-0000-000007000222"),
                "error_codes": [7000222],
                "trace_id": "00000000-0000-0000-0000-000007000222"
            });
            return SimResponse::json(401, &body);
        }
        if form.get("grant_type").map(String::as_str) == Some("refresh_token") {
            return self.refresh_grant(index, &form);
        }
        if form.get("grant_type").map(String::as_str) == Some(crate::auth::DEVICE_CODE_GRANT) {
            return self.device_code_poll(index, &form);
        }
        if form.get("client_assertion_type").map(String::as_str) == Some(crate::auth::JWT_BEARER) {
            let assertion = form.get("client_assertion").map(String::as_str);
            return self.assertion_grant(index, tenant, client, assertion);
        }
        if client != self.client_id
            || form.get("client_secret").map(String::as_str) != Some(self.client_secret.as_str())
        {
            return fixture_error(
                401,
                include_str!("../../../wiremock-fixtures/token/invalid-client-secret.json"),
                "{client_id}",
                client,
            );
        }
        if !self.tenants[index].spec.consented {
            return not_consented(tenant, client);
        }
        self.issue(index)
    }

    /// Starts a device-code sign-in; the user "signs in" after two polls.
    pub(super) fn device_code(&mut self, tenant: &str) -> SimResponse {
        if self.find_tenant(tenant).is_none() && tenant != "organizations" {
            return fixture_error(
                400,
                include_str!("../../../wiremock-fixtures/token/no-such-tenant.json"),
                "{tenant}",
                tenant,
            );
        }
        let code = format!("sim-dc-{:016x}", self.next_random());
        self.device_codes.insert(code.clone(), 0);
        SimResponse::json(
            200,
            &json!({
                "device_code": code,
                "user_code": "APCTLDEMO",
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": 5,
                "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code APCTLDEMO to authenticate."
            }),
        )
    }

    pub(super) fn device_code_poll(&mut self, index: usize, form: &HashMap<String, String>) -> SimResponse {
        let code = form.get("device_code").cloned().unwrap_or_default();
        let Some(polls) = self.device_codes.get_mut(&code) else {
            return SimResponse::json(400, &json!({"error": "expired_token", "error_codes": [70020]}));
        };
        *polls += 1;
        if *polls <= 2 {
            let body = json!({
                "error": "authorization_pending",
                "error_description": "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.\r\nTrace ID: 342171d0-0d5b-42f7-8510-f64a57752400",
                "error_codes": [70016]
            });
            return SimResponse::json(400, &body);
        }
        self.device_codes.remove(&code);
        let fresh = format!("sim-rt-{:016x}", self.next_random());
        self.refresh_tokens.insert(fresh.clone());
        let mut r = self.issue(index);
        if let Ok(mut v) = serde_json::from_slice::<Value>(&r.body) {
            v["refresh_token"] = json!(fresh);
            r.body = serde_json::to_vec(&v).unwrap_or_default();
        }
        r
    }

    /// Workload identity federation: the demo app trusts any non-empty
    /// federated token except the one that stands for a wrong subject.
    fn assertion_grant(
        &mut self,
        index: usize,
        tenant: &str,
        client: &str,
        assertion: Option<&str>,
    ) -> SimResponse {
        let refusal = |code: u64, text: &str| {
            SimResponse::json(
                400,
                &json!({
                    "error": "invalid_client",
                    "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 00000000-0000-0000-0000-000000{code:06}"),
                    "error_codes": [code],
                    "trace_id": format!("00000000-0000-0000-0000-000000{code:06}")
                }),
            )
        };
        if client != self.client_id
            || assertion.is_none_or(|a| a.is_empty() || a == "apctl-demo-untrusted-assertion")
        {
            return refusal(
                700213,
                "No matching federated identity record found for presented assertion subject.",
            );
        }
        // A token GitHub issued lives about five minutes: one standing for
        // that is good for its first exchange only, and later in the run it
        // has expired (AADSTS700024).
        if let Some(a) = assertion.filter(|a| a.starts_with("apctl-demo-expiring"))
            && !self.used_assertions.insert(a.to_owned())
        {
            return refusal(700024, "Client assertion is not within its valid time range.");
        }
        // A federated credential is the app's own: in a tenant where the
        // app was never consented, Entra answers as it does to a secret.
        if !self.tenants[index].spec.consented {
            return not_consented(tenant, client);
        }
        self.issue(index)
    }

    /// Issues an access token for the tenant.
    pub(super) fn issue(&mut self, index: usize) -> SimResponse {
        let nonce = self.next_random();
        let token = format!("sim.{}.{nonce:016x}", self.tenants[index].spec.id);
        self.tokens.insert(token.clone(), (index, 0));
        self.stats.tokens_issued += 1;
        SimResponse::json(
            200,
            &json!({"token_type": "Bearer", "expires_in": self.config.token_lifetime, "access_token": token}),
        )
    }

    /// The Secure Application Model's exchange. Two demo values stand for a
    /// refresh token expired from inactivity and one that needs MFA again.
    pub(super) fn refresh_grant(&mut self, index: usize, form: &HashMap<String, String>) -> SimResponse {
        let refusal = |code: u64, text: &str| {
            let body = json!({
                "error": "invalid_grant",
                "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 00000000-0000-0000-0000-0000000{code}\r\nTimestamp: 2026-11-26 12:00:00Z"),
                "error_codes": [code],
                "trace_id": format!("00000000-0000-0000-0000-0000000{code}")
            });
            SimResponse::json(400, &body)
        };
        let rt = form.get("refresh_token").map(String::as_str).unwrap_or("");
        let secret_ok = form.get("client_secret").is_none_or(|s| *s == self.client_secret);
        if form.get("client_id").map(String::as_str) != Some(self.client_id.as_str()) || !secret_ok {
            return fixture_error(
                401,
                include_str!("../../../wiremock-fixtures/token/invalid-client-secret.json"),
                "{client_id}",
                "app",
            );
        }
        match rt {
            "apctl-demo-expired-refresh-token" => {
                return refusal(
                    700082,
                    "The refresh token has expired due to inactivity. The token was issued on 2026-08-01 and was inactive for 90.00:00:00.",
                );
            }
            "apctl-demo-mfa-refresh-token" => {
                return refusal(
                    50076,
                    "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the tenant.",
                );
            }
            rt if !self.refresh_tokens.contains(rt) => {
                return refusal(70000, "Provided grant is invalid or malformed.");
            }
            _ => {}
        }
        // A partner admin reaches a customer only through an active GDAP
        // relationship; elsewhere Entra does not know the user.
        if !self.partner_reaches(index) {
            return refusal(
                50020,
                &format!(
                    "User account from identity provider 'https://sts.windows.net/{}/' does not exist in tenant '{}' and cannot access the application in that tenant.",
                    self.partner_tenant_id.clone().unwrap_or_default(),
                    self.tenants[index].spec.display_name
                ),
            );
        }
        let nonce = self.next_random();
        let fresh = format!("sim-rt-{:016x}", self.next_random());
        self.refresh_tokens.insert(fresh.clone());
        let partner_center = form.get("scope").is_some_and(|s| s.contains("partnercenter"));
        let access = if partner_center {
            let t = format!("simpc.{}.{nonce:016x}", self.tenants[index].spec.id);
            self.pc_tokens.insert(t.clone());
            t
        } else {
            let t = format!("sim.{}.{nonce:016x}", self.tenants[index].spec.id);
            self.tokens.insert(t.clone(), (index, 0));
            self.delegated.insert(t.clone());
            t
        };
        self.stats.tokens_issued += 1;
        SimResponse::json(
            200,
            &json!({"token_type": "Bearer", "expires_in": self.config.token_lifetime, "access_token": access, "refresh_token": fresh}),
        )
    }

    /// The partner's own tenant, or a customer with an active GDAP
    /// relationship.
    fn partner_reaches(&self, index: usize) -> bool {
        self.is_partner_home(index) || self.active_relationships(index).next().is_some()
    }

    fn is_partner_home(&self, index: usize) -> bool {
        self.partner_tenant_id.as_deref() == Some(self.tenants[index].spec.id.as_str())
    }

    /// The partner's active (or expiring) GDAP relationships with a customer.
    fn active_relationships(&self, index: usize) -> impl Iterator<Item = &RelationshipSpec> {
        let id = &self.tenants[index].spec.id;
        self.tenants
            .iter()
            .flat_map(|t| t.spec.relationships.iter())
            .filter(move |r| {
                r.customer_tenant_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(id))
                    && matches!(r.status.as_str(), "active" | "expiring")
            })
    }

    /// A partner admin's (delegated) token acts in a customer tenant with
    /// the roles of its GDAP relationship: Intune's APIs need Intune
    /// Administrator, and answer 403 without it (the partner's own tenant
    /// is its own).
    pub(super) fn lacks_intune_role(&self, header: Option<&str>, index: usize) -> bool {
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
        if !self.delegated.contains(token) {
            return false;
        }
        !self.is_partner_home(index)
            && !self.active_relationships(index).any(|r| {
                r.roles
                    .iter()
                    .any(|role| role.eq_ignore_ascii_case(crate::graph::gdap::INTUNE_ADMINISTRATOR))
            })
    }

    pub(super) fn authorise(&mut self, header: Option<&str>) -> Result<usize, SimResponse> {
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
        let limit = self.config.token_uses;
        let expired = || {
            graph_error(
                401,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
                "00000000-0000-0000-0000-000000000401",
            )
        };
        match self.tokens.get_mut(token) {
            Some((index, uses)) => {
                *uses += 1;
                if limit.is_some_and(|l| *uses > l) {
                    self.count("expired-token");
                    return Err(expired());
                }
                Ok(*index)
            }
            None => Err(expired()),
        }
    }

    /// The authority's public OpenID configuration: the tenant id is in
    /// the issuer.
    pub(super) fn openid_configuration(&mut self, name: &str) -> SimResponse {
        let Some(index) = self.find_tenant(name) else {
            return fixture_error(
                400,
                include_str!("../../../wiremock-fixtures/token/no-such-tenant.json"),
                "{tenant}",
                name,
            );
        };
        let id = self.tenants[index].spec.id.clone();
        SimResponse::json(
            200,
            &json!({
                "issuer": format!("{}/{id}/v2.0", self.base),
                "token_endpoint": format!("{}/{id}/oauth2/v2.0/token", self.base)
            }),
        )
    }
}

/// Entra's answer for an app that was never consented in the tenant.
fn not_consented(tenant: &str, client: &str) -> SimResponse {
    let body = json!({
        "error": "unauthorized_client",
        "error_description": format!("AADSTS700016: Application with identifier '{client}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.\r\nTrace ID: 00000000-0000-0000-0000-000000000016"),
        "error_codes": [700016],
        "trace_id": "00000000-0000-0000-0000-000000000016"
    });
    SimResponse::json(400, &body)
}
