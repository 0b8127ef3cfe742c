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
#[command(next_help_heading = "Corporate identifiers")]
pub struct CorporateArgs {
    /// Send Manufacturer+Model+Serial rows as Windows corporate
    /// identifiers (Autopilot device preparation) instead of registering
    /// them through Partner Center. This marks a device corporate when it
    /// enrolls; it creates no Autopilot device, profile or group tag. Hash
    /// rows still go through the Graph import; product-key rows are
    /// refused. Needs Windows 11 22H2/23H2 with KB5035942 or later, or
    /// Windows 10 22H2 with KB5039299 or later, on the devices.
    #[arg(long)]
    pub corporate_identifiers: bool,
    /// Replace corporate identifiers the tenant already holds (by default
    /// they are left as they are and reported "already present").
    #[arg(long, requires = "corporate_identifiers")]
    pub overwrite: bool,
    /// Confirm a tenant's first corporate identifiers: from then on every
    /// other Windows device that enrolls there is marked personal.
    #[arg(long)]
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
        // A tenant that cannot be read is reported by the run itself.
        if let Ok(list) = session.graph(tenant, &gate).list_identities().await
            && list.is_empty()
        {
            first.push(
                job.customer
                    .name
                    .clone()
                    .unwrap_or_else(|| job.rows.tenant.clone()),
            );
        }
    }
    if first.is_empty() {
        return Ok(());
    }
    Err(crate::cli::hinted!(
        "if the customer wants that, run again with `--yes` (or `mark_others_personal = true` for the customer in the manifest)",
        "{} holds no Windows corporate identifiers yet: once it holds any, every other Windows device that enrolls there is marked personal (Microsoft Learn, \"Add corporate identifiers\"); nothing was sent",
        first
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
