//! One report from the reports of a sharded run's jobs.

use super::*;

/// The verdicts from worst to best, for merging.
const VERDICTS: [&str; 6] = [
    "interrupted",
    "could-not-run",
    "bad-input",
    "some-failed",
    "some-pending",
    "done",
];

/// Merges the JSON reports of the jobs of one sharded run into one report:
/// entries, customer sections and errors side by side, totals counted
/// again, HTTP figures added up, and the worst verdict. A customer found in
/// two reports is an error (the same shard ran twice, or two runs are mixed).
pub fn merge(reports: &[(String, serde_json::Value)]) -> Result<serde_json::Value, String> {
    use serde_json::{Map, Value, json};
    let mut entries = Vec::new();
    let mut tenants = Vec::new();
    let mut errors = Vec::new();
    let mut causes = Vec::new();
    let mut files: Vec<Value> = Vec::new();
    let mut run_ids = Vec::new();
    let mut owner: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut requests: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let (mut throttled, mut retries, mut retry_after_ms) = (0u64, 0u64, 0u64);
    let (mut started, mut finished): (Option<String>, Option<String>) = (None, None);
    let (mut dry_run, mut waited) = (false, true);
    let mut worst = VERDICTS.len() - 1;
    for (name, r) in reports {
        if r["schema"] != SCHEMA {
            return Err(format!(
                "{name}: not an apctl import report (schema `{}`)",
                r["schema"]
            ));
        }
        for t in r["tenants"].as_array().into_iter().flatten() {
            let tenant = t["tenant"].as_str().unwrap_or("").to_lowercase();
            if let Some(other) = owner.insert(tenant.clone(), name.clone()) {
                return Err(format!(
                    "customer `{tenant}` is in both {other} and {name}: merge the reports of one run's shards, each once"
                ));
            }
            tenants.push(t.clone());
        }
        // Cause ids are per report: number them again across the merge.
        let mut renamed = std::collections::HashMap::new();
        for c in r["causes"].as_array().into_iter().flatten() {
            let id = format!("C{}", causes.len() + 1);
            renamed.insert(c["id"].as_str().unwrap_or_default().to_owned(), id.clone());
            let mut c = c.clone();
            c["id"] = json!(id);
            causes.push(c);
        }
        for e in r["entries"].as_array().into_iter().flatten() {
            let mut e = e.clone();
            if let Some(new) = e["cause"].as_str().and_then(|id| renamed.get(id)) {
                e["details"] = json!(format!("Not sent: see cause {new}."));
                e["cause"] = json!(new);
            }
            entries.push(e);
        }
        // Every shard reads every file: a file is listed once, unreadable
        // if any shard found it so.
        for f in r["files"].as_array().into_iter().flatten() {
            match files.iter_mut().find(|g| g["path"] == f["path"]) {
                Some(g) if f["readable"] == false => *g = f.clone(),
                Some(_) => {}
                None => files.push(f.clone()),
            }
        }
        errors.extend(r["tenantErrors"].as_array().into_iter().flatten().cloned());
        run_ids.push(r["runId"].clone());
        let s = r["startedAt"].as_str().map(str::to_owned);
        if started.is_none() || s < started {
            started = s;
        }
        let f = r["finishedAt"].as_str().map(str::to_owned);
        if f > finished {
            finished = f;
        }
        dry_run |= r["dryRun"].as_bool().unwrap_or(false);
        waited &= r["waited"].as_bool().unwrap_or(true);
        let rank = VERDICTS
            .iter()
            .position(|v| r["verdict"] == *v)
            .ok_or_else(|| format!("{name}: unknown verdict {}", r["verdict"]))?;
        worst = worst.min(rank);
        let http = &r["http"];
        for (kind, n) in http["requests"].as_object().into_iter().flatten() {
            *requests.entry(kind.clone()).or_default() += n.as_u64().unwrap_or(0);
        }
        throttled += http["throttled"].as_u64().unwrap_or(0);
        retries += http["retries"].as_u64().unwrap_or(0);
        retry_after_ms += http["retryAfterMs"].as_u64().unwrap_or(0);
    }
    let count = |key: &str, value: &str| entries.iter().filter(|e| e[key] == value).count() as u64;
    let mut by_state = Map::new();
    for s in RegistrationState::ALL {
        by_state.insert(s.to_string(), json!(count("state", &s.to_string())));
    }
    let mut by_message = Map::new();
    for m in DeviceMessage::ALL {
        let n = count("message", &m.to_string());
        if n > 0 {
            by_message.insert(m.to_string(), json!(n));
        }
    }
    let tags_missing = entries.iter().filter(|e| e["groupTagApplied"] == false).count();
    let unlisted: u64 = reports
        .iter()
        .flat_map(|(_, r)| r["files"].as_array().into_iter().flatten())
        .map(|f| f["unlistedInvalidRows"].as_u64().unwrap_or(0))
        .sum();
    let unsent = |invalid: bool| {
        entries
            .iter()
            .filter(|e| e["state"].is_null() && (e["action"] == "invalid") == invalid)
            .count()
    };
    Ok(json!({
        "schema": SCHEMA,
        "runId": run_ids.first().cloned().unwrap_or(Value::Null),
        "mergedRunIds": run_ids,
        "startedAt": started,
        "finishedAt": finished,
        "dryRun": dry_run,
        "waited": waited,
        "verdict": VERDICTS[worst],
        "complete": reports.iter().all(|(_, r)| r["complete"] != false),
        "totals": {"rows": entries.len() as u64 + unlisted, "byState": by_state, "byMessage": by_message, "invalid": unsent(true) as u64 + unlisted, "notSent": unsent(false), "groupTagsNotApplied": tags_missing},
        "files": files,
        "causes": causes,
        "tenants": tenants,
        "tenantErrors": errors,
        "entries": entries,
        "http": {"requests": requests, "throttled": throttled, "retries": retries, "retryAfterMs": retry_after_ms}
    }))
}
