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
    /// Creates the folders the files go in, before any work is done, so a
    /// typo in a path costs nothing.
    pub fn prepare(&self) -> anyhow::Result<()> {
        for path in self.paths() {
            settings::ensure_parent(path)?;
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

    fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        [
            &self.report,
            &self.report_csv,
            &self.summary,
            &self.html,
            &self.junit,
        ]
        .into_iter()
        .flatten()
    }
}
