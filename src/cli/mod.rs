//! The command-line layer: clap definitions, dispatch, and the one error
//! renderer. Everything that prints lives under here; the library only
//! returns values.

mod commands;
pub mod environment;
pub mod exit;
mod manifest;
mod outputs;
mod pipeline;
mod progress;
mod session;
mod settings;
mod signals;
mod style;
mod summary;
mod teach;
pub mod term;

use std::io;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use exit::Exit;

/// Register Windows Autopilot devices into your customers' tenants.
#[derive(Debug, Parser)]
#[command(
    name = "apctl",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("APCTL_COMMIT"), ")"),
    about,
    long_about = None
)]
pub struct Cli {
    /// More log lines on stderr: -v info, -vv debug, -vvv trace. Logs never
    /// hold secrets, tokens or whole hashes.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, display_order = 900)]
    verbose: u8,
    /// Print no progress (results and errors still show).
    #[arg(short, long, global = true, display_order = 901)]
    quiet: bool,
    /// When to colour the output. `auto`: when stdout is a terminal and
    /// `NO_COLOR` is not set (`FORCE_COLOR` turns it on); `always`; `never`.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        global = true,
        value_name = "WHEN",
        display_order = 902
    )]
    color: ColorWhen,
    #[command(subcommand)]
    command: Command,
}

/// When to colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check device CSV files offline: dialect, encoding, every row.
    Validate(ValidateArgs),
    /// Register devices into customer tenants (one, or many from a manifest
    /// or a Tenant column) and report every row.
    #[command(after_help = settings::AUTH_MODES)]
    Import(Box<commands::import::ImportArgs>),
    /// Run the offline simulator of Graph and Entra on a loopback port.
    Simulate(commands::simulate::SimulateArgs),
    /// List the partner's GDAP relationships with its customers.
    #[command(after_help = settings::AUTH_MODES)]
    Tenants(commands::tenants::TenantsArgs),
    /// Check, step by step, that one customer tenant can be reached.
    #[command(after_help = settings::AUTH_MODES)]
    Doctor(commands::doctor::DoctorArgs),
    /// Sign a partner admin in with a device code and save the refresh token.
    Login(commands::login::LoginArgs),
    /// A customer's Autopilot devices (or every customer's) in the portal's states.
    #[command(after_help = settings::AUTH_MODES)]
    Status(Box<commands::status::StatusArgs>),
    /// Compare files with what customers hold; `--apply` and `--prune` fix it.
    #[command(after_help = settings::AUTH_MODES)]
    Reconcile(Box<commands::reconcile::ReconcileArgs>),
    /// Delete the staged import records customers no longer need (apart
    /// from imports, within each tenant's write budget and a deadline).
    #[command(after_help = settings::AUTH_MODES)]
    Cleanup(Box<commands::cleanup::CleanupArgs>),
    /// Work with import reports (merge the reports of a sharded run).
    Report(commands::report::ReportArgs),
    /// Print shell completions for bash, zsh, fish, PowerShell or elvish
    /// (`--help` says where each shell reads them from).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): apctl(1), or a command's (`apctl man
    /// import`); `--dir` writes them all.
    Man {
        /// The command whose page to print (`import`, `report merge`, …).
        #[arg(value_name = "COMMAND", num_args = 0..=2)]
        command: Vec<String>,
        /// Write every page (apctl.1, apctl-import.1, …) into this folder.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<PathBuf>,
    },
}

/// How to print results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Text for people.
    #[default]
    Human,
    /// One JSON document on stdout.
    Json,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// CSV files to check (any dialect and encoding apctl reads).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Also check Microsoft's portal rules exactly: case-sensitive header,
    /// no extra columns, no quotes, ANSI only, at most 500 rows.
    #[arg(long)]
    strict: bool,
    /// Your Order ID / Purchase ID for these devices (free text).
    #[arg(long, value_name = "TEXT")]
    order_id: Option<String>,
    /// List every row with its identity and pipe.
    #[arg(long)]
    list: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t, value_name = "FORMAT")]
    output: Output,
}

/// The command line as `--help`, completions and man pages show it.
pub fn command() -> clap::Command {
    teach::teach(<Cli as clap::CommandFactory>::command())
}

/// Parses the command line (clap exits with code 2 on bad arguments).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `--color`, with `FORCE_COLOR` (any value but empty or `0`) turning
/// `auto` on, for every writer (anstream's global choice).
fn set_colour(when: ColorWhen) {
    let forced = std::env::var("FORCE_COLOR").is_ok_and(|v| !v.is_empty() && v != "0");
    let choice = match when {
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
        ColorWhen::Auto if forced => anstream::ColorChoice::Always,
        ColorWhen::Auto => anstream::ColorChoice::Auto,
    };
    choice.write_global();
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    init_logging(cli.verbose);
    set_colour(cli.color);
    term::set_quiet(cli.quiet);
    match cli.command {
        Command::Validate(a) => commands::validate::run(commands::validate::Request {
            files: a.files,
            strict: a.strict,
            order_id: a.order_id,
            list: a.list,
            output: a.output,
        }),
        Command::Import(a) => commands::import::run(*a),
        Command::Simulate(a) => commands::simulate::run(a),
        Command::Tenants(a) => commands::tenants::run(a),
        Command::Doctor(a) => commands::doctor::run(a),
        Command::Login(a) => commands::login::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Status(a) => commands::status::run(*a),
        Command::Reconcile(a) => commands::reconcile::run(*a),
        Command::Cleanup(a) => commands::cleanup::run(*a),
        Command::Completions { shell } => {
            let mut cmd = command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "apctl", &mut script);
            term::generated(&script)?;
            Ok(Exit::Success)
        }
        Command::Man { command: path, dir } => man(&path, dir.as_deref()),
    }
}

/// `apctl man [COMMAND]`, or every page into `--dir`.
fn man(path: &[String], dir: Option<&std::path::Path>) -> anyhow::Result<Exit> {
    use anyhow::Context;
    let root = command();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
        let mut written = 0;
        for (name, cmd) in man_pages(&root, "apctl") {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            let file = dir.join(format!("{name}.1"));
            std::fs::write(&file, page).with_context(|| format!("cannot write `{}`", file.display()))?;
            written += 1;
        }
        term::out(&format!("{written} man pages written to {}\n", dir.display()))?;
        return Ok(Exit::Success);
    }
    let mut cmd = root.clone();
    let mut name = String::from("apctl");
    for part in path {
        let Some(sub) = cmd.find_subcommand(part).cloned() else {
            let known: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
            return Err(hinted!(
                format!("the commands with a page: {}", known.join(", ")),
                "`{part}` is not a command of `{}`",
                name.replace('-', " ")
            ));
        };
        name = format!("{name}-{part}");
        cmd = sub;
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.name(leak(name))).render(&mut page)?;
    term::generated(&page)?;
    Ok(Exit::Success)
}

/// A page's name for clap, which keeps names for the life of the process
/// (apctl prints the pages and exits).
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

/// Every page: apctl's and each command's (named `apctl-import`, …).
fn man_pages(cmd: &clap::Command, name: &str) -> Vec<(String, clap::Command)> {
    let mut pages = vec![(name.to_owned(), cmd.clone().name(leak(name.to_owned())))];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        pages.extend(man_pages(sub, &format!("{name}-{}", sub.get_name())));
    }
    pages
}

/// Logs of apctl's own code only (never the HTTP stack's), to stderr.
fn init_logging(verbose: u8) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    // Every log line passes the sanitiser (so no colours: their escape
    // codes are what it removes).
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(|| term::LogWriter)
        .with_target(false)
        .with_ansi(false);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(Targets::new().with_target("apctl", level))
        .try_init();
}

/// True when the error is only a closed stdout (`apctl … | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

/// An error with the user's next step: the step is data, kept apart from
/// the message in reports and rendered as its own `hint:` line by
/// [`render_error`], the one place that writes it.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

impl Hinted {
    pub fn error(message: String, hint: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Self {
            message,
            hint: hint.into(),
        })
    }
}

/// `hinted!(hint, "message {}", args…)`: an error with its next step.
macro_rules! hinted {
    ($hint:expr, $($message:tt)+) => {
        $crate::cli::Hinted::error(format!($($message)+), $hint)
    };
}
pub(crate) use hinted;

/// The most specific hint an error chain carries: every error of the chain
/// is asked (the command line's own [`Hinted`] and the library's errors,
/// through [`apctl::hint`]), and the one nearest the root cause wins.
pub fn hint_of(err: &anyhow::Error) -> Option<&str> {
    err.chain()
        .filter_map(|e| match e.downcast_ref::<Hinted>() {
            Some(h) => Some(h.hint.as_str()),
            None => apctl::hint::of(e),
        })
        .last()
}

/// Renders an error chain as `error:` / `caused by:` lines, then its hint
/// (the text as written; [`term::err`] cleans it on its way out).
pub fn render_error(err: &anyhow::Error) -> String {
    let mut out = format!("error: {err}\n");
    for cause in err.chain().skip(1) {
        out.push_str(&format!("  caused by: {cause}\n"));
    }
    if let Some(hint) = hint_of(err) {
        // A hint of several lines keeps them under its first.
        out.push_str(&format!("  hint: {}\n", hint.replace('\n', "\n        ")));
    }
    out
}
