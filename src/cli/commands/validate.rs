//! `apctl validate`: prints, per file, the dialect, encoding, rows, rows per
//! pipe and problems by line, then a summary; or the same as one JSON
//! document (schema in `docs/validate-json.md`).

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::cli::Output;
use crate::cli::exit::Exit;
use crate::cli::style::count;
use apctl::input::device::{Device, Identity, Pipe};
use apctl::input::problem::quoted;
use apctl::input::validate::{self, Checked, FileSummary, ValidateOptions, Validation, Validity};

/// What the user asked for.
pub struct Request {
    pub files: Vec<PathBuf>,
    pub strict: bool,
    pub order_id: Option<String>,
    pub list: bool,
    pub output: Output,
}

/// One listed row (`--list`); the hash only ever shortened.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    file: String,
    line: u64,
    valid: bool,
    serial_number: Option<String>,
    identity: Option<&'static str>,
    pipe: Option<Pipe>,
    hardware_hash: Option<String>,
    product_key: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    group_tag: Option<String>,
    assigned_user: Option<String>,
}

impl Listed {
    fn from(row: Checked<'_>) -> Self {
        match row {
            Checked::Valid(d) => Self::device(d),
            Checked::Invalid { source, serial, .. } => Self {
                file: source.file.to_string(),
                line: source.line,
                valid: false,
                serial_number: serial.map(str::to_owned),
                identity: None,
                pipe: None,
                hardware_hash: None,
                product_key: None,
                manufacturer: None,
                model: None,
                group_tag: None,
                assigned_user: None,
            },
        }
    }

    fn device(d: &Device) -> Self {
        let (hash, key) = match &d.identity {
            Identity::HardwareHash { hash, product_key } => (Some(hash.shortened()), product_key.clone()),
            Identity::ProductKey(k) => (None, Some(k.clone())),
            Identity::Tuple { .. } => (None, None),
        };
        Self {
            file: d.source.file.to_string(),
            line: d.source.line,
            valid: true,
            serial_number: d.serial.clone(),
            identity: Some(d.identity.kind()),
            pipe: Some(d.pipe()),
            hardware_hash: hash,
            product_key: key,
            manufacturer: d.manufacturer.clone(),
            model: d.model.clone(),
            group_tag: d.group_tag.clone(),
            assigned_user: d.assigned_user.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    schema: &'static str,
    #[serde(flatten)]
    validation: &'a Validation,
    exit_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<&'a [Listed]>,
}

/// Runs the command and prints its result.
pub fn run(req: Request) -> anyhow::Result<Exit> {
    let options = ValidateOptions {
        strict: req.strict,
        order_id: req.order_id.clone(),
    };
    let mut listed = Vec::new();
    let validation = validate::validate(&req.files, &options, |row| {
        if req.list {
            listed.push(Listed::from(row));
        }
    });
    let exit = match validation.verdict {
        Validity::AllValid => Exit::Success,
        Validity::SomeInvalid => Exit::SomeFailed,
        Validity::Unreadable => Exit::Failure,
    };
    let mut out = crate::cli::term::Out::new();
    match req.output {
        Output::Json => {
            let doc = Document {
                schema: "apctl.validate.v1",
                validation: &validation,
                exit_code: exit as u8,
                rows: req.list.then_some(listed.as_slice()),
            };
            out.write_all(apctl::sanitize::json_pretty(&doc)?.as_bytes())?;
        }
        Output::Human => print_human(&mut out, &validation, req.list.then_some(listed.as_slice()))?,
    }
    out.flush()?;
    // In a pipeline: every problem as an annotation on its cell, after the
    // neutralised text (on stderr beside JSON, so stdout stays one document).
    if let Some(pipeline) = crate::cli::pipeline::Pipeline::detect() {
        let commands = pipeline.annotate(&validation.problems);
        commands.write(match req.output {
            Output::Json => crate::cli::term::Stream::Stderr,
            Output::Human => crate::cli::term::Stream::Stdout,
        })?;
    }
    Ok(exit)
}

fn print_human(out: &mut impl Write, v: &Validation, listed: Option<&[Listed]>) -> io::Result<()> {
    for file in &v.files {
        print_file(out, file)?;
        for row in listed.unwrap_or_default().iter().filter(|r| r.file == file.path) {
            print_row(out, row)?;
        }
        for p in v.problems.iter().filter(|p| *p.file == *file.path) {
            writeln!(out, "{p}")?;
        }
    }
    let s = &v.summary;
    writeln!(out)?;
    if let Some(order) = &v.order_id {
        writeln!(out, "order id: {}", quoted(order))?;
    }
    writeln!(
        out,
        "summary: {}, {}: {} valid, {} invalid (Graph {}, Partner Center {}); {}, {}{}",
        count(s.files, "file"),
        count(s.rows, "row"),
        s.valid_rows,
        s.invalid_rows,
        s.pipes.graph,
        s.pipes.partner_center,
        count(s.errors, "error"),
        count(s.warnings, "warning"),
        if s.unreadable_files > 0 {
            format!("; {} could not be read", count(s.unreadable_files, "file"))
        } else {
            String::new()
        }
    )
}

fn print_file(out: &mut impl Write, f: &FileSummary) -> io::Result<()> {
    writeln!(out, "{}", f.path)?;
    if let (Some(dialect), Some(title)) = (f.dialect, f.dialect_title) {
        let _ = dialect;
        writeln!(out, "  dialect   {title}: {}", quoted(&f.header.join(",")))?;
    }
    if let Some(enc) = f.encoding {
        let sep = match f.delimiter {
            Some(';') => ", `;`-separated",
            Some('\t') => ", tab-separated",
            _ => "",
        };
        writeln!(out, "  encoding  {}{sep}", enc.title())?;
    }
    if f.readable || f.rows > 0 {
        writeln!(
            out,
            "  rows      {} ({} valid, {} invalid; Graph {}, Partner Center {})",
            f.rows, f.valid_rows, f.invalid_rows, f.pipes.graph, f.pipes.partner_center
        )?;
    }
    Ok(())
}

fn print_row(out: &mut impl Write, r: &Listed) -> io::Result<()> {
    let serial = r
        .serial_number
        .as_deref()
        .map(quoted)
        .unwrap_or_else(|| "(no serial)".into());
    let Some(pipe) = r.pipe else {
        return writeln!(out, "  line {}: {serial} invalid", r.line);
    };
    let mut parts = Vec::new();
    if let Some(h) = &r.hardware_hash {
        parts.push(format!("hash {h}"));
    }
    if let (Some(m), Some(n)) = (&r.manufacturer, &r.model) {
        parts.push(format!("{} {}", quoted(m), quoted(n)));
    }
    if let Some(k) = &r.product_key {
        parts.push(format!("product key {}", quoted(k)));
    }
    if let Some(t) = &r.group_tag {
        parts.push(format!("group tag {}", quoted(t)));
    }
    if let Some(u) = &r.assigned_user {
        parts.push(format!("user {}", quoted(u)));
    }
    writeln!(out, "  line {}: {serial} → {pipe} ({})", r.line, parts.join(", "))
}
