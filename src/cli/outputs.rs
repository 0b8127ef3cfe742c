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
    /// Write a report for the customer here: one self-contained HTML file
    /// (no scripts or outside assets) that opens anywhere and prints well.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Write a JUnit XML file here: one test case per device, a failure
    /// with the portal's message for each device that failed.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
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
        Ok(())
    }
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
    let probe = dir.join(format!(".apctl-probe-{}", uuid::Uuid::new_v4().simple()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| {
            format!(
                "cannot write in `{}` (for `{shown}`): choose a folder you can write to",
                dir.display()
            )
        })?;
    let _ = std::fs::remove_file(&probe);
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
