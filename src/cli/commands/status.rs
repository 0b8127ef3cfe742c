//! `apctl status`: a customer's Autopilot devices — or every reachable
//! customer's — in the portal's states, as a table, CSV or JSON.

use std::io::Write;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::cli::exit::Exit;
use crate::cli::session::{self, Session};
use crate::cli::settings;
use apctl::portal::state::RegistrationState;
use apctl::status::{self, DeviceState};

/// A state to filter on (the portal's five).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StateArg {
    // The portal's own words are taken too (`--state "Ready for user"`).
    #[value(alias = "Registration pending")]
    RegistrationPending,
    #[value(alias = "Registration failed")]
    RegistrationFailed,
    #[value(alias = "Ready for user")]
    ReadyForUser,
    Active,
    Inactive,
}

impl StateArg {
    fn state(self) -> RegistrationState {
        match self {
            Self::RegistrationPending => RegistrationState::RegistrationPending,
            Self::RegistrationFailed => RegistrationState::RegistrationFailed,
            Self::ReadyForUser => RegistrationState::ReadyForUser,
            Self::Active => RegistrationState::Active,
            Self::Inactive => RegistrationState::Inactive,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
enum Format {
    /// A table for people (`table` is taken too).
    #[default]
    #[value(alias = "table")]
    Human,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The customer: tenant id, verified domain, or GDAP display name.
    #[arg(
        long,
        value_name = "TENANT",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    tenant: Option<String>,
    /// Every customer with an active GDAP relationship.
    #[arg(long)]
    all: bool,
    /// Only these serial numbers (exact match): a list (`PC-1,PC-2`), or
    /// the flag repeated.
    #[arg(long = "serial", value_name = "SERIAL", value_delimiter = ',')]
    serials: Vec<String>,
    /// Only devices in these states, in the portal's words or as written
    /// here (`"Ready for user"` or `ready-for-user`): a list, or the flag
    /// repeated.
    #[arg(
        long = "state",
        value_enum,
        value_name = "STATE",
        value_delimiter = ',',
        ignore_case = true
    )]
    states: Vec<StateArg>,
    /// The partner's own tenant (for `--all` and customer names).
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT", value_parser = crate::cli::settings::partner_tenant_value)]
    partner_tenant: Option<String>,
    /// List the customers' Windows corporate identifiers (Autopilot device
    /// preparation) and their enrollment states instead of Autopilot
    /// devices.
    #[arg(long, conflicts_with = "states")]
    corporate_identifiers: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t, value_name = "FORMAT")]
    output: Format,
    /// Overall deadline: the command ends by then, whatever the services do.
    #[arg(long, default_value = "5m", value_parser = crate::cli::settings::parse_duration, value_name = "DURATION")]
    timeout: std::time::Duration,
    #[command(flatten)]
    connect: session::ConnectArgs,
}

/// A customer that could not be read.
type Failure = apctl::report::TenantError;

/// Runs the status listing; exits 2 when a customer could not be read.
pub fn run(args: StatusArgs) -> anyhow::Result<Exit> {
    let options = args.connect.options(None, Duration::from_secs(120))?;
    let tenant = args
        .tenant
        .as_deref()
        .map(settings::check_tenant_text)
        .transpose()?;
    let limit = args.timeout;
    session::runtime()?.block_on(session::bounded(limit, async move {
        let session = session::open(options).await?;
        let customers = match &tenant {
            Some(t) => vec![(
                session::resolve_tenant(&session, t, args.partner_tenant.as_deref()).await?,
                None,
            )],
            None => active_customers(&session, args.partner_tenant.as_deref()).await?,
        };
        if args.corporate_identifiers {
            let format = match args.output {
                Format::Json => super::corporate::ListFormat::Json,
                Format::Csv => super::corporate::ListFormat::Csv,
                Format::Human => super::corporate::ListFormat::Table,
            };
            return super::corporate::status(&session, &customers, &args.serials, format).await;
        }
        let reads = customers.iter().map(|(t, name)| read(&session, t, name.clone()));
        let results = futures::future::join_all(reads).await;
        let mut devices = Vec::new();
        let mut failures = Vec::new();
        for r in results {
            match r {
                Ok(list) => devices.extend(list),
                Err(failure) => failures.push(failure),
            }
        }
        let states: Vec<RegistrationState> = args.states.iter().map(|s| s.state()).collect();
        let serials: Vec<&str> = args
            .serials
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        // A serial asked for that no customer holds is said, not silently
        // left out of an empty table.
        for s in serials
            .iter()
            .filter(|s| !devices.iter().any(|d| d.serial_number == **s))
        {
            crate::cli::term::err_line(&format!("note: no device with serial number `{s}` was found"));
        }
        devices.retain(|d| {
            (serials.is_empty() || serials.contains(&d.serial_number.as_str()))
                && (states.is_empty() || states.contains(&d.state))
        });
        print(&devices, &failures, args.output)?;
        Ok(if failures.is_empty() {
            Exit::Success
        } else {
            Exit::Failure
        })
    }))
}

/// Every customer with an active (or expiring) GDAP relationship.
pub(crate) async fn active_customers(
    session: &Session,
    partner: Option<&str>,
) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let Some(partner) = partner.map(str::to_owned).or(session.demo_partner.clone()) else {
        return Err(crate::cli::hinted!(
            "set `AZURE_TENANT_ID` to your own (partner) tenant",
            "`--all` needs the partner tenant to list customers"
        ));
    };
    let relationships = session
        .relationships(&partner)
        .await
        .map_err(anyhow::Error::new)?;
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for r in relationships.iter().filter(|r| r.is_active()) {
        let id = r.customer.tenant_id.to_lowercase();
        if !out.iter().any(|(have, _)| *have == id) {
            let name = Some(r.customer.display_name.clone()).filter(|n| !n.is_empty());
            out.push((id, name));
        }
    }
    Ok(out)
}

/// A customer's devices, each with the customer's name (from GDAP, else
/// the tenant's organization).
async fn read(session: &Session, tenant: &str, name: Option<String>) -> Result<Vec<DeviceState>, Failure> {
    let gate = session.client.gate(tenant);
    let graph = session.graph(tenant, &gate);
    let mut devices = status::tenant_devices(&graph)
        .await
        .map_err(|e| crate::cli::settings::call_failure(tenant, &e))?;
    let name = match name {
        Some(n) => Some(n),
        None => graph.organization_name().await,
    };
    for d in &mut devices {
        d.customer.clone_from(&name);
    }
    Ok(devices)
}

fn print(devices: &[DeviceState], failures: &[Failure], format: Format) -> anyhow::Result<()> {
    let mut out = crate::cli::term::Out::new();
    match format {
        Format::Json => {
            out.write_all(
                apctl::sanitize::json_pretty(
                    &serde_json::json!({"schema": "apctl.status.v1", "devices": devices, "errors": failures}),
                )?
                .as_bytes(),
            )?;
        }
        Format::Csv => print_csv(&mut out, devices)?,
        Format::Human => print_table(&mut out, devices)?,
    }
    out.flush()?;
    drop(out);
    crate::cli::term::tenant_errors(failures);
    Ok(())
}

/// One CSV line per device, spreadsheet-safe.
fn print_csv(out: &mut impl Write, devices: &[DeviceState]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "tenant",
        "customer",
        "serialNumber",
        "state",
        "message",
        "groupTag",
        "orderId",
        "manufacturer",
        "model",
        "lastContact",
        "source",
    ])?;
    for d in devices {
        apctl::report::write_safe_record(
            &mut w,
            [
                d.tenant.as_str(),
                d.customer.as_deref().unwrap_or(""),
                &d.serial_number,
                d.state.as_str(),
                d.message.map(|m| m.as_str()).unwrap_or(""),
                d.group_tag.as_deref().unwrap_or(""),
                d.order_id.as_deref().unwrap_or(""),
                d.manufacturer.as_deref().unwrap_or(""),
                d.model.as_deref().unwrap_or(""),
                d.last_contact.as_deref().unwrap_or(""),
                match d.source {
                    status::Source::Registered => "registered",
                    status::Source::Import => "import",
                },
            ],
        )?;
    }
    w.flush()?;
    Ok(())
}

/// A table for people: one line per device, its message below it.
fn print_table(out: &mut impl Write, devices: &[DeviceState]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<38} {:<24} {:<21} {:<12} {:<12} {:<20} last contact",
        "customer", "serial", "state", "group tag", "order id", "model"
    )?;
    for d in devices {
        writeln!(
            out,
            "{:<38} {:<24} {:<21} {:<12} {:<12} {:<20} {}",
            d.customer.as_deref().unwrap_or(&d.tenant),
            d.serial_number,
            d.state.as_str(),
            d.group_tag.as_deref().unwrap_or("-"),
            d.order_id.as_deref().unwrap_or("-"),
            d.model.as_deref().unwrap_or("-"),
            d.last_contact
                .as_deref()
                .map_or("never", |t| &t[..10.min(t.len())])
        )?;
        if let Some(m) = d.message {
            writeln!(out, "    {m}: {}", message_text(d, m))?;
        }
    }
    writeln!(
        out,
        "{}",
        crate::cli::style::count(devices.len() as u64, "device")
    )?;
    Ok(())
}

/// A message with the portal's words and the next step. An error read from
/// a staged record has no request id of its own: the import that sent it
/// has, in its report.
fn message_text(d: &DeviceState, m: apctl::portal::state::DeviceMessage) -> String {
    use apctl::portal::state::DeviceMessage;
    match m {
        DeviceMessage::UnexpectedError => format!(
            "the import could not be processed (staged record `{}`). Run `apctl import` with the file again: a transient error is resent and nothing is sent twice; if it stays, contact Microsoft support with the request id that import's report gives for this device.",
            d.id
        ),
        other => other.details(None),
    }
}
