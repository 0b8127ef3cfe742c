//! Reading device CSVs as they exist in the wild: any dialect of SPEC §6 in
//! any of its encodings, streamed row by row so a file of any size is read
//! in constant memory. Every data row comes out exactly once, as a
//! [`Row::Device`] (with warnings), a [`Row::Invalid`] (with every problem
//! found, so one bad value never hides another), or a [`Row::Blank`].
//!
//! Layout: [`encoding`] finds and decodes the text encoding, [`lines`]
//! splits it into bounded lines (any line end), [`dialect`]
//! matches the header, [`checks`] judges single values, and [`strict`]
//! holds the portal's exact rules for `--strict`.

pub mod checks;
pub mod dialect;
pub mod encoding;
pub mod lines;
mod row;
pub mod strict;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use crate::input::device::{Device, RowRef};
use crate::input::problem::{Problem, ProblemCode, quoted};
use dialect::{ColumnMap, Dialect};
use encoding::{FieldText, TextEncoding};
use lines::{Line, Lines};
use row::{RowFields, build_device};
use strict::StrictWatch;

/// How to read.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Check Microsoft's portal rules exactly (`--strict`).
    pub strict: bool,
}

/// One data row's fate.
#[derive(Debug)]
pub enum Row {
    /// A valid device, with any warnings about it.
    Device(Device, Vec<Problem>),
    /// A row that cannot be registered, with every problem found.
    Invalid {
        /// Where the row is.
        source: RowRef,
        /// The serial, when the row had one.
        serial: Option<String>,
        /// Errors (and warnings) found on the row; at least one error.
        problems: Vec<Problem>,
    },
    /// A row with no values at all (trailing empty lines in real files).
    Blank,
}

/// An open CSV file, positioned after its header.
pub struct CsvFile {
    name: Arc<str>,
    columns: ColumnMap,
    encoding: TextEncoding,
    delimiter: u8,
    lines: Lines<Box<dyn BufRead + Send>>,
    fields: FieldSplitter,
    strict: Option<StrictWatch>,
    data_rows: u64,
    done: bool,
}

impl std::fmt::Debug for CsvFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvFile")
            .field("name", &self.name)
            .field("dialect", &self.columns.dialect)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl CsvFile {
    /// Opens a file and reads its header. The error is a file-level
    /// problem: unreadable, empty, or a header no dialect matches.
    pub fn open(path: &Path, options: ReadOptions) -> Result<Self, Box<Problem>> {
        let name: Arc<str> = Arc::from(path.display().to_string());
        let unreadable = |e: std::io::Error| {
            Problem::file_error(
                &name,
                ProblemCode::Unreadable,
                format!("cannot read the file: {e}"),
            )
            .hint("check the path and that the file is readable")
        };
        let file = open_file(path, &name)?;
        let (stream, encoding) = encoding::open(file).map_err(unreadable)?;
        let stream: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(64 * 1024, stream));
        let mut lines = Lines::new(stream);
        let header = match lines.next_line().map_err(unreadable)? {
            None => return Err(empty_file(&name).into()),
            Some(Line::TooLong { bytes, .. }) => {
                return Err(Problem::error(
                    &name,
                    1,
                    ProblemCode::Unreadable,
                    format!(
                        "the first line is {bytes} bytes long, over the {} a header can be: this is not a device CSV",
                        lines::MAX_LINE_BYTES
                    ),
                )
                .hint(format!(
                    "an import file starts with a header such as {}",
                    quoted(Dialect::Autopilot.example_header())
                ))
                .into());
            }
            Some(Line::Text { bytes, .. }) => bytes.to_vec(),
        };
        let delimiter = sniff_delimiter(&header);
        let strict = options
            .strict
            .then(|| StrictWatch::new(&name, encoding, delimiter));
        if let Some(watch) = &strict {
            watch.check_quotes(1, &header);
        }
        let mut fields = FieldSplitter::new(delimiter);
        let mut names: Vec<String> = fields
            .split(&header)
            .map(|f| encoding::decode_field(f).0.trim().to_owned())
            .collect();
        // Excel saves the empty columns after the last one it saw used
        // (`…;Hardware Hash;;`): they name nothing and are left out.
        while names.len() > 1 && names.last().is_some_and(String::is_empty) {
            names.pop();
        }
        if names.iter().all(String::is_empty) {
            return Err(empty_file(&name).into());
        }
        let columns = dialect::match_header(&names).map_err(|m| header_problem(&name, &names, m))?;
        if let Some(watch) = &strict {
            watch.check_header(&names, columns.dialect, delimiter);
        }
        Ok(Self {
            name,
            columns,
            encoding,
            delimiter,
            lines,
            fields,
            strict,
            data_rows: 0,
            done: false,
        })
    }

    /// The file as the user named it.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The dialect the header matched.
    pub fn dialect(&self) -> Dialect {
        self.columns.dialect
    }

    /// The header names as written.
    pub fn header(&self) -> &[String] {
        &self.columns.names
    }

    /// The encoding; may turn from UTF-8 to Windows-1252 as rows are read.
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// The field delimiter (`,`, or `;` from European Excel).
    pub fn delimiter(&self) -> char {
        self.delimiter as char
    }

    /// Problems with the file as a whole: a header with no device row
    /// under it (a warning), and what `--strict` found (header, encoding,
    /// quotes, row limit). Complete once [`CsvFile::next_row`] has returned
    /// `None`.
    pub fn strict_problems(&self) -> Vec<Problem> {
        let mut found = Vec::new();
        if self.done && self.data_rows == 0 {
            found.push(header_only(&self.name));
        }
        found.extend(
            self.strict
                .as_ref()
                .map(StrictWatch::problems)
                .unwrap_or_default(),
        );
        found
    }

    /// Rows read so far that hold data (blank lines not counted).
    pub fn data_rows(&self) -> u64 {
        self.data_rows
    }

    /// Reads the next row, or `None` at the end. A read error (the text
    /// stopped being readable part-way) ends the file with one file
    /// problem, returned as `Err`.
    pub fn next_row(&mut self) -> Option<Result<Row, Box<Problem>>> {
        if self.done {
            return None;
        }
        let (line, quotes) = match self.lines.next_line() {
            Ok(Some(Line::Text { number, bytes })) => {
                if let Some(watch) = &self.strict {
                    watch.check_quotes(number, bytes);
                }
                let odd_quotes = bytes.iter().filter(|&&b| b == b'"').count() % 2 == 1;
                self.fields.load(bytes);
                (number, odd_quotes)
            }
            Ok(Some(Line::TooLong { number, bytes })) => return Some(Ok(self.too_long(number, bytes))),
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                let mut p = Problem::file_error(
                    &self.name,
                    ProblemCode::Unreadable,
                    format!("cannot read the file: {e}"),
                );
                p.line = Some(self.lines.line_number());
                return Some(Err(Box::new(p)));
            }
        };
        Some(Ok(self.row(line, quotes)))
    }

    /// Counts a data row (for `--strict`'s row limit) and gives its place.
    fn data_row(&mut self, line: u64) -> RowRef {
        self.data_rows += 1;
        if let Some(watch) = &self.strict {
            watch.count_row(self.data_rows, line);
        }
        RowRef {
            file: self.name.clone(),
            line,
        }
    }

    fn too_long(&mut self, line: u64, bytes: u64) -> Row {
        let source = self.data_row(line);
        let problem = Problem::error(
            &self.name,
            line,
            ProblemCode::LineTooLong,
            format!(
                "the line is {bytes} bytes long, over the {} a device row can be; it was not read",
                lines::MAX_LINE_BYTES
            ),
        )
        .hint("a row is one device: serial, hash and a few short values; check that the file was not joined or damaged");
        Row::Invalid {
            source,
            serial: None,
            problems: vec![problem],
        }
    }

    fn row(&mut self, line: u64, odd_quotes: bool) -> Row {
        if self
            .fields
            .fields()
            .all(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            return Row::Blank;
        }
        let source = self.data_row(line);
        let mut values = RowFields::default();
        let mut problems = Vec::new();
        if odd_quotes {
            problems.push(
                Problem::error(
                    &self.name,
                    line,
                    ProblemCode::UnbalancedQuotes,
                    "a quotation mark opens a value that does not close on this line",
                )
                .hint("a quoted value starts and ends with `\"` on the same line; remove the stray quotation mark"),
            );
        }
        let width = self.columns.columns.len();
        let found = self.fields.len();
        let extra_filled = self.fields.fields().skip(width).any(|f| !f.is_empty());
        if found < width || extra_filled {
            problems.push(self.field_count_problem(line, found));
        }
        for (i, bytes) in self.fields.fields().take(width).enumerate() {
            let (text, kind) = encoding::decode_field(bytes);
            if kind == FieldText::Windows1252 && self.encoding == TextEncoding::Utf8 {
                self.encoding = TextEncoding::Windows1252;
            }
            if let (Some(watch), FieldText::Utf8) = (&self.strict, kind) {
                watch.non_ansi(line, i as u64 + 1, self.columns.name(i));
            }
            if let Some(at) = text.chars().position(|c| c == char::REPLACEMENT_CHARACTER) {
                problems.push(
                    Problem::error(
                        &self.name,
                        line,
                        ProblemCode::Undecodable,
                        format!(
                            "character {} of the value cannot be decoded (a broken {} character); it would be sent as U+FFFD",
                            at + 1,
                            self.encoding.title()
                        ),
                    )
                    .at(i as u64 + 1, self.columns.name(i))
                    .hint("export the file again from its source; the text was damaged on the way"),
                );
            }
            values.set(self.columns.columns[i], i, text.into_owned());
        }
        build_device(source, values, &self.columns, &mut problems)
    }

    fn field_count_problem(&self, line: u64, found: usize) -> Problem {
        Problem::error(
            &self.name,
            line,
            ProblemCode::FieldCount,
            format!("the row has {found} fields; the header has {}", self.columns.columns.len()),
        )
        .hint(format!(
            "each row needs one value per header column, separated by `{}`; a value holding the separator must be in double quotes",
            self.delimiter as char
        ))
    }
}

fn empty_file(name: &Arc<str>) -> Problem {
    Problem::file_error(name, ProblemCode::UnknownHeader, "the file is empty").hint(format!(
        "an import file starts with a header such as {}",
        quoted(Dialect::Autopilot.example_header())
    ))
}

/// Splits one line into its fields, unquoting them, with buffers kept
/// from line to line.
struct FieldSplitter {
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    count: usize,
}

impl FieldSplitter {
    fn new(delimiter: u8) -> Self {
        Self {
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: Vec::new(),
            ends: vec![0; 16],
            count: 0,
        }
    }

    /// Splits `line` and returns its fields.
    fn split(&mut self, line: &[u8]) -> impl Iterator<Item = &[u8]> {
        self.load(line);
        self.fields()
    }

    /// Splits `line`; its fields are then [`FieldSplitter::fields`].
    fn load(&mut self, line: &[u8]) {
        use csv_core::ReadRecordResult as R;
        self.core.reset();
        // Unquoting only ever shortens a field.
        if self.out.len() < line.len() {
            self.out.resize(line.len(), 0);
        }
        let (mut input, mut written, mut count) = (line, 0, 0);
        loop {
            let (result, read, wrote, ended) =
                self.core
                    .read_record(input, &mut self.out[written..], &mut self.ends[count..]);
            input = &input[read..];
            written += wrote;
            count += ended;
            match result {
                // The whole line was taken: the next call, with no input,
                // ends the record.
                R::InputEmpty => {}
                R::OutputFull => self.out.resize(self.out.len() * 2 + 16, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record | R::End => break,
            }
        }
        self.count = count;
    }

    /// How many fields the last line had.
    fn len(&self) -> usize {
        self.count
    }

    /// The last line's fields.
    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.count).map(|i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.out[start..self.ends[i]]
        })
    }
}

/// The file opened, or why not: a folder and a missing file said as such.
fn open_file(path: &Path, name: &Arc<str>) -> Result<File, Box<Problem>> {
    let problem = |message: String, hint: &str| {
        Box::new(Problem::file_error(name, ProblemCode::Unreadable, message).hint(hint))
    };
    if path.is_dir() {
        return Err(problem(
            "is a folder, not a file".into(),
            "give the CSV files in it (`folder/*.csv`)",
        ));
    }
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => problem("no such file".into(), "check the path"),
        _ => problem(
            format!("cannot read the file: {e}"),
            "check the path and that the file is readable",
        ),
    })
}

/// A file with its header and no device row under it: nothing is wrong
/// with it, and nothing will be registered from it.
pub fn header_only(name: &Arc<str>) -> Problem {
    // Said on the header's line, the last the file has.
    Problem::error(
        name,
        1,
        ProblemCode::NoRows,
        "the file has a header and no device rows",
    )
    .hint("check that this is the file the supplier meant to send; nothing in it will be registered")
    .warning()
}

/// The header line's delimiter: a tab when it has more tabs than commas
/// and semicolons (Excel's "Unicode text", and text copied out of a
/// sheet), `;` when it has more semicolons than commas (European Excel),
/// else `,`.
fn sniff_delimiter(first_line: &[u8]) -> u8 {
    let count = |b| first_line.iter().filter(|&&c| c == b).count();
    let (tabs, semicolons, commas) = (count(b'\t'), count(b';'), count(b','));
    if tabs > commas && tabs > semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    }
}

fn header_problem(name: &Arc<str>, names: &[String], m: dialect::HeaderMismatch) -> Problem {
    let mut parts = Vec::new();
    if !m.missing.is_empty() {
        let list: Vec<String> = m.missing.iter().map(|c| quoted(c.canonical())).collect();
        parts.push(format!("missing {}", list.join(", ")));
    }
    if !m.unexpected.is_empty() {
        let list: Vec<String> = m.unexpected.iter().map(|c| quoted(c)).collect();
        parts.push(format!("not an import column: {}", list.join(", ")));
    }
    if !m.repeated.is_empty() {
        let list: Vec<String> = m.repeated.iter().map(|c| quoted(c)).collect();
        parts.push(format!("given twice: {}", list.join(", ")));
    }
    let column = names
        .iter()
        .position(|n| m.unexpected.contains(n) || m.repeated.contains(n))
        .map(|i| i as u64 + 1);
    let looks_like_export = names.iter().any(|n| {
        let n = n.to_ascii_lowercase();
        n.contains("enrolmentstate") || n.contains("enrollmentstate") || n == "id" || n == "displayname"
    });
    let mut hint = format!(
        "the closest known header is {} ({}); rename or remove columns to match it",
        quoted(m.closest.example_header()),
        m.closest.title()
    );
    if looks_like_export {
        hint.push_str(". This looks like an export of registered Autopilot devices, not an import file");
    }
    let mut p = Problem::error(
        name,
        1,
        ProblemCode::UnknownHeader,
        format!("the header matches no known CSV dialect: {}", parts.join("; ")),
    )
    .hint(hint);
    p.column = column;
    p
}
