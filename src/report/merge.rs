//! One report from the reports of a sharded run's jobs.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{FileReport, Report, SCHEMA, Totals};

/// Where a shard's report sits in its run: shard `shard` of `of`, the
/// manifest it read (a digest of its text) and the pipeline run its job
/// belonged to, so a merge knows which reports belong together and which
/// are missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    pub shard: u32,
    pub of: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// GitHub's `GITHUB_RUN_ID`, or Azure DevOps' `BUILD_BUILDID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_run: Option<String>,
}

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{name}: not an apctl import report (schema `{schema}`)")]
    NotAReport { name: String, schema: String },
    #[error(
        "customer `{tenant}` is in both {first} and {second}: merge the reports of one run's shards, each once"
    )]
    CustomerTwice {
        tenant: String,
        first: String,
        second: String,
    },
    #[error("no reports to merge")]
    Nothing,
    #[error(
        "{name} is not a shard's report (written without `--shard`) but {other} is: merge the reports of one sharded run"
    )]
    Unplaced { name: String, other: String },
    #[error(
        "{name} is of another run than {first}: its {what} differs; merge the reports of one pipeline run's shards"
    )]
    OtherRun {
        name: String,
        first: String,
        what: &'static str,
    },
    #[error("shard {shard}/{of} is given twice ({first} and {second}): give each shard's report once")]
    ShardTwice {
        shard: u32,
        of: u32,
        first: String,
        second: String,
    },
    #[error(
        "shard {shards} of {of} is missing: its job wrote no report (it failed or was cancelled first); run it again, or merge the others with `--allow-missing`"
    )]
    Missing { shards: String, of: u32 },
    #[error(
        "{name}: adding its `{counter}` to the other reports' goes past the largest number a counter holds; it is not a report apctl wrote"
    )]
    Overflow { name: String, counter: String },
}

/// `a + b`, or the error that names the report and the counter.
fn checked(a: u64, b: u64, name: &str, counter: &str) -> Result<u64, MergeError> {
    a.checked_add(b).ok_or_else(|| MergeError::Overflow {
        name: name.to_owned(),
        counter: counter.to_owned(),
    })
}

/// Merges the reports of the jobs of one sharded run into one: entries,
/// customer sections and errors side by side, causes numbered again,
/// totals counted again, HTTP figures added up, and the worst verdict. A
/// customer found in two reports is an error (the same shard ran twice, or
/// two runs are mixed).
pub fn merge(reports: Vec<(String, Report)>, allow_missing: bool) -> Result<Report, MergeError> {
    let (held, missing) = shards(&reports, allow_missing)?;
    let mut owner: HashMap<String, String> = HashMap::new();
    let mut merged: Option<Report> = None;
    for (name, mut r) in reports {
        if r.schema != SCHEMA {
            return Err(MergeError::NotAReport {
                name,
                schema: r.schema,
            });
        }
        for t in &r.tenants {
            if let Some(first) = owner.insert(t.tenant.to_lowercase(), name.clone()) {
                return Err(MergeError::CustomerTwice {
                    tenant: t.tenant.to_lowercase(),
                    first,
                    second: name,
                });
            }
        }
        match &mut merged {
            None => {
                r.merged_run_ids = vec![r.run_id.clone()];
                merged = Some(r);
            }
            Some(m) => {
                renumber_causes(&mut r, m.causes.len());
                add(m, r, &name)?;
            }
        }
    }
    let mut m = merged.ok_or(MergeError::Nothing)?;
    if !held.is_empty() {
        m.place = None;
        m.shards = held;
        // A shard that wrote no report did not do its job: the merged run
        // could not run in full, whatever the others say.
        if !missing.is_empty() {
            m.verdict = m.verdict.max(super::Verdict::CouldNotRun);
        }
        m.missing_shards = missing;
    }
    let unlisted = m.files.iter().try_fold(0, |sum, f| {
        checked(sum, f.unlisted_invalid_rows, &f.path, "unlistedInvalidRows")
    })?;
    m.totals = Totals::of(&m.entries);
    m.totals.rows = checked(m.totals.rows, unlisted, "the merged report", "rows")?;
    m.totals.invalid = checked(m.totals.invalid, unlisted, "the merged report", "invalid")?;
    Ok(m)
}

/// The shards the reports hold and the ones missing, after checking the
/// reports are of one sharded run, each shard once (reports of an unsharded
/// run hold none).
fn shards(reports: &[(String, Report)], allow_missing: bool) -> Result<(Vec<u32>, Vec<u32>), MergeError> {
    let Some((first, place)) = reports.iter().find_map(|(n, r)| r.place.as_ref().map(|p| (n, p))) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut held: HashMap<u32, &String> = HashMap::new();
    for (name, r) in reports {
        let Some(p) = &r.place else {
            return Err(MergeError::Unplaced {
                name: name.clone(),
                other: first.clone(),
            });
        };
        let differs = if p.of != place.of {
            Some("number of shards")
        } else if p.manifest != place.manifest {
            Some("manifest")
        } else if p.pipeline_run != place.pipeline_run {
            Some("pipeline run")
        } else {
            None
        };
        if let Some(what) = differs {
            return Err(MergeError::OtherRun {
                name: name.clone(),
                first: first.clone(),
                what,
            });
        }
        if let Some(earlier) = held.insert(p.shard, name) {
            return Err(MergeError::ShardTwice {
                shard: p.shard,
                of: p.of,
                first: earlier.clone(),
                second: name.clone(),
            });
        }
    }
    let missing: Vec<u32> = (1..=place.of).filter(|k| !held.contains_key(k)).collect();
    if !missing.is_empty() && !allow_missing {
        let shards: Vec<String> = missing.iter().map(u32::to_string).collect();
        return Err(MergeError::Missing {
            shards: shards.join(", "),
            of: place.of,
        });
    }
    let mut held: Vec<u32> = held.into_keys().collect();
    held.sort_unstable();
    Ok((held, missing))
}

/// Cause ids are per report: `C1` of the second report follows the first
/// report's last.
fn renumber_causes(r: &mut Report, after: usize) {
    let mut renamed = HashMap::new();
    for (i, c) in r.causes.iter_mut().enumerate() {
        let id = format!("C{}", after + i + 1);
        renamed.insert(std::mem::replace(&mut c.id, id.clone()), id);
    }
    for e in &mut r.entries {
        if let Some(new) = e.cause.as_ref().and_then(|id| renamed.get(id)) {
            e.say(crate::portal::details::Detail::SeeCause { id: new.clone() });
            e.cause = Some(new.clone());
        }
    }
}

/// Adds one more report to the merge.
fn add(m: &mut Report, r: Report, name: &str) -> Result<(), MergeError> {
    m.merged_run_ids.push(r.run_id);
    m.started_at = m.started_at.clone().min(r.started_at);
    m.finished_at = m.finished_at.clone().max(r.finished_at);
    m.dry_run |= r.dry_run;
    m.simulated |= r.simulated;
    m.from = m.from.take().or(r.from);
    m.waited &= r.waited;
    m.complete &= r.complete;
    m.verdict = m.verdict.max(r.verdict);
    m.causes.extend(r.causes);
    m.tenants.extend(r.tenants);
    m.tenant_errors.extend(r.tenant_errors);
    m.entries.extend(r.entries);
    merge_files(&mut m.files, r.files);
    for (kind, n) in r.http.requests {
        let sum = m.http.requests.entry(kind.clone()).or_default();
        *sum = checked(*sum, n, name, &format!("http.requests.{kind}"))?;
    }
    m.http.throttled = checked(m.http.throttled, r.http.throttled, name, "http.throttled")?;
    m.http.retries = checked(m.http.retries, r.http.retries, name, "http.retries")?;
    m.http.retry_after_ms = checked(
        m.http.retry_after_ms,
        r.http.retry_after_ms,
        name,
        "http.retryAfterMs",
    )?;
    Ok(())
}

/// Every shard reads every file: a file is listed once, unreadable if any
/// shard found it so.
fn merge_files(files: &mut Vec<FileReport>, more: Vec<FileReport>) {
    let known: HashSet<String> = files.iter().map(|f| f.path.clone()).collect();
    for f in more {
        if !known.contains(&f.path) {
            files.push(f);
        } else if !f.readable
            && let Some(g) = files.iter_mut().find(|g| g.path == f.path)
        {
            *g = f;
        }
    }
}
