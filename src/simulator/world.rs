//! The simulated services' state and rules, as plain functions of a
//! request and the clock: Entra's token endpoint, Graph's imported and
//! registered Autopilot devices, per-tenant throttling with `Retry-After`
//! in the forms the real service uses, and injected faults. Deterministic
//! for a seed. [`super`] puts it behind a wiremock server.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::SharedClock;

mod partner_center;

pub use partner_center::CatalogueSpec;

/// How 429 answers carry `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfterStyle {
    /// Whole seconds, rounded up (`57`).
    Integer,
    /// Fractional seconds (`2.128`), as in Graph's own sample.
    Fraction,
    /// No header at all, as in the real Intune captures.
    Absent,
    /// Each of the three in turn.
    Mixed,
}

/// Throttle limits the simulated service enforces per tenant.
#[derive(Clone, Copy, Debug)]
pub struct SimLimits {
    pub writes: u32,
    pub requests: u32,
    pub window: Duration,
}

/// How the simulated services behave.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Clock time from import until a staged record has its verdict.
    pub import_delay: Duration,
    /// Delay of every answer (scaled by the clock's scale).
    pub latency: Duration,
    /// Per-tenant limits; `None` never throttles.
    pub limits: Option<SimLimits>,
    pub retry_after: RetryAfterStyle,
    /// Share of Graph requests answered 503 before doing anything.
    pub fault_rate: f64,
    /// Share of answers delayed by `slow_delay` more.
    pub slow_rate: f64,
    /// Share of POSTs whose answer never comes in time (held for an hour):
    /// the write takes effect, the client sees a lost connection.
    pub drop_rate: f64,
    pub slow_delay: Duration,
    /// Items per page of a list.
    pub page_size: usize,
    /// Seconds a token lives (`expires_in`).
    pub token_lifetime: u64,
    /// A token is refused as expired after this many uses.
    pub token_uses: Option<u64>,
    /// Clock time from a Partner Center batch upload until its job is
    /// processed.
    pub batch_delay: Duration,
    /// The answer to the Nth request of this kind (`graph.import`, …) is
    /// held for an hour after the request took effect: a deterministic
    /// point at which a test can kill the client.
    pub hold: Option<(String, u64)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            import_delay: Duration::from_secs(5),
            latency: Duration::ZERO,
            limits: None,
            retry_after: RetryAfterStyle::Mixed,
            fault_rate: 0.0,
            slow_rate: 0.0,
            drop_rate: 0.0,
            slow_delay: Duration::from_secs(2),
            page_size: 1000,
            token_lifetime: 3599,
            token_uses: None,
            batch_delay: Duration::from_secs(5),
            hold: None,
        }
    }
}

/// The world a simulator starts from (`wiremock-fixtures/simulator/*.json`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldSpec {
    pub client_id: String,
    pub client_secret: String,
    /// The partner's own tenant (its GDAP relationships are listed there).
    #[serde(default)]
    pub partner_tenant_id: Option<String>,
    /// A partner admin's refresh token the token endpoint takes (Secure
    /// Application Model). Tokens it issues in exchange are taken too.
    #[serde(default)]
    pub refresh_token: Option<String>,
    pub tenants: Vec<TenantSpec>,
    /// Devices the OEMs know, for Partner Center's tuple and product-key
    /// registration.
    #[serde(default)]
    pub catalogue: Vec<CatalogueSpec>,
}

/// One simulated customer tenant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    pub id: String,
    pub domains: Vec<String>,
    pub display_name: String,
    #[serde(default)]
    pub registered: Vec<RegisteredSpec>,
    /// Serial → planned outcome (`complete`, `already-assigned`,
    /// `other-tenant`, `unknown-then-other-tenant`, `invalid-hash`,
    /// `transient`, `stuck`).
    #[serde(default)]
    pub outcomes: BTreeMap<String, String>,
    /// False: the demo app is not consented here (AADSTS700016).
    #[serde(default = "yes")]
    pub consented: bool,
    /// For the partner's own tenant: its GDAP relationships.
    #[serde(default)]
    pub relationships: Vec<RelationshipSpec>,
    /// False: not a customer of the partner in Partner Center (an indirect
    /// reseller's customer, say): device batch calls answer 404.
    #[serde(default = "yes")]
    pub partner_center_customer: bool,
}

/// One GDAP relationship of the partner tenant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipSpec {
    pub display_name: String,
    pub customer_tenant_id: String,
    pub customer_name: String,
    pub status: String,
    /// Days from now until it ends; none for relationships not yet active.
    #[serde(default)]
    pub end_in_days: Option<i64>,
    #[serde(default = "no_extension")]
    pub auto_extend: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub reseller: bool,
}

fn no_extension() -> String {
    "PT0S".into()
}

fn yes() -> bool {
    true
}

/// A device registered before the run.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredSpec {
    pub serial_number: String,
    #[serde(default)]
    pub manufacturer: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub group_tag: Option<String>,
    #[serde(default = "not_contacted")]
    pub enrollment_state: String,
    #[serde(default)]
    pub last_contact_days_ago: Option<i64>,
}

fn not_contacted() -> String {
    "notContacted".into()
}

/// What the simulator saw, for tests and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimStats {
    /// Requests by kind.
    pub requests: BTreeMap<String, u64>,
    /// 429 answers sent.
    pub throttled: u64,
    /// Requests that arrived inside a Retry-After window the simulator
    /// had announced to that tenant.
    pub inside_retry_after: u64,
    /// Request bodies refused as the real service would refuse them.
    pub rejected_bodies: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Devices received in Graph import bodies, every attempt counted.
    pub imported_items: u64,
    /// Staged import records that exist now, in every tenant.
    pub staged_records: u64,
    /// Times a device would have been registered in a tenant that already
    /// holds its serial: never, with the real service (806 instead).
    pub registered_twice: u64,
}

/// A request as the world sees it.
#[derive(Debug)]
pub struct SimRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

/// An answer.
#[derive(Debug)]
pub struct SimResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
}

impl SimResponse {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            body: serde_json::to_vec(body).unwrap_or_default(),
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            body: Vec::new(),
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Planned {
    Complete,
    AlreadyAssigned,
    OtherTenant,
    UnknownThenOtherTenant,
    InvalidHash,
    Transient,
    Stuck,
    /// The same hash earlier in the same upload: ZtdDeviceDuplicated.
    Duplicated,
}

impl Planned {
    fn parse(s: &str) -> Self {
        match s {
            "already-assigned" => Self::AlreadyAssigned,
            "other-tenant" => Self::OtherTenant,
            "unknown-then-other-tenant" => Self::UnknownThenOtherTenant,
            "invalid-hash" => Self::InvalidHash,
            "transient" => Self::Transient,
            "stuck" => Self::Stuck,
            _ => Self::Complete,
        }
    }
}

struct Staged {
    id: String,
    item: Value,
    serial: String,
    created: Duration,
    /// Told to have its verdict now (`/_apctl/finish-imports`).
    finished: bool,
    planned: Planned,
    registered: bool,
}

struct Tenant {
    spec: TenantSpec,
    registered: Vec<Value>,
    staged: BTreeMap<String, Staged>,
    sent: VecDeque<(Duration, bool)>,
    blocked_until: Option<Duration>,
    last_sync: Option<Duration>,
}

/// The simulated services.
pub struct World {
    pub(crate) config: SimConfig,
    clock: SharedClock,
    pub(crate) base: String,
    client_id: String,
    client_secret: String,
    tenants: Vec<Tenant>,
    tokens: HashMap<String, (usize, u64)>,
    /// Partner Center (app + user) tokens.
    pc_tokens: std::collections::HashSet<String>,
    refresh_tokens: std::collections::HashSet<String>,
    catalogue: Vec<CatalogueSpec>,
    pc: partner_center::PcState,
    partner_tenant_id: Option<String>,
    device_codes: HashMap<String, u32>,
    rng: u64,
    styles_used: u64,
    pub(crate) stats: SimStats,
}

impl World {
    /// A world in its starting state.
    pub fn new(spec: WorldSpec, config: SimConfig, clock: SharedClock) -> Self {
        let now = clock.wall();
        let tenants = spec
            .tenants
            .into_iter()
            .map(|t| {
                let registered = t
                    .registered
                    .iter()
                    .enumerate()
                    .map(|(i, r)| registered_json(&t.id, i, r, now))
                    .collect();
                Tenant {
                    spec: t,
                    registered,
                    staged: BTreeMap::new(),
                    sent: VecDeque::new(),
                    blocked_until: None,
                    last_sync: None,
                }
            })
            .collect();
        let rng = config.seed ^ 0x9E37_79B9_7F4A_7C15;
        Self {
            config,
            clock,
            base: String::new(),
            client_id: spec.client_id,
            client_secret: spec.client_secret,
            tenants,
            tokens: HashMap::new(),
            pc_tokens: std::collections::HashSet::new(),
            refresh_tokens: spec.refresh_token.into_iter().collect(),
            catalogue: spec.catalogue,
            partner_tenant_id: spec.partner_tenant_id,
            pc: partner_center::PcState::default(),
            device_codes: HashMap::new(),
            rng,
            styles_used: 0,
            stats: SimStats::default(),
        }
    }

    /// Answers one request.
    pub fn handle(&mut self, req: &SimRequest) -> SimResponse {
        let held = self.config.hold.clone();
        let before = held
            .as_ref()
            .map(|(kind, _)| self.stats.requests.get(kind).copied().unwrap_or(0));
        let mut resp = self.route(req);
        if let (Some((kind, n)), Some(before)) = (held, before) {
            let after = self.stats.requests.get(&kind).copied().unwrap_or(0);
            if after > before && after == n {
                self.count("held-answer");
                resp.delay += Duration::from_secs(3600);
            }
        }
        resp.delay += self.config.latency;
        if self.config.slow_rate > 0.0 && self.chance(self.config.slow_rate) {
            resp.delay += self.config.slow_delay;
        }
        let graph_write = req.method == "POST" && !req.path.ends_with("/token");
        if graph_write && self.config.drop_rate > 0.0 && self.chance(self.config.drop_rate) {
            self.count("dropped-answer");
            resp.delay += Duration::from_secs(3600);
        }
        resp
    }

    fn route(&mut self, req: &SimRequest) -> SimResponse {
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        if segments == ["_apctl", "finish-imports"] && req.method == "POST" {
            // For tests: every staged record has its verdict from now on,
            // however long `--import-delay` is.
            for t in &mut self.tenants {
                for s in t.staged.values_mut() {
                    s.finished = true;
                }
            }
            return SimResponse::empty(204);
        }
        if segments == ["_apctl", "stats"] {
            self.stats.staged_records = self.tenants.iter().map(|t| t.staged.len() as u64).sum();
            return SimResponse::json(200, &serde_json::to_value(&self.stats).unwrap_or_default());
        }
        if let [tenant, "oauth2", "v2.0", "devicecode"] = segments.as_slice() {
            self.count("devicecode");
            return self.device_code(tenant);
        }
        if let [tenant, "oauth2", "v2.0", "token"] = segments.as_slice() {
            self.count("token");
            return self.token(tenant, &req.body);
        }
        if let [tenant, "v2.0", ".well-known", "openid-configuration"] = segments.as_slice() {
            self.count("openid-configuration");
            return self.openid_configuration(tenant);
        }
        if let ["v1", rest @ ..] = segments.as_slice() {
            return self.partner_center(req, rest);
        }
        let Some(rest) = segments
            .get(1..)
            .filter(|_| matches!(segments.first(), Some(&"v1.0" | &"beta")))
        else {
            return not_found(&req.path);
        };
        let tenant = match self.authorise(req.authorization.as_deref()) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let write = req.method != "GET";
        if let Some(r) = self.throttle(tenant, write) {
            return r;
        }
        if self.config.fault_rate > 0.0 && self.chance(self.config.fault_rate) {
            self.count("fault-503");
            return graph_error(
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
                &self.request_id(),
            );
        }
        match (req.method.as_str(), rest) {
            (
                "POST",
                [
                    "deviceManagement",
                    "importedWindowsAutopilotDeviceIdentities",
                    "import",
                ],
            ) => self.import(tenant, &req.body),
            ("GET", ["deviceManagement", "importedWindowsAutopilotDeviceIdentities"]) => {
                self.list_staged(tenant, req)
            }
            ("GET", ["deviceManagement", "importedWindowsAutopilotDeviceIdentities", id]) => {
                self.get_staged(tenant, id)
            }
            ("DELETE", ["deviceManagement", "importedWindowsAutopilotDeviceIdentities", id]) => {
                self.delete_staged(tenant, id)
            }
            ("GET", ["deviceManagement", "windowsAutopilotDeviceIdentities"]) => {
                self.list_registered(tenant, req)
            }
            ("GET", ["deviceManagement", "windowsAutopilotDeviceIdentities", id]) => {
                self.get_registered(tenant, id)
            }
            (
                "POST",
                [
                    "deviceManagement",
                    "windowsAutopilotDeviceIdentities",
                    id,
                    "updateDeviceProperties",
                ],
            ) => self.update_device_properties(tenant, id, &req.body),
            (
                "POST",
                [
                    "deviceManagement",
                    "windowsAutopilotDeviceIdentities",
                    "deleteDevices",
                ],
            ) => self.delete_devices(tenant, &req.body),
            ("POST", ["deviceManagement", "windowsAutopilotSettings", "sync"]) => self.sync(tenant),
            ("GET", ["tenantRelationships", "delegatedAdminRelationships"]) => {
                self.list_relationships(tenant, req)
            }
            _ => not_found(&req.path),
        }
    }

    fn token(&mut self, tenant: &str, body: &[u8]) -> SimResponse {
        let form: HashMap<String, String> = form_urlencoded(body);
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
                include_str!("../../wiremock-fixtures/token/no-such-tenant.json"),
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
        // Workload identity federation: the demo app trusts any non-empty
        // federated token except the one that stands for a wrong subject.
        let assertion = form.get("client_assertion").map(String::as_str);
        if form.get("client_assertion_type").map(String::as_str) == Some(crate::auth::JWT_BEARER) {
            if client != self.client_id
                || assertion.is_none_or(|a| a.is_empty() || a == "apctl-demo-untrusted-assertion")
            {
                let body = json!({
                    "error": "invalid_client",
                    "error_description": "AADSTS700213: No matching federated identity record found for presented assertion subject.\r\nTrace ID: 00000000-0000-0000-0000-000000700213",
                    "error_codes": [700213],
                    "trace_id": "00000000-0000-0000-0000-000000700213"
                });
                return SimResponse::json(400, &body);
            }
            return self.issue(index);
        }
        if client != self.client_id
            || form.get("client_secret").map(String::as_str) != Some(self.client_secret.as_str())
        {
            return fixture_error(
                401,
                include_str!("../../wiremock-fixtures/token/invalid-client-secret.json"),
                "{client_id}",
                client,
            );
        }
        if !self.tenants[index].spec.consented {
            let body = json!({
                "error": "unauthorized_client",
                "error_description": format!("AADSTS700016: Application with identifier '{client}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.\r\nTrace ID: 00000000-0000-0000-0000-000000000016"),
                "error_codes": [700016],
                "trace_id": "00000000-0000-0000-0000-000000000016"
            });
            return SimResponse::json(400, &body);
        }
        self.issue(index)
    }

    /// Starts a device-code sign-in; the user "signs in" after two polls.
    fn device_code(&mut self, tenant: &str) -> SimResponse {
        if self.find_tenant(tenant).is_none() && tenant != "organizations" {
            return fixture_error(
                400,
                include_str!("../../wiremock-fixtures/token/no-such-tenant.json"),
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

    fn device_code_poll(&mut self, index: usize, form: &HashMap<String, String>) -> SimResponse {
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

    /// Issues an access token for the tenant.
    fn issue(&mut self, index: usize) -> SimResponse {
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
    fn refresh_grant(&mut self, index: usize, form: &HashMap<String, String>) -> SimResponse {
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
                include_str!("../../wiremock-fixtures/token/invalid-client-secret.json"),
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
        let id = self.tenants[index].spec.id.clone();
        let home = self.partner_tenant_id.as_deref() == Some(id.as_str());
        let related = self.tenants.iter().any(|t| {
            t.spec.relationships.iter().any(|r| {
                r.customer_tenant_id.eq_ignore_ascii_case(&id)
                    && matches!(r.status.as_str(), "active" | "expiring")
            })
        });
        if !home && !related {
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
        let partner_center = form
            .get("scope")
            .is_some_and(|s| s.contains("api.partnercenter.microsoft.com"));
        let access = if partner_center {
            let t = format!("simpc.{}.{nonce:016x}", self.tenants[index].spec.id);
            self.pc_tokens.insert(t.clone());
            t
        } else {
            let t = format!("sim.{}.{nonce:016x}", self.tenants[index].spec.id);
            self.tokens.insert(t.clone(), (index, 0));
            t
        };
        self.stats.tokens_issued += 1;
        SimResponse::json(
            200,
            &json!({"token_type": "Bearer", "expires_in": self.config.token_lifetime, "access_token": access, "refresh_token": fresh}),
        )
    }

    fn authorise(&mut self, header: Option<&str>) -> Result<usize, SimResponse> {
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

    /// Enforces the per-tenant limits; records requests that arrive inside
    /// an announced Retry-After window.
    fn throttle(&mut self, index: usize, write: bool) -> Option<SimResponse> {
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

    fn next_style(&mut self) -> RetryAfterStyle {
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

    fn import(&mut self, index: usize, body: &[u8]) -> SimResponse {
        self.count("graph.import");
        let items = match check_import_body(body) {
            Ok(items) => items,
            Err(why) => {
                self.stats.rejected_bodies += 1;
                return graph_error(400, "BadRequest", &why, &self.request_id());
            }
        };
        let now = self.clock.now();
        let mut out = Vec::new();
        self.stats.imported_items += items.len() as u64;
        let mut hashes_here: std::collections::HashSet<u64> = std::collections::HashSet::new();
        for mut item in items {
            let id = self.uuid();
            let serial = item["serialNumber"].as_str().unwrap_or("").to_owned();
            // The hash is judged here and never read again (the service
            // answers it as null): not kept, so a big run stays small.
            let hash = item
                .as_object_mut()
                .and_then(|o| o.remove("hardwareIdentifier"))
                .unwrap_or_default();
            let hash = hash.as_str().unwrap_or("");
            let mut planned = self.tenants[index]
                .spec
                .outcomes
                .get(&serial)
                .map_or(Planned::Complete, |s| Planned::parse(s));
            if planned == Planned::Complete && !plausible_hash(hash) {
                planned = Planned::InvalidHash;
            }
            // The real service never registers a device twice: a serial the
            // tenant holds is answered 806, and a hash given twice in one
            // upload is ZtdDeviceDuplicated for the second.
            let registered = self.tenants[index]
                .registered
                .iter()
                .any(|r| r["serialNumber"] == serial.as_str());
            if planned == Planned::Complete && registered {
                planned = Planned::AlreadyAssigned;
            }
            if !hashes_here.insert(hash_key(hash)) {
                planned = Planned::Duplicated;
            }
            let staged = Staged {
                id: id.clone(),
                item,
                serial,
                created: now,
                finished: false,
                planned,
                registered: false,
            };
            out.push(self.staged_json(&staged, now, true));
            self.tenants[index].staged.insert(id, staged);
        }
        let mut r = SimResponse::json(200, &json!({ "value": out }));
        r.headers.push(("request-id".into(), self.request_id()));
        r
    }

    fn get_staged(&mut self, index: usize, id: &str) -> SimResponse {
        self.count("graph.get-imported");
        self.settle(index);
        let now = self.clock.now();
        match self.tenants[index].staged.get(id) {
            Some(s) => SimResponse::json(200, &self.staged_json(s, now, false)),
            None => graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id()),
        }
    }

    fn delete_staged(&mut self, index: usize, id: &str) -> SimResponse {
        self.count("graph.delete-imported");
        match self.tenants[index].staged.remove(id) {
            Some(_) => SimResponse::empty(204),
            None => graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id()),
        }
    }

    fn list_staged(&mut self, index: usize, req: &SimRequest) -> SimResponse {
        self.count("graph.list-imported");
        self.settle(index);
        let now = self.clock.now();
        let all: Vec<Value> = self.tenants[index]
            .staged
            .values()
            .map(|s| self.staged_json(s, now, false))
            .collect();
        self.page(&req.path, req.query.as_deref(), all)
    }

    fn list_registered(&mut self, index: usize, req: &SimRequest) -> SimResponse {
        self.count("graph.list-registered");
        if req
            .query
            .as_deref()
            .is_some_and(|q| q.contains("serialNumber%20eq") || q.contains("serialNumber eq"))
        {
            return graph_error(400, "BadRequest", "Invalid filter clause", &self.request_id());
        }
        self.settle(index);
        let all = self.tenants[index].registered.clone();
        self.page(&req.path, req.query.as_deref(), all)
    }

    fn get_registered(&mut self, index: usize, id: &str) -> SimResponse {
        self.count("graph.get-registered");
        self.settle(index);
        match self.tenants[index].registered.iter().find(|r| r["id"] == id) {
            Some(r) => SimResponse::json(200, &r.clone()),
            None => graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id()),
        }
    }

    /// `updateDeviceProperties`: only the documented members, as strings.
    fn update_device_properties(&mut self, index: usize, id: &str, body: &[u8]) -> SimResponse {
        self.count("graph.update-device-properties");
        const KNOWN: &[&str] = &[
            "groupTag",
            "userPrincipalName",
            "addressableUserName",
            "displayName",
        ];
        let parsed: Option<serde_json::Map<String, Value>> = serde_json::from_slice(body).ok();
        let Some(members) = parsed.filter(|m| {
            m.iter()
                .all(|(k, v)| KNOWN.contains(&k.as_str()) && (v.is_string() || v.is_null()))
        }) else {
            self.stats.rejected_bodies += 1;
            return graph_error(
                400,
                "BadRequest",
                "The request body is not valid for 'updateDeviceProperties'.",
                &self.request_id(),
            );
        };
        let Some(device) = self.tenants[index].registered.iter_mut().find(|r| r["id"] == id) else {
            return graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id());
        };
        for (k, v) in members {
            device[k.as_str()] = v;
        }
        SimResponse::empty(204)
    }

    /// `deleteDevices`: each listed serial is deregistered
    /// (`deletionState: accepted`); an unknown one is `failed`.
    fn delete_devices(&mut self, index: usize, body: &[u8]) -> SimResponse {
        self.count("graph.delete-devices");
        let serials: Vec<String> = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| serde_json::from_value(v["serialNumbers"].clone()).ok())
            .unwrap_or_default();
        if serials.is_empty() {
            self.stats.rejected_bodies += 1;
            return graph_error(
                400,
                "BadRequest",
                "serialNumbers is required.",
                &self.request_id(),
            );
        }
        let tenant = &mut self.tenants[index];
        let mut out = Vec::new();
        for serial in serials {
            let found = tenant
                .registered
                .iter()
                .position(|r| r["serialNumber"] == serial.as_str());
            let (state, message, id) = match found {
                Some(pos) => {
                    let removed = tenant.registered.remove(pos);
                    ("accepted", "", removed["id"].clone())
                }
                None => ("failed", "The device was not found.", Value::Null),
            };
            out.push(json!({
                "@odata.type": "microsoft.graph.deletedWindowsAutopilotDeviceState",
                "serialNumber": serial,
                "deviceRegistrationId": id,
                "deletionState": state,
                "errorMessage": message
            }));
        }
        SimResponse::json(200, &json!({ "value": out }))
    }

    /// Autopilot sync: at most once per 10 minutes per tenant.
    fn sync(&mut self, index: usize) -> SimResponse {
        self.count("graph.sync");
        let now = self.clock.now();
        let tenant = &mut self.tenants[index];
        if tenant
            .last_sync
            .is_some_and(|t| now < t + Duration::from_secs(600))
        {
            return graph_error(429, "TooManyRequests", "Too many requests", &self.request_id());
        }
        tenant.last_sync = Some(now);
        SimResponse::empty(204)
    }

    /// The authority's public OpenID configuration: the tenant id is in
    /// the issuer.
    fn openid_configuration(&mut self, name: &str) -> SimResponse {
        let Some(index) = self.find_tenant(name) else {
            return fixture_error(
                400,
                include_str!("../../wiremock-fixtures/token/no-such-tenant.json"),
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

    fn list_relationships(&mut self, index: usize, req: &SimRequest) -> SimResponse {
        self.count("graph.list-gdap");
        let now = self.clock.wall();
        let spec = &self.tenants[index].spec;
        let all: Vec<Value> = spec
            .relationships
            .iter()
            .enumerate()
            .map(|(n, r)| relationship_json(&spec.id, n, r, now))
            .collect();
        self.page(&req.path, req.query.as_deref(), all)
    }

    /// Devices whose verdict has come and that succeed join the registered
    /// list (and 806s stand for a device that was there all along).
    fn settle(&mut self, index: usize) {
        self.settle_jobs();
        let now = self.clock.now();
        let wall = self.clock.wall();
        let delay = self.config.import_delay;
        let tenant = &mut self.tenants[index];
        let mut joining: Vec<Value> = Vec::new();
        let mut twice = 0;
        for s in tenant.staged.values_mut() {
            let done = s.finished || now >= s.created + delay;
            if done && !s.registered && matches!(s.planned, Planned::Complete | Planned::AlreadyAssigned) {
                s.registered = true;
                // Two staged records of one serial settling together
                // register it once, as the real service does.
                let known = |r: &Value| r["serialNumber"] == s.serial.as_str();
                if !tenant.registered.iter().any(known) && !joining.iter().any(known) {
                    joining.push(s.item.clone());
                } else if s.planned == Planned::Complete {
                    // Sent twice and settling together: the second is an
                    // 806, as the real service answers it.
                    twice += 1;
                    s.planned = Planned::AlreadyAssigned;
                }
            }
        }
        for item in joining {
            let n = tenant.registered.len();
            let spec = RegisteredSpec {
                serial_number: item["serialNumber"].as_str().unwrap_or("").to_owned(),
                manufacturer: None,
                model: None,
                group_tag: item["groupTag"].as_str().map(str::to_owned),
                enrollment_state: not_contacted(),
                last_contact_days_ago: None,
            };
            tenant
                .registered
                .push(registered_json(&tenant.spec.id, n, &spec, wall));
        }
        self.stats.registered_twice += twice;
    }

    fn staged_json(&self, s: &Staged, now: Duration, first: bool) -> Value {
        let done = s.finished || now >= s.created + self.config.import_delay;
        let (status, code, name) = match (s.planned, done && !first) {
            (_, false) | (Planned::Stuck, _) => ("unknown", 0, ""),
            (Planned::Complete, true) => ("complete", 0, "None"),
            (Planned::AlreadyAssigned, true) => ("error", 806, "ZtdDeviceAlreadyAssigned"),
            (Planned::OtherTenant | Planned::UnknownThenOtherTenant, true) => {
                ("error", 808, "ZtdDeviceAssignedToOtherTenant")
            }
            (Planned::InvalidHash, true) => ("error", 802, "InvalidZtdHardwareHash"),
            (Planned::Transient, true) => ("error", 640, "StorageError"),
            (Planned::Duplicated, true) => ("error", 0, "ZtdDeviceDuplicated"),
        };
        let status = if s.planned == Planned::Stuck && done {
            "pending"
        } else {
            status
        };
        json!({
            "@odata.type": "#microsoft.graph.importedWindowsAutopilotDeviceIdentity",
            "id": s.id,
            "groupTag": s.item.get("groupTag").cloned().unwrap_or(Value::Null),
            "serialNumber": s.serial,
            "productKey": s.item.get("productKey").cloned().unwrap_or(Value::String(String::new())),
            "importId": s.item.get("importId").cloned().unwrap_or(Value::Null),
            "hardwareIdentifier": null,
            "assignedUserPrincipalName": s.item.get("assignedUserPrincipalName").cloned().unwrap_or(Value::Null),
            "state": {
                "@odata.type": "microsoft.graph.importedWindowsAutopilotDeviceIdentityState",
                "deviceImportStatus": status,
                "deviceRegistrationId": if status == "complete" { Value::String(s.id.clone()) } else { Value::Null },
                "deviceErrorCode": code,
                "deviceErrorName": name
            }
        })
    }

    fn page(&self, path: &str, query: Option<&str>, all: Vec<Value>) -> SimResponse {
        let skip: usize = query
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("$skiptoken=")))
            .and_then(|v| v.trim_start_matches("apctl-sim-").parse().ok())
            .unwrap_or(0);
        let size = self.config.page_size.max(1);
        let page: Vec<Value> = all.iter().skip(skip).take(size).cloned().collect();
        let mut body =
            json!({ "@odata.context": format!("{}/v1.0/$metadata#collection", self.base), "value": page });
        if skip + size < all.len() {
            // Like Graph's own links: a `$skiptoken` that breaks if re-encoded.
            body["@odata.nextLink"] = json!(format!(
                "{}{}?$skiptoken=apctl-sim-{}",
                self.base,
                path,
                skip + size
            ));
        }
        SimResponse::json(200, &body)
    }

    fn find_tenant(&self, name: &str) -> Option<usize> {
        self.tenants.iter().position(|t| {
            t.spec.id.eq_ignore_ascii_case(name)
                || t.spec.domains.iter().any(|d| d.eq_ignore_ascii_case(name))
        })
    }

    fn count(&mut self, kind: &str) {
        *self.stats.requests.entry(kind.to_owned()).or_default() += 1;
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64: small, fast, and the same sequence for the same seed.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next_random() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn uuid(&mut self) -> String {
        let a = self.next_random();
        let b = self.next_random();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    fn request_id(&mut self) -> String {
        self.uuid()
    }
}

/// A sliding-window budget: records the request and returns `None` while
/// within the limits, else how long until the oldest counted request
/// leaves the window.
fn over_budget(
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

/// A GDAP relationship's JSON as Graph lists it.
fn relationship_json(partner: &str, n: usize, r: &RelationshipSpec, now: jiff::Timestamp) -> Value {
    let end = r
        .end_in_days
        .map(|d| (now + jiff::SignedDuration::from_hours(24 * d)).to_string());
    let kind = if r.reseller {
        "#microsoft.graph.resellerDelegatedAdminRelationship"
    } else {
        "#microsoft.graph.delegatedAdminRelationship"
    };
    let roles: Vec<Value> = r.roles.iter().map(|id| json!({"roleDefinitionId": id})).collect();
    json!({
        "@odata.type": kind,
        "id": format!("{n:08x}-0000-4000-8000-{n:012x}-{partner}"),
        "displayName": r.display_name,
        "duration": "P730D",
        "customer": {"tenantId": r.customer_tenant_id, "displayName": r.customer_name},
        "accessDetails": {"unifiedRoles": roles},
        "status": r.status,
        "autoExtendDuration": r.auto_extend,
        "createdDateTime": "2025-01-10T11:24:42.3148266Z",
        "lastModifiedDateTime": "2025-01-10T11:26:44.9941884Z",
        "activatedDateTime": if end.is_some() { json!("2025-01-10T11:26:44.9941884Z") } else { Value::Null },
        "endDateTime": end
    })
}

/// A registered device's JSON as Graph lists it.
fn registered_json(tenant: &str, n: usize, r: &RegisteredSpec, now: jiff::Timestamp) -> Value {
    let last = match r.last_contact_days_ago {
        Some(days) => (now - jiff::SignedDuration::from_hours(24 * days)).to_string(),
        None => "0001-01-01T00:00:00Z".to_owned(),
    };
    json!({
        "@odata.type": "#microsoft.graph.windowsAutopilotDeviceIdentity",
        "id": format!("{}-{:06}", &tenant[..8], n),
        "groupTag": r.group_tag.clone().unwrap_or_default(),
        "purchaseOrderIdentifier": "",
        "serialNumber": r.serial_number,
        "productKey": "",
        "manufacturer": r.manufacturer.clone().unwrap_or_default(),
        "model": r.model.clone().unwrap_or_default(),
        "enrollmentState": r.enrollment_state,
        "lastContactedDateTime": last,
        "addressableUserName": "",
        "userPrincipalName": "",
        "displayName": ""
    })
}

/// The import body the real service takes: one member holding an array of
/// objects whose properties all exist on `importedWindowsAutopilotDeviceIdentity`
/// (graph-schema-excerpt), with the right types.
pub fn check_import_body(body: &[u8]) -> Result<Vec<Value>, String> {
    const KNOWN: &[&str] = &[
        "@odata.type",
        "id",
        "groupTag",
        "serialNumber",
        "productKey",
        "importId",
        "hardwareIdentifier",
        "state",
        "assignedUserPrincipalName",
    ];
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("The request body is not valid JSON: {e}"))?;
    let Some(obj) = v.as_object() else {
        return Err("The request body must be a JSON object.".into());
    };
    if let Some(extra) = obj
        .keys()
        .find(|k| *k != "importedWindowsAutopilotDeviceIdentities")
    {
        return Err(format!(
            "The parameter '{extra}' in the request payload is not a valid parameter for the operation 'import'."
        ));
    }
    let Some(items) = obj
        .get("importedWindowsAutopilotDeviceIdentities")
        .and_then(Value::as_array)
    else {
        return Err(
            "The parameter 'importedWindowsAutopilotDeviceIdentities' is missing or not an array.".into(),
        );
    };
    for item in items {
        let Some(o) = item.as_object() else {
            return Err("Each imported identity must be an object.".into());
        };
        for (k, val) in o {
            if !KNOWN.contains(&k.as_str()) {
                return Err(format!(
                    "The property '{k}' does not exist on type 'microsoft.graph.importedWindowsAutopilotDeviceIdentity'. Make sure to only use property names that are defined by the type."
                ));
            }
            let ok = if k == "state" {
                val.is_object() || val.is_null()
            } else {
                val.is_string() || val.is_null()
            };
            if !ok {
                return Err(format!(
                    "Cannot convert the literal '{val}' to the expected type 'Edm.String' for '{k}'."
                ));
            }
        }
        for required in ["serialNumber", "hardwareIdentifier"] {
            if o.get(required).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(format!("The property '{required}' is required."));
            }
        }
    }
    Ok(items.clone())
}

fn plausible_hash(hash: &str) -> bool {
    crate::input::csv::checks::check_hash(hash).is_ok()
}

fn graph_error(status: u16, code: &str, message: &str, request_id: &str) -> SimResponse {
    let body = json!({"error": {"code": code, "message": message, "innerError": {"date": "2026-11-26T12:00:00", "request-id": request_id, "client-request-id": request_id}}});
    let mut r = SimResponse::json(status, &body);
    r.headers.push(("request-id".into(), request_id.to_owned()));
    r
}

fn not_found(path: &str) -> SimResponse {
    graph_error(
        400,
        "BadRequest",
        &format!(
            "Resource not found for the segment '{}'.",
            path.rsplit('/').next().unwrap_or("")
        ),
        "00000000-0000-0000-0000-000000000404",
    )
}

fn fixture_error(status: u16, fixture: &str, placeholder: &str, value: &str) -> SimResponse {
    let safe: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    SimResponse {
        status,
        body: fixture.replace(placeholder, &safe).into_bytes(),
        headers: Vec::new(),
        delay: Duration::ZERO,
    }
}

fn form_urlencoded(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A key for a hash within one upload (the hash itself is not kept).
fn hash_key(hash: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    hash.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The property names of `importedWindowsAutopilotDeviceIdentity` in the
    /// CSDL excerpt (plus `id` from `graph.entity`).
    fn schema_properties() -> Vec<String> {
        let p = format!(
            "{}/testdata/real-world/graph-schema-excerpt.xml",
            env!("CARGO_MANIFEST_DIR")
        );
        let xml = std::fs::read_to_string(p).unwrap();
        let start = xml
            .find(r#"<EntityType Name="importedWindowsAutopilotDeviceIdentity" "#)
            .unwrap();
        let end = start + xml[start..].find("</EntityType>").unwrap();
        let mut names: Vec<String> = xml[start..end]
            .split(r#"<Property Name=""#)
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].to_owned())
            .collect();
        names.push("id".into());
        names
    }

    #[test]
    fn the_simulator_takes_exactly_the_schema_excerpts_properties() {
        let props = schema_properties();
        assert_eq!(props.len(), 8, "{props:?}");
        let mut item = serde_json::Map::new();
        for p in &props {
            let value = if p == "state" {
                json!({"deviceImportStatus": "unknown"})
            } else {
                json!("QUJD")
            };
            item.insert(p.clone(), value);
        }
        let body = serde_json::to_vec(&json!({"importedWindowsAutopilotDeviceIdentities": [item]})).unwrap();
        assert!(check_import_body(&body).is_ok(), "every schema property is taken");
        for extra in [
            "manufacturer",
            "model",
            "purchaseOrderIdentifier",
            "enrollmentState",
        ] {
            let mut bad = item.clone();
            bad.insert(extra.into(), json!("x"));
            let body =
                serde_json::to_vec(&json!({"importedWindowsAutopilotDeviceIdentities": [bad]})).unwrap();
            assert!(
                check_import_body(&body).is_err(),
                "{extra} is not a schema property"
            );
        }
    }

    #[test]
    fn the_doc_import_body_validates_and_unknown_fields_do_not() {
        let p = format!(
            "{}/testdata/real-world/graph-examples/importedWindowsAutopilotDeviceIdentity-import.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let body = serde_json::to_vec(&doc["request"]["body"]).unwrap();
        assert_eq!(check_import_body(&body).unwrap().len(), 1);
        let bad = br#"{"importedWindowsAutopilotDeviceIdentities":[{"serialNumber":"S","hardwareIdentifier":"QQ==","manufacturer":"x"}]}"#;
        assert!(
            check_import_body(bad)
                .unwrap_err()
                .contains("'manufacturer' does not exist")
        );
        let wrong_type = br#"{"importedWindowsAutopilotDeviceIdentities":[{"serialNumber":5,"hardwareIdentifier":"QQ=="}]}"#;
        assert!(check_import_body(wrong_type).unwrap_err().contains("Edm.String"));
        let missing = br#"{"importedWindowsAutopilotDeviceIdentities":[{"serialNumber":"S"}]}"#;
        assert!(
            check_import_body(missing)
                .unwrap_err()
                .contains("hardwareIdentifier")
        );
    }
}
