//! `apctl doctor` with no `--tenant`: the setup check, a newcomer's first
//! command (like `gh auth status`). Which credentials apctl picked and for
//! which app, the partner tenant, a token for Graph there and (when a
//! partner admin's sign-in is given) for Partner Center, the GDAP
//! relationships with their states and roles, and for each customer
//! whether apctl can reach it and how. Every problem comes with its fix;
//! the exit code is 0 when the setup can work.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::Output;
use crate::cli::exit::Exit;
use crate::cli::session::Session;
use apctl::graph::gdap::{self, Relationship};

use super::doctor::inactive_state;

/// One line of the check.
#[derive(Debug, Serialize)]
struct Step {
    step: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

/// A customer of the partner, as the setup can reach it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Customer {
    name: String,
    tenant_id: String,
    relationship: String,
    state: String,
    intune_administrator: bool,
    /// How apctl reaches it (`app consent`, `GDAP`), or why it cannot.
    reachable: bool,
    how: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

/// Runs the setup check; `credentials` is the mode in words.
pub async fn run(
    session: &Session,
    credentials: &str,
    partner: Option<&str>,
    output: Output,
) -> anyhow::Result<Exit> {
    let mut steps = vec![Step {
        step: "credentials",
        ok: true,
        detail: credentials.to_owned(),
        hint: None,
    }];
    let mut customers = Vec::new();
    match partner.map(str::to_owned).or(session.demo_partner.clone()) {
        None => steps.push(Step {
            step: "partner tenant",
            ok: false,
            detail: "not set".into(),
            hint: Some("set `AZURE_TENANT_ID` (or `--partner-tenant`) to your own partner tenant's id or domain: customers are found through its GDAP relationships, and Partner Center is asked there".into()),
        }),
        Some(partner) => {
            steps.push(Step {
                step: "partner tenant",
                ok: true,
                detail: partner.clone(),
                hint: None,
            });
            let graph = graph_token(session, &partner).await;
            let reached = graph.ok;
            steps.push(graph);
            steps.push(partner_center_token(session, &partner).await);
            if reached {
                let (step, found) = relationships(session, &partner).await;
                steps.push(step);
                customers = reach(session, found).await;
            }
        }
    }
    print(&steps, &customers, output)?;
    Ok(if steps.iter().all(|s| s.ok) {
        Exit::Success
    } else {
        Exit::Failure
    })
}

async fn graph_token(session: &Session, partner: &str) -> Step {
    match session
        .client
        .tokens()
        .get(partner, session.endpoints.graph_scope)
        .await
    {
        Ok(_) => Step {
            step: "graph token",
            ok: true,
            detail: "a Microsoft Graph token was issued in the partner tenant".into(),
            hint: None,
        },
        Err(e) => Step {
            step: "graph token",
            ok: false,
            detail: e.summary.clone(),
            hint: Some(e.hint.clone()),
        },
    }
}

/// Partner Center: needed only for Manufacturer+Model+Serial and
/// product-key rows, so its absence is said, not failed.
async fn partner_center_token(session: &Session, partner: &str) -> Step {
    let scope = session.endpoints.partner_center_scope;
    match session.client.tokens().get(partner, scope).await {
        Ok(_) => Step {
            step: "partner center",
            ok: true,
            detail: "a Partner Center token was issued (a partner admin's sign-in)".into(),
            hint: None,
        },
        Err(e) if e.error == "no_partner_sign_in" => Step {
            step: "partner center",
            ok: true,
            detail: "not configured: hash rows need only Graph; Manufacturer+Model+Serial and product-key rows need a partner admin's sign-in".into(),
            hint: Some("`apctl login --save partner.rt` once as a partner admin, then give `--refresh-token-file partner.rt` (or `APCTL_REFRESH_TOKEN`)".into()),
        },
        Err(e) => Step {
            step: "partner center",
            ok: false,
            detail: e.summary.clone(),
            hint: Some(e.hint.clone()),
        },
    }
}

async fn relationships<'a>(session: &'a Session, partner: &str) -> (Step, &'a [Relationship]) {
    match session.relationships(partner).await {
        Ok(all) => {
            let count = |s: &[&str]| all.iter().filter(|r| s.contains(&r.status.as_str())).count();
            let detail = format!(
                "{} relationships: {} active, {} waiting for approval, {} ended",
                all.len(),
                all.iter().filter(|r| r.is_active()).count(),
                count(&["approvalPending", "created", "approved", "activating"]),
                all.iter().filter(|r| r.has_ended()).count(),
            );
            let step = Step {
                step: "gdap",
                ok: true,
                detail,
                hint: None,
            };
            (step, all)
        }
        Err(e) => (
            Step {
                step: "gdap",
                ok: false,
                detail: e.to_string(),
                hint: Some(gdap::LIST_HINT.into()),
            },
            &[],
        ),
    }
}

/// Each customer of a relationship: its state and roles, and whether a
/// Graph token for its tenant can be had (the app's consent, or the
/// partner admin's GDAP roles).
async fn reach(session: &Session, relationships: &[Relationship]) -> Vec<Customer> {
    use futures::StreamExt;
    let mut ids: Vec<String> = Vec::new();
    for r in relationships {
        if !r.customer.tenant_id.is_empty() && !ids.contains(&r.customer.tenant_id) {
            ids.push(r.customer.tenant_id.clone());
        }
    }
    let all = relationships;
    futures::stream::iter(ids)
        .map(|id| async move {
            let mine: Vec<&Relationship> = all.iter().filter(|r| r.customer.tenant_id == id).collect();
            let best = mine
                .iter()
                .find(|r| r.is_active())
                .or(mine.first())
                .copied();
            let mut customer = Customer {
                name: best.map(|r| r.customer.display_name.clone()).unwrap_or_default(),
                tenant_id: id.clone(),
                relationship: best.and_then(|r| r.display_name.clone()).unwrap_or_default(),
                state: best.map(|r| r.status.clone()).unwrap_or_default(),
                intune_administrator: mine.iter().any(|r| r.grants_intune_administrator()),
                reachable: false,
                how: String::new(),
                hint: None,
            };
            let inactive = inactive_state(all, &id);
            match session.client.tokens().get(&id, session.endpoints.graph_scope).await {
                Ok(_) if session.delegated && !customer.intune_administrator => {
                    customer.how = "a token, but GDAP grants no Intune Administrator".into();
                    customer.hint = Some("add Intune Administrator to the relationship (Partner Center > Customers > the customer > Admin relationships)".into());
                }
                Ok(_) => {
                    customer.reachable = true;
                    customer.how = if session.delegated { "GDAP (Intune Administrator)" } else { "the app's consent" }.into();
                }
                // A relationship that is not active is the likelier reason.
                Err(e) => match inactive {
                    Some((state, step)) => {
                        customer.how = state;
                        customer.hint = Some(step.into());
                    }
                    None => {
                        customer.how = e.summary.clone();
                        customer.hint = Some(e.hint.clone());
                    }
                },
            }
            customer
        })
        .buffered(8)
        .collect()
        .await
}

fn print(steps: &[Step], customers: &[Customer], output: Output) -> io::Result<()> {
    let mut out = crate::cli::term::Out::new();
    if output == Output::Json {
        let doc = serde_json::json!({"schema": "apctl.setup.v1", "checks": steps, "customers": customers});
        out.write_all(apctl::sanitize::json_pretty(&doc)?.as_bytes())?;
        return out.flush();
    }
    writeln!(out, "setup")?;
    for s in steps {
        writeln!(
            out,
            "  {}  {:<15} {}",
            if s.ok { "ok  " } else { "FAIL" },
            s.step,
            s.detail
        )?;
        if let Some(h) = &s.hint {
            writeln!(out, "        hint: {h}")?;
        }
    }
    if !customers.is_empty() {
        writeln!(out)?;
        writeln!(out, "{:<24} {:<16} {:<5} reachable", "customer", "gdap", "role")?;
        for c in customers {
            let name: String = c.name.chars().take(24).collect();
            let state: String = c.state.chars().take(16).collect();
            let reach = if c.reachable {
                format!("yes: {}", c.how)
            } else {
                format!("no: {}", c.how)
            };
            let role = if c.intune_administrator { "yes" } else { "no" };
            writeln!(out, "{name:<24} {state:<16} {role:<5} {reach}")?;
            if let Some(h) = &c.hint {
                writeln!(out, "  hint: {h}")?;
            }
        }
        let reachable = customers.iter().filter(|c| c.reachable).count();
        writeln!(out, "{reachable} of {} customers reachable", customers.len())?;
    }
    out.flush()
}
