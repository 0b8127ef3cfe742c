//! The report for the customer: one self-contained HTML file per run. No
//! script, no external style sheet, font or image: it opens from a mail
//! attachment or a file share as it is, and prints well (the device table's
//! header repeats on each page, rows are not split). Per customer: counts
//! by state, what needs doing grouped by its fix, and every device with its
//! state, message and next step, in the portal's words.

use std::fmt::Write as _;

use super::fixes::{self, next_step};
use super::{Entry, Report, TenantSection, Verdict};
use crate::portal::state::RegistrationState;

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(16 * 1024 + r.entries.len() * 400);
    let customers: Vec<&str> = r.tenants.iter().map(TenantSection::label).collect();
    let title = format!("Windows Autopilot registration — {}", customers.join(", "));
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    header(&mut out, r);
    for t in &r.tenants {
        customer(&mut out, r, t);
    }
    let unassigned: Vec<&Entry> = r
        .entries
        .iter()
        .filter(|e| !r.tenants.iter().any(|t| *t.tenant == *e.tenant))
        .collect();
    if !unassigned.is_empty() {
        out.push_str("<section class=\"customer\">\n<h2>Rows without a customer</h2>\n");
        devices(&mut out, r, &unassigned);
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "<footer>Written by apctl {} (run {}). {}</footer>\n</body>\n</html>\n",
        esc(env!("CARGO_PKG_VERSION")),
        esc(&r.run_id),
        esc(STATES_SOURCE)
    );
    out
}

/// The entries' order ids, each once, in order.
pub(crate) fn order_ids<'a>(entries: &[&'a Entry]) -> Vec<&'a str> {
    let mut orders: Vec<&str> = entries.iter().filter_map(|e| e.order_id.as_deref()).collect();
    orders.sort_unstable();
    orders.dedup();
    orders
}

/// ` · order PO-1, PO-2` for the entries' order ids, or nothing.
fn orders(entries: &[&Entry]) -> String {
    let orders = order_ids(entries);
    if orders.is_empty() {
        String::new()
    } else {
        format!(" · order {}", esc(&orders.join(", ")))
    }
}

fn header(out: &mut String, r: &Report) {
    // A simulated run's end is on the simulator's clock, which skips the
    // service's waits: only its real start is said.
    let ran = if r.simulated {
        format!("Simulated run, started {}", esc(&when(&r.started_at)))
    } else {
        format!(
            "Ran {} to {}",
            esc(&when(&r.started_at)),
            esc(&when(&r.finished_at))
        )
    };
    let _ = write!(
        out,
        "<header>\n<h1>Windows Autopilot device registration</h1>\n\
         <p class=\"meta\">{ran} · {} · {}</p>\n\
         <p class=\"verdict {}\">{}</p>\n</header>\n",
        super::count(r.totals.rows, "device row"),
        super::count(r.tenants.len() as u64, "customer"),
        verdict_class(r.verdict),
        esc(verdict_text(r))
    );
}

fn customer(out: &mut String, r: &Report, t: &TenantSection) {
    let mine: Vec<&Entry> = r.entries.iter().filter(|e| *e.tenant == *t.tenant).collect();
    // Each customer's order ids head its own section, never the page.
    let _ = write!(
        out,
        "<section class=\"customer\">\n<h2>{} <span class=\"id\">{}{}</span></h2>\n",
        esc(t.label()),
        esc(&t.tenant),
        orders(&mine)
    );
    for e in &t.errors {
        let hint = e
            .hint
            .as_deref()
            .map(|h| format!("<br>{}", prose(h)))
            .unwrap_or_default();
        let _ = writeln!(out, "<p class=\"error\">{}{hint}</p>", esc(&e.error));
    }
    out.push_str("<table class=\"counts\">\n<tr>");
    let counts: Vec<(String, u64)> = t
        .totals
        .by_state
        .0
        .iter()
        .cloned()
        .chain(t.totals.unsent().map(|(l, n)| (l.to_owned(), n)))
        .chain([t.totals.would_send()].map(|(l, n)| (l.to_owned(), n)))
        .chain(t.totals.identifiers.0.iter().cloned())
        .filter(|(label, n)| *n > 0 || RegistrationState::ALL.iter().any(|s| s.as_str() == label))
        .collect();
    for (label, _) in &counts {
        let _ = write!(out, "<th>{}</th>", esc(label));
    }
    out.push_str("</tr>\n<tr>");
    for (_, n) in &counts {
        let _ = write!(out, "<td>{n}</td>");
    }
    out.push_str("</tr>\n</table>\n");
    let groups: Vec<fixes::FixGroup<'_>> = fixes::groups(r)
        .into_iter()
        .map(|mut g| {
            g.entries.retain(|e| *e.tenant == *t.tenant);
            g
        })
        .filter(|g| !g.entries.is_empty())
        .collect();
    if !groups.is_empty() {
        out.push_str("<h3>What needs doing</h3>\n<ul class=\"fixes\">\n");
        for g in &groups {
            let serials: Vec<String> = g.entries.iter().map(|e| esc(&e.serial_text())).collect();
            let _ = writeln!(
                out,
                "<li><strong>{}</strong> ({}): {}<br><span class=\"step\">{}</span></li>",
                esc(&g.fix.problem),
                super::count(g.entries.len() as u64, "device"),
                serials.join(", "),
                prose(&g.fix.step)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h3>Devices</h3>\n");
    devices(out, r, &mine);
    out.push_str("</section>\n");
}

fn devices(out: &mut String, r: &Report, entries: &[&Entry]) {
    out.push_str(
        "<table class=\"devices\">\n<thead><tr><th>Serial number</th><th>Model</th><th>Group tag</th>\
         <th>User</th><th>State</th><th>Message</th><th>Next step</th></tr></thead>\n<tbody>\n",
    );
    for e in entries {
        let step = next_step(e, &r.causes).map(|f| f.step).unwrap_or_default();
        let message = e.message.map(|m| m.as_str().to_owned()).unwrap_or_default();
        let details = if e.details.is_empty() {
            String::new()
        } else {
            format!("<div class=\"details\">{}</div>", esc(&e.details))
        };
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td class=\"serial\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"state\">{}</td><td>{}{details}</td><td>{}</td></tr>",
            state_class(e),
            esc(&e.serial_text()),
            esc(e.model.as_deref().unwrap_or("")),
            esc(e.group_tag.as_deref().unwrap_or("")),
            esc(e.assigned_user.as_deref().unwrap_or("")),
            esc(&e.state_text()),
            esc(&message),
            prose(&step)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn state_class(e: &Entry) -> &'static str {
    match e.state {
        Some(RegistrationState::RegistrationFailed) => "failed",
        Some(RegistrationState::RegistrationPending) => "pending",
        Some(_) => "ok",
        None => "unsent",
    }
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Done => "ok",
        Verdict::SomePending => "pending",
        _ => "failed",
    }
}

fn verdict_text(r: &Report) -> &'static str {
    if r.dry_run {
        return "Dry run: nothing was sent.";
    }
    match r.verdict {
        Verdict::Done => "Every device is registered or was already there.",
        Verdict::SomePending => "Some devices are still being processed.",
        Verdict::SomeFailed => "Some devices could not be registered: see what needs doing below.",
        Verdict::BadInput => "An input file could not be read.",
        Verdict::CouldNotRun => "Some devices were not sent: see what needs doing below.",
        Verdict::Interrupted => "The run was interrupted; this is what was known then.",
    }
}

/// `2026-12-04 16:39 UTC` for an RFC 3339 time; anything else as it is.
fn when(text: &str) -> String {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| text.to_owned())
}

/// apctl's own advice as HTML: escaped, with each `quoted` command or
/// name set as code (a lone backtick stays as it is).
fn prose(text: &str) -> String {
    let parts: Vec<String> = text.split('`').map(esc).collect();
    if parts.len().is_multiple_of(2) {
        return esc(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Text as HTML: every character that could open markup is escaped.
pub fn esc(text: &str) -> String {
    let text = crate::sanitize::clean(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Where the five states and messages come from, for both pages' footers.
pub(crate) const STATES_SOURCE: &str = "States and messages are those Microsoft shows partners for Windows Autopilot device registration (Microsoft Managed Desktop, \u{201c}Steps for Partners to register devices\u{201d}).";

pub(crate) const STYLE: &str = "
:root { color-scheme: light; font-family: 'Segoe UI', system-ui, -apple-system, sans-serif; color: #1b1b1b; }
body { margin: 2rem auto; max-width: 70rem; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; border-bottom: 2px solid #0f6cbd; padding-bottom: .2rem; }
h2 .id { font-size: .8rem; font-weight: normal; color: #616161; margin-left: .5rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
code { font-family: Consolas, ui-monospace, monospace; font-size: .9em; background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
.meta { color: #616161; margin: 0; }
.verdict { font-weight: 600; padding: .5rem .8rem; border-left: 4px solid; margin: 1rem 0; }
.verdict.ok { border-color: #107c10; background: #f1faf1; }
.verdict.pending { border-color: #bc4b09; background: #fff9f5; }
.verdict.failed { border-color: #c50f1f; background: #fdf3f4; }
.error { color: #c50f1f; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid #e0e0e0; }
th { background: #f5f5f5; }
table.counts { width: auto; }
table.counts td { font-size: 1.1rem; font-weight: 600; text-align: center; }
td.serial { font-family: Consolas, 'Courier New', monospace; white-space: nowrap; }
tr.failed td.state { color: #c50f1f; font-weight: 600; }
tr.pending td.state { color: #bc4b09; font-weight: 600; }
tr.ok td.state { color: #107c10; }
tr.unsent td.state { color: #616161; font-style: italic; }
.details { color: #616161; font-size: .8rem; margin-top: .2rem; }
ul.fixes { padding-left: 1.2rem; }
ul.fixes li { margin-bottom: .5rem; }
.step { color: #424242; }
footer { margin-top: 2.5rem; color: #616161; font-size: .8rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .verdict { background: none !important; }
}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_open_markup() {
        assert_eq!(
            esc("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
        assert_eq!(esc("a\u{1b}[31mb\u{fffe}"), "ab\u{fffd}");
        // Advice shows its commands as code, and stays escaped.
        assert_eq!(
            prose("run `apctl status` or <b>`x`"),
            "run <code>apctl status</code> or &lt;b&gt;<code>x</code>"
        );
        assert_eq!(prose("a lone ` stays"), "a lone ` stays");
    }
}
