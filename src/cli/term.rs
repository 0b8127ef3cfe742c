//! The one way out: every byte apctl writes to stdout or stderr goes
//! through here. Text is cleaned by the sanitiser (no secret, whole hash,
//! escape sequence, bidirectional override or noncharacter passes) and,
//! under Azure DevOps or GitHub Actions, the runner's command markers
//! inside it are broken ([`neutral`]), so what a customer's admin wrote —
//! a group tag, a device name, an organization — can never steer the
//! partner's terminal or pipeline. Nothing else in the binary may use
//! `print!`, `println!`, `eprint!`, `eprintln!`, `io::stdout()` or
//! `io::stderr()`: a layout test (`tests/it/layout.rs`) forbids them.
//!
//! Three kinds of text are told apart:
//! - [`out`], [`err`] and [`Out`]: text built by apctl that may quote
//!   anything; cleaned and neutralised whole.
//! - [`painted`]: the human summaries, whose colours are [`Paint`]ed as
//!   private markers (Unicode noncharacters) and turned into the
//!   terminal's codes here, after the text between them was cleaned; a
//!   noncharacter from outside never gets this far (the sanitiser turns
//!   every one into U+FFFD).
//! - [`Commands`]: the pipeline commands apctl itself writes (masking a
//!   secret, annotations, the summary upload). Their data parts were
//!   escaped by `pipeline.rs`; here only control characters are made
//!   inert, since the markers are the point and `setsecret` must carry
//!   the secret.
//!
//! [`Paint`]: super::style::Paint

use std::io::{self, Write};

use apctl::sanitize::{self, Runner};

/// Which standard stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The runner reading the output, if any (read once).
fn runner() -> Option<Runner> {
    static RUNNER: std::sync::OnceLock<Option<Runner>> = std::sync::OnceLock::new();
    *RUNNER.get_or_init(|| {
        super::pipeline::Pipeline::detect().map(|p| match p {
            super::pipeline::Pipeline::AzureDevOps { .. } => Runner::AzureDevOps,
            super::pipeline::Pipeline::GitHubActions { .. } => Runner::GitHubActions,
        })
    })
}

/// The runner's command markers broken inside text (the Azure DevOps agent
/// runs a `##vso[` found anywhere in a line); outside pipelines the text is
/// unchanged.
pub fn neutral(text: &str) -> String {
    match runner() {
        Some(runner) => sanitize::break_markers(text, runner),
        None => text.to_owned(),
    }
}

/// What any text becomes on its way out: cleaned, then neutralised.
pub fn display(text: &str) -> String {
    neutral(&sanitize::clean(text))
}

fn write_to(stream: Stream, bytes: &[u8]) -> io::Result<()> {
    match stream {
        Stream::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()
        }
        Stream::Stderr => {
            let mut err = io::stderr().lock();
            err.write_all(bytes)?;
            err.flush()
        }
    }
}

/// Writes text to stdout, cleaned.
pub fn out(text: &str) -> io::Result<()> {
    write_to(Stream::Stdout, display(text).as_bytes())
}

/// Writes text to stderr, cleaned. A closed stderr is nothing to stop for.
pub fn err(text: &str) {
    let _ = write_to(Stream::Stderr, display(text).as_bytes());
}

/// A line on stderr, cleaned.
pub fn err_line(text: &str) {
    err(&format!("{text}\n"));
}

/// Writes text whose colours are [`super::style::Paint`]'s markers: the
/// pieces between markers are cleaned, then the markers become the
/// terminal's codes (the `Paint` that made them only does so when the
/// stream takes colour).
pub fn painted(stream: Stream, text: &str) -> io::Result<()> {
    let mut rendered = String::with_capacity(text.len());
    let mut piece = String::new();
    for c in text.chars() {
        match super::style::code(c) {
            Some(code) => {
                rendered.push_str(&sanitize::clean(&std::mem::take(&mut piece)));
                rendered.push_str(&code);
            }
            None => piece.push(c),
        }
    }
    rendered.push_str(&sanitize::clean(&piece));
    write_to(stream, neutral(&rendered).as_bytes())
}

/// Pipeline commands written by apctl itself (see the module's notes).
#[derive(Debug, Default)]
pub struct Commands(String);

impl Commands {
    /// Commands whose data parts `pipeline.rs` escaped already.
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// Writes them to the stream.
    pub fn write(&self, stream: Stream) -> io::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        write_to(stream, sanitize::inert(&self.0).as_bytes())
    }
}

/// Generated text that is apctl's own (shell completions, the man page):
/// made inert only, since a completion script's tabs and quotes are its
/// code. Nothing from outside is in it.
pub fn generated(bytes: &[u8]) -> io::Result<()> {
    let text = String::from_utf8_lossy(bytes);
    let text: String = text
        .split('\t')
        .map(sanitize::inert)
        .collect::<Vec<_>>()
        .join("\t");
    write_to(Stream::Stdout, text.as_bytes())
}

/// Standard output for a command's results: collected, then written
/// through [`out`] (or [`painted`]) as one text at `flush` (or drop), so a
/// marker split across two writes is caught too.
pub struct Out {
    buf: Vec<u8>,
    kind: Kind,
}

/// How an [`Out`] cleans what it collected.
#[derive(Clone, Copy)]
enum Kind {
    /// [`out`]: the whole sanitiser.
    Clean,
    /// [`painted`]: colour markers turned into the terminal's codes.
    Painted,
    /// Inert and neutralised, nothing redacted (the simulator's banner).
    Demo,
}

impl Out {
    pub fn new() -> Self {
        Self::of(Kind::Clean)
    }

    /// For a human summary with [`super::style::Paint`]'s colours. A
    /// noncharacter that came from outside could at worst colour text here
    /// (they are turned into U+FFFD everywhere else).
    pub fn painted() -> Self {
        Self::of(Kind::Painted)
    }

    /// For `apctl simulate`'s banner, whose demo credentials (valid only
    /// against that simulator) are there to be copied: made inert and
    /// neutralised, but no `client_secret=`-like value is redacted.
    pub fn demo() -> Self {
        Self::of(Kind::Demo)
    }

    fn of(kind: Kind) -> Self {
        Self {
            buf: Vec::new(),
            kind,
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
        match self.kind {
            Kind::Clean => out(&text),
            Kind::Painted => painted(Stream::Stdout, &text),
            Kind::Demo => write_to(Stream::Stdout, neutral(&sanitize::inert(&text)).as_bytes()),
        }
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        let _ = Write::flush(self);
    }
}

/// Standard error for the log: every log line passes the sanitiser, so
/// what a log line quotes from a service never shows a secret, a whole
/// hash or an escape sequence.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_to(Stream::Stderr, display(&String::from_utf8_lossy(buf)).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-q`: no progress from any command (set once, before it runs).
pub fn set_quiet(on: bool) {
    QUIET.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// True under `-q`.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// True when stderr is a terminal (for the progress bar).
pub fn stderr_is_terminal() -> bool {
    io::IsTerminal::is_terminal(&io::stderr())
}

/// True when stdin is a terminal (someone can be asked).
pub fn stdin_is_terminal() -> bool {
    io::IsTerminal::is_terminal(&io::stdin())
}

/// How stdout takes colour (anstream's rules: a terminal, no `NO_COLOR`).
pub fn stdout_takes_colour() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
}

/// Customers a command could not read, each with its fix, on stderr.
pub fn tenant_errors(failures: &[apctl::report::TenantError]) {
    for f in failures {
        err_line(&format!("error: {}: {}", f.tenant, f.error));
        if let Some(hint) = &f.hint {
            err_line(&format!("  hint: {hint}"));
        }
    }
}
