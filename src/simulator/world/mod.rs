//! The simulated services' state and rules, as plain functions of a
//! request and the clock: Entra's token endpoint, Graph's imported and
//! registered Autopilot devices, per-tenant throttling with `Retry-After`
//! in the forms the real service uses, and injected faults. Deterministic
//! for a seed. [`super`] puts it behind a wiremock server.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::SharedClock;

mod entra;
mod gdap;
mod graph;
mod identities;
mod partner_center;
mod spec;
mod throttling;

pub use graph::check_import_body;
use graph::registered_json;
pub use partner_center::CatalogueSpec;
pub use spec::*;
use throttling::over_budget;

/// A request as the world sees it.
#[derive(Debug)]
pub struct SimRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    /// `MS-Contract-Version`, which Partner Center's headers page requires.
    pub contract_version: Option<String>,
    /// `MS-ContinuationToken`: the next page of a Partner Center list.
    pub continuation: Option<String>,
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
    /// The registered device this record made (`deviceRegistrationId`).
    device_id: Option<String>,
}

struct Tenant {
    spec: TenantSpec,
    registered: Vec<Value>,
    staged: BTreeMap<String, Staged>,
    sent: VecDeque<(Duration, bool)>,
    blocked_until: Option<Duration>,
    last_sync: Option<Duration>,
    /// Property updates answered 204 that do not show yet: when they show,
    /// the device id and the members.
    unseen: Vec<(Duration, String, serde_json::Map<String, Value>)>,
    /// When a deployment profile is assigned to each device this run of
    /// the simulator registered (devices of the world file have theirs).
    profile_at: HashMap<String, Duration>,
    /// Windows corporate identifiers (`importedDeviceIdentities`).
    identities: Vec<Value>,
}

impl Tenant {
    /// A device just registered gets its profile after the tenant's delay
    /// (or the one `config` sets for every tenant).
    fn registered_now(&mut self, id: &str, now: Duration, config: &SimConfig) {
        let delay = config
            .profile_delay
            .unwrap_or(Duration::from_secs(self.spec.profile_delay_seconds));
        let at = now + delay;
        self.profile_at.insert(id.to_owned(), at);
    }
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
    /// Federated assertions already exchanged (see `entra`).
    used_assertions: std::collections::HashSet<String>,
    /// Graph tokens a partner admin's refresh token was exchanged for.
    delegated: std::collections::HashSet<String>,
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
                let identities = t
                    .corporate_identifiers
                    .iter()
                    .enumerate()
                    .map(|(n, c)| identities::seeded(&t.id, n, c))
                    .collect();
                Tenant {
                    spec: t,
                    registered,
                    staged: BTreeMap::new(),
                    sent: VecDeque::new(),
                    blocked_until: None,
                    last_sync: None,
                    unseen: Vec::new(),
                    profile_at: HashMap::new(),
                    identities,
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
            used_assertions: std::collections::HashSet::new(),
            delegated: std::collections::HashSet::new(),
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
        let took_effect = resp.status < 300;
        if graph_write
            && took_effect
            && self.config.fault_after_write_rate > 0.0
            && self.chance(self.config.fault_after_write_rate)
        {
            self.count("fault-503-after-write");
            let delay = resp.delay;
            resp = graph_error(
                503,
                "ServiceUnavailable",
                "The service is unavailable.",
                &self.request_id(),
            );
            resp.delay = delay;
        }
        resp
    }

    fn route(&mut self, req: &SimRequest) -> SimResponse {
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["_apctl", ..] => self.control(req, &segments),
            [tenant, "oauth2", "v2.0", "devicecode"] => {
                self.count("devicecode");
                self.device_code(tenant)
            }
            [tenant, "oauth2", "v2.0", "token"] => {
                self.count("token");
                self.token(tenant, &req.body)
            }
            [tenant, "v2.0", ".well-known", "openid-configuration"] => {
                self.count("openid-configuration");
                self.openid_configuration(tenant)
            }
            ["v1", rest @ ..] => self.partner_center(req, rest),
            ["v1.0" | "beta", rest @ ..] => self.graph(req, rest),
            _ => not_found(&req.path),
        }
    }

    /// The simulator's own endpoints, for tests.
    fn control(&mut self, req: &SimRequest, segments: &[&str]) -> SimResponse {
        if segments == ["_apctl", "finish-imports"] && req.method == "POST" {
            // Every staged record has its verdict from now on, however
            // long `--import-delay` is.
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
        not_found(&req.path)
    }

    /// A Graph request: bearer, throttling and faults first, then its
    /// endpoint.
    fn graph(&mut self, req: &SimRequest, rest: &[&str]) -> SimResponse {
        let tenant = match self.authorise(req.authorization.as_deref()) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let write = req.method != "GET";
        if let Some(r) = self.throttle(tenant, write) {
            return r;
        }
        if rest.first() == Some(&"deviceManagement")
            && self.lacks_intune_role(req.authorization.as_deref(), tenant)
        {
            return self.forbidden();
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
                self.get_registered(tenant, id, req.path.starts_with("/beta/"))
            }
            ("DELETE", ["deviceManagement", "windowsAutopilotDeviceIdentities", id]) => {
                self.delete_registered(tenant, id)
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
            ("GET", ["deviceManagement", "windowsAutopilotSettings"]) => self.sync_settings(tenant),
            ("GET", ["organization"]) => self.organization(tenant),
            ("GET", ["contracts"]) => self.contracts(tenant, req),
            ("GET", ["tenantRelationships", ..]) => self.gdap(tenant, rest, req),
            (_, ["deviceManagement", "importedDeviceIdentities", ..]) if req.path.starts_with("/beta/") => {
                self.identities(tenant, rest, req)
            }
            _ => not_found(&req.path),
        }
    }

    /// The partner's GDAP relationships and their access assignments.
    fn gdap(&mut self, tenant: usize, rest: &[&str], req: &SimRequest) -> SimResponse {
        match rest {
            ["tenantRelationships", "delegatedAdminRelationships"] => self.list_relationships(tenant, req),
            [
                "tenantRelationships",
                "delegatedAdminRelationships",
                id,
                "accessAssignments",
            ] => self.list_access_assignments(tenant, id, req),
            _ => not_found(&req.path),
        }
    }

    /// `GET /organization`: the tenant's display name.
    fn organization(&mut self, tenant: usize) -> SimResponse {
        self.count("graph.organization");
        let spec = &self.tenants[tenant].spec;
        SimResponse::json(
            200,
            &json!({ "value": [{ "id": spec.id, "displayName": spec.display_name }] }),
        )
    }

    /// Intune's answer to a user without an Intune role in the tenant.
    fn forbidden(&mut self) -> SimResponse {
        self.count("graph.forbidden");
        graph_error(
            403,
            "Forbidden",
            "Application is not authorized to perform this operation: the signed-in user has no Intune role in this tenant. Application must have one of the following scopes: DeviceManagementServiceConfig.ReadWrite.All",
            &self.request_id(),
        )
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
            // Like Graph's own links: a `$skiptoken` that breaks if
            // re-encoded, and the filter of the first request kept.
            let filter = query
                .and_then(|q| {
                    q.split('&')
                        .find(|kv| kv.starts_with("$filter=") || kv.starts_with("%24filter="))
                })
                .map(|f| format!("&{f}"))
                .unwrap_or_default();
            body["@odata.nextLink"] = json!(format!(
                "{}{}?$skiptoken=apctl-sim-{}{filter}",
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
                .0
                .contains("'manufacturer' does not exist")
        );
        let wrong_type = br#"{"importedWindowsAutopilotDeviceIdentities":[{"serialNumber":5,"hardwareIdentifier":"QQ=="}]}"#;
        assert!(
            check_import_body(wrong_type)
                .unwrap_err()
                .0
                .contains("Edm.String")
        );
        let missing = br#"{"importedWindowsAutopilotDeviceIdentities":[{"serialNumber":"S"}]}"#;
        assert!(
            check_import_body(missing)
                .unwrap_err()
                .0
                .contains("hardwareIdentifier")
        );
    }
}
