//! Reports written while a run goes on: each pipe's latest snapshot per
//! customer, put together into a whole report (`complete: false`) at most
//! every two seconds, or at once at the moments that matter, so a run
//! killed at any point leaves an accurate report.

use std::collections::HashMap;

use crate::import::RunSettings;
use crate::import::plan::{Job, Plan};
use crate::import::report::progress::{as_of_now, entry_for};
use crate::import::run::assemble::{TenantResult, assemble};
use crate::import::{Event, Progress};
use crate::input::device::Pipe;
use crate::report::{Entry, Report};
use crate::transport::Client;
use std::sync::Arc;

/// Least time between two checkpoint reports written for snapshots that
/// are not marked `now` (poll rounds): often enough that a killed run's
/// report is seconds old, rarely enough that a large run is not slowed
/// writing it.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The same for a large run (more than [`LARGE_RUN`] rows): its report is
/// megabytes, written whole, so not more than every ten seconds.
const LARGE_CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Rows above which a run is large for checkpoints.
const LARGE_RUN: usize = 5_000;

/// How often a run of `rows` rows writes a checkpoint for poll rounds.
fn checkpoint_every(rows: usize) -> std::time::Duration {
    if rows > LARGE_RUN {
        LARGE_CHECKPOINT_EVERY
    } else {
        CHECKPOINT_EVERY
    }
}

/// Keeps every pipe's latest snapshot and turns them into checkpoint
/// reports for the caller's [`Progress`].
pub(crate) struct Checkpoints<'a> {
    inner: &'a dyn Progress,
    /// The plan's own entries and files (its customers are the jobs).
    plan: Plan,
    /// Each customer as worked on, as the input named it, in job order.
    tenants: Vec<(String, String)>,
    parts: std::sync::Mutex<HashMap<(String, Pipe), Vec<Entry>>>,
    /// When the last report was written; held while one is written.
    last: std::sync::Mutex<Option<std::time::Instant>>,
    base: &'a Arc<RunSettings>,
    started_at: &'a str,
    client: &'a Client,
    /// Rows in the run (sets how often poll rounds write a checkpoint).
    rows: usize,
}

impl<'a> Checkpoints<'a> {
    pub(crate) fn new(
        inner: &'a dyn Progress,
        plan: &Plan,
        jobs: &[Job],
        base: &'a Arc<RunSettings>,
        started_at: &'a str,
        client: &'a Client,
    ) -> Self {
        let mut parts = HashMap::new();
        let mut tenants = Vec::new();
        let mut count = plan.entries.len();
        for job in jobs {
            let s = &job.settings(base);
            tenants.push((s.customer.tenant.clone(), job.rows.tenant.clone()));
            for (pipe, rows) in [
                (Pipe::Graph, &job.rows.graph),
                (Pipe::PartnerCenter, &job.rows.partner_center),
            ] {
                let entries: Vec<Entry> = rows.iter().map(|d| as_of_now(&entry_for(d, s), false)).collect();
                count += entries.len();
                parts.insert((s.customer.tenant.clone(), pipe), entries);
            }
        }
        Self {
            inner,
            plan: Plan {
                tenants: Vec::new(),
                ..plan.clone()
            },
            tenants,
            parts: std::sync::Mutex::new(parts),
            last: std::sync::Mutex::new(None),
            base,
            started_at,
            client,
            rows: count,
        }
    }

    /// Writes a checkpoint report of everything known now.
    pub(crate) fn write(&self) {
        if !self.inner.wants_checkpoints() {
            return;
        }
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The snapshots are lent to the report and taken back after it is
        // written: a large run never holds a second copy of every row.
        let mut parts = self
            .parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut lent = std::mem::take(&mut *parts);
        let keys: HashMap<(String, Pipe), (String, Pipe)> = lent
            .keys()
            .map(|(tenant, pipe)| {
                (
                    (crate::sanitize::clean_line(tenant), *pipe),
                    (tenant.clone(), *pipe),
                )
            })
            .collect();
        let report =
            self.assembled(|tenant, pipe| lent.remove(&(tenant.to_owned(), pipe)).unwrap_or_default());
        drop(lent);
        self.inner.checkpoint(&report);
        give_back(&mut parts, report.entries, &keys);
        *last = Some(std::time::Instant::now());
    }

    /// Drops the snapshots once the customers' results are in (a large
    /// run's are tens of megabytes).
    pub(crate) fn forget(&self) {
        self.parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// A report of everything known now (`complete: false`).
    pub(crate) fn report(&self) -> Report {
        let parts = self
            .parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.assembled(|tenant, pipe| parts.get(&(tenant.to_owned(), pipe)).cloned().unwrap_or_default())
    }

    /// The report of the snapshots `take` hands over, per customer and
    /// pipe.
    fn assembled(&self, mut take: impl FnMut(&str, Pipe) -> Vec<Entry>) -> Report {
        let results = {
            self.tenants
                .iter()
                .map(|(tenant, requested)| {
                    let mut entries = take(tenant, Pipe::Graph);
                    entries.extend(take(tenant, Pipe::PartnerCenter));
                    TenantResult {
                        tenant: tenant.clone(),
                        requested: requested.clone(),
                        name: None,
                        entries,
                        errors: Vec::new(),
                        interrupted: false,
                        sync: None,
                        staged_left: 0,
                    }
                })
                .collect()
        };
        assemble(
            self.plan.clone(),
            results,
            self.base,
            self.started_at,
            self.client,
            false,
        )
    }
}

/// Puts a checkpoint report's rows back where they came from: each row
/// with a pipe is a snapshot's (the plan's own rows have none), under its
/// customer and pipe. A run of one customer and pipe takes its list back
/// whole; otherwise each list is made at its final size, so a large run
/// never holds a half-empty second list beside the report's.
fn give_back(
    parts: &mut HashMap<(String, Pipe), Vec<Entry>>,
    mut entries: Vec<Entry>,
    keys: &HashMap<(String, Pipe), (String, Pipe)>,
) {
    let key_of = |e: &Entry| e.pipe.and_then(|pipe| keys.get(&(e.tenant.to_string(), pipe)));
    entries.retain(|e| key_of(e).is_some());
    let Some(first) = entries.first().and_then(key_of).cloned() else {
        return;
    };
    if entries.iter().all(|e| key_of(e) == Some(&first)) {
        parts.insert(first, entries);
        return;
    }
    let mut sizes: HashMap<&(String, Pipe), usize> = HashMap::new();
    for e in &entries {
        if let Some(key) = key_of(e) {
            *sizes.entry(key).or_default() += 1;
        }
    }
    for (key, size) in sizes {
        parts.insert(key.clone(), Vec::with_capacity(size));
    }
    for e in entries {
        if let Some(key) = key_of(&e) {
            parts.entry(key.clone()).or_default().push(e);
        }
    }
}

impl Progress for Checkpoints<'_> {
    fn event(&self, event: Event) {
        self.inner.event(event);
    }

    fn snapshot(&self, tenant: &str, pipe: Pipe, fill: &dyn Fn(&mut Vec<Entry>), now: bool) {
        // Kept even when nobody writes checkpoints: the run's overall
        // deadline reports from them. The pipe's last list is refilled in
        // place, never held beside a new one.
        {
            let mut parts = self
                .parts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entries = parts.entry((tenant.to_owned(), pipe)).or_default();
            entries.clear();
            fill(entries);
        }
        let due = now
            || self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_none_or(|t| t.elapsed() >= checkpoint_every(self.rows));
        if due {
            self.write();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_run_writes_checkpoints_less_often() {
        assert_eq!(checkpoint_every(10), CHECKPOINT_EVERY);
        assert_eq!(checkpoint_every(LARGE_RUN + 1), LARGE_CHECKPOINT_EVERY);
    }

    fn row(tenant: &str, line: u64, pipe: Option<Pipe>) -> Entry {
        let source = crate::input::device::RowRef {
            file: "devices.csv".into(),
            line,
        };
        let mut e = Entry::for_row(&source, tenant, None, None);
        e.pipe = pipe;
        e
    }

    fn keys(of: &[(&str, Pipe)]) -> HashMap<(String, Pipe), (String, Pipe)> {
        of.iter()
            .map(|(t, p)| (((*t).to_owned(), *p), ((*t).to_owned(), *p)))
            .collect()
    }

    fn lines(parts: &HashMap<(String, Pipe), Vec<Entry>>, tenant: &str, pipe: Pipe) -> Vec<u64> {
        parts[&(tenant.to_owned(), pipe)].iter().map(|e| e.line).collect()
    }

    #[test]
    fn rows_go_back_to_their_customer_and_pipe_and_the_plans_own_rows_do_not() {
        let keys = keys(&[
            ("contoso", Pipe::Graph),
            ("contoso", Pipe::PartnerCenter),
            ("fabrikam", Pipe::Graph),
        ]);
        let entries = vec![
            row("contoso", 2, Some(Pipe::Graph)),
            row("fabrikam", 3, Some(Pipe::Graph)),
            row("contoso", 4, None),
            row("contoso", 5, Some(Pipe::PartnerCenter)),
            row("contoso", 6, Some(Pipe::Graph)),
            row("woodgrove", 7, Some(Pipe::Graph)),
        ];
        let mut parts = HashMap::new();
        give_back(&mut parts, entries, &keys);
        assert_eq!(parts.len(), 3);
        assert_eq!(lines(&parts, "contoso", Pipe::Graph), [2, 6]);
        assert_eq!(lines(&parts, "contoso", Pipe::PartnerCenter), [5]);
        assert_eq!(lines(&parts, "fabrikam", Pipe::Graph), [3]);
    }

    #[test]
    fn one_customers_rows_go_back_whole() {
        let keys = keys(&[("contoso", Pipe::Graph)]);
        let entries = vec![
            row("contoso", 1, None),
            row("contoso", 2, Some(Pipe::Graph)),
            row("contoso", 3, Some(Pipe::Graph)),
        ];
        let mut parts = HashMap::new();
        give_back(&mut parts, entries, &keys);
        assert_eq!(lines(&parts, "contoso", Pipe::Graph), [2, 3]);
    }
}
