//! `apctl reconcile` for customers on the corporate-identifier route
//! (`--corporate-identifiers`, or `route = "corporate-identifiers"` in a
//! manifest): their Manufacturer+Model+Serial rows are compared with the
//! tenant's Windows corporate identifiers. `--apply` adds the missing ones
//! (a tenant's first identifiers only when confirmed), `--prune` removes
//! the ones no file names — with the same safety as an Autopilot prune: a
//! plan from input with any error is refused (`check_input`), nothing is
//! removed without confirmation or beyond `--max-delete`, and an identifier
//! whose device has enrolled is kept unless `--force`.

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;

use apctl::graph::corporate::{Identity, by_key, key};
use apctl::import::pipes::corporate::identifier;
use apctl::import::plan::TenantRows;
use apctl::report::TenantError;

use super::corporate::ManifestRoute;
use crate::cli::session::{self, Session};

/// One identifier of the comparison.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub tenant: String,
    pub identifier: String,
    /// `missing`, `present` or `extra`.
    pub category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// The comparison of every customer on the route.
#[derive(Debug, Default)]
pub struct Compared {
    pub items: Vec<Item>,
    pub errors: Vec<TenantError>,
    /// Tenants that hold no identifier yet (a first upload).
    empty: Vec<String>,
    /// Tenants whose first upload the manifest confirms.
    confirmed: Vec<String>,
    /// Rows that cannot be identifiers (`file:line: why`): a prune is
    /// refused while there is any, since what they name would look extra.
    pub invalid: Vec<String>,
}

/// A customer on the route: as named, its tuple rows, and whether the
/// manifest confirms its first identifiers.
pub type Customer = (String, Vec<apctl::input::device::Device>, bool);

/// Takes the tuple rows of the customers on the route out of `tenants`:
/// (the rest, as Autopilot compares them; the route's customers).
pub fn split(
    tenants: Vec<TenantRows>,
    all: bool,
    manifest: &[ManifestRoute],
) -> (Vec<TenantRows>, Vec<Customer>) {
    let mut corporate = Vec::new();
    let mut rest = Vec::new();
    for mut t in tenants {
        let listed = manifest
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(t.tenant.trim()));
        if (all || listed.is_some()) && !t.partner_center.is_empty() {
            let confirmed = listed.is_some_and(|(_, c)| *c);
            corporate.push((t.tenant.clone(), std::mem::take(&mut t.partner_center), confirmed));
        }
        if !t.graph.is_empty() || !t.partner_center.is_empty() {
            rest.push(t);
        }
    }
    (rest, corporate)
}

/// Reads each customer's identifiers and compares them with its rows.
pub async fn compare(session: &Session, partner: Option<&str>, customers: Vec<Customer>) -> Compared {
    let mut c = Compared::default();
    for (named, devices, confirmed) in customers {
        let tenant = match session::resolve_tenant(session, &named, partner).await {
            Ok(t) => t,
            Err(e) => {
                c.errors.push(crate::cli::settings::tenant_error(&named, &e));
                continue;
            }
        };
        let gate = session.client.gate(&tenant);
        let held: HashMap<String, Identity> = match session.graph(&tenant, &gate).list_identities().await {
            Ok(list) => by_key(list),
            Err(e) => {
                c.errors.push(crate::cli::settings::call_failure(&tenant, &e));
                continue;
            }
        };
        if held.is_empty() {
            c.empty.push(tenant.clone());
        }
        if confirmed {
            c.confirmed.push(tenant.clone());
        }
        let mut wanted: Vec<String> = Vec::new();
        for d in &devices {
            match identifier(d) {
                Ok(id) => wanted.push(id),
                Err(why) => c.invalid.push(format!("{}: {why}", d.source)),
            }
        }
        for w in &wanted {
            let have = held.get(&key(w));
            c.items.push(Item {
                tenant: tenant.clone(),
                identifier: w.clone(),
                category: if have.is_some() { "present" } else { "missing" },
                id: have.map(|i| i.id.clone()),
                enrollment_state: have.map(|i| i.enrollment_state.clone()),
                outcome: None,
            });
        }
        let named_keys: Vec<String> = wanted.iter().map(|w| key(w)).collect();
        let mut extras: Vec<&Identity> = held
            .values()
            .filter(|i| !named_keys.contains(&key(&i.imported_device_identifier)))
            .collect();
        extras.sort_by(|a, b| a.imported_device_identifier.cmp(&b.imported_device_identifier));
        for i in extras {
            c.items.push(Item {
                tenant: tenant.clone(),
                identifier: i.imported_device_identifier.clone(),
                category: "extra",
                id: Some(i.id.clone()),
                enrollment_state: Some(i.enrollment_state.clone()),
                outcome: None,
            });
        }
    }
    c
}

impl Compared {
    /// The plan for people.
    pub fn print(&self) -> std::io::Result<()> {
        if self.items.is_empty() && self.errors.is_empty() {
            return Ok(());
        }
        let mut out = crate::cli::term::Out::new();
        writeln!(out, "corporate identifiers")?;
        for i in &self.items {
            let enrollment = i.enrollment_state.as_deref().map(apctl::report::enrollment_text);
            let line = match (i.category, i.enrollment_state.as_deref()) {
                ("missing", _) => format!("  + {}  missing: to add (with --apply)", i.identifier),
                ("present", _) => format!(
                    "  = {}  present ({})",
                    i.identifier,
                    enrollment.unwrap_or_default()
                ),
                (_, Some("enrolled")) => format!(
                    "  - {}  extra, enrolled: in no file (kept unless --prune --force)",
                    i.identifier
                ),
                _ => format!("  - {}  extra: in no file (removed with --prune)", i.identifier),
            };
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        drop(out);
        crate::cli::term::tenant_errors(&self.errors);
        Ok(())
    }

    /// What the changes did, one line per identifier changed or kept.
    pub fn print_outcomes(&self) -> std::io::Result<()> {
        let mut out = crate::cli::term::Out::new();
        for i in self.items.iter().filter(|i| i.outcome.is_some()) {
            writeln!(
                out,
                "  {}  {}",
                i.identifier,
                i.outcome.as_deref().unwrap_or_default()
            )?;
        }
        out.flush()
    }

    /// `--apply`: adds the missing identifiers; a tenant that holds none
    /// only when `confirmed` says so for it.
    pub async fn apply(&mut self, session: &Session, yes: bool) -> anyhow::Result<()> {
        let first: Vec<String> = self
            .empty
            .iter()
            .filter(|t| !yes && !self.confirmed.contains(t))
            .filter(|t| {
                self.items
                    .iter()
                    .any(|i| &i.tenant == *t && i.category == "missing")
            })
            .map(|t| format!("`{t}`"))
            .collect();
        if !first.is_empty() {
            return Err(super::corporate::first_uploads_refused(&first));
        }
        let mut tenants: Vec<String> = self
            .items
            .iter()
            .filter(|i| i.category == "missing")
            .map(|i| i.tenant.clone())
            .collect();
        tenants.dedup();
        for tenant in tenants {
            let ids: Vec<String> = self.missing(&tenant).map(|i| i.identifier.clone()).collect();
            let gate = session.client.gate(&tenant);
            let graph = session.graph(&tenant, &gate);
            let (answers, failed) = match graph.import_identities(&ids, false).await {
                Ok(results) => (
                    results
                        .into_iter()
                        .map(|r| (key(&r.imported_device_identifier), r.status))
                        .collect(),
                    None,
                ),
                Err(e) => (HashMap::new(), Some(e)),
            };
            // The tenant, read again, decides: a failed call may have
            // taken effect, and an answer may have been lost.
            let held: Vec<String> = match graph.list_identities().await {
                Ok(list) => list.iter().map(|i| key(&i.imported_device_identifier)).collect(),
                Err(_) => answers
                    .iter()
                    .filter(|(_, ok)| **ok)
                    .map(|(k, _)| k.clone())
                    .collect(),
            };
            for item in self
                .items
                .iter_mut()
                .filter(|i| i.tenant == tenant && i.category == "missing")
            {
                let k = key(&item.identifier);
                item.outcome = Some(if held.contains(&k) {
                    "added".into()
                } else if answers.get(&k) == Some(&false) {
                    "refused".into()
                } else {
                    "not added".into()
                });
            }
            if let Some(e) = failed
                && self
                    .items
                    .iter()
                    .any(|i| i.tenant == tenant && i.outcome.as_deref() == Some("not added"))
            {
                self.errors.push(crate::cli::settings::call_failure(&tenant, &e));
            }
        }
        Ok(())
    }

    fn missing<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = &'a Item> {
        self.items
            .iter()
            .filter(move |i| i.tenant == tenant && i.category == "missing")
    }

    /// The extras `--prune` would remove: enrolled ones only with `force`.
    pub fn to_prune(&self, force: bool) -> usize {
        self.items.iter().filter(|i| prunable(i, force)).count()
    }

    /// `--prune`, once confirmed: removes the extras by id.
    pub async fn prune(&mut self, session: &Session, force: bool) {
        for item in self.items.iter_mut().filter(|i| prunable(i, force)) {
            let Some(id) = item.id.clone() else { continue };
            let gate = session.client.gate(&item.tenant);
            item.outcome = Some(
                match session.graph(&item.tenant, &gate).delete_identity(&id).await {
                    Ok(()) => "removed".into(),
                    Err(e) => format!("not removed: {e}"),
                },
            );
        }
    }

    /// The identifiers `--prune` would remove, one line each, for the
    /// confirmation.
    pub fn prune_list(&self, force: bool) -> String {
        self.items
            .iter()
            .filter(|i| prunable(i, force))
            .map(|i| {
                format!(
                    "  - {} corporate identifier {} (id {})\n",
                    i.tenant,
                    i.identifier,
                    i.id.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    /// True when every identifier is where the files say, after the
    /// changes asked for.
    pub fn settled(&self, apply: bool, prune: bool) -> bool {
        self.errors.is_empty()
            && self.items.iter().all(|i| match i.category {
                "present" => true,
                "missing" => apply && i.outcome.as_deref() == Some("added"),
                _ => prune && i.outcome.as_deref() == Some("removed"),
            })
    }

    /// `--prune` of identifiers no file names: refused while any row
    /// cannot be an identifier; listed first, then, as the Autopilot
    /// prune, capped by `--max-delete` and confirmed (`--yes`, or `yes`
    /// typed on the terminal).
    pub async fn prune_confirmed(
        &mut self,
        session: &Session,
        force: bool,
        yes: bool,
        max_delete: usize,
    ) -> anyhow::Result<()> {
        let n = self.to_prune(force);
        if n == 0 {
            return Ok(());
        }
        if !self.invalid.is_empty() {
            return Err(crate::cli::hinted!(
                "correct the rows, or compare without `--prune`",
                "refusing to `--prune` corporate identifiers: these rows cannot be identifiers, so what they name could be taken for extras:\n{}",
                self.invalid
                    .iter()
                    .map(|e| format!("  - {e}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        crate::cli::term::err(&format!(
            "--prune would remove {}:\n{}",
            crate::cli::style::count(n as u64, "corporate identifier"),
            self.prune_list(force)
        ));
        if n > max_delete {
            return Err(crate::cli::hinted!(
                format!("if the list above is right, run again with `--max-delete {n}`"),
                "refusing to remove {n} corporate identifiers: that is more than `--max-delete {max_delete}`, nothing was removed"
            ));
        }
        if !yes && !ask(n)? {
            self.keep_all(force);
            return Ok(());
        }
        self.prune(session, force).await;
        Ok(())
    }

    /// Marks the extras kept (the prune was not confirmed).
    pub fn keep_all(&mut self, force: bool) {
        for item in self.items.iter_mut().filter(|i| prunable(i, force)) {
            item.outcome = Some("kept: not confirmed".into());
        }
    }
}

fn prunable(i: &Item, force: bool) -> bool {
    i.category == "extra"
        && i.outcome.is_none()
        && (force || i.enrollment_state.as_deref() != Some("enrolled"))
}

/// Asks on the terminal; only `yes` confirms.
fn ask(n: usize) -> std::io::Result<bool> {
    crate::cli::term::err(&format!(
        "Remove {} from Intune? Those devices are then marked personal when they enroll. Type `yes`: ",
        crate::cli::style::count(n as u64, "corporate identifier")
    ));
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
