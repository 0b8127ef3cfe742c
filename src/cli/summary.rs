//! The human summary of an import report: one line per row (in a long
//! run, only the rows that need a look), the causes once, counts by state
//! and message, the customers, what to do grouped by fix, and one closing
//! line.

use std::io::{self, Write};

use crate::cli::style::{Paint, count};
use apctl::portal::state::RegistrationState;
use apctl::report::{Action, Entry, Report, Verdict};

/// Devices listed one by one up to this many; beyond it only those that
/// need attention are.
const LIST_ALL_UP_TO: usize = 50;

pub fn print_human(out: &mut impl Write, r: &Report) -> io::Result<()> {
    let paint = Paint::for_stdout();
    print_unreadable(out, r)?;
    print_rows(out, r, paint)?;
    print_unlisted(out, r)?;
    print_causes(out, r)?;
    writeln!(out)?;
    print_totals(out, r)?;
    if r.tenants.len() > 1 {
        writeln!(out)?;
        print_customers(out, r)?;
    }
    print_fixes(out, r, paint)?;
    let now = r.entries.iter().filter(|e| how(e) == REGISTERED_NOW).count() as u64;
    let there = r.entries.iter().filter(|e| how(e) == ALREADY_THERE).count() as u64;
    writeln!(out)?;
    writeln!(
        out,
        "{}, {}: {} registered now, {} already there; {}: {}",
        count(r.totals.rows, "row"),
        count(r.tenants.len() as u64, "customer"),
        count(now, "device"),
        there,
        count(r.http.total(), "HTTP request"),
        paint.bold(if r.dry_run {
            "dry run, nothing was sent"
        } else {
            verdict_text(r.verdict)
        })
    )?;
    let left: u64 = r.tenants.iter().map(|t| t.staged_left).sum();
    if left > 0 {
        writeln!(
            out,
            "{} left for the next import of the customer, or `apctl cleanup`, to delete (housekeeping: the states above are final)",
            count(left, "staged import record")
        )?;
    }
    Ok(())
}

/// The rows that need something, grouped by what fixes them.
fn print_fixes(out: &mut impl Write, r: &Report, paint: Paint) -> io::Result<()> {
    let groups = apctl::report::fixes::groups(r);
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{}", paint.bold("what to do"))?;
    let many = r.tenants.len() > 1;
    for g in &groups {
        let head = format!(
            "  {} ({})",
            paint.warn(&g.fix.problem),
            count(g.entries.len() as u64, "device")
        );
        if !many {
            writeln!(out, "{head}: {}", serials(&g.entries))?;
            writeln!(out, "    {}", g.fix.step)?;
            continue;
        }
        // One line per customer in a run over several, so every serial is
        // read with its customer.
        writeln!(out, "{head}")?;
        let mut customers: Vec<&str> = Vec::new();
        for e in &g.entries {
            if !customers.contains(&&*e.tenant) {
                customers.push(&e.tenant);
            }
        }
        for tenant in customers {
            let mine: Vec<&Entry> = g
                .entries
                .iter()
                .copied()
                .filter(|e| *e.tenant == *tenant)
                .collect();
            let name = r.customer_name(tenant).unwrap_or(tenant);
            writeln!(out, "    {name}: {}", serials(&mine))?;
        }
        writeln!(out, "    {}", g.fix.step)?;
    }
    Ok(())
}

/// The first eight serials, and how many more.
fn serials(entries: &[&Entry]) -> String {
    let shown: Vec<String> = entries.iter().take(8).map(|e| e.serial_text()).collect();
    match entries.len().saturating_sub(shown.len()) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Files none of whose rows were taken.
fn print_unreadable(out: &mut impl Write, r: &Report) -> io::Result<()> {
    for f in r.files.iter().filter(|f| !f.readable) {
        let why = f.error.as_deref().unwrap_or("it could not be read to the end");
        writeln!(out, "error: {}: {why}; none of its rows were taken", f.path)?;
        if let Some(h) = &f.hint {
            writeln!(out, "  hint: {h}")?;
        }
    }
    Ok(())
}

/// One line per row (in a long run: only rows that need a look), with
/// the details below it.
fn print_rows(out: &mut impl Write, r: &Report, paint: Paint) -> io::Result<()> {
    let all = r.entries.len() <= LIST_ALL_UP_TO;
    let shown = |e: &&Entry| {
        if all {
            return true;
        }
        // Rows stopped by a shared cause are counted under it below.
        e.cause.is_none() && !e.state.is_some_and(RegistrationState::is_registered)
    };
    for e in r.entries.iter().filter(shown) {
        let serial = e.serial_text();
        let message = e.message.map(|m| format!(" — {m}")).unwrap_or_default();
        match &e.cause {
            Some(id) => writeln!(out, "{}:{}  {serial}  Not sent (cause {id})", e.file, e.line)?,
            None => writeln!(
                out,
                "{}:{}  {serial}  {}{message}{}",
                e.file,
                e.line,
                paint.state(e),
                how(e)
            )?,
        }
        // A plain success needs no words; anything else says its details.
        let plain = e.state == Some(RegistrationState::ReadyForUser)
            && e.message.is_none()
            && e.group_tag_status
                .is_none_or(|s| s == apctl::report::TagStatus::Applied)
            && e.details.starts_with("Registered ");
        if e.cause.is_none() && !plain && !e.details.is_empty() {
            writeln!(out, "    {}", e.details)?;
        }
    }
    Ok(())
}

const REGISTERED_NOW: &str = "  (registered now)";
const ALREADY_THERE: &str = "  (already there)";

/// How a registered row got there: by this run, or before it (found by
/// the lookup, or answered 806 by the service).
fn how(e: &Entry) -> &'static str {
    let registered = e.state.is_some_and(RegistrationState::is_registered);
    if !registered {
        ""
    } else if e.action == Action::AlreadyRegistered
        || e.message == Some(apctl::portal::state::DeviceMessage::DeviceAlreadyRegistered)
    {
        ALREADY_THERE
    } else if matches!(e.action, Action::Sent | Action::FollowedStaged) {
        REGISTERED_NOW
    } else {
        ""
    }
}

/// Invalid rows beyond the listed ones, counted with their lines.
fn print_unlisted(out: &mut impl Write, r: &Report) -> io::Result<()> {
    for f in r.files.iter().filter(|f| f.unlisted_invalid_rows > 0) {
        let lines: Vec<String> = f
            .unlisted_invalid_lines
            .iter()
            .take(5)
            .map(|[a, b]| if a == b { a.to_string() } else { format!("{a}-{b}") })
            .collect();
        let more = if f.unlisted_invalid_lines.len() > 5 {
            ", …"
        } else {
            ""
        };
        writeln!(
            out,
            "{}: {} not listed (lines {}{more}); `apctl validate` counts them by problem",
            f.path,
            count(f.unlisted_invalid_rows, "more invalid row"),
            lines.join(", ")
        )?;
    }
    Ok(())
}

/// Each reason rows were not sent, once, and the customers' errors no
/// cause already says.
fn print_causes(out: &mut impl Write, r: &Report) -> io::Result<()> {
    for c in &r.causes {
        let whose = c
            .tenant
            .as_deref()
            .or(c.file.as_deref())
            .map(|w| format!(" of {w}"))
            .unwrap_or_default();
        writeln!(
            out,
            "not sent: cause {}: {}{whose}: {}",
            c.id,
            count(c.rows, "row"),
            c.error
        )?;
        if let Some(h) = &c.hint {
            writeln!(out, "  hint: {h}")?;
        }
    }
    for e in r
        .tenant_errors
        .iter()
        .filter(|e| !r.causes.iter().any(|c| c.error == e.error))
    {
        writeln!(out, "error: {}", e.error)?;
        if let Some(h) = &e.hint {
            writeln!(out, "  hint: {h}")?;
        }
    }
    Ok(())
}

/// Counts by state (the unsent after them) and by message.
fn print_totals(out: &mut impl Write, r: &Report) -> io::Result<()> {
    writeln!(out, "{:<40} {:>7}", "state", "devices")?;
    for (state, n) in &r.totals.by_state.0 {
        writeln!(out, "{state:<40} {n:>7}")?;
    }
    for (label, n) in r.totals.unsent().into_iter().chain([r.totals.would_send()]) {
        if n > 0 {
            writeln!(out, "{label:<40} {n:>7}")?;
        }
    }
    // Corporate identifiers are no Autopilot devices: counted apart.
    if !r.totals.identifiers.is_empty() {
        writeln!(out, "{:<40} {:>7}", "corporate identifier", "devices")?;
        for (label, n) in &r.totals.identifiers.0 {
            writeln!(out, "{label:<40} {n:>7}")?;
        }
    }
    if !r.totals.by_message.0.is_empty() {
        writeln!(out, "{:<40} {:>7}", "message", "devices")?;
        for (m, n) in &r.totals.by_message.0 {
            writeln!(out, "{m:<40} {n:>7}")?;
        }
    }
    Ok(())
}

/// One line per customer of a many-customer run.
fn print_customers(out: &mut impl Write, r: &Report) -> io::Result<()> {
    writeln!(
        out,
        "{:<40} {:>6} {:>7} {:>7} {:>8}  verdict",
        "customer", "rows", "ready", "failed", "not sent"
    )?;
    for t in &r.tenants {
        let count = |s: RegistrationState| t.totals.by_state.get(&s.to_string());
        let ready = count(RegistrationState::ReadyForUser)
            + count(RegistrationState::Active)
            + count(RegistrationState::Inactive);
        writeln!(
            out,
            "{:<40} {:>6} {:>7} {:>7} {:>8}  {}",
            t.label(),
            t.totals.rows,
            ready,
            count(RegistrationState::RegistrationFailed),
            t.totals.invalid + t.totals.not_sent,
            verdict_text(t.verdict)
        )?;
    }
    Ok(())
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Done => "done",
        Verdict::SomeFailed => "some devices failed",
        Verdict::SomePending => "some devices are still pending",
        Verdict::BadInput => "an input file could not be read",
        Verdict::CouldNotRun => "apctl could not do all of its job",
        Verdict::Interrupted => "interrupted",
    }
}
