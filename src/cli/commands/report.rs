//! `apctl report merge`: one report from the reports of a sharded run's
//! jobs (an Azure DevOps or GitHub Actions matrix), for one summary and one
//! exit code at the end of the pipeline.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::cli::exit::Exit;
use crate::cli::settings;

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Merge the JSON reports of a sharded run into one.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// JSON reports written with `apctl import --report`.
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,
    /// Write the merged JSON report to this file (as `import --report`
    /// does); stdout then gets a one-line summary.
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Also write the merged report as CSV, JUnit or HTML.
    #[arg(long, value_name = "PATH")]
    report_csv: Option<PathBuf>,
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
    /// What stdout gets: the merged report as JSON, or a summary for people.
    #[arg(short = 'o', long, value_enum, default_value = "json", value_name = "FORMAT")]
    output: crate::cli::Output,
}

/// Runs `apctl report …`; the exit code is the merged verdict's.
pub fn run(args: ReportArgs) -> anyhow::Result<Exit> {
    let ReportCommand::Merge(m) = args.command;
    let mut reports = Vec::new();
    for path in &m.reports {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the report `{}`", path.display()))?;
        let report: apctl::report::Report = serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not an apctl import report", path.display()))?;
        reports.push((path.display().to_string(), report));
    }
    let count = reports.len();
    let merged = apctl::report::merge(reports)?;
    let text = serde_json::to_string_pretty(&merged)? + "\n";
    let write = |path: &PathBuf, what: &str, fill: &dyn Fn(&PathBuf) -> std::io::Result<()>| {
        settings::ensure_parent(path)?;
        fill(path).with_context(|| format!("cannot write the {what} to `{}`", path.display()))
    };
    if let Some(path) = &m.report {
        write(path, "merged report", &|p| {
            apctl::report::write_atomic(p, |f| f.write_all(text.as_bytes()))
        })?;
    }
    if let Some(path) = &m.report_csv {
        write(path, "CSV report", &|p| merged.write_csv(p))?;
    }
    if let Some(path) = &m.junit {
        write(path, "JUnit file", &|p| merged.write_junit(p))?;
    }
    if let Some(path) = &m.html {
        let page = apctl::report::html::render(&merged);
        write(path, "HTML report", &|p| {
            apctl::report::write_atomic(p, |f| f.write_all(page.as_bytes()))
        })?;
    }
    let mut out = std::io::stdout().lock();
    match (m.output, &m.report) {
        (crate::cli::Output::Json, None) => out.write_all(text.as_bytes())?,
        (crate::cli::Output::Human, _) => crate::cli::summary::print_human(&mut out, &merged)?,
        _ => writeln!(
            out,
            "merged {count} reports: {} rows, verdict {}",
            merged.totals.rows,
            serde_json::to_value(merged.verdict)?
        )?,
    }
    Ok(merged.verdict.into())
}
