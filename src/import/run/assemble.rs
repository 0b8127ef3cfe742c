//! One report from what the customers' pipes returned: exactly one entry
//! per input row, a section per customer, the causes numbered once, the
//! totals and the verdict.

use std::collections::HashMap;

use crate::import::RunSettings;
use crate::import::plan::{Plan, key};
use crate::report::{Action, Entry, FileReport, Report, TenantError, TenantSection, Totals, Verdict};
use crate::transport::Client;

/// Puts the report together: the customers' entries with the rows they
/// never got, in input order, each shared cause numbered once.
pub(crate) fn assemble(
    plan: Plan,
    results: Vec<TenantResult>,
    base: &RunSettings,
    started_at: &str,
    client: &Client,
    complete: bool,
) -> Report {
    let mut unsent = plan.entries;
    let mut entries = Vec::new();
    let mut tenant_errors = Vec::new();
    let mut sections = Vec::new();
    let mut interrupted = false;
    for mut r in results {
        // The customer's invalid rows belong to its section too.
        let (mine, rest): (Vec<Entry>, Vec<Entry>) = unsent
            .into_iter()
            .partition(|e| !e.tenant.is_empty() && key(&e.tenant) == key(&r.requested));
        unsent = rest;
        r.entries.extend(mine.into_iter().map(|mut e| {
            e.tenant = r.tenant.as_str().into();
            e
        }));
        sections.push(TenantSection {
            tenant: r.tenant,
            requested: r.requested,
            name: r.name,
            verdict: verdict(&r.entries, &r.errors, &[], r.interrupted, base),
            totals: Totals::of(&r.entries),
            errors: r.errors.clone(),
            sync: r.sync,
            staged_left: r.staged_left,
        });
        interrupted |= r.interrupted;
        // The first customer's list becomes the run's, not copied: a large
        // customer's entries are never held twice.
        if entries.is_empty() {
            entries = r.entries;
        } else {
            entries.extend(r.entries);
        }
        tenant_errors.extend(r.errors);
    }
    entries.extend(unsent);
    in_input_order(&mut entries, &plan.files);
    let causes = crate::report::number_causes(&mut entries);
    let verdict = verdict(&entries, &tenant_errors, &plan.file_reports, interrupted, base);
    let mut totals = Totals::of(&entries);
    let unlisted: u64 = plan.file_reports.iter().map(|f| f.unlisted_invalid_rows).sum();
    totals.rows += unlisted;
    totals.invalid += unlisted;
    let mut report = Report {
        schema: crate::report::SCHEMA.into(),
        merged_run_ids: Vec::new(),
        place: base.place.clone(),
        shards: Vec::new(),
        missing_shards: Vec::new(),
        run_id: base.run_id.clone(),
        from: None,
        simulated: crate::net::endpoint::is_loopback(&base.graph_root),
        started_at: started_at.to_owned(),
        finished_at: client.clock().wall().to_string(),
        dry_run: base.dry_run,
        waited: base.wait,
        verdict,
        complete,
        totals,
        files: plan.file_reports,
        causes,
        tenants: sections,
        tenant_errors,
        entries,
        http: client.stats(),
    };
    report.sanitize();
    report
}

/// Rows in the order of the input: file by file, line by line. File, line
/// and customer name one row each (a file may be given for two
/// customers): an unstable sort gives the one order without a buffer of
/// half the report.
fn in_input_order(entries: &mut [Entry], files: &[std::path::PathBuf]) {
    let order: HashMap<String, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.display().to_string(), i))
        .collect();
    let place = |e: &Entry| (order.get(&*e.file).copied().unwrap_or(usize::MAX), e.line);
    entries.sort_unstable_by(|a, b| place(a).cmp(&place(b)).then_with(|| a.tenant.cmp(&b.tenant)));
}

pub(crate) struct TenantResult {
    pub(crate) tenant: String,
    /// The customer as the input named it.
    pub(crate) requested: String,
    /// Its display name, when known.
    pub(crate) name: Option<String>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) errors: Vec<TenantError>,
    pub(crate) interrupted: bool,
    /// The Autopilot sync asked for, if one was.
    pub(crate) sync: Option<crate::graph::sync::Sync>,
    /// Staged records left for the next run to delete.
    pub(crate) staged_left: u64,
}

fn verdict(
    entries: &[Entry],
    errors: &[TenantError],
    files: &[FileReport],
    interrupted: bool,
    settings: &RunSettings,
) -> Verdict {
    if interrupted {
        Verdict::Interrupted
    } else if !errors.is_empty() || entries.iter().any(|e| e.unsent() && e.action == Action::NotSent) {
        Verdict::CouldNotRun
    } else if files.iter().any(|f| !f.readable) {
        Verdict::BadInput
    } else if files.iter().any(|f| f.invalid_rows > 0)
        || entries
            .iter()
            .any(|e| e.failed() || (e.unsent() && e.action != Action::AnotherRun) || e.tag_missing())
    {
        Verdict::SomeFailed
    } else if entries.iter().any(|e| e.action == Action::AnotherRun)
        || (settings.wait && !settings.dry_run && entries.iter().any(|e| e.pending() || e.tag_pending()))
    {
        Verdict::SomePending
    } else {
        Verdict::Done
    }
}
