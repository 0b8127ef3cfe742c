//! One `apctl import` run: read and check every file, route each row to its
//! pipe, import the Graph rows into the tenant, and put together the report
//! with exactly one entry per input row.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::device::{Device, Pipe};
use crate::http::Client;
use crate::import::{self, Cancel, ImportSettings, Progress};
use crate::problem::Severity;
use crate::report::{Action, Entry, Report, TenantError, Totals, Verdict};
use crate::state::{DeviceMessage, RegistrationState};
use crate::validate::{self, Checked, ValidateOptions};

/// Imports the files into the tenant named in `settings`.
pub async fn import_files(
    client: &Client,
    settings: &ImportSettings,
    files: &[PathBuf],
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Report {
    let started_at = client.clock().wall().to_string();
    let (graph_rows, mut entries, input_errors) = read_input(files, settings);
    let outcome = import::import_tenant(client, settings, graph_rows, progress, cancel).await;
    entries.extend(outcome.entries);
    let order: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.to_str().unwrap_or(""), i))
        .collect();
    entries.sort_by_key(|e| (order.get(e.file.as_str()).copied().unwrap_or(usize::MAX), e.line));
    let mut tenant_errors = input_errors;
    tenant_errors.extend(outcome.error);
    let verdict = verdict(&entries, &tenant_errors, outcome.interrupted, settings);
    Report {
        schema: "apctl.report.v1",
        run_id: settings.run_id.clone(),
        started_at,
        finished_at: client.clock().wall().to_string(),
        dry_run: settings.dry_run,
        waited: settings.wait,
        verdict,
        totals: Totals::of(&entries),
        tenant_errors,
        entries,
        http: client.stats(),
    }
}

/// Validates every file: Graph rows to import, entries for every other
/// row, and file-level errors.
fn read_input(files: &[PathBuf], settings: &ImportSettings) -> (Vec<Device>, Vec<Entry>, Vec<TenantError>) {
    let mut graph_rows = Vec::new();
    let mut entries = Vec::new();
    let options = ValidateOptions {
        strict: false,
        order_id: settings.order_id.clone(),
    };
    let validation = validate::validate(files, &options, |row| match row {
        Checked::Valid(d) if d.pipe() == Pipe::Graph => graph_rows.push(d.clone()),
        Checked::Valid(d) => {
            let mut e = Entry::for_row(&d.source, &settings.tenant, Some(d), settings.order_id.as_deref());
            e.action = Action::NotSent;
            e.state = RegistrationState::RegistrationFailed;
            e.details = "not sent: Manufacturer+Model+Serial and product-key rows go through Partner Center, which is not configured in this version of apctl; give this device's hardware hash instead".into();
            entries.push(e);
        }
        Checked::Invalid { source, serial } => {
            let mut e = Entry::for_row(source, &settings.tenant, None, settings.order_id.as_deref());
            e.serial_number = serial.map(str::to_owned);
            e.action = Action::Invalid;
            e.state = RegistrationState::RegistrationFailed;
            entries.push(e);
        }
    });
    let mut errors = Vec::new();
    for p in &validation.problems {
        match p.line {
            None => errors.push(TenantError {
                tenant: settings.tenant.clone(),
                error: format!("{}: {}", p.file, p.message),
                hint: p.hint.clone(),
            }),
            Some(line) if p.severity == Severity::Error => {
                if let Some(e) = entries
                    .iter_mut()
                    .find(|e| e.action == Action::Invalid && e.line == line && *e.file == *p.file)
                {
                    if p.portal_message == Some(DeviceMessage::HardwareHashNotValid) {
                        e.set(
                            RegistrationState::RegistrationFailed,
                            Some(DeviceMessage::HardwareHashNotValid),
                        );
                    }
                    let sep = if e.details.is_empty() { "" } else { " " };
                    let column = p.column.map_or(String::new(), |c| format!(", column {c}"));
                    e.details = format!("{}{sep}Not sent: {}{column}.", e.details, p.message);
                }
            }
            Some(_) => {}
        }
    }
    for f in validation
        .files
        .iter()
        .filter(|f| !f.readable && f.dialect.is_some())
    {
        errors.push(TenantError {
            tenant: settings.tenant.clone(),
            error: format!("{}: reading stopped part-way", f.path),
            hint: None,
        });
    }
    (graph_rows, entries, errors)
}

fn verdict(
    entries: &[Entry],
    errors: &[TenantError],
    interrupted: bool,
    settings: &ImportSettings,
) -> Verdict {
    if interrupted {
        Verdict::Interrupted
    } else if !errors.is_empty() {
        Verdict::CouldNotRun
    } else if entries.iter().any(Entry::failed) {
        Verdict::SomeFailed
    } else if settings.wait
        && !settings.dry_run
        && entries
            .iter()
            .any(|e| e.state == RegistrationState::RegistrationPending)
    {
        Verdict::SomePending
    } else {
        Verdict::Done
    }
}
