//! `--strict`: Microsoft's portal rules for an import CSV, checked exactly
//! (memdocs autopilot/add-devices.md): the exact, case-sensitive header of
//! a known dialect with no extra columns, commas as separators, no
//! quotation marks anywhere, ANSI text only, and at most 500 rows. apctl
//! itself accepts far more; this is for partners who will upload through a
//! portal anyway.

use std::sync::{Arc, Mutex, PoisonError};

use super::dialect::Dialect;
use super::encoding::TextEncoding;
use crate::input::problem::{Problem, ProblemCode, quoted};

/// Most data rows the portal takes in one file.
pub const PORTAL_MAX_ROWS: u64 = 500;

/// Collects `--strict` problems while a file is read. The quote check
/// watches the decoded text itself, since the CSV parser hides quoting.
#[derive(Clone)]
pub struct StrictWatch {
    file: Arc<str>,
    found: Arc<Mutex<Vec<Problem>>>,
}

impl StrictWatch {
    /// Starts watching a file; the encoding and separator are judged now.
    pub fn new(file: &Arc<str>, encoding: TextEncoding, delimiter: u8) -> Self {
        let watch = Self {
            file: file.clone(),
            found: Arc::default(),
        };
        if !encoding.is_ansi() {
            watch.push(
                Problem::file_error(file, ProblemCode::StrictEncoding, format!("the file is {}; the portal takes ANSI text only", encoding.title()))
                    .hint("save it as ANSI (Windows-1252), e.g. `Get-Content in.csv | Set-Content -Encoding Default out.csv` in Windows PowerShell"),
            );
        }
        if delimiter != b',' {
            watch.push(
                Problem::error(
                    file,
                    1,
                    ProblemCode::StrictDelimiter,
                    format!(
                        "values are separated by `{}`; the portal takes commas only",
                        delimiter as char
                    ),
                )
                .hint("save the file as comma-separated"),
            );
        }
        watch
    }

    /// Checks the header against the dialect's exact spellings.
    pub fn check_header(&self, names: &[String], dialect: Dialect, delimiter: u8) {
        let written = names.join(",");
        if delimiter == b',' && dialect.exact_headers().contains(&written.as_str()) {
            return;
        }
        let expected: Vec<String> = dialect.exact_headers().iter().map(|h| quoted(h)).collect();
        self.push(
            Problem::error(
                &self.file,
                1,
                ProblemCode::StrictHeader,
                format!(
                    "the header {} is not written exactly as the portal takes it",
                    quoted(&written)
                ),
            )
            .hint(format!(
                "headers are case-sensitive and take no extra columns: use {}",
                expected.join(" or ")
            )),
        );
    }

    /// Counts a data row; the first beyond the limit is a problem.
    pub fn count_row(&self, row: u64, line: u64) {
        if row == PORTAL_MAX_ROWS + 1 {
            self.push(
                Problem::error(
                    &self.file,
                    line,
                    ProblemCode::StrictRowLimit,
                    format!("row {row} is beyond the portal's limit of {PORTAL_MAX_ROWS} rows per file"),
                )
                .hint("split the file into files of at most 500 rows (apctl itself takes any number)"),
            );
        }
    }

    /// Notes a field whose text is UTF-8 beyond ASCII (not ANSI).
    pub fn non_ansi(&self, line: u64, column: u64, name: Option<&str>) {
        self.push(
            Problem::error(
                &self.file,
                line,
                ProblemCode::StrictEncoding,
                "the value holds UTF-8 text beyond ASCII; the portal reads ANSI only",
            )
            .at(column, name)
            .hint("save the file as ANSI (Windows-1252)"),
        );
    }

    /// Notes the first quotation mark of a line, at its character position.
    pub fn check_quotes(&self, line: u64, bytes: &[u8]) {
        let Some(at) = bytes.iter().position(|&b| b == b'"') else {
            return;
        };
        // Count characters, not bytes: skip UTF-8 continuation bytes.
        let column = bytes[..at].iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64 + 1;
        self.push(
            Problem::error(
                &self.file,
                line,
                ProblemCode::StrictQuotes,
                "the line holds a quotation mark; the portal takes none",
            )
            .at(column, None)
            .hint("remove the quotes (Get-WindowsAutopilotInfo writes none)"),
        );
    }

    /// Everything found, in the order found.
    pub fn problems(&self) -> Vec<Problem> {
        self.found.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn push(&self, p: Problem) {
        self.found.lock().unwrap_or_else(PoisonError::into_inner).push(p);
    }
}
