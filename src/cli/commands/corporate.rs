//! `--corporate-identifiers` (or `route = "corporate-identifiers"` for a
//! customer in a manifest): the customer's Manufacturer+Model+Serial rows
//! become Windows corporate identifiers (Autopilot device preparation)
//! instead of Partner Center device batches. Never chosen by apctl on its
//! own. A tenant's first identifiers make every other Windows device that
//! enrolls there personal, so that first upload is refused, before anything
//! is sent, unless it is confirmed (`--yes`, or `mark_others_personal =
//! true` for the customer in the manifest).

use clap::Args;

use apctl::import::pipes::corporate::Route;
use apctl::import::plan::Job;

use crate::cli::session::Session;

#[derive(Debug, Default, Args)]
pub struct CorporateArgs {
    /// Send Manufacturer+Model+Serial rows as Windows corporate
    /// identifiers (Autopilot device preparation) instead of registering
    /// them through Partner Center. This marks a device corporate when it
    /// enrolls; it creates no Autopilot device, profile or group tag. Hash
    /// rows still go through the Graph import; product-key rows are
    /// refused. Needs Windows 11 22H2/23H2 with KB5035942 or later, or
    /// Windows 10 22H2 with KB5039299 or later, on the devices.
    #[arg(long, help_heading = "Corporate identifiers")]
    pub corporate_identifiers: bool,
    /// Replace corporate identifiers the tenant already holds (by default
    /// they are left as they are and reported "already present").
    #[arg(
        long,
        requires = "corporate_identifiers",
        help_heading = "Corporate identifiers"
    )]
    pub overwrite: bool,
    /// Confirm a tenant's first corporate identifiers: from then on every
    /// other Windows device that enrolls there is marked personal.
    #[arg(long, help_heading = "Corporate identifiers")]
    pub yes: bool,
}

/// A manifest customer on the corporate route: its name as written, and
/// whether its first upload is confirmed.
pub type ManifestRoute = (String, bool);

impl CorporateArgs {
    /// The route of a customer named `named`, and whether a first upload
    /// there is confirmed.
    pub fn route(&self, named: &str, manifest: &[ManifestRoute]) -> Option<(Route, bool)> {
        let route = Route {
            overwrite: self.overwrite,
        };
        if let Some((_, confirmed)) = manifest
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(named.trim()))
        {
            return Some((route, *confirmed || self.yes));
        }
        self.corporate_identifiers.then_some((route, self.yes))
    }
}

/// Refuses the run, before anything is sent, when a customer on the route
/// holds no corporate identifier yet and its first upload is not
/// confirmed. `unconfirmed` names the jobs to check.
pub async fn check_first_uploads(
    session: &Session,
    jobs: &[Job],
    unconfirmed: &[usize],
) -> anyhow::Result<()> {
    let mut first = Vec::new();
    for &i in unconfirmed {
        let job = &jobs[i];
        if job.customer.preflight_failure.is_some() || job.rows.partner_center.is_empty() {
            continue;
        }
        let tenant = &job.customer.tenant;
        let gate = session.client.gate(tenant);
        let name = job
            .customer
            .name
            .clone()
            .unwrap_or_else(|| job.rows.tenant.clone());
        // A tenant that cannot be read might hold none: not sent either.
        match session.graph(tenant, &gate).list_identities().await {
            Ok(list) if list.is_empty() => first.push(format!("`{name}`")),
            Ok(_) => {}
            Err(e) => first.push(format!("`{name}` (its identifiers could not be read: {e})")),
        }
    }
    if first.is_empty() {
        return Ok(());
    }
    Err(first_uploads_refused(&first))
}

/// The refusal of first uploads, naming the customers (as they are to be
/// shown), for `import` and `reconcile --apply` alike.
pub fn first_uploads_refused(customers: &[String]) -> anyhow::Error {
    crate::cli::hinted!(
        "if the customer wants that, run again with `--yes` (or `mark_others_personal = true` for the customer in the manifest)",
        "{} holds no Windows corporate identifiers yet: once it holds any, every other Windows device that enrolls there is marked personal (Microsoft Learn, \"Add corporate identifiers\"); nothing was sent",
        customers.join(", ")
    )
}

/// How `status --corporate-identifiers` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Csv,
    Json,
}

/// One identifier of a customer, as `status` lists it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    tenant: String,
    customer: Option<String>,
    manufacturer: String,
    model: String,
    serial_number: String,
    enrollment_state: String,
}

/// `apctl status --corporate-identifiers`: every customer's identifiers
/// with their enrollment states (`--serial` filters); exit 2 when a
/// customer could not be read.
pub async fn status(
    session: &Session,
    customers: &[(String, Option<String>)],
    serials: &[String],
    format: ListFormat,
) -> anyhow::Result<crate::cli::exit::Exit> {
    let serials: Vec<&str> = serials
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    let mut listed = Vec::new();
    let mut failures = Vec::new();
    for (tenant, name) in customers {
        let gate = session.client.gate(tenant);
        let graph = session.graph(tenant, &gate);
        match graph.list_identities().await {
            Ok(list) => {
                let name = match name {
                    Some(n) => Some(n.clone()),
                    None => graph.organization_name().await,
                };
                for i in list {
                    let mut parts = i.imported_device_identifier.splitn(3, ',');
                    let (manufacturer, model, serial) = (
                        parts.next().unwrap_or("").to_owned(),
                        parts.next().unwrap_or("").to_owned(),
                        parts.next().unwrap_or("").to_owned(),
                    );
                    if serials.is_empty() || serials.contains(&serial.as_str()) {
                        listed.push(Listed {
                            tenant: tenant.clone(),
                            customer: name.clone(),
                            manufacturer,
                            model,
                            serial_number: serial,
                            enrollment_state: apctl::report::enrollment_text(&i.enrollment_state),
                        });
                    }
                }
            }
            Err(e) => failures.push(crate::cli::settings::call_failure(tenant, &e)),
        }
    }
    print_listed(&listed, &failures, format)?;
    Ok(if failures.is_empty() {
        crate::cli::exit::Exit::Success
    } else {
        crate::cli::exit::Exit::Failure
    })
}

/// Prints the identifiers, then the customers that could not be read.
fn print_listed(
    listed: &[Listed],
    failures: &[apctl::report::TenantError],
    format: ListFormat,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = crate::cli::term::Out::new();
    match format {
        ListFormat::Json => {
            let doc = serde_json::json!({"schema": "apctl.corporate-identifiers.v1", "identifiers": listed, "errors": failures});
            out.write_all(apctl::sanitize::json_pretty(&doc)?.as_bytes())?;
        }
        ListFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "tenant",
                "customer",
                "manufacturer",
                "model",
                "serialNumber",
                "enrollmentState",
            ])?;
            for l in listed {
                apctl::report::write_safe_record(
                    &mut w,
                    [
                        l.tenant.as_str(),
                        l.customer.as_deref().unwrap_or(""),
                        &l.manufacturer,
                        &l.model,
                        &l.serial_number,
                        &l.enrollment_state,
                    ],
                )?;
            }
            w.flush()?;
        }
        ListFormat::Table => {
            writeln!(
                out,
                "{:<24} {:<20} {:<20} {:<24} enrollment",
                "customer", "manufacturer", "model", "serial"
            )?;
            for l in listed {
                let customer = l.customer.as_deref().unwrap_or(&l.tenant);
                writeln!(
                    out,
                    "{customer:<24} {:<20} {:<20} {:<24} {}",
                    l.manufacturer, l.model, l.serial_number, l.enrollment_state
                )?;
            }
            writeln!(
                out,
                "{}",
                apctl::report::count(listed.len() as u64, "corporate identifier")
            )?;
        }
    }
    out.flush()?;
    drop(out);
    crate::cli::term::tenant_errors(failures);
    Ok(())
}
