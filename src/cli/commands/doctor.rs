//! `apctl doctor --tenant T`: checks, in order, what an import into one
//! customer needs — a token, the Graph permission, the GDAP role (for
//! delegated tokens), Partner Center — and says for each failure its cause
//! and the fix. Without `--tenant` it checks the setup (`setup.rs`).

use std::io::{self, Write};
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::cli::Output;
use crate::cli::exit::Exit;
use crate::cli::session::{self, Session};
use crate::cli::settings;
use apctl::graph::Graph;
use apctl::graph::gdap::{self, TenantRef};
use apctl::transport::CallError;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The customer to check: tenant id, verified domain, or GDAP display
    /// name. Without it, the setup is checked: credentials, partner tenant,
    /// tokens, GDAP relationships and every customer's reach.
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// The partner's own tenant (for the GDAP check and name look-ups).
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT", value_parser = crate::cli::settings::partner_tenant_value)]
    partner_tenant: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t, value_name = "FORMAT")]
    output: Output,
    /// Overall deadline: the command ends by then, whatever the services do.
    #[arg(long, default_value = "5m", value_parser = crate::cli::settings::parse_duration, value_name = "DURATION")]
    timeout: std::time::Duration,
    #[command(flatten)]
    connect: session::ConnectArgs,
}

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Ok,
    Failed,
    Skipped,
}

#[derive(Debug, Serialize)]
pub(super) struct Check {
    step: &'static str,
    outcome: Outcome,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

impl Check {
    /// The failure as a tenant error, when the check failed.
    pub(super) fn failure(&self, tenant: &str) -> Option<apctl::report::TenantError> {
        (self.outcome == Outcome::Failed).then(|| apctl::report::TenantError {
            tenant: tenant.to_owned(),
            error: format!("preflight `{}` failed: {}", self.step, self.detail),
            hint: self.hint.clone(),
        })
    }

    fn ok(step: &'static str, detail: impl Into<String>) -> Self {
        Self {
            step,
            outcome: Outcome::Ok,
            detail: detail.into(),
            hint: None,
        }
    }
    fn failed(step: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            step,
            outcome: Outcome::Failed,
            detail: detail.into(),
            hint: Some(hint.into()),
        }
    }
    fn skipped(step: &'static str, detail: impl Into<String>) -> Self {
        Self {
            step,
            outcome: Outcome::Skipped,
            detail: detail.into(),
            hint: None,
        }
    }
}

/// Runs the checks.
pub fn run(args: DoctorArgs) -> anyhow::Result<Exit> {
    let options = args.connect.options(None, Duration::from_secs(60))?;
    let limit = args.timeout;
    let Some(tenant) = &args.tenant else {
        let credentials = match &options.credentials {
            Some(c) => c.describe(),
            None => "the built-in simulator's demo app (--simulate)".into(),
        };
        return session::runtime()?.block_on(session::bounded(limit, async move {
            let session = session::open(options).await?;
            super::setup::run(
                &session,
                &credentials,
                args.partner_tenant.as_deref(),
                args.output,
            )
            .await
        }));
    };
    let tenant = settings::check_tenant_text(tenant)?;
    session::runtime()?.block_on(session::bounded(limit, async move {
        let session = session::open(options).await?;
        let tenant = session::resolve_tenant(&session, &tenant, args.partner_tenant.as_deref()).await?;
        let mut checks = checks(&session, &tenant, args.partner_tenant.as_deref()).await;
        // A domain Entra does not know: the close customer domains.
        if let Some(first) = checks.first_mut().filter(|c| c.detail.contains("AADSTS90002")) {
            let partner = args.partner_tenant.clone().or(session.demo_partner.clone());
            if let (Some(partner), TenantRef::Domain(_)) = (partner, TenantRef::parse(&tenant)) {
                let gate = session.client.gate(&partner);
                let contracts = gdap::contracts(&session.graph(&partner, &gate))
                    .await
                    .unwrap_or_default();
                let close = gdap::close_domains(&tenant, &contracts);
                if !close.is_empty() {
                    first.hint = Some(format!("did you mean {}?", close.join(" or ")));
                }
            }
        }
        // The customer by name, when the token reached the tenant.
        let name = if checks.first().is_some_and(|c| c.outcome == Outcome::Ok) {
            let gate = session.client.gate(&tenant);
            session.graph(&tenant, &gate).organization_name().await
        } else {
            None
        };
        print(&tenant, name.as_deref(), &checks, args.output)?;
        Ok(if checks.iter().any(|c| c.outcome == Outcome::Failed) {
            Exit::Failure
        } else {
            Exit::Success
        })
    }))
}

async fn checks(session: &Session, tenant: &str, partner: Option<&str>) -> Vec<Check> {
    let mut out = Vec::new();
    let scope = session.endpoints.graph_scope;
    match session.client.tokens().get(tenant, scope).await {
        Ok(_) => out.push(Check::ok("token", "a Graph token was issued for the tenant")),
        Err(e) => {
            out.push(Check::failed("token", e.summary.clone(), e.hint.clone()));
            out.push(Check::skipped("graph", "needs a token"));
            out.push(Check::skipped("gdap-role", "needs a token"));
            out.push(partner_center(session, tenant, partner).await);
            return out;
        }
    }
    let gate = session.client.gate(tenant);
    let graph = Graph {
        client: &session.client,
        root: &session.endpoints.graph,
        tenant,
        gate: &gate,
        scope,
    };
    out.push(match graph.list_registered().await {
        Ok(devices) => Check::ok(
            "graph",
            format!("can read Autopilot devices ({} registered)", devices.len()),
        ),
        Err(e) => Check::failed("graph", e.to_string(), permission_hint(&e, session.delegated)),
    });
    out.push(gdap_role(session, tenant, partner).await);
    out.push(partner_center(session, tenant, partner).await);
    out
}

pub(super) async fn gdap_role(session: &Session, tenant: &str, partner: Option<&str>) -> Check {
    if !session.delegated {
        return Check::skipped(
            "gdap-role",
            "app-only tokens do not use GDAP roles: the app's consent in the tenant is what counts",
        );
    }
    let Some(partner) = partner.map(str::to_owned).or(session.demo_partner.clone()) else {
        return Check::skipped(
            "gdap-role",
            "set `AZURE_TENANT_ID` to the partner tenant to check the GDAP role",
        );
    };
    if let TenantRef::Name(_) = TenantRef::parse(tenant) {
        return Check::skipped(
            "gdap-role",
            "give the customer's tenant id to check the GDAP role (relationships name customers by id)",
        );
    }
    // Relationships name customers by id: a domain is looked up first.
    let customer = match gdap::customer_id(session.client.http(), &session.endpoints.authority, tenant).await
    {
        Ok(id) => id,
        Err(why) => return Check::failed("gdap-role", why, "give the customer's tenant id"),
    };
    let relationships = match session.relationships(&partner).await {
        Ok(r) => r,
        Err(e) => {
            return Check::failed("gdap-role", e.to_string(), gdap::LIST_HINT);
        }
    };
    // The roles work only through an active access assignment to a
    // security group: read each granting relationship's assignments.
    let mut assignments = std::collections::HashMap::new();
    for r in relationships
        .iter()
        .filter(|r| r.customer.tenant_id.eq_ignore_ascii_case(&customer) && r.grants_intune_administrator())
    {
        let gate = session.client.gate(&partner);
        let read = gdap::access_assignments(&session.graph(&partner, &gate), &r.id)
            .await
            .map_err(|e| e.to_string());
        assignments.insert(r.id.clone(), read);
    }
    role_check(relationships, &customer, &assignments)
}

/// A relationship that grants Intune Administrator, judged by its access
/// assignments: the role works only for users in a security group an
/// active assignment gives it to (apctl cannot see group membership).
fn assigned(
    r: &gdap::Relationship,
    name: &str,
    assignments: &std::collections::HashMap<String, Result<Vec<gdap::AccessAssignment>, String>>,
) -> Check {
    match assignments.get(&r.id) {
        Some(Ok(list)) => match list.iter().find(|a| a.gives_intune_administrator()) {
            Some(a) => Check::ok(
                "gdap-role",
                format!(
                    "Intune Administrator is granted in `{name}` and assigned to security group {}; the signed-in user must be in that group (apctl cannot see group membership)",
                    a.access_container.access_container_id
                ),
            ),
            None => Check::failed(
                "gdap-role",
                format!(
                    "`{name}` grants Intune Administrator, but no active access assignment gives it to a security group, so nobody holds it"
                ),
                "assign it: Partner Center > Customers > the customer > Admin relationships > the relationship > Assign roles to a security group, and put the signed-in user in that group",
            ),
        },
        Some(Err(why)) => Check::ok(
            "gdap-role",
            format!(
                "Intune Administrator is requested in `{name}`, not verified: its access assignments could not be read ({why})"
            ),
        ),
        None => Check::ok(
            "gdap-role",
            format!("Intune Administrator is requested in `{name}`, not verified"),
        ),
    }
}

/// The GDAP verdict for one customer, with the fix its relationships'
/// states call for: add the role, renew, get the approval, or wait.
fn role_check(
    relationships: &[gdap::Relationship],
    customer: &str,
    assignments: &std::collections::HashMap<String, Result<Vec<gdap::AccessAssignment>, String>>,
) -> Check {
    let mine: Vec<&gdap::Relationship> = relationships
        .iter()
        .filter(|r| r.customer.tenant_id.eq_ignore_ascii_case(customer))
        .collect();
    let name = |r: &gdap::Relationship| r.display_name.clone().unwrap_or_else(|| r.id.clone());
    let active: Vec<&&gdap::Relationship> = mine.iter().filter(|r| r.is_active()).collect();
    if let Some(r) = active.iter().find(|r| r.grants_intune_administrator()) {
        return assigned(r, &name(r), assignments);
    }
    if let Some(r) = active.first() {
        return Check::failed(
            "gdap-role",
            format!(
                "the active GDAP relationship `{}` does not grant Intune Administrator",
                name(r)
            ),
            "add Intune Administrator to the relationship (Partner Center > Customers > the customer > Admin relationships), and put the signed-in user in the security group that holds it",
        );
    }
    if let Some((message, hint)) = inactive_state(relationships, customer) {
        return Check::failed("gdap-role", message, hint);
    }
    Check::failed(
        "gdap-role",
        "no GDAP relationship with this customer",
        "create one with Intune Administrator in Partner Center (Customers > the customer > Admin relationships) and have the customer approve it; `apctl tenants` lists the relationships you have",
    )
}

/// What the states of the customer's relationships (among all the
/// partner's) say when none is active: the state, and the fix it calls for
/// (get the approval, wait, renew). `None` when one is active, or there is
/// none.
pub(crate) fn inactive_state(
    relationships: &[gdap::Relationship],
    customer: &str,
) -> Option<(String, &'static str)> {
    let mine: Vec<&gdap::Relationship> = relationships
        .iter()
        .filter(|r| r.customer.tenant_id.eq_ignore_ascii_case(customer))
        .collect();
    if mine.iter().any(|r| r.is_active()) {
        return None;
    }
    let name = |r: &gdap::Relationship| r.display_name.clone().unwrap_or_else(|| r.id.clone());
    let with = |statuses: &[&str]| mine.iter().find(|r| statuses.contains(&r.status.as_str()));
    if let Some(r) = with(&["approvalPending", "created"]) {
        return Some((
            format!(
                "the GDAP relationship `{}` is waiting for the customer's approval",
                name(r)
            ),
            "a Global Administrator of the customer approves it from the invitation link (Partner Center > Customers > the customer > Admin relationships > the relationship); then run apctl again",
        ));
    }
    if let Some(r) = with(&["approved", "activating"]) {
        return Some((
            format!(
                "the GDAP relationship `{}` was approved and is being activated",
                name(r)
            ),
            "wait a few minutes for Microsoft to activate it, then run apctl again",
        ));
    }
    if let Some(r) = mine.iter().find(|r| r.has_ended()) {
        let when = r
            .end_date_time
            .as_deref()
            .map(|d| format!(" (it ended {})", d.get(..10).unwrap_or(d)))
            .unwrap_or_default();
        return Some((
            format!("the GDAP relationship `{}` is {}{when}", name(r), r.status),
            "renew it: create a new relationship with Intune Administrator in Partner Center (Customers > the customer > Admin relationships) and have the customer approve it; `apctl tenants` lists every relationship's state",
        ));
    }
    None
}

/// Partner Center, for Manufacturer+Model+Serial and product-key rows: a
/// partner admin's token at the partner tenant, then the customer's device
/// batches.
async fn partner_center(session: &Session, tenant: &str, partner: Option<&str>) -> Check {
    use apctl::partner_center::PartnerCenter;
    let partner = partner
        .map(str::to_owned)
        .or(session.demo_partner.clone())
        .unwrap_or_else(|| "organizations".into());
    if let Err(e) = session
        .client
        .tokens()
        .get(&partner, session.endpoints.partner_center_scope)
        .await
    {
        if e.error == "no_partner_sign_in" {
            return Check::skipped(
                "partner-center",
                "hash rows need only Graph; Manufacturer+Model+Serial and product-key rows need a partner admin's sign-in (`apctl login`, then `--refresh-token-file`)",
            );
        }
        return Check::failed("partner-center", e.summary.clone(), e.hint.clone());
    }
    let customer =
        match apctl::graph::gdap::customer_id(session.client.http(), &session.endpoints.authority, tenant)
            .await
        {
            Ok(id) => id,
            Err(why) => {
                return Check::failed(
                    "partner-center",
                    why,
                    "give `--tenant` as the customer's tenant id",
                );
            }
        };
    let gate = session.client.gate(&format!("partner-center:{customer}"));
    let pc = PartnerCenter {
        client: &session.client,
        root: &session.endpoints.partner_center,
        partner_tenant: &partner,
        customer: &customer,
        gate: &gate,
        scope: session.endpoints.partner_center_scope,
    };
    match pc.list_batches().await {
        Ok(batches) => Check::ok(
            "partner-center",
            format!("can read the customer's device batches ({})", batches.len()),
        ),
        Err(CallError::Service { error, .. }) if matches!(error.status, 403 | 404) => Check::failed(
            "partner-center",
            format!(
                "Partner Center does not list this customer for you ({})",
                error.message
            ),
            "device batches need your direct reseller relationship with the customer; an indirect reseller asks their indirect provider, or sends hardware hashes through Graph",
        ),
        Err(e) => Check::failed(
            "partner-center",
            e.to_string(),
            "check the network and `--partner-center-url`; the partner admin needs the Admin agent role in Partner Center",
        ),
    }
}

fn permission_hint(e: &CallError, delegated: bool) -> String {
    match (e, delegated) {
        (CallError::Service { error, .. }, false) if matches!(error.status, 401 | 403) => {
            "grant the app DeviceManagementServiceConfig.ReadWrite.All (application) and consent it in the customer tenant".into()
        }
        (CallError::Service { error, .. }, true) if matches!(error.status, 401 | 403) => {
            "the user needs Intune Administrator through GDAP, and the app DeviceManagementServiceConfig.ReadWrite.All (delegated)".into()
        }
        _ => "check the network and `--graph-url`; run again later".into(),
    }
}

fn print(tenant: &str, name: Option<&str>, checks: &[Check], output: Output) -> io::Result<()> {
    let mut out = crate::cli::term::Out::new();
    if output == Output::Json {
        out.write_all(apctl::sanitize::json_pretty(&serde_json::json!({"schema": "apctl.doctor.v1", "tenant": tenant, "customer": name, "checks": checks}))?.as_bytes())?;
        return out.flush();
    }
    match name {
        Some(name) => writeln!(out, "doctor: {name} ({tenant})")?,
        None => writeln!(out, "doctor: {tenant}")?,
    }
    for c in checks {
        let mark = match c.outcome {
            Outcome::Ok => "ok  ",
            Outcome::Failed => "FAIL",
            Outcome::Skipped => "skip",
        };
        writeln!(out, "  {mark}  {:<15} {}", c.step, c.detail)?;
        if let Some(h) = &c.hint {
            writeln!(out, "        hint: {h}")?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relationship(status: &str, intune: bool) -> gdap::Relationship {
        let roles = if intune {
            vec![gdap::Role {
                role_definition_id: gdap::INTUNE_ADMINISTRATOR.into(),
            }]
        } else {
            Vec::new()
        };
        gdap::Relationship {
            id: format!("rel-{status}"),
            display_name: Some(format!("Contoso {status}")),
            customer: gdap::Customer {
                tenant_id: "c0ffee00-0000-4000-8000-000000000001".into(),
                display_name: "Contoso Ltd".into(),
            },
            status: status.into(),
            end_date_time: Some("2026-11-30T00:00:00Z".into()),
            access_details: gdap::AccessDetails { unified_roles: roles },
            ..gdap::Relationship::default()
        }
    }

    /// Each state of a customer's relationships gets its own fix.
    #[test]
    fn every_gdap_state_gets_its_own_message_and_fix() {
        let customer = "c0ffee00-0000-4000-8000-000000000001";
        let mut shown = String::new();
        for (status, intune) in [
            ("active", true),
            ("active", false),
            ("approvalPending", true),
            ("activating", true),
            ("expired", true),
            ("terminated", true),
        ] {
            let check = role_check(&[relationship(status, intune)], customer, &Default::default());
            shown.push_str(&format!(
                "{status} (Intune Administrator: {intune}): {:?}: {}\n  hint: {}\n",
                check.outcome,
                check.detail,
                check.hint.unwrap_or_default()
            ));
        }
        let none = role_check(&[], customer, &Default::default());
        shown.push_str(&format!(
            "none: {}\n  hint: {}\n",
            none.detail,
            none.hint.unwrap_or_default()
        ));
        insta::assert_snapshot!(shown);
    }

    /// A relationship's Intune Administrator works only through an active
    /// access assignment to a security group.
    #[test]
    fn a_granted_role_counts_only_when_assigned_to_a_group() {
        let customer = "c0ffee00-0000-4000-8000-000000000001";
        let r = relationship("active", true);
        let assignment = |status: &str| gdap::AccessAssignment {
            status: status.into(),
            access_container: gdap::AccessContainer {
                access_container_id: "group-1".into(),
            },
            access_details: r.access_details.clone(),
        };
        let with = |read: Result<Vec<gdap::AccessAssignment>, String>| {
            let map = [(r.id.clone(), read)].into_iter().collect();
            role_check(std::slice::from_ref(&r), customer, &map)
        };
        let active = with(Ok(vec![assignment("active")]));
        assert_eq!(active.outcome, Outcome::Ok);
        assert!(active.detail.contains("group-1"), "{}", active.detail);
        for none in [Ok(vec![]), Ok(vec![assignment("pending")])] {
            let check = with(none);
            assert_eq!(check.outcome, Outcome::Failed, "{}", check.detail);
            assert!(check.hint.unwrap().contains("Assign roles to a security group"));
        }
        let unread = with(Err("403".into()));
        assert_eq!(unread.outcome, Outcome::Ok);
        assert!(
            unread.detail.contains("requested") && unread.detail.contains("not verified"),
            "{}",
            unread.detail
        );
    }
}
