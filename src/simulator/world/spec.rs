//! What a simulated world is made of (the demo world's JSON and the
//! `apctl simulate` switches) and the counters it keeps.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::CatalogueSpec;

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
    /// Share of POSTs answered 503 *after* the write took effect, as a
    /// front end can answer when the service behind it did the work.
    pub fault_after_write_rate: f64,
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
    /// Echo the `importId` apctl sent on its staged records. Friendlier
    /// than the service: by default every staged record is answered with
    /// `importId` and `productKey` equal to the record's id, as the one
    /// captured real answer does
    /// (`testdata/real-world/errors/autopilot-import-state-unknown-observed.json`);
    /// the service is not documented to keep the `importId` it was sent.
    pub keep_import_id: bool,
    /// No Autopilot deployment profile targets any device: every device
    /// reads `deploymentProfileAssignmentStatus: notAssigned` (on `/beta`).
    pub no_profile: bool,
    /// Every tenant's time from registration to a profile, instead of its
    /// `profileDelaySeconds`: `Some(ZERO)` (friendlier than the service)
    /// assigns profiles at once, for tests whose simulator clock does not
    /// move with apctl's.
    pub profile_delay: Option<Duration>,
    /// Refuse Manufacturer+Model+Serial devices added to an existing batch
    /// (400), as the add-devices page's list of combinations reads.
    pub strict_batch_add: bool,
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
            fault_after_write_rate: 0.0,
            slow_delay: Duration::from_secs(2),
            page_size: 1000,
            token_lifetime: 3599,
            token_uses: None,
            batch_delay: Duration::from_secs(5),
            hold: None,
            keep_import_id: false,
            no_profile: false,
            profile_delay: None,
            strict_batch_add: false,
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
    /// Seconds before an `updateDeviceProperties` change shows on the
    /// device (0: at once). Users report changes that showed only minutes
    /// after their 204.
    #[serde(default)]
    pub property_delay_seconds: u64,
    /// Seconds from a device's registration until a deployment profile is
    /// assigned to it (0: at once), unless an Autopilot sync comes first:
    /// then a minute after the sync. By default ten minutes: Intune assigns
    /// profiles some minutes after registration, sooner after a sync
    /// (docs/microsoft-behaviour.md).
    #[serde(default = "profile_minutes")]
    pub profile_delay_seconds: u64,
    /// False: not a customer of the partner in Partner Center (an indirect
    /// reseller's customer, say): device batch calls answer 404.
    #[serde(default = "yes")]
    pub partner_center_customer: bool,
    /// Windows corporate identifiers the tenant holds at the start.
    #[serde(default)]
    pub corporate_identifiers: Vec<CorporateSpec>,
}

/// A Windows corporate identifier of the world file.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorporateSpec {
    /// `Manufacturer,Model,Serial`.
    pub identifier: String,
    /// `notContacted`, `enrolled`, `failed`, …
    #[serde(default = "not_contacted")]
    pub enrollment_state: String,
}

/// One GDAP relationship of the partner tenant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipSpec {
    /// `null` in the answer when absent.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Both absent: an invitation created without a customer (`"customer": null`).
    #[serde(default)]
    pub customer_tenant_id: Option<String>,
    #[serde(default)]
    pub customer_name: Option<String>,
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
    /// The roles are given to a security group of the partner by an
    /// active access assignment (what makes them work for a user). False:
    /// the relationship grants roles nobody holds, as a new relationship
    /// does until the partner assigns them.
    #[serde(default = "yes")]
    pub assigned: bool,
}

/// The default time from registration to a profile (`profileDelaySeconds`).
pub const PROFILE_DELAY_SECONDS: u64 = 600;

fn profile_minutes() -> u64 {
    PROFILE_DELAY_SECONDS
}

pub(super) fn no_extension() -> String {
    "PT0S".into()
}

pub(super) fn yes() -> bool {
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

pub(super) fn not_contacted() -> String {
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
    /// Windows corporate identifiers added, every tenant.
    pub corporate_identifiers_added: u64,
    /// Every scope tokens were asked for.
    pub token_scopes: std::collections::BTreeSet<String>,
    /// Request headers worth checking, by name: the values seen.
    pub headers: BTreeMap<String, std::collections::BTreeSet<String>>,
}
