//! Speaking the pipelines' own language after a run: Azure DevOps logging
//! commands under `TF_BUILD`, GitHub Actions workflow commands under
//! `GITHUB_ACTIONS`, and the same Markdown summary for both. Nothing is
//! written anywhere else. Everything here is built from the report alone,
//! so the output is the same for the same outcome.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use apctl::report::{Entry, Report, Verdict};
use apctl::sanitize::{self, Runner};

use super::term::Commands;

/// The CI system apctl runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pipeline {
    /// Azure DevOps; the summary goes into this folder.
    AzureDevOps { summary_dir: PathBuf },
    /// GitHub Actions; the summary is appended to this file, when set.
    GitHubActions { step_summary: Option<PathBuf> },
}

impl Pipeline {
    /// Reads the variables the two systems set; `None` elsewhere.
    pub fn detect() -> Option<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if var("TF_BUILD").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            let dir = var("AGENT_TEMPDIRECTORY")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            return Some(Self::AzureDevOps { summary_dir: dir });
        }
        if var("GITHUB_ACTIONS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Some(Self::GitHubActions {
                step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            });
        }
        None
    }

    /// The id of the pipeline run this job belongs to, the same for every
    /// job of its matrix: Azure DevOps' `BUILD_BUILDID`, GitHub's
    /// `GITHUB_RUN_ID`.
    pub fn run_id(&self) -> Option<String> {
        let name = match self {
            Self::AzureDevOps { .. } => "BUILD_BUILDID",
            Self::GitHubActions { .. } => "GITHUB_RUN_ID",
        };
        std::env::var(name).ok().filter(|id| !id.trim().is_empty())
    }

    /// The commands that register every secret apctl holds with the
    /// runner's own masking, to print before anything else: the runner then
    /// hides them even in output apctl does not control.
    pub fn mask_commands(&self) -> Commands {
        let mut out = String::new();
        for secret in sanitize::secrets() {
            // A secret on one line only; one with a line break cannot be
            // passed in a command and stays with apctl's own sanitiser.
            if secret.contains(['\r', '\n']) {
                continue;
            }
            match self {
                Self::AzureDevOps { .. } => out.push_str(&format!("##vso[task.setsecret]{secret}\n")),
                Self::GitHubActions { .. } => out.push_str(&format!("::add-mask::{secret}\n")),
            }
        }
        Commands::new(out)
    }

    /// The commands for the report, and the summary written where the
    /// pipeline takes it.
    pub fn emit(&self, report: &Report) -> std::io::Result<Commands> {
        let written = self.write_summary(report)?;
        Ok(Commands::new(match written {
            Some(path) => azure(report, &path),
            None => github(report),
        }))
    }

    /// Only the summary, for a command whose rows the shards' imports have
    /// annotated already (`report merge`): written where the pipeline takes
    /// it, and for Azure DevOps the command that uploads it.
    pub fn publish_summary(&self, report: &Report) -> std::io::Result<Commands> {
        Ok(Commands::new(match self.write_summary(report)? {
            Some(path) => upload_summary(&path),
            None => String::new(),
        }))
    }

    /// Writes the Markdown summary: Azure DevOps gets a file to upload
    /// (its path is returned), GitHub Actions' step summary is appended to.
    fn write_summary(&self, report: &Report) -> std::io::Result<Option<PathBuf>> {
        let summary = markdown(report);
        match self {
            Self::AzureDevOps { summary_dir } => {
                let path = summary_dir.join(format!("apctl-summary-{}.md", report.run_id));
                apctl::report::write_atomic(&path, |f| std::io::Write::write_all(f, summary.as_bytes()))?;
                Ok(Some(path))
            }
            Self::GitHubActions { step_summary } => {
                if let Some(path) = step_summary {
                    use std::io::Write;
                    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                    f.write_all(summary.as_bytes())?;
                }
                Ok(None)
            }
        }
    }
}

/// How a row is worth a pipeline's attention: an error for a failure or
/// an invalid row, a warning for a device still pending or registered
/// without its tag. Rows stopped by a shared cause are not named one by
/// one: the cause is, once.
fn severity(e: &Entry) -> Option<&'static str> {
    if e.cause.is_some() {
        None
    } else if e.failed() || e.unsent() {
        Some("error")
    } else if e.pending() || e.tag_missing() || e.tag_pending() {
        Some("warning")
    } else {
        None
    }
}

fn headline(report: &Report, e: &Entry) -> String {
    let serial = e.serial_text();
    let message = e.message.map(|m| format!(" — {m}")).unwrap_or_default();
    let details = if e.details.is_empty() {
        String::new()
    } else {
        format!(": {}", e.details)
    };
    let customer = report.customer_name(&e.tenant).unwrap_or(&e.tenant);
    format!("{customer} {serial}: {}{message}{details}", e.state_text())
}

/// Errors of the run as a whole, each once: files that could not be
/// read, and the causes that stopped rows (with their count and fix).
fn run_errors(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for f in report.files.iter().filter(|f| !f.readable) {
        let hint = hint_suffix(f.hint.as_deref());
        out.push(format!(
            "{}: {}; none of its rows were taken{hint}",
            f.path,
            f.error.as_deref().unwrap_or("could not be read to the end")
        ));
    }
    for c in &report.causes {
        let whose = c.tenant.as_deref().map(|t| format!("{t}: ")).unwrap_or_default();
        let hint = hint_suffix(c.hint.as_deref());
        out.push(format!(
            "{whose}{} row{} not sent (cause {}): {}{hint}",
            c.rows,
            if c.rows == 1 { "" } else { "s" },
            c.id,
            c.error
        ));
    }
    for t in report
        .tenant_errors
        .iter()
        .filter(|t| !report.causes.iter().any(|c| c.error == t.error))
    {
        out.push(tenant_error(t));
    }
    out
}

/// Azure DevOps: `task.logissue` per device that needs attention and per
/// customer that could not be worked on, progress per customer, the
/// summary, and the step's result.
/// The Azure DevOps command that shows a Markdown file on the run page.
fn upload_summary(path: &Path) -> String {
    format!("##vso[task.uploadsummary]{}\n", path.display())
}

fn azure(report: &Report, summary: &Path) -> String {
    let mut out = String::new();
    for error in run_errors(report) {
        let _ = writeln!(out, "##vso[task.logissue type=error]{}", azure_data(&error));
    }
    for e in &report.entries {
        if let Some(kind) = severity(e) {
            let _ = writeln!(
                out,
                "##vso[task.logissue type={kind};sourcepath={};linenumber={}]{}",
                azure_property(&e.file),
                e.line,
                azure_data(&headline(report, e))
            );
        }
    }
    let n = report.tenants.len().max(1);
    for (i, t) in report.tenants.iter().enumerate() {
        let _ = writeln!(
            out,
            "##vso[task.setprogress value={};]{}",
            (i + 1) * 100 / n,
            azure_data(t.label())
        );
    }
    out.push_str(&upload_summary(summary));
    let result = match report.verdict {
        Verdict::Done => "Succeeded",
        Verdict::SomePending => "SucceededWithIssues",
        _ => "Failed",
    };
    let _ = writeln!(
        out,
        "##vso[task.complete result={result};]{}",
        verdict_text(report.verdict)
    );
    out
}

impl Pipeline {
    /// `apctl validate`'s problems as the pipeline's own annotations: each
    /// on its file, line and column, so the run page points at the cell.
    pub fn annotate(&self, problems: &[apctl::input::problem::Problem]) -> Commands {
        use apctl::input::problem::Severity;
        let mut out = String::new();
        for p in problems {
            let kind = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let code = serde_json::to_value(p.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let text = match &p.hint {
                Some(h) => format!("{} ({h})", p.message),
                None => p.message.clone(),
            };
            let (line, column) = (p.line.unwrap_or(0), p.column.unwrap_or(0));
            match self {
                Self::AzureDevOps { .. } => {
                    let mut at = format!("sourcepath={}", azure_property(&p.file));
                    if line > 0 {
                        at.push_str(&format!(";linenumber={line}"));
                    }
                    if column > 0 {
                        at.push_str(&format!(";columnnumber={column}"));
                    }
                    let _ = writeln!(
                        out,
                        "##vso[task.logissue type={kind};{at};code={}]{}",
                        azure_property(&code),
                        azure_data(&text)
                    );
                }
                Self::GitHubActions { .. } => {
                    let mut at = format!("file={}", github_property(&p.file));
                    if line > 0 {
                        at.push_str(&format!(",line={line}"));
                    }
                    if column > 0 {
                        at.push_str(&format!(",col={column}"));
                    }
                    let _ = writeln!(
                        out,
                        "::{kind} {at},title={}::{}",
                        github_property(&format!("apctl validate: {code}")),
                        github_data(&text)
                    );
                }
            }
        }
        Commands::new(out)
    }
}

/// GitHub Actions: an annotation per device that needs attention and per
/// customer that could not be worked on.
fn github(report: &Report) -> String {
    let mut out = String::new();
    for error in run_errors(report) {
        let _ = writeln!(out, "::error title=apctl::{}", github_data(&error));
    }
    for e in &report.entries {
        if let Some(kind) = severity(e) {
            let _ = writeln!(
                out,
                "::{kind} file={},line={},title={}::{}",
                github_property(&e.file),
                e.line,
                github_property(&format!("apctl: {}", e.state_text())),
                github_data(&headline(report, e))
            );
        }
    }
    out
}

/// A hint on a one-line pipeline message (annotations have no second
/// line): ` — hint: …`, or nothing.
fn hint_suffix(hint: Option<&str>) -> String {
    hint.map(|h| format!(" — hint: {h}")).unwrap_or_default()
}

fn tenant_error(t: &apctl::report::TenantError) -> String {
    let hint = hint_suffix(t.hint.as_deref());
    let who = if t.tenant.is_empty() {
        String::new()
    } else {
        format!("{}: ", t.tenant)
    };
    format!("{who}{}{hint}", t.error)
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Done => "every device is where it should be",
        Verdict::SomeFailed => "some devices failed",
        Verdict::SomePending => "some devices are still pending",
        Verdict::BadInput => "an input file could not be read",
        Verdict::CouldNotRun => "apctl could not do all of its job",
        Verdict::Interrupted => "interrupted",
    }
}

/// Azure DevOps escapes a command's message so it stays on one line; the
/// text passes the sanitiser first, which also breaks any `##vso[` or
/// `##[` inside it, so data never runs as a command.
fn azure_data(text: &str) -> String {
    sanitize::for_pipeline(text, Runner::AzureDevOps)
        .replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// …and a property also for the characters that end it.
fn azure_property(text: &str) -> String {
    azure_data(text).replace(';', "%3B").replace(']', "%5D")
}

/// GitHub's escaping of a workflow command's message, after the sanitiser
/// (which breaks any `::` inside it).
fn github_data(text: &str) -> String {
    sanitize::for_pipeline(text, Runner::GitHubActions)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// …and of a property's value.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Devices listed by name in the summary, at most.
const SUMMARY_DEVICES: usize = 200;

/// The Markdown summary: the verdict, devices by state, each customer, and
/// the devices that need attention.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## apctl import: {}\n", verdict_text(report.verdict));
    let _ = writeln!(md, "| state | devices |\n|---|---:|");
    for (state, n) in &report.totals.by_state.0 {
        let _ = writeln!(md, "| {state} | {n} |");
    }
    for (label, n) in report.totals.unsent() {
        if n > 0 {
            let _ = writeln!(md, "| {label} | {n} |");
        }
    }
    let _ = writeln!(md, "| **rows** | **{}** |\n", report.totals.rows);
    if !report.tenants.is_empty() {
        let _ = writeln!(md, "| customer | rows | failed | result |\n|---|---:|---:|---|");
        for t in &report.tenants {
            let failed = t
                .totals
                .by_state
                .0
                .iter()
                .find(|(k, _)| k == "Registration failed")
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(
                md,
                "| {} | {} | {failed} | {} |",
                cell(&t.named_tenant()),
                t.totals.rows,
                verdict_text(t.verdict)
            );
        }
        md.push('\n');
    }
    for error in run_errors(report) {
        let _ = writeln!(md, "> **Error:** {}\n", cell(&error));
    }
    let attention: Vec<&Entry> = report.entries.iter().filter(|e| severity(e).is_some()).collect();
    if !attention.is_empty() {
        let _ = writeln!(
            md,
            "| device | customer | state | message | details |\n|---|---|---|---|---|"
        );
        for e in attention.iter().take(SUMMARY_DEVICES) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                cell(e.serial_number.as_deref().unwrap_or("(no serial)")),
                cell(report.customer_name(&e.tenant).unwrap_or(&e.tenant)),
                e.state_text(),
                e.message.map(|m| m.to_string()).unwrap_or_default(),
                cell(&e.details)
            );
        }
        if attention.len() > SUMMARY_DEVICES {
            let _ = writeln!(
                md,
                "\n…and {} more: see the report.",
                attention.len() - SUMMARY_DEVICES
            );
        }
        md.push('\n');
    }
    md
}

/// Data safe inside a Markdown table cell or a quote. Text Markdown could
/// make something of — an image, a link or autolink, an HTML tag or entity,
/// emphasis — goes into a code span, in which nothing is live, with a fence
/// longer than any run of backticks inside; other text stays plain. The
/// pipe is escaped either way (GitHub's tables split cells on it even in
/// code).
fn cell(text: &str) -> String {
    let clean = sanitize::clean_line(text);
    if clean.trim().is_empty() {
        return String::new();
    }
    let lower = clean.to_ascii_lowercase();
    let live = clean.contains(['<', '>', '[', ']', '`', '\\', '@', '&', '*', '_', '~', '$'])
        || lower.contains("://")
        || lower.contains("www.");
    let text = clean.replace('|', "\\|");
    if !live {
        return text;
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A space inside the fence when the text starts or ends with a
    // backtick (CommonMark strips one from each side).
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped_as_each_system_wants() {
        assert_eq!(azure_data("50%\nnext"), "50%AZP25%0Anext");
        assert_eq!(azure_data("a\r\nb"), "a %0Ab", "a lone CR is no line end");
        assert_eq!(azure_property("a;b]c"), "a%3Bb%5Dc");
        assert_eq!(github_data("50%\nnext"), "50%25%0Anext");
        assert!(!azure_data("X##vso[task.setvariable variable=PWNED]x").contains("##vso["));
        assert!(!github_data("x::error::y").contains("::"));
        assert_eq!(github_property("C:\\x,y"), "C%3A\\x%2Cy");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(
            cell("Contoso Ltd (contoso.onmicrosoft.com)"),
            "Contoso Ltd (contoso.onmicrosoft.com)"
        );
        assert_eq!(
            cell("<img src=x onerror=alert(1)>"),
            "`<img src=x onerror=alert(1)>`"
        );
        assert_eq!(cell("see https://evil.example"), "`see https://evil.example`");
        assert_eq!(cell("mail a@b.example"), "`mail a@b.example`");
        assert_eq!(
            cell("![x](https://e.example/p.png)"),
            "`![x](https://e.example/p.png)`"
        );
        assert_eq!(cell("a ``b`` c"), "```a ``b`` c```");
        assert_eq!(cell("`x"), "`` `x ``");
        assert_eq!(cell(""), "");
    }
}
