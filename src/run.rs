//! One `apctl import` run: read and check every file, route each row to its
//! pipe, import the Graph rows into the tenant, and put together the report
//! with exactly one entry per input row.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::device::{Device, Pipe};
use crate::gdap::{self, TenantRef};
use crate::http::Client;
use crate::import::{self, Cancel, ImportSettings, Progress};
use crate::pc_import;
use crate::problem::Severity;
use crate::report::{Action, Entry, Report, TenantError, Totals, Verdict};
use crate::state::{DeviceMessage, RegistrationState};
use crate::throttle::TenantGate;
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
    let (graph_rows, pc_rows, mut entries, input_errors) = read_input(files, settings);
    let pc_settings = partner_center_settings(client, settings, files, &pc_rows).await;
    // One gate per tenant: both pipes' Graph calls share its budget.
    let gate = TenantGate::new(settings.limits, client.clock().clone());
    let (outcome, pc_outcome) = tokio::join!(
        import::import_tenant(client, settings, graph_rows, &gate, progress, cancel),
        pc_import::import_customer(client, &pc_settings, &gate, pc_rows, progress, cancel),
    );
    entries.extend(outcome.entries);
    entries.extend(pc_outcome.entries);
    let order: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.to_str().unwrap_or(""), i))
        .collect();
    entries.sort_by_key(|e| (order.get(e.file.as_str()).copied().unwrap_or(usize::MAX), e.line));
    let mut tenant_errors = input_errors;
    tenant_errors.extend(outcome.error);
    tenant_errors.extend(pc_outcome.error);
    let interrupted = outcome.interrupted || pc_outcome.interrupted;
    let verdict = verdict(&entries, &tenant_errors, interrupted, settings);
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

/// The Partner Center settings of the run: the customer's tenant id (a
/// domain is looked up at the authority) and the batch: the order id, or
/// `apctl-` and the first file's name, so running the same file again
/// finds the same batch.
async fn partner_center_settings(
    client: &Client,
    settings: &ImportSettings,
    files: &[PathBuf],
    pc_rows: &[Device],
) -> ImportSettings {
    let mut s = settings.clone();
    if pc_rows.is_empty() {
        return s;
    }
    let pc = &mut s.partner_center;
    pc.batch_id = settings
        .order_id
        .clone()
        .unwrap_or_else(|| default_batch_id(files.first().map(PathBuf::as_path)));
    match TenantRef::parse(&settings.tenant) {
        TenantRef::Id(id) => pc.customer_id = id,
        TenantRef::Domain(domain) => {
            match gdap::tenant_id_of_domain(client.http(), &pc.authority, &domain).await {
                Ok(id) => pc.customer_id = id,
                Err(why) if pc.preflight_failure.is_none() => {
                    pc.preflight_failure = Some(TenantError {
                        tenant: settings.tenant.clone(),
                        error: format!("Partner Center needs the customer's tenant id: {why}"),
                        hint: Some("give `--tenant` as the customer's tenant id".into()),
                    });
                }
                Err(_) => {}
            }
        }
        TenantRef::Name(name) if pc.preflight_failure.is_none() => {
            pc.preflight_failure = Some(TenantError {
                tenant: settings.tenant.clone(),
                error: format!("Partner Center needs the customer's tenant id, and `{name}` is a name"),
                hint: Some("give `--tenant` as the customer's tenant id or verified domain".into()),
            });
        }
        TenantRef::Name(_) => {}
    }
    s
}

/// `apctl-` and the file's name, in letters, digits, `-` and `_`.
fn default_batch_id(file: Option<&std::path::Path>) -> String {
    let stem = file
        .and_then(|f| f.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(50)
        .collect();
    format!("apctl-{}", if clean.is_empty() { "devices" } else { &clean })
}

/// Validates every file: Graph rows and Partner Center rows to register,
/// entries for invalid rows, and file-level errors.
#[allow(clippy::type_complexity)]
fn read_input(
    files: &[PathBuf],
    settings: &ImportSettings,
) -> (Vec<Device>, Vec<Device>, Vec<Entry>, Vec<TenantError>) {
    let mut graph_rows = Vec::new();
    let mut pc_rows = Vec::new();
    let mut entries = Vec::new();
    let options = ValidateOptions {
        strict: false,
        order_id: settings.order_id.clone(),
    };
    let validation = validate::validate(files, &options, |row| match row {
        Checked::Valid(d) if d.pipe() == Pipe::Graph => graph_rows.push(d.clone()),
        Checked::Valid(d) => pc_rows.push(d.clone()),
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
    (graph_rows, pc_rows, entries, errors)
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
    } else if entries.iter().any(|e| e.failed() || e.tag_missing()) {
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
