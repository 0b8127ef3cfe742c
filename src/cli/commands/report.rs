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
    /// Write the merged report here (else to stdout).
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
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
    match &m.output {
        Some(path) => {
            settings::ensure_parent(path)?;
            apctl::report::write_atomic(path, |f| std::io::Write::write_all(f, text.as_bytes()))
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            eprintln!(
                "merged {} reports: {} rows, verdict {}",
                count,
                merged.totals.rows,
                serde_json::to_value(merged.verdict)?
            );
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(merged.verdict.into())
}
