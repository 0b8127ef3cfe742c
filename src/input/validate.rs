//! Offline validation of one or more device CSVs: every row read and
//! checked (see [`crate::input::csv`]), duplicate serials and hashes found
//! across all files, and per-file figures gathered for the report. Memory
//! stays flat however large the files: rows are streamed and duplicates are
//! found from 128-bit digests, never by keeping hashes.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};
use std::path::PathBuf;

use serde::Serialize;

use crate::input::csv::dialect::Dialect;
use crate::input::csv::encoding::TextEncoding;
use crate::input::csv::{CsvFile, ReadOptions, Row};
use crate::input::device::{Device, Identity, Pipe, RowRef};
use crate::input::problem::{Problem, ProblemCode, Severity};

/// What to validate and how.
#[derive(Clone, Debug, Default)]
pub struct ValidateOptions {
    /// Check the portal's exact rules too.
    pub strict: bool,
    /// The partner's Order ID / Purchase ID, carried to the output.
    pub order_id: Option<String>,
}

/// A row as the caller sees it while validation streams.
#[derive(Debug)]
pub enum Checked<'a> {
    /// A valid device.
    Valid(&'a Device),
    /// An invalid row, with its problems (also in the final
    /// [`Validation`], up to [`LISTED_PER_FILE`] a file).
    Invalid {
        source: &'a RowRef,
        serial: Option<&'a str>,
        problems: &'a [Problem],
    },
}

/// Problems kept in full per file; beyond them, problems are counted by
/// code, so a file of a million bad rows is reported in constant memory.
pub const LISTED_PER_FILE: usize = 1_000;

/// Figures for one file.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSummary {
    pub path: String,
    /// False when the file could not be read or its header matched nothing.
    pub readable: bool,
    pub dialect: Option<Dialect>,
    pub dialect_title: Option<&'static str>,
    pub encoding: Option<TextEncoding>,
    pub delimiter: Option<char>,
    pub header: Vec<String>,
    /// Data rows (blank lines not counted).
    pub rows: u64,
    pub valid_rows: u64,
    pub invalid_rows: u64,
    pub blank_rows: u64,
    /// Valid rows per pipe.
    pub pipes: PipeCounts,
    /// Problems beyond the first [`LISTED_PER_FILE`]: counted, not listed.
    pub unlisted_problems: u64,
    /// Those problems by code, in the order first met.
    pub unlisted_by_code: Vec<(crate::input::problem::ProblemCode, u64)>,
    /// Unlisted errors (counted in `Summary::errors` too).
    #[serde(skip)]
    pub unlisted_errors: u64,
}

/// Valid rows per registration pipe.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipeCounts {
    pub graph: u64,
    pub partner_center: u64,
}

impl PipeCounts {
    fn add(&mut self, pipe: Pipe) {
        match pipe {
            Pipe::Graph => self.graph += 1,
            Pipe::PartnerCenter | Pipe::CorporateIdentifiers => self.partner_center += 1,
        }
    }
}

/// How validation ended, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validity {
    /// Every row of every file is valid.
    AllValid,
    /// Some rows are invalid (or break a `--strict` rule).
    SomeInvalid,
    /// A file could not be read at all.
    Unreadable,
}

/// The whole result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    pub strict: bool,
    pub order_id: Option<String>,
    pub files: Vec<FileSummary>,
    /// Every problem, file by file, in line order.
    pub problems: Vec<Problem>,
    pub summary: Summary,
    pub verdict: Validity,
}

/// Totals across files.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub files: u64,
    pub unreadable_files: u64,
    pub rows: u64,
    pub valid_rows: u64,
    pub invalid_rows: u64,
    pub errors: u64,
    pub warnings: u64,
    pub pipes: PipeCounts,
}

/// Validates the files in order, calling `each` for every data row.
pub fn validate(
    paths: &[PathBuf],
    options: &ValidateOptions,
    mut each: impl FnMut(Checked<'_>),
) -> Validation {
    let mut seen = Duplicates::default();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    if paths.len() == 1 {
        let mut file = FileCheck::new(&paths[0], problems.len());
        read_file(&paths[0], options, |ev| {
            file.take(ev, &mut seen, &mut problems, &mut each);
            true
        });
        files.push(file.finish(&mut problems));
    } else {
        // Several files: the next one is read and parsed on another
        // thread while this one is checked, in order; at most two files
        // are open and a few hundred rows wait, so memory stays flat.
        std::thread::scope(|scope| {
            let spawn = |path: &PathBuf| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<ReadEvent>(256);
                let path = path.clone();
                let options = options.clone();
                scope.spawn(move || read_file(&path, &options, |ev| tx.send(ev).is_ok()));
                rx
            };
            let mut next = paths.first().map(spawn);
            for (i, path) in paths.iter().enumerate() {
                let Some(rx) = next.take() else { break };
                next = paths.get(i + 1).map(spawn);
                let mut file = FileCheck::new(path, problems.len());
                for ev in rx {
                    file.take(ev, &mut seen, &mut problems, &mut each);
                }
                files.push(file.finish(&mut problems));
            }
        });
    }
    let summary = summarise(&files, &problems);
    let verdict = if summary.unreadable_files > 0 {
        Validity::Unreadable
    } else if summary.errors > 0 {
        Validity::SomeInvalid
    } else {
        Validity::AllValid
    };
    Validation {
        strict: options.strict,
        order_id: options.order_id.clone(),
        files,
        problems,
        summary,
        verdict,
    }
}

/// What reading one file yields, in order.
// Nearly every event is a row: boxing rows would add an allocation each
// and save nothing.
#[allow(clippy::large_enum_variant)]
enum ReadEvent {
    Opened {
        dialect: Dialect,
        delimiter: char,
        header: Vec<String>,
    },
    NotOpened(Box<Problem>),
    Row(Result<Row, Box<Problem>>),
    Finished {
        strict: Vec<Problem>,
        encoding: TextEncoding,
    },
}

/// Reads and parses one file, handing each event to `sink` until it
/// returns false.
fn read_file(path: &std::path::Path, options: &ValidateOptions, mut sink: impl FnMut(ReadEvent) -> bool) {
    let mut file = match CsvFile::open(
        path,
        ReadOptions {
            strict: options.strict,
        },
    ) {
        Ok(f) => f,
        Err(p) => {
            sink(ReadEvent::NotOpened(p));
            return;
        }
    };
    let opened = ReadEvent::Opened {
        dialect: file.dialect(),
        delimiter: file.delimiter(),
        header: file.header().to_vec(),
    };
    if !sink(opened) {
        return;
    }
    while let Some(row) = file.next_row() {
        let stop = row.is_err();
        if !sink(ReadEvent::Row(row)) || stop {
            break;
        }
    }
    sink(ReadEvent::Finished {
        strict: file.strict_problems(),
        encoding: file.encoding(),
    });
}

/// Checks one file's events: duplicates across files, problems, figures.
struct FileCheck {
    summary: FileSummary,
    first_problem: usize,
}

impl FileCheck {
    fn new(path: &std::path::Path, first_problem: usize) -> Self {
        Self {
            summary: FileSummary {
                path: path.display().to_string(),
                readable: false,
                dialect: None,
                dialect_title: None,
                encoding: None,
                delimiter: None,
                header: Vec::new(),
                rows: 0,
                valid_rows: 0,
                invalid_rows: 0,
                blank_rows: 0,
                pipes: PipeCounts::default(),
                unlisted_problems: 0,
                unlisted_by_code: Vec::new(),
                unlisted_errors: 0,
            },
            first_problem,
        }
    }

    fn take(
        &mut self,
        ev: ReadEvent,
        seen: &mut Duplicates,
        problems: &mut Vec<Problem>,
        each: &mut impl FnMut(Checked<'_>),
    ) {
        match ev {
            ReadEvent::NotOpened(p) => self.keep(problems, [*p]),
            ReadEvent::Opened {
                dialect,
                delimiter,
                header,
            } => {
                let summary = &mut self.summary;
                summary.readable = true;
                summary.dialect = Some(dialect);
                summary.dialect_title = Some(dialect.title());
                summary.delimiter = Some(delimiter);
                summary.header = header;
            }
            ReadEvent::Row(Err(p)) => {
                self.summary.readable = false;
                self.keep(problems, [*p]);
            }
            ReadEvent::Row(Ok(Row::Blank)) => self.summary.blank_rows += 1,
            ReadEvent::Row(Ok(Row::Device(device, warnings))) => {
                self.summary.rows += 1;
                self.keep(problems, warnings);
                let dups = seen.check(&device);
                if dups.is_empty() {
                    self.summary.valid_rows += 1;
                    self.summary.pipes.add(device.pipe());
                    each(Checked::Valid(&device));
                } else {
                    self.summary.invalid_rows += 1;
                    each(Checked::Invalid {
                        source: &device.source,
                        serial: device.serial.as_deref(),
                        problems: &dups,
                    });
                    self.keep(problems, dups);
                }
            }
            ReadEvent::Row(Ok(Row::Invalid {
                source,
                serial,
                problems: found,
            })) => {
                self.summary.rows += 1;
                self.summary.invalid_rows += 1;
                each(Checked::Invalid {
                    source: &source,
                    serial: serial.as_deref(),
                    problems: &found,
                });
                self.keep(problems, found);
            }
            ReadEvent::Finished { strict, encoding } => {
                self.keep(problems, strict);
                self.summary.encoding = Some(encoding);
            }
        }
    }

    /// Keeps the file's first [`LISTED_PER_FILE`] problems and counts the
    /// rest by code.
    fn keep(&mut self, problems: &mut Vec<Problem>, found: impl IntoIterator<Item = Problem>) {
        for p in found {
            if p.is_file_level() || problems.len() - self.first_problem < LISTED_PER_FILE {
                problems.push(p);
                continue;
            }
            let s = &mut self.summary;
            s.unlisted_problems += 1;
            s.unlisted_errors += u64::from(p.severity == Severity::Error);
            match s.unlisted_by_code.iter_mut().find(|(c, _)| *c == p.code) {
                Some((_, n)) => *n += 1,
                None => s.unlisted_by_code.push((p.code, 1)),
            }
        }
    }

    fn finish(self, problems: &mut [Problem]) -> FileSummary {
        problems[self.first_problem..].sort_by_key(|p| (p.line, p.column));
        self.summary
    }
}

fn summarise(files: &[FileSummary], problems: &[Problem]) -> Summary {
    let mut s = Summary {
        files: files.len() as u64,
        ..Summary::default()
    };
    for f in files {
        s.unreadable_files += u64::from(!f.readable);
        s.rows += f.rows;
        s.valid_rows += f.valid_rows;
        s.invalid_rows += f.invalid_rows;
        s.pipes.graph += f.pipes.graph;
        s.pipes.partner_center += f.pipes.partner_center;
    }
    let unlisted: u64 = files.iter().map(|f| f.unlisted_problems).sum();
    let unlisted_errors: u64 = files.iter().map(|f| f.unlisted_errors).sum();
    s.errors = problems.iter().filter(|p| p.severity == Severity::Error).count() as u64 + unlisted_errors;
    s.warnings = problems.len() as u64 + unlisted - s.errors;
    s
}

/// First sightings of serials and hashes, by 128-bit digest.
#[derive(Default)]
struct Duplicates {
    serials: HashMap<u128, RowRef>,
    hashes: HashMap<u128, RowRef>,
}

impl Duplicates {
    /// Records the device; returns a problem for each value seen before.
    fn check(&mut self, device: &Device) -> Vec<Problem> {
        let mut found = Vec::new();
        if let Some(serial) = &device.serial
            && let Some(first) = first_sighting(&mut self.serials, serial, &device.source)
        {
            found.push(
                Problem::error(
                    &device.source.file,
                    device.source.line,
                    ProblemCode::DuplicateSerial,
                    format!("the serial number is also on {first}"),
                )
                .hint("each device must appear once; remove one of the two rows"),
            );
        }
        if let Identity::HardwareHash { hash, .. } = &device.identity
            && let Some(first) = first_sighting(&mut self.hashes, &hash.shared(), &device.source)
        {
            found.push(
                Problem::error(
                    &device.source.file,
                    device.source.line,
                    ProblemCode::DuplicateHash,
                    format!("ZtdDeviceDuplicated: the hardware hash is also on {first}"),
                )
                .hint("each device must appear once; the service would process only one of the rows"),
            );
        }
        found
    }
}

fn first_sighting(map: &mut HashMap<u128, RowRef>, value: &str, here: &RowRef) -> Option<RowRef> {
    match map.entry(digest(value)) {
        std::collections::hash_map::Entry::Occupied(e) => Some(e.get().clone()),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(here.clone());
            None
        }
    }
}

/// A 128-bit digest from two independently keyed SipHash runs: collisions
/// among a few million rows are out of reach, and nothing of the value is
/// kept.
fn digest(value: &str) -> u128 {
    let mut a = DefaultHasher::new();
    a.write(value.as_bytes());
    let mut b = DefaultHasher::new();
    b.write_u8(0xA5);
    b.write(value.as_bytes());
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}
