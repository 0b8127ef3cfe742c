//! The report written out: JSON, JUnit XML (one failure per cause or
//! failed row) and CSV with spreadsheet-safe cells, each replaced
//! atomically.

use std::io::Write;
use std::path::Path;

use super::*;

impl Report {
    /// Writes the JSON report (atomically), as it is made: never whole in
    /// memory.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, |f| self.json(f))
    }

    /// The JSON report, every string cleaned, written as it is made.
    fn json(&self, out: &mut impl Write) -> std::io::Result<()> {
        crate::sanitize::write_json_pretty(out, self).map_err(std::io::Error::other)
    }

    /// Writes JUnit XML: a test suite per customer, a test case per
    /// device; a failed device is a failure with the portal's message and
    /// details, a pending one is skipped.
    pub fn write_junit(&self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, |f| f.write_all(self.junit().as_bytes()))
    }

    /// The JUnit XML text. A cause that stopped rows is one failure of its
    /// own; the rows it stopped are skipped with its id, so its text is
    /// given once.
    pub fn junit(&self) -> String {
        use std::fmt::Write as _;
        let mut tenants: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !tenants.contains(&&*e.tenant) {
                tenants.push(&e.tenant);
            }
        }
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            x,
            "<testsuites name=\"apctl import\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            self.entries.len() + self.causes.len(),
            self.entries.iter().filter(|e| junit_failed(e)).count() + self.causes.len(),
            self.entries.iter().filter(|e| junit_skipped(e)).count()
        );
        for tenant in tenants {
            self.junit_suite(&mut x, tenant);
        }
        x.push_str("</testsuites>\n");
        x
    }

    /// One customer's test suite: a failed case per cause, then a case per row.
    fn junit_suite(&self, x: &mut String, tenant: &str) {
        use std::fmt::Write as _;
        let name = if tenant.is_empty() {
            "(no customer)".to_owned()
        } else {
            self.named_tenant(tenant)
        };
        let class = if tenant.is_empty() { "apctl" } else { tenant };
        let mine: Vec<&Entry> = self.entries.iter().filter(|e| *e.tenant == *tenant).collect();
        let causes: Vec<&Cause> = self
            .causes
            .iter()
            .filter(|c| mine.iter().any(|e| e.cause.as_deref() == Some(&c.id)))
            .collect();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            xml(&name),
            mine.len() + causes.len(),
            mine.iter().filter(|e| junit_failed(e)).count() + causes.len(),
            mine.iter().filter(|e| junit_skipped(e)).count()
        );
        for c in causes {
            let hint = c
                .hint
                .as_deref()
                .map(|h| format!("\nhint: {h}"))
                .unwrap_or_default();
            let _ = writeln!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\">\n      <failure message=\"{}\" type=\"Not sent\">{}</failure>\n    </testcase>",
                xml(class),
                xml(&format!(
                    "not sent: cause {} ({})",
                    c.id,
                    super::count(c.rows, "row")
                )),
                xml(&format!("{} not sent", super::count(c.rows, "row"))),
                xml(&format!("{}{hint}", c.error))
            );
        }
        for e in mine {
            junit_case(x, class, e);
        }
        x.push_str("  </testsuite>\n");
    }

    /// Writes the CSV report: one line per entry (atomically).
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, |f| self.csv(f))
    }

    /// Writes a checkpoint of the JSON report ([`write_checkpoint`]).
    pub fn write_json_checkpoint(&self, path: &Path) -> std::io::Result<()> {
        write_checkpoint(path, |f| self.json(f))
    }

    /// Writes a checkpoint of the CSV report ([`write_checkpoint`]).
    pub fn write_csv_checkpoint(&self, path: &Path) -> std::io::Result<()> {
        write_checkpoint(path, |f| self.csv(f))
    }

    pub(super) fn csv(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "file",
            "line",
            "tenant",
            "customer",
            "serialNumber",
            "pipe",
            "state",
            "message",
            "details",
            "errorCode",
            "errorName",
            "requestId",
            "action",
            "groupTag",
            "orderId",
            "batchId",
            "groupTagStatus",
            "deploymentProfileAssignmentStatus",
            "cause",
        ])?;
        for e in &self.entries {
            let json = |v: &dyn erased::Json| v.text();
            write_safe_record(
                &mut w,
                [
                    e.file.to_string(),
                    e.line.to_string(),
                    e.tenant.to_string(),
                    self.customer_name(&e.tenant).unwrap_or_default().to_owned(),
                    e.serial_number.as_deref().unwrap_or_default().to_owned(),
                    e.pipe.map(|p| json(&p)).unwrap_or_default(),
                    e.state_text(),
                    e.message.map(|m| m.to_string()).unwrap_or_default(),
                    e.details.to_string(),
                    e.error_code.clone().unwrap_or_default(),
                    e.error_name.clone().unwrap_or_default(),
                    e.request_id.as_deref().unwrap_or_default().to_owned(),
                    json(&e.action),
                    e.group_tag.clone().unwrap_or_default(),
                    e.order_id.clone().unwrap_or_default(),
                    e.batch_id.clone().unwrap_or_default(),
                    e.group_tag_status.map(|s| json(&s)).unwrap_or_default(),
                    e.profile_status.clone().unwrap_or_default(),
                    e.cause.clone().unwrap_or_default(),
                ],
            )?;
        }
        w.flush()
    }
}

/// A row that counts as a failed test: the service said failed, its tag
/// was not applied, or it is invalid.
fn junit_failed(e: &Entry) -> bool {
    e.failed() || e.tag_missing() || (e.unsent() && e.cause.is_none())
}

/// A row that counts as skipped: still pending, or stopped by a cause
/// (which is the failure).
fn junit_skipped(e: &Entry) -> bool {
    e.pending() || e.cause.is_some()
}

/// One row's test case.
fn junit_case(x: &mut String, class: &str, e: &Entry) {
    use std::fmt::Write as _;
    let serial = e.serial_number.as_deref().unwrap_or("(no serial)");
    let _ = write!(
        x,
        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
        xml(class),
        xml(&format!("{serial} ({}:{})", e.file, e.line)),
        xml(&e.file),
        e.line
    );
    let skipped = |why: String| format!(">\n      <skipped message=\"{}\"/>\n    </testcase>", xml(&why));
    let rest = if junit_failed(e) {
        let message = e.message.map_or_else(|| e.state_text(), |m| m.to_string());
        format!(
            ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
            xml(&message),
            xml(&e.state_text()),
            xml(&e.details)
        )
    } else if let Some(id) = &e.cause {
        skipped(format!("Not sent: cause {id}"))
    } else if e.pending() {
        skipped(format!("Registration pending: {}", e.details))
    } else {
        "/>".to_owned()
    };
    let _ = writeln!(x, "{rest}");
}

/// Text safe in XML content and attributes.
fn xml(text: &str) -> String {
    // Cleaned first: no escape sequence, and nothing XML 1.0 forbids
    // (controls, U+FFFE, U+FFFF) is left to write.
    let text = crate::sanitize::clean(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell a spreadsheet will not run: text starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return is a formula to Excel and
/// LibreOffice, so it gets a leading `'` and stays text.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Writes one CSV record with every cell cleaned and [`spreadsheet_safe`].
pub fn write_safe_record<W: std::io::Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    record: impl IntoIterator<Item = S>,
) -> csv::Result<()> {
    w.write_record(record.into_iter().map(|c| {
        let c = crate::sanitize::clean(c.as_ref());
        spreadsheet_safe(&c).into_owned()
    }))
}

/// Writes a file whole or not at all: into a temporary file beside it,
/// then renamed over it, so a reader (or a run killed mid-write) never
/// sees half a report. On disk before it is renamed (it survives a power
/// cut too).
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    replace(path, fill, true)
}

/// The same for a checkpoint, replaced again within seconds: whole or not
/// at all for a killed run, without waiting for the disk (a run of many
/// chunks writes one after each).
pub fn write_checkpoint(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    replace(path, fill, false)
}

fn replace(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
    durable: bool,
) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A name nobody can guess, created new: never a file or link someone
    // put there.
    let temp = path.with_file_name(format!(".{name}.{}.apctl-tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        // `create_new`: never through a link or file someone put there.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let mut f = std::io::BufWriter::new(file);
        fill(&mut f)?;
        f.flush()?;
        if durable {
            f.get_ref().sync_data()?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
