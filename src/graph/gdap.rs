//! The partner's GDAP relationships with its customers (SPEC §4):
//! `GET /v1.0/tenantRelationships/delegatedAdminRelationships`, paged at
//! most 300 at a time, read with the partner tenant's token. Unknown status
//! values are kept, reseller relationships read like the others.

use jiff::{SignedDuration, Timestamp};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::graph::Graph;
pub use crate::input::tenant::TenantRef;
use crate::net::endpoint;
use crate::transport::CallError;

/// Intune Administrator's role definition id.
pub const INTUNE_ADMINISTRATOR: &str = "3a2c62db-5318-420d-8d74-23affee5d9d5";
/// Cloud Device Administrator's role definition id.
pub const CLOUD_DEVICE_ADMINISTRATOR: &str = "7698a772-787b-4ac8-901f-60d6b08affd2";
/// Global Reader's role definition id.
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
/// How a relationship without a customer (an invitation not yet accepted)
/// is shown.
pub const NO_CUSTOMER: &str = "(no customer yet)";
/// Relationships ending sooner than this are flagged.
pub const EXPIRY_WARNING: SignedDuration = SignedDuration::from_hours(30 * 24);
/// What reading the partner's GDAP relationships takes, for a refusal:
/// the permission; for an app-only token, the Partner Customer Delegated
/// Administration service principal in the partner tenant (Partner Center
/// developer docs: `New-MgServicePrincipal -AppId
/// 2832473f-ec63-45fb-976f-5d45a7d4bb91`); and the global cloud, the only
/// one that serves this API.
pub const LIST_HINT: &str = "reading GDAP relationships needs DelegatedAdminRelationship.Read.All in the partner tenant; with an app-only token, also the Partner Customer Delegated Administration service principal there (`New-MgServicePrincipal -AppId 2832473f-ec63-45fb-976f-5d45a7d4bb91`); the GDAP API is served in the global cloud only (elsewhere, give customers by tenant id or domain)";

/// Largest page the service gives.
pub const PAGE: u32 = 300;

/// One relationship as Graph returns it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Relationship {
    #[serde(deserialize_with = "crate::sanitize::de::text")]
    pub id: String,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub display_name: Option<String>,
    /// Empty (the service says `null`) for an invitation created without a
    /// customer: pending, no customer yet.
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub customer: Customer,
    /// One of the 11 documented values, or a newer one, kept as given.
    #[serde(deserialize_with = "crate::sanitize::de::text_or_null")]
    pub status: String,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub end_date_time: Option<String>,
    #[serde(deserialize_with = "crate::sanitize::de::opt_text")]
    pub auto_extend_duration: Option<String>,
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub access_details: AccessDetails,
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
}

/// The customer side of a relationship.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Customer {
    #[serde(deserialize_with = "crate::sanitize::de::text_or_null")]
    pub tenant_id: String,
    #[serde(deserialize_with = "crate::sanitize::de::text_or_null")]
    pub display_name: String,
}

/// The roles the relationship grants.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessDetails {
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub unified_roles: Vec<Role>,
}

/// One granted role.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Role {
    #[serde(deserialize_with = "crate::sanitize::de::text")]
    pub role_definition_id: String,
}

/// A relationship as apctl reports it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub customer: String,
    pub tenant_id: String,
    pub relationship: String,
    pub status: String,
    pub end_date_time: Option<String>,
    pub auto_extend: bool,
    pub intune_administrator: bool,
    /// Days left, when the relationship is active and ends within 30 days.
    pub expires_in_days: Option<i64>,
    pub reseller: bool,
}

impl Relationship {
    /// True when Intune Administrator is among the granted roles.
    /// True while it gives access: `active`, or `expiring` (still active).
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "active" | "expiring")
    }

    /// True once it has ended or is ending: it gives no access, and only a
    /// new relationship does.
    pub fn has_ended(&self) -> bool {
        matches!(
            self.status.as_str(),
            "expired" | "terminated" | "terminating" | "terminationRequested"
        )
    }

    pub fn grants_intune_administrator(&self) -> bool {
        self.access_details
            .unified_roles
            .iter()
            .any(|r| r.role_definition_id.eq_ignore_ascii_case(INTUNE_ADMINISTRATOR))
    }

    /// True when the relationship renews itself: an `autoExtendDuration`
    /// that is a duration longer than zero (`P180D`); `PT0S`, `P0D` or any
    /// other spelling of zero is no extension.
    pub fn auto_extends(&self) -> bool {
        self.auto_extend_duration.as_deref().is_some_and(|d| {
            let d = d.trim();
            d.starts_with(['P', 'p']) && d.bytes().any(|b| b.is_ascii_digit() && b != b'0')
        })
    }

    /// The summary apctl prints, judged at `now`.
    pub fn summary(&self, now: Timestamp) -> Summary {
        let end: Option<Timestamp> = self.end_date_time.as_deref().and_then(|t| t.parse().ok());
        let left = end.map(|e| e.duration_since(now));
        let active = self.is_active();
        let expires_in_days = left
            .filter(|l| active && *l < EXPIRY_WARNING)
            .map(|l| (l.as_secs() + 43_200).div_euclid(86_400).max(0));
        Summary {
            customer: if self.customer.tenant_id.is_empty() && self.customer.display_name.is_empty() {
                NO_CUSTOMER.to_owned()
            } else {
                self.customer.display_name.clone()
            },
            tenant_id: self.customer.tenant_id.clone(),
            relationship: self.display_name.clone().unwrap_or_default(),
            status: self.status.clone(),
            end_date_time: self.end_date_time.clone(),
            auto_extend: self.auto_extends(),
            intune_administrator: self.grants_intune_administrator(),
            expires_in_days,
            reseller: self
                .odata_type
                .as_deref()
                .is_some_and(|t| t.contains("resellerDelegatedAdminRelationship")),
        }
    }
}

sentence_error! {
    /// Why a customer's tenant id could not be found.
    DomainError
}

/// The tenant id of a verified domain, from the authority's public OpenID
/// configuration (`{authority}/{domain}/v2.0/.well-known/openid-configuration`,
/// no token needed): Partner Center names customers by tenant id only.
pub async fn tenant_id_of_domain(
    http: &reqwest::Client,
    authority: &Url,
    domain: &str,
) -> Result<String, DomainError> {
    #[derive(Deserialize)]
    struct Config {
        issuer: String,
    }
    let url = crate::net::endpoint::join(
        authority,
        &format!("/{domain}/v2.0/.well-known/openid-configuration"),
    );
    let response = http.get(url).send().await.map_err(|e| {
        DomainError(format!(
            "cannot reach the authority: {}",
            crate::net::without_url(&e)
        ))
    })?;
    if !response.status().is_success() {
        return Err(DomainError(format!(
            "the authority knows no tenant `{domain}` (HTTP {})",
            response.status().as_u16()
        )));
    }
    let config: Config = crate::net::read_json(response)
        .await
        .map_err(|_| DomainError::from("the authority's OpenID configuration has no issuer"))?;
    config
        .issuer
        .split('/')
        .find_map(|part| match TenantRef::parse(part) {
            TenantRef::Id(id) => Some(id),
            _ => None,
        })
        .ok_or_else(|| DomainError(format!("the issuer `{}` holds no tenant id", config.issuer)))
}

/// A customer's tenant id, as Partner Center and GDAP relationships name
/// customers: an id as it is, a verified domain looked up at the authority;
/// a display name is an error (resolve it first).
pub async fn customer_id(
    http: &reqwest::Client,
    authority: &Url,
    tenant: &str,
) -> Result<String, DomainError> {
    match TenantRef::parse(tenant) {
        TenantRef::Id(id) => Ok(id),
        TenantRef::Domain(domain) => tenant_id_of_domain(http, authority, &domain)
            .await
            .map_err(|why| DomainError(format!("no tenant id for `{domain}`: {why}"))),
        TenantRef::Name(name) => Err(DomainError(format!(
            "`{name}` is a customer name, not a tenant id or domain"
        ))),
    }
}

/// Why a display name named no single customer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "no GDAP relationship has a customer named `{name}`{}; `apctl tenants` lists every customer with its tenant id",
        if close.is_empty() { String::new() } else { format!(" (close: {})", close.join(", ")) }
    )]
    NotFound { name: String, close: Vec<String> },
    #[error("`{name}` names more than one customer: {}", candidates.join(", "))]
    Ambiguous { name: String, candidates: Vec<String> },
}

/// Resolves a display name (case-insensitive) to the customer's tenant id.
/// Relationships with the same customer count once.
pub fn resolve(name: &str, relationships: &[Relationship]) -> Result<String, ResolveError> {
    let mut found: Vec<(&str, &str)> = relationships
        .iter()
        .filter(|r| !r.customer.tenant_id.is_empty() && !r.customer.display_name.is_empty())
        .filter(|r| r.customer.display_name.eq_ignore_ascii_case(name.trim()))
        .map(|r| (r.customer.tenant_id.as_str(), r.customer.display_name.as_str()))
        .collect();
    found.sort();
    found.dedup_by_key(|(id, _)| *id);
    match found.as_slice() {
        [] => Err(ResolveError::NotFound {
            name: name.to_owned(),
            close: close_names(name, relationships),
        }),
        [(id, _)] => Ok((*id).to_owned()),
        many => Err(ResolveError::Ambiguous {
            name: name.to_owned(),
            candidates: many.iter().map(|(id, n)| format!("{n} ({id})")).collect(),
        }),
    }
}

/// Customers whose name holds the one given, or is held by it, or whose
/// name (or its first words) is a typo or two away (case aside): `Contoso`
/// and `Contosso` find `Contoso Ltd`.
fn close_names(name: &str, relationships: &[Relationship]) -> Vec<String> {
    let want = name.trim().to_lowercase();
    let mut close: Vec<String> = relationships
        .iter()
        .filter(|r| !r.customer.tenant_id.is_empty() && !r.customer.display_name.is_empty())
        .filter(|r| {
            let have = r.customer.display_name.to_lowercase();
            !want.is_empty() && (have.contains(&want) || want.contains(&have) || typo_away(&want, &have))
        })
        .map(|r| format!("`{}` ({})", r.customer.display_name, r.customer.tenant_id))
        .collect();
    close.sort();
    close.dedup();
    close.truncate(5);
    close
}

/// Whether `want` is at most one edit (two for nine letters or more) from
/// `have` or from its first words (`contosso` from `contoso ltd`).
fn typo_away(want: &str, have: &str) -> bool {
    let allowed = if want.chars().count() >= 9 { 2 } else { 1 };
    let words: Vec<&str> = have.split_whitespace().collect();
    (1..=words.len()).any(|n| edits(want, &words[..n].join(" ")) <= allowed)
}

/// Edit distance in characters, a swap of two neighbours counting as one
/// edit (`contsoo` is one from `contoso`, the commonest typing slip).
fn edits(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: edits from a[..i] to b[..j]; names are short, a table is fine.
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Lists every relationship, following `@odata.nextLink`.
pub async fn list(graph: &Graph<'_>) -> Result<Vec<Relationship>, CallError> {
    let path = format!("/v1.0/tenantRelationships/delegatedAdminRelationships?$top={PAGE}");
    let url: Url = endpoint::join(graph.root, &path);
    let mut all: Vec<Relationship> = graph.list_url(url, "graph.list-gdap").await?;
    // Names from the service are shown and matched: sanitised once here.
    for r in &mut all {
        r.customer.display_name = crate::sanitize::clean_line(&r.customer.display_name);
        r.customer.tenant_id = crate::sanitize::clean_line(&r.customer.tenant_id);
        if let Some(name) = &mut r.display_name {
            *name = crate::sanitize::clean_line(name);
        }
    }
    Ok(all)
}

/// A customer of the partner as Graph's `/contracts` lists it: its tenant,
/// default verified domain and name.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Contract {
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub customer_id: String,
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub default_domain_name: String,
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub display_name: String,
}

/// The partner's customers with their default domains (`GET /contracts`
/// in the partner's tenant), for suggestions when a domain is mistyped.
pub async fn contracts(graph: &Graph<'_>) -> Result<Vec<Contract>, CallError> {
    let url: Url = endpoint::join(graph.root, &format!("/v1.0/contracts?$top={PAGE}"));
    let mut all: Vec<Contract> = graph.list_url(url, "graph.list-contracts").await?;
    for c in &mut all {
        c.default_domain_name = crate::sanitize::clean_line(&c.default_domain_name);
        c.display_name = crate::sanitize::clean_line(&c.display_name);
    }
    Ok(all)
}

/// The customers' domains a mistyped one is close to (a typo or two in
/// its name part, case aside), with the customer's name.
pub fn close_domains(domain: &str, contracts: &[Contract]) -> Vec<String> {
    let want = domain.trim().to_lowercase();
    let first = |d: &str| d.split('.').next().unwrap_or(d).to_owned();
    let mut close: Vec<String> = contracts
        .iter()
        .filter(|c| !c.default_domain_name.is_empty())
        .filter(|c| {
            let have = c.default_domain_name.to_lowercase();
            have != want && (edits(&want, &have) <= 2 || edits(&first(&want), &first(&have)) <= 1)
        })
        .map(|c| format!("`{}` ({})", c.default_domain_name, c.display_name))
        .collect();
    close.sort();
    close.dedup();
    close.truncate(3);
    close
}

/// One access assignment of a relationship: the roles given to one
/// security group of the partner. A relationship's roles work for a user
/// only through an active assignment to a group the user is in.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessAssignment {
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub status: String,
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub access_container: AccessContainer,
    #[serde(deserialize_with = "crate::net::null_is_default")]
    pub access_details: AccessDetails,
}

/// The security group an assignment gives roles to.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessContainer {
    #[serde(deserialize_with = "crate::sanitize::de::text_or_null")]
    pub access_container_id: String,
}

impl AccessAssignment {
    /// Active, and giving Intune Administrator.
    pub fn gives_intune_administrator(&self) -> bool {
        self.status.eq_ignore_ascii_case("active")
            && self
                .access_details
                .unified_roles
                .iter()
                .any(|r| r.role_definition_id.eq_ignore_ascii_case(INTUNE_ADMINISTRATOR))
    }
}

/// A relationship's access assignments.
pub async fn access_assignments(
    graph: &Graph<'_>,
    relationship: &str,
) -> Result<Vec<AccessAssignment>, CallError> {
    let path = format!(
        "/v1.0/tenantRelationships/delegatedAdminRelationships/{}/accessAssignments",
        endpoint::segment(relationship)
    );
    graph
        .list_url(endpoint::join(graph.root, &path), "graph.list-gdap-assignments")
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_in_a_customer_name_find_it() {
        assert_eq!(edits("contosso", "contoso"), 1);
        assert_eq!(edits("", "abc"), 3);
        assert_eq!(edits("kitten", "sitting"), 3);
        assert_eq!(edits("contsoo", "contoso"), 1, "a swap is one slip");
        assert!(typo_away("contsoo", "contoso ltd"));
        assert!(typo_away("contosso", "contoso ltd"));
        assert!(typo_away("fabrikan", "fabrikam inc"));
        assert!(typo_away("tailspin toyz", "tailspin toys"));
        assert!(typo_away("wingtip tyos", "wingtip toys"));
        // Not every short name is close to every other.
        assert!(!typo_away("adatum", "contoso ltd"));
        assert!(!typo_away("wingtip", "tailspin toys"));
    }

    #[test]
    fn reads_the_documented_list_with_its_reseller_item() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/real-world/graph-examples/delegatedAdminRelationship-list.json"
        );
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let items: Vec<Relationship> =
            serde_json::from_value(doc["response"]["body"]["value"].clone()).unwrap();
        assert_eq!(items.len(), 3);
        let now: Timestamp = "2024-01-20T00:00:00Z".parse().unwrap();
        let contoso = items[0].summary(now);
        assert_eq!(
            (
                contoso.status.as_str(),
                contoso.auto_extend,
                contoso.intune_administrator
            ),
            ("active", true, false)
        );
        assert_eq!(contoso.expires_in_days, Some(21), "ends 2024-02-10: flagged");
        let sub = items[1].summary(now);
        assert!(sub.intune_administrator && !sub.auto_extend);
        assert_eq!(
            sub.expires_in_days, None,
            "terminated relationships are not flagged"
        );
        let fabrikam = items[2].summary(now);
        assert!(fabrikam.reseller);
        assert_eq!(fabrikam.end_date_time, None);
        assert_eq!(fabrikam.status, "approvalPending");
    }

    fn rel(name: &str, id: &str) -> Relationship {
        Relationship {
            customer: Customer {
                tenant_id: id.into(),
                display_name: name.into(),
            },
            ..Relationship::default()
        }
    }

    #[test]
    fn names_resolve_and_ambiguity_lists_the_candidates() {
        let rels = [
            rel("Contoso Ltd", "a"),
            rel("Contoso Ltd", "a"),
            rel("Fabrikam", "b"),
            rel("fabrikam", "c"),
        ];
        assert_eq!(
            resolve("contoso ltd", &rels),
            Ok("a".into()),
            "one customer, two relationships"
        );
        assert_eq!(
            resolve("Nobody", &rels),
            Err(ResolveError::NotFound {
                name: "Nobody".into(),
                close: vec![]
            })
        );
        let Err(not_found) = resolve("Contoso", &rels) else {
            panic!()
        };
        let text = not_found.to_string();
        assert!(
            text.contains("close: `Contoso Ltd` (a)") && text.contains("`apctl tenants`"),
            "the candidates and where to see them all: {text}"
        );
        let Err(ResolveError::Ambiguous { candidates, .. }) = resolve("Fabrikam", &rels) else {
            panic!()
        };
        assert_eq!(candidates, ["Fabrikam (b)", "fabrikam (c)"]);
    }

    #[test]
    fn a_zero_duration_in_any_spelling_is_no_extension() {
        let extends = |d: Option<&str>| {
            Relationship {
                auto_extend_duration: d.map(str::to_owned),
                ..Relationship::default()
            }
            .auto_extends()
        };
        for zero in [
            None,
            Some(""),
            Some("PT0S"),
            Some("P0D"),
            Some("P0DT0H0M0S"),
            Some("P0Y"),
        ] {
            assert!(!extends(zero), "{zero:?}");
        }
        for some in ["P180D", "PT1H", "P1Y"] {
            assert!(extends(Some(some)), "{some}");
        }
    }

    #[test]
    fn tenant_refs() {
        assert_eq!(
            TenantRef::parse("2F1C5E8A-8A53-4D4C-9A5E-0C1F7B3A9D01"),
            TenantRef::Id("2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01".into())
        );
        assert_eq!(
            TenantRef::parse("contoso.onmicrosoft.com"),
            TenantRef::Domain("contoso.onmicrosoft.com".into())
        );
        assert_eq!(
            TenantRef::parse("Contoso Ltd"),
            TenantRef::Name("Contoso Ltd".into())
        );
    }

    #[test]
    fn a_relationship_without_a_customer_reads_as_pending_and_names_nobody() {
        let r: Relationship = serde_json::from_str(
            r#"{"id":"x","displayName":null,"status":"approvalPending","customer":null,"accessDetails":{"unifiedRoles":null},"endDateTime":null}"#,
        )
        .unwrap();
        let s = r.summary(Timestamp::UNIX_EPOCH);
        assert_eq!(
            (s.customer.as_str(), s.status.as_str(), s.relationship.as_str()),
            (NO_CUSTOMER, "approvalPending", "")
        );
        let named: Relationship =
            serde_json::from_str(r#"{"id":"y","customer":{"tenantId":"t","displayName":null}}"#).unwrap();
        assert_eq!(named.customer.display_name, "");
        assert_eq!(
            resolve("", &[r, named]),
            Err(ResolveError::NotFound {
                name: String::new(),
                close: vec![]
            })
        );
    }

    #[test]
    fn unknown_status_values_are_kept() {
        let r: Relationship = serde_json::from_str(
            r#"{"id":"x","status":"unknownFutureValue","customer":{"tenantId":"t","displayName":"T"}}"#,
        )
        .unwrap();
        assert_eq!(r.status, "unknownFutureValue");
    }
}
