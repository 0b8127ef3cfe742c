//! The report a partner sends to one customer (`--customer-html DIR`): one
//! self-contained HTML file per customer, holding that customer's devices
//! and nothing of any other customer's. It speaks to the customer: what was
//! registered and its state in the portal's words, what the customer needs
//! to do, and what the partner is doing about the rest. No apctl command,
//! Entra error code, app id, consent link or markup character reaches it;
//! the only request id on it is the one Microsoft's support asks for
//! (*Unexpected error*), in the portal's own text.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::html::{STATES_SOURCE, STYLE, esc, order_ids};
use super::{Action, Entry, IdentifierState, Report, TenantSection};
use crate::portal::state::{DeviceMessage, RegistrationState};

/// Who acts on a device next.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Next {
    /// Nothing to do: the device is registered.
    Nothing,
    /// The customer (with their supplier).
    Customer,
    /// The partner.
    Partner,
}

/// What a device's outcome means for the customer: who acts, and what
/// the page says about it.
fn voice(e: &Entry) -> (Next, &'static str) {
    use DeviceMessage as M;
    if let Some(i) = e.identifier {
        return match i {
            IdentifierState::Refused => (
                Next::Partner,
                "Intune did not take this corporate identifier; we are checking its manufacturer, model and serial number.",
            ),
            _ if e.failed() => (
                Next::Customer,
                "Marked as corporate, but its enrollment failed: check the device's enrollment in Intune.",
            ),
            _ => (Next::Nothing, "Marked as corporate when it enrolls."),
        };
    }
    if e.tag_missing() || e.tag_pending() {
        return (Next::Partner, "Registered; we are still setting its group tag.");
    }
    if e.state.is_none() {
        return match e.action {
            Action::WouldSend => (Next::Partner, "Checked; not sent yet."),
            Action::Invalid => (
                Next::Partner,
                "The record we received for this device has an error; we will get a corrected one from the supplier and register it.",
            ),
            _ => (Next::Partner, "Not registered yet; we will register it again."),
        };
    }
    match (e.state, e.message) {
        (Some(s), _) if s.is_registered() => (Next::Nothing, "Registered."),
        (Some(_), Some(M::DeviceAlreadyRegistered)) => {
            (Next::Nothing, "Already registered to your organization.")
        }
        (Some(RegistrationState::RegistrationPending), _) => (
            Next::Partner,
            "Microsoft is still processing this device; we will check it again.",
        ),
        (Some(_), Some(M::DeviceNotFound)) => (
            Next::Customer,
            "Ask your supplier to confirm this device's manufacturer, model and serial number exactly as the device reports them, or for its hardware hash.",
        ),
        (Some(_), Some(M::HardwareHashNotValid)) => (
            Next::Customer,
            "Ask your supplier for this device's hardware hash again: the one provided is not valid.",
        ),
        (Some(_), Some(M::DeviceClaimedByAnotherOrganization)) => (
            Next::Customer,
            "This device belongs to another organization. Check with your device supplier: the other organization must release it before it can be registered to yours.",
        ),
        _ => (
            Next::Partner,
            "Microsoft's service could not process this device. We will register it again, and contact Microsoft support if it fails again.",
        ),
    }
}

/// A stable, readable file name for the customer's page: its name in
/// lower case, letters and digits kept and the rest made hyphens
/// (`Fabrikam Inc` → `fabrikam-inc.html`); a name taken already, or none,
/// gets the tenant beside it.
pub fn file_name(t: &TenantSection, taken: &mut HashSet<String>) -> String {
    let slug = |text: &str| {
        let mut out = String::new();
        for c in text.chars().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        out.trim_end_matches('-').chars().take(60).collect::<String>()
    };
    let mut name = slug(t.label());
    if name.is_empty() || taken.contains(&name) {
        let tenant = slug(&t.tenant);
        name = if name.is_empty() {
            tenant
        } else {
            format!("{name}-{tenant}")
        };
    }
    if name.is_empty() {
        name = "customer".into();
    }
    let mut unique = name.clone();
    let mut n = 2;
    while !taken.insert(unique.clone()) {
        unique = format!("{name}-{n}");
        n += 1;
    }
    format!("{unique}.html")
}

/// Text from a report for the customer: escaped, with characters that
/// read as markup elsewhere (Markdown's backticks) left out.
fn plain(text: &str) -> String {
    esc(&text.replace('`', ""))
}

/// The customer's page.
pub fn render(r: &Report, t: &TenantSection, from: Option<&str>) -> String {
    let mine: Vec<&Entry> = r.entries.iter().filter(|e| *e.tenant == *t.tenant).collect();
    let mut out = String::with_capacity(8 * 1024 + mine.len() * 300);
    let name = t.label();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Windows Autopilot device registration — {}</title>\n<style>{STYLE}{CUSTOMER_STYLE}</style>\n</head>\n<body>\n",
        plain(name)
    );
    header(&mut out, r, name, from, &mine);
    counts(&mut out, &mine);
    actions(&mut out, &mine, Next::Customer, "What we need from you");
    actions(&mut out, &mine, Next::Partner, "What we are doing");
    devices(&mut out, &mine);
    let _ = write!(out, "<footer>{}</footer>\n</body>\n</html>\n", esc(STATES_SOURCE));
    out
}

fn header(out: &mut String, r: &Report, name: &str, from: Option<&str>, mine: &[&Entry]) {
    let orders = order_ids(mine);
    let mut meta = Vec::new();
    if let Some(from) = from.filter(|f| !f.trim().is_empty()) {
        meta.push(format!("From {}", plain(from)));
    }
    match orders.len() {
        0 => {}
        1 => meta.push(format!("Order {}", plain(orders[0]))),
        _ => meta.push(format!("Orders {}", plain(&orders.join(", ")))),
    }
    meta.push(esc(&date(&r.started_at)));
    let _ = write!(
        out,
        "<header>\n<h1>Windows Autopilot device registration</h1>\n<p class=\"for\">For {}</p>\n\
         <p class=\"meta\">{}</p>\n",
        plain(name),
        meta.join(" · ")
    );
    if r.simulated {
        out.push_str(
            "<p class=\"simulated\">A demonstration against a simulated service: no device was registered with Microsoft.</p>\n",
        );
    }
    // Who acts next on each device, once; corporate identifiers are
    // marked, not registered, and said apart.
    let (mut registered, mut marked, mut yours, mut ours) = (0, 0, 0, 0);
    for e in mine {
        match (voice(e).0, e.identifier.is_some()) {
            (Next::Nothing, false) => registered += 1,
            (Next::Nothing, true) => marked += 1,
            (Next::Customer, _) => yours += 1,
            (Next::Partner, _) => ours += 1,
        }
    }
    let class = if yours > 0 {
        "failed"
    } else if ours > 0 {
        "pending"
    } else {
        "ok"
    };
    let _ = write!(
        out,
        "<p class=\"verdict {class}\">{} of {} registered{}{}{}.</p>\n</header>\n",
        registered,
        super::count(mine.len() as u64, "device"),
        if marked > 0 {
            format!("; {marked} marked as corporate")
        } else {
            String::new()
        },
        if yours > 0 {
            format!("; {yours} need your help")
        } else {
            String::new()
        },
        if ours > 0 {
            format!("; we are handling {ours}")
        } else {
            String::new()
        },
    );
}

/// The five states, always, and the devices not registered yet.
fn counts(out: &mut String, mine: &[&Entry]) {
    out.push_str("<table class=\"counts\">\n<tr>");
    for s in RegistrationState::ALL {
        let _ = write!(out, "<th>{}</th>", esc(s.as_str()));
    }
    let unsent = mine
        .iter()
        .filter(|e| e.state.is_none() && e.identifier.is_none())
        .count();
    let corporate = mine.iter().filter(|e| e.identifier.is_some()).count();
    if unsent > 0 {
        out.push_str("<th>Not sent yet</th>");
    }
    if corporate > 0 {
        out.push_str("<th>Corporate identifiers</th>");
    }
    out.push_str("</tr>\n<tr>");
    for s in RegistrationState::ALL {
        let n = mine.iter().filter(|e| e.state == Some(s)).count();
        let _ = write!(out, "<td>{n}</td>");
    }
    if unsent > 0 {
        let _ = write!(out, "<td>{unsent}</td>");
    }
    if corporate > 0 {
        let _ = write!(out, "<td>{corporate}</td>");
    }
    out.push_str("</tr>\n</table>\n");
}

/// The devices someone has to act on, grouped by what is to be done.
fn actions(out: &mut String, mine: &[&Entry], who: Next, title: &str) {
    let mut groups: Vec<(&'static str, Vec<&Entry>)> = Vec::new();
    for e in mine {
        let (next, text) = voice(e);
        if next != who {
            continue;
        }
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, list)) => list.push(e),
            None => groups.push((text, vec![e])),
        }
    }
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>{}</h2>\n<ul class=\"fixes\">", esc(title));
    for (text, list) in groups {
        let serials: Vec<String> = list.iter().map(|e| plain(serial(e))).collect();
        let _ = writeln!(
            out,
            "<li>{} <span class=\"devices-of\">({}: {})</span></li>",
            esc(text),
            super::count(list.len() as u64, "device"),
            serials.join(", ")
        );
    }
    out.push_str("</ul>\n");
}

fn serial(e: &Entry) -> &str {
    e.serial_number
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("(no serial number)")
}

fn devices(out: &mut String, mine: &[&Entry]) {
    // A column no device fills (hash rows carry no model) is left out.
    let models = mine
        .iter()
        .any(|e| e.model.as_deref().is_some_and(|m| !m.is_empty()));
    let _ = write!(
        out,
        "<h2>Devices</h2>\n<table class=\"devices\">\n<thead><tr><th>Serial number</th>{}\
         <th>Group tag</th><th>State</th><th>Message</th><th>What happens next</th></tr></thead>\n<tbody>\n",
        if models { "<th>Model</th>" } else { "" }
    );
    for e in mine {
        let (next, text) = voice(e);
        let state = match (e.state, e.identifier) {
            (Some(s), _) => s.as_str().to_owned(),
            (None, Some(_)) => e.state_text(),
            (None, None) => "Not sent yet".to_owned(),
        };
        // The portal's own words for its message, never a service's or
        // apctl's text.
        let message = match e.message {
            Some(m) => format!(
                "{}<div class=\"details\">{}</div>",
                esc(m.as_str()),
                plain(&m.details(e.request_id.as_deref()))
            ),
            None => String::new(),
        };
        let class = match (e.state, next) {
            (_, Next::Nothing) => "ok",
            (Some(RegistrationState::RegistrationFailed), _) => "failed",
            (Some(_), _) => "pending",
            (None, _) => "unsent",
        };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td class=\"serial\">{}</td>{}<td>{}</td><td class=\"state\">{}</td><td>{message}</td><td>{}</td></tr>",
            plain(serial(e)),
            if models {
                format!("<td>{}</td>", plain(e.model.as_deref().unwrap_or("")))
            } else {
                String::new()
            },
            plain(e.group_tag.as_deref().unwrap_or("")),
            esc(&state),
            esc(if next == Next::Nothing { "" } else { text }),
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// `6 December 2026` for an RFC 3339 time (the run's start, on the real
/// clock); anything else as it is.
fn date(text: &str) -> String {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%-d %B %Y").to_string())
        .unwrap_or_else(|_| text.to_owned())
}

const CUSTOMER_STYLE: &str = "
.for { font-size: 1.2rem; font-weight: 600; margin: 0 0 .3rem; }
.simulated { border: 1px dashed #616161; padding: .4rem .8rem; color: #424242; }
.devices-of { color: #616161; }
@media print { .simulated { border-style: solid; } }
";

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: Option<&str>, tenant: &str) -> TenantSection {
        TenantSection {
            tenant: tenant.into(),
            requested: tenant.into(),
            name: name.map(str::to_owned),
            verdict: crate::report::Verdict::Done,
            totals: Default::default(),
            errors: Vec::new(),
            sync: None,
            staged_left: 0,
        }
    }

    #[test]
    fn file_names_are_readable_stable_and_unique() {
        let mut taken = HashSet::new();
        let fab = section(Some("Fabrikam Inc."), "7d4e");
        assert_eq!(file_name(&fab, &mut taken), "fabrikam-inc.html");
        // The same name again (two tenants called alike) stays apart.
        let other = section(Some("Fabrikam, Inc"), "9a9a");
        assert_eq!(file_name(&other, &mut taken), "fabrikam-inc-9a9a.html");
        let odd = section(Some("../../etc/passwd"), "x");
        assert_eq!(file_name(&odd, &mut taken), "etc-passwd.html");
        let none = section(None, "contoso.onmicrosoft.com");
        assert_eq!(file_name(&none, &mut taken), "contoso-onmicrosoft-com.html");
        let blank = section(Some("***"), "***");
        assert_eq!(file_name(&blank, &mut taken), "customer.html");
        assert_eq!(file_name(&blank, &mut taken), "customer-2.html");
    }
}
