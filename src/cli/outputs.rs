//! The report files a run writes, one set of flags for every command that
//! has a report (`import`, `report merge`): the same names, the same help
//! and the same code, so `--summary` means one thing everywhere.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use apctl::report::Report;
use clap::Args;

use crate::cli::settings;

#[derive(Debug, Default, Args)]
pub struct ReportFiles {
    /// Write the JSON report here (schema: docs/report-json.md).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Write the report as CSV here.
    #[arg(long, value_name = "PATH")]
    pub report_csv: Option<PathBuf>,
    /// Write the Markdown summary here (the one a pipeline's run page shows;
    /// inside Azure DevOps and GitHub Actions it is also shown there).
    #[arg(long, value_name = "PATH")]
    pub summary: Option<PathBuf>,
    /// Write the partner's HTML report of the run here. One self-contained
    /// file for every customer of the run (no scripts or outside assets),
    /// with the fixes; it opens anywhere and prints well.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Write a JUnit XML file here: one test case per device, a failure
    /// with the portal's message for each device that failed.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write one HTML report per customer into this folder, to send to
    /// each customer: only that customer's devices, in the customer's
    /// words (what is registered, what they need to do, what the partner
    /// is doing about the rest), named after the customer.
    #[arg(long, value_name = "DIR")]
    pub customer_html: Option<PathBuf>,
    /// The partner's name on the customer reports ("from Northwind
    /// Traders"); a manifest may give it as `from`.
    #[arg(long, value_name = "NAME")]
    pub from: Option<String>,
}

/// Writes one file of the report at a path.
type Fill<'a> = dyn Fn(&PathBuf) -> std::io::Result<()> + 'a;

impl ReportFiles {
    /// Checks every path before any work is done, so a wrong one costs
    /// nothing: its folder is created and proved writable; a path that is
    /// a folder, a device, a FIFO or cannot be written is refused with the
    /// fix; so is a link (never written through, never replaced).
    pub fn prepare(&mut self) -> anyhow::Result<()> {
        for path in [
            &mut self.report,
            &mut self.report_csv,
            &mut self.summary,
            &mut self.html,
            &mut self.junit,
        ]
        .into_iter()
        .flatten()
        {
            *path = checked_output(path)?;
        }
        if let Some(dir) = &self.customer_html {
            checked_folder(dir)?;
        }
        Ok(())
    }

    /// Writes every file asked for, each replaced whole.
    pub fn write(&self, report: &Report) -> anyhow::Result<()> {
        let files: [(&Option<PathBuf>, &str, &Fill); 5] = [
            (&self.report, "report", &|p| report.write_json(p)),
            (&self.report_csv, "CSV report", &|p| report.write_csv(p)),
            (&self.summary, "summary", &|p| {
                let md = crate::cli::pipeline::markdown(report);
                apctl::report::write_atomic(p, |f| f.write_all(md.as_bytes()))
            }),
            (&self.html, "HTML report", &|p| {
                let page = apctl::report::html::render(report);
                apctl::report::write_atomic(p, |f| f.write_all(page.as_bytes()))
            }),
            (&self.junit, "JUnit file", &|p| report.write_junit(p)),
        ];
        for (path, what, fill) in files {
            if let Some(path) = path {
                settings::ensure_parent(path)?;
                fill(path).with_context(|| format!("cannot write the {what} to `{}`", path.display()))?;
            }
        }
        if let Some(dir) = &self.customer_html {
            self.write_customer_pages(dir, report)?;
        }
        Ok(())
    }

    /// One page per customer of the report, each named after its customer.
    fn write_customer_pages(&self, dir: &std::path::Path, report: &Report) -> anyhow::Result<()> {
        use apctl::report::customer;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
        let from = self.from.as_deref().or(report.from.as_deref());
        let mut taken = std::collections::HashSet::new();
        for section in &report.tenants {
            let path = dir.join(customer::file_name(section, &mut taken));
            let page = customer::render(report, section, from);
            apctl::report::write_atomic(&path, |f| f.write_all(page.as_bytes()))
                .with_context(|| format!("cannot write the customer report `{}`", path.display()))?;
        }
        Ok(())
    }
}

/// The folder of the customer reports: created, and proved writable,
/// before any work is done; a file or a link there is refused.
fn checked_folder(dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::bail;
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => {
            bail!("`{shown}` is a link: give the customer reports' folder itself")
        }
        Ok(m) if !m.is_dir() => bail!(
            "`{shown}` is not a folder: `--customer-html` takes a folder, where each customer's report is written"
        ),
        _ => {}
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder `{shown}`"))?;
    probe(dir).with_context(|| format!("cannot write in `{shown}`: choose a folder you can write to"))
}

/// Proves a folder takes a new file: one is made and removed.
fn probe(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".apctl-probe-{}", uuid::Uuid::new_v4().simple()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// An output path as it will be written: refused unless it is (or will be)
/// a regular file in a folder apctl can write, and not a link.
fn checked_output(path: &std::path::Path) -> anyhow::Result<PathBuf> {
    use anyhow::bail;
    let shown = path.display();
    let target = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => bail!("cannot use `{shown}` as an output file: {e}"),
        // Never written through, never replaced: a link planted where a
        // report goes must not aim the write at another file.
        Ok(m) if m.file_type().is_symlink() => bail!(
            "`{shown}` is a link{}: apctl writes reports only to a file or a new path, never through a link; give the path of the file itself",
            std::fs::read_link(path)
                .map(|t| format!(" to `{}`", t.display()))
                .unwrap_or_default()
        ),
        Ok(m) if m.is_dir() => bail!(
            "`{shown}` is a folder: give the path of a file in it to write (for example `{}`)",
            path.join("report.json").display()
        ),
        Ok(m) if !m.is_file() => bail!(
            "`{shown}` is not a regular file (a device, a pipe or a socket): give the path of a file to write"
        ),
        Ok(_) => path.to_path_buf(),
    };
    settings::ensure_parent(&target)?;
    // Written beside the file and renamed over it: the folder must take a
    // new file, and an existing file must be writable.
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    probe(dir).with_context(|| {
        format!(
            "cannot write in `{}` (for `{shown}`): choose a folder you can write to",
            dir.display()
        )
    })?;
    if target.is_file() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&target)
            .with_context(|| {
                format!(
                    "cannot write `{}`: make it writable or choose another path",
                    target.display()
                )
            })?;
    }
    Ok(target)
}
