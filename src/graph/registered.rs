//! Reads of registered Autopilot devices that grow with a run's input, not
//! with the tenant (SPEC §3.2, §3.5): a run of ten devices into a tenant of
//! 50,000 reads ten devices, not fifty pages.
//!
//! - A run's serials are found with `$filter=contains(serialNumber,'X')`,
//!   one read each, where `X` is the longest run of letters and digits in
//!   the serial (Graph answers 400 to `serialNumber eq` and to a `contains`
//!   with a hyphen); the answer is a superset, compared exactly here, so
//!   every device of a shared serial is kept. A tenant whose whole list is
//!   one page is read in that one request instead, and so is any tenant
//!   when the run has more serials than [`FILTER_MAX`] or a filter is
//!   refused.
//! - Devices the run knows the id of (the `deviceRegistrationId` of a
//!   `complete` record) are read by id while they are few.

use std::collections::HashSet;

use reqwest::{Method, Url};

use super::{AutopilotDevice, Graph, REGISTERED, REGISTERED_BETA, parse_entity, parse_page};
use crate::net::endpoint;
use crate::transport::CallError;

/// The most serials looked up one filtered read each; a run with more reads
/// the whole list (its input is large relative to any tenant it is worth
/// filtering).
pub const FILTER_MAX: usize = 25;

/// The most devices read one by id; more are read from the list.
pub const BY_ID_MAX: usize = 25;

/// The text a serial is looked for with: its longest run of ASCII letters
/// and digits (a hyphen in `contains` is refused; quotes would need
/// escaping). `None` when it has none.
pub fn search_term(serial: &str) -> Option<&str> {
    serial
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| !run.is_empty())
        .max_by_key(|run| run.len())
}

impl Graph<'_> {
    /// Every registered device whose serial is one of `serials` (exactly),
    /// read as the input's size asks (see the module's notes).
    pub async fn registered_of(&self, serials: &[String]) -> Result<Vec<AutopilotDevice>, CallError> {
        let wanted: HashSet<&str> = serials.iter().map(String::as_str).collect();
        let keep = |all: Vec<AutopilotDevice>| -> Vec<AutopilotDevice> {
            all.into_iter()
                .filter(|d| d.serial_number.as_deref().is_some_and(|s| wanted.contains(s)))
                .collect()
        };
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let terms: Option<HashSet<&str>> = wanted.iter().map(|s| search_term(s)).collect();
        let Some(terms) = terms.filter(|t| t.len() <= FILTER_MAX) else {
            return Ok(keep(self.list_registered().await?));
        };
        // One page is the whole of a small tenant.
        let first = endpoint::join(self.root, REGISTERED);
        let resp = self
            .client
            .send(
                self.tenant,
                self.gate,
                &self.request(Method::GET, first, "graph.list-registered"),
            )
            .await?;
        let page = parse_page::<AutopilotDevice>(&resp.body)
            .map_err(|e| super::bad_body("graph.list-registered", e))?;
        if page.next_link.is_none() {
            return Ok(keep(page.value));
        }
        let mut found: Vec<AutopilotDevice> = Vec::new();
        let mut terms: Vec<&str> = terms.into_iter().collect();
        terms.sort_unstable();
        for term in terms {
            let mut url: Url = endpoint::join(self.root, REGISTERED);
            url.set_query(Some(&format!("$filter=contains(serialNumber,'{term}')")));
            match self.list_url(url, "graph.find-registered").await {
                Ok(listed) => found.extend(listed),
                // This tenant's service refuses the filter: the list it is.
                Err(CallError::Service { error, .. }) if error.status == 400 => {
                    return Ok(keep(self.list_registered().await?));
                }
                Err(e) => return Err(e),
            }
        }
        let mut seen = HashSet::new();
        found.retain(|d| seen.insert(d.id.clone()));
        Ok(keep(found))
    }

    /// The registered devices of these ids that exist, on `/beta` when
    /// `beta` (for their deployment profile): one read each while they are
    /// few, else the whole list. A device gone (404) is left out.
    pub async fn registered_by_id(
        &self,
        ids: &[String],
        beta: bool,
    ) -> Result<Vec<AutopilotDevice>, CallError> {
        self.by_id(ids, beta).await
    }

    /// Each listed device's deployment profile status, on `/beta`, read
    /// as [`Self::registered_by_id`] reads devices but kept as two fields: a
    /// large customer's profile wait holds ids, not whole devices.
    pub async fn profile_statuses(&self, ids: &[String]) -> Result<Vec<ProfileStatus>, CallError> {
        self.by_id(ids, true).await
    }

    async fn by_id<T: serde::de::DeserializeOwned + HasId>(
        &self,
        ids: &[String],
        beta: bool,
    ) -> Result<Vec<T>, CallError> {
        let (path, list_kind, get_kind) = if beta {
            (REGISTERED_BETA, "graph.list-profiles", "graph.get-profile")
        } else {
            (REGISTERED, "graph.list-registered", "graph.get-registered")
        };
        if ids.len() > BY_ID_MAX {
            let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
            let url = endpoint::join(self.root, path);
            return self
                .list_keeping(url, list_kind, |d: &T| wanted.contains(d.id()))
                .await;
        }
        let mut out = Vec::new();
        for id in ids {
            let url = endpoint::join(self.root, &format!("{path}/{}", endpoint::segment(id)));
            let req = self.request(Method::GET, url, get_kind);
            match self.client.send(self.tenant, self.gate, &req).await {
                Ok(resp) => out.push(parse_entity(&resp.body).map_err(|e| super::bad_body(get_kind, e))?),
                Err(CallError::Service { error, .. }) if error.status == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// A registered device's id and deployment profile status.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileStatus {
    #[serde(deserialize_with = "crate::sanitize::de::text")]
    pub id: String,
    #[serde(default, deserialize_with = "crate::sanitize::de::opt_text")]
    pub deployment_profile_assignment_status: Option<String>,
}

/// An item of the registered list, known by its id.
pub trait HasId {
    fn id(&self) -> &str;
}

impl HasId for AutopilotDevice {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for ProfileStatus {
    fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_is_looked_for_by_its_longest_run_of_letters_and_digits() {
        assert_eq!(search_term("PC-0001"), Some("0001"));
        assert_eq!(search_term("5CG1234XYZ"), Some("5CG1234XYZ"));
        assert_eq!(search_term("AB-12-C'D"), Some("12"), "the last of the longest");
        assert_eq!(search_term("--"), None);
        assert_eq!(search_term(""), None);
    }
}
