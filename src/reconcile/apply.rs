//! What `apctl reconcile` changes once the plan is read: missing devices
//! imported through the import run, tags and users set and read back,
//! extras deregistered (only those the caller confirmed), and one Autopilot
//! sync per changed tenant at most every ten minutes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::{Category, Item, fix_properties};
use crate::graph::Graph;
use crate::graph::sync::Sync;
use crate::import::after::profiles::sync_once;
use crate::import::plan::Job;
use crate::import::plan::{Plan, TenantRows};
use crate::import::{Cancel, ImportSettings, RunSettings, Silent};
use crate::input::device::Device;
use crate::net::endpoint::Endpoints;
use crate::report::{Entry, Report};
use crate::transport::Client;

/// Imports the missing devices (the rows `items` calls missing, with
/// `base` settings for every customer), then sets the tags and users that
/// differ. Each item gets its outcome; `changed` gets each tenant written
/// to. The import's report, when there was anything to import.
pub async fn apply(
    client: &Client,
    endpoints: &Endpoints,
    base: &Arc<RunSettings>,
    items: &mut [Item],
    resolved: Vec<(String, TenantRows)>,
    changed: &mut Vec<String>,
) -> Option<Report> {
    let jobs = missing_jobs(base, items, resolved, changed);
    let report = if jobs.is_empty() {
        None
    } else {
        let report =
            crate::import::run::run(client, base, Plan::default(), jobs, &Silent, &Cancel::default()).await;
        record_imports(items, &report.entries);
        Some(report)
    };
    for item in items
        .iter_mut()
        .filter(|i| matches!(i.category, Category::TagMismatch | Category::UserMismatch))
    {
        let gate = client.gate(&item.tenant);
        let graph = Graph::at(client, endpoints, &item.tenant, &gate);
        item.outcome = Some(match fix_properties(&graph, item).await {
            Ok(()) => {
                if !changed.contains(&item.tenant) {
                    changed.push(item.tenant.clone());
                }
                "fixed".into()
            }
            // Intune shows such changes minutes later: not a failure.
            Err(why @ super::FixError::NotReadBack) => format!("pending: {why}"),
            Err(why) => format!("not fixed: {why}"),
        });
    }
    report
}

/// One import job per tenant with missing rows, holding only those rows.
fn missing_jobs(
    base: &Arc<RunSettings>,
    items: &[Item],
    resolved: Vec<(String, TenantRows)>,
    changed: &mut Vec<String>,
) -> Vec<Job> {
    let missing_rows: HashSet<(&str, &str)> = items
        .iter()
        .filter(|i| i.category == Category::Missing)
        .filter_map(|i| Some((i.tenant.as_str(), i.source.as_deref()?)))
        .collect();
    let mut jobs = Vec::new();
    for (tenant, rows) in resolved {
        let missing = |d: &Device| missing_rows.contains(&(tenant.as_str(), d.source.to_string().as_str()));
        let rows = TenantRows {
            graph: rows.graph.into_iter().filter(|d| missing(d)).collect(),
            partner_center: rows.partner_center.into_iter().filter(|d| missing(d)).collect(),
            ..rows
        };
        if rows.graph.is_empty() && rows.partner_center.is_empty() {
            continue;
        }
        let customer = ImportSettings::new(base, &tenant).customer;
        changed.push(tenant);
        jobs.push(Job { customer, rows });
    }
    jobs
}

/// Each missing item's outcome from its row's report entry.
fn record_imports(items: &mut [Item], entries: &[Entry]) {
    let by_source: HashMap<String, &Entry> = entries
        .iter()
        .map(|e| (format!("{}:{}", e.file, e.line), e))
        .collect();
    for item in items.iter_mut().filter(|i| i.category == Category::Missing) {
        if let Some(e) = item.source.as_ref().and_then(|s| by_source.get(s)) {
            let message = e.message.map(|m| format!(" — {m}")).unwrap_or_default();
            item.outcome = Some(format!("imported: {}{message}", e.state_text()));
            item.state = e.state;
        }
    }
}

/// The extras a prune would deregister, by tenant. Enrolled extras are kept
/// (their outcome says so) unless `force`.
pub fn prune_plan(items: &mut [Item], force: bool) -> BTreeMap<String, Vec<String>> {
    for item in items
        .iter_mut()
        .filter(|i| i.category == Category::Extra && i.enrolled && !force && i.outcome.is_none())
    {
        item.outcome = Some("kept: the device is enrolled (add `--force` to deregister it)".into());
    }
    for item in items.iter_mut().filter(|i| to_prune(i) && i.id.is_none()) {
        item.outcome = Some("kept: the service gave no device id, and apctl deregisters by id only".into());
    }
    let mut by_tenant: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items.iter().filter(|i| to_prune(i)) {
        if let Some(id) = &item.id {
            by_tenant.entry(item.tenant.clone()).or_default().push(id.clone());
        }
    }
    by_tenant
}

/// An extra still to be deregistered (no outcome yet).
pub fn to_prune(item: &Item) -> bool {
    item.category == Category::Extra && item.outcome.is_none()
}

/// Deregisters the planned extras one by one by device id (`DELETE
/// …/windowsAutopilotDeviceIdentities/{id}`), tenant by tenant; every item
/// gets its outcome from the answer for its id. Never a serial-keyed
/// `deleteDevices`: a serial can name two devices, one of them the file's.
pub async fn deregister(
    client: &Client,
    endpoints: &Endpoints,
    items: &mut [Item],
    plan: BTreeMap<String, Vec<String>>,
    changed: &mut Vec<String>,
) {
    for (tenant, ids) in plan {
        let gate = client.gate(&tenant);
        let graph = Graph::at(client, endpoints, &tenant, &gate);
        let mut answers: HashMap<String, String> = HashMap::new();
        for id in ids {
            let outcome = match graph.delete_registered(&id).await {
                Ok(true) => "deregistered".to_owned(),
                Ok(false) => "deregistered: it was gone already".to_owned(),
                Err(e) => format!("not deregistered: {e}"),
            };
            answers.insert(id, outcome);
        }
        for item in items.iter_mut().filter(|i| i.tenant == tenant && to_prune(i)) {
            let answer = item.id.as_ref().and_then(|id| answers.get(id));
            item.outcome = Some(
                answer
                    .cloned()
                    .unwrap_or_else(|| "not deregistered: nothing was sent for it".into()),
            );
        }
        if answers.values().any(|o| o.starts_with("deregistered")) {
            changed.push(tenant);
        }
    }
}

/// Asks each changed tenant to sync, at most once per 10 minutes (across
/// runs, remembered in `state`, a JSON file of customer → time).
pub async fn sync(
    client: &Client,
    endpoints: &Endpoints,
    state: Option<&Path>,
    changed: &[String],
) -> BTreeMap<String, Sync> {
    let mut out = BTreeMap::new();
    let mut tenants: Vec<&String> = changed.iter().collect();
    tenants.sort();
    tenants.dedup();
    for tenant in tenants {
        let gate = client.gate(tenant);
        let key = crate::import::run::lock::resolved_key(
            client.http(),
            &endpoints.authority,
            tenant,
            &endpoints.graph,
        )
        .await;
        let result = sync_once(&Graph::at(client, endpoints, tenant, &gate), state, &key).await;
        out.insert(tenant.clone(), result);
    }
    out
}
