//! `apctl report merge`: one report from the reports of a sharded run's
//! jobs (an Azure DevOps or GitHub Actions matrix), for one summary and one
//! exit code at the end of the pipeline.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::cli::exit::Exit;
use crate::cli::outputs::ReportFiles;

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
    /// The merged report's files: as `import` writes them, for the whole
    /// run (with --report, stdout gets a one-line summary).
    #[command(flatten)]
    files: ReportFiles,
    /// Merge even when a shard's report is missing (its job failed or was
    /// cancelled); the merged report names the missing shards.
    #[arg(long)]
    allow_missing: bool,
    /// What stdout gets: the merged report as JSON, or a summary for people.
    #[arg(short = 'o', long, value_enum, default_value = "json", value_name = "FORMAT")]
    output: crate::cli::Output,
}

/// Runs `apctl report …`; the exit code is the merged verdict's.
pub fn run(args: ReportArgs) -> anyhow::Result<Exit> {
    let ReportCommand::Merge(mut m) = args.command;
    m.files.prepare()?;
    let mut reports = Vec::new();
    for path in &m.reports {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the report `{}`", path.display()))?;
        let report: apctl::report::Report = serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not an apctl import report", path.display()))?;
        reports.push((path.display().to_string(), report));
    }
    let count = reports.len();
    let merged = apctl::report::merge(reports, m.allow_missing)?;
    m.files.write(&merged)?;
    // The whole run's summary on the pipeline's run page (the shards'
    // imports annotated the rows already).
    let commands = match crate::cli::pipeline::Pipeline::detect() {
        Some(p) => p
            .publish_summary(&merged)
            .context("cannot write the pipeline summary")?,
        None => Default::default(),
    };
    // What the reports' data says is neutralised for a pipeline's log, and
    // the pipeline's own command goes beside JSON (on stderr), not into it.
    let mut text_out = Vec::new();
    let json = m.output == crate::cli::Output::Json && m.files.report.is_none();
    if json {
        text_out.write_all(apctl::sanitize::json_pretty(&merged)?.as_bytes())?;
    } else if m.output == crate::cli::Output::Human {
        crate::cli::summary::print_human(&mut text_out, &merged)?;
    } else {
        writeln!(
            text_out,
            "merged {}: {}, verdict {}",
            crate::cli::style::count(count as u64, "report"),
            crate::cli::style::count(merged.totals.rows, "row"),
            serde_json::to_value(merged.verdict)?
        )?;
    }
    crate::cli::term::painted(
        crate::cli::term::Stream::Stdout,
        &String::from_utf8_lossy(&text_out),
    )?;
    commands.write(if json {
        crate::cli::term::Stream::Stderr
    } else {
        crate::cli::term::Stream::Stdout
    })?;
    Ok(merged.verdict.into())
}
