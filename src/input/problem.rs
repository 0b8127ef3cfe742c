//! Problems found in input, each saying where (file, line, column) and
//! what, with a hint on how to fix it. The library collects them; the CLI
//! renders them once.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::portal::state::DeviceMessage;

/// How bad a problem is: errors make a row invalid, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A stable, machine-readable name for each kind of problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemCode {
    /// The file could not be opened or read.
    Unreadable,
    /// The header matches no known dialect.
    UnknownHeader,
    /// A row has more or fewer fields than the header.
    FieldCount,
    /// A line is longer than any device row can be; it was not read.
    LineTooLong,
    /// A quotation mark opens a value that does not close on its line.
    UnbalancedQuotes,
    /// A value holds a character that could not be decoded (U+FFFD).
    Undecodable,
    /// The serial number cannot be one: a number Excel rewrote, a hash in
    /// the wrong column, control characters, or too long.
    SerialShape,
    /// A hash or tuple row has no serial number.
    EmptySerial,
    /// A value has leading or trailing white space (kept verbatim).
    SurroundingSpace,
    /// The hardware hash is not standard base64 of a plausible length.
    HashNotValid,
    /// The product key is neither a 5×5 key nor a numeric product key id.
    ProductKeyShape,
    /// The group tag is too long or holds control characters.
    GroupTagShape,
    /// The assigned user is not a user principal name.
    AssignedUserShape,
    /// The `Tenant` cell cannot name a customer.
    TenantShape,
    /// The row has nothing any registration pipe can take.
    NoPipe,
    /// The same serial number appears on an earlier row.
    DuplicateSerial,
    /// The same hardware hash appears on an earlier row.
    DuplicateHash,
    /// `--strict`: the header is not one the portal takes as written.
    StrictHeader,
    /// `--strict`: the file is not ANSI text.
    StrictEncoding,
    /// `--strict`: the line holds a quotation mark.
    StrictQuotes,
    /// `--strict`: the line is beyond the portal's 500-row limit.
    StrictRowLimit,
    /// `--strict`: the file is not comma-separated.
    StrictDelimiter,
    /// The file has a header and no device rows.
    NoRows,
}

/// One problem, with where it is and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The file as the user named it.
    pub file: Arc<str>,
    /// 1-based line, when the problem is on a line.
    pub line: Option<u64>,
    /// 1-based column: the field number for row problems, the character
    /// position for `--strict` text problems.
    pub column: Option<u64>,
    /// The header name of the column, when there is one.
    pub column_name: Option<String>,
    pub severity: Severity,
    pub code: ProblemCode,
    /// The portal message this problem amounts to, if any.
    pub portal_message: Option<DeviceMessage>,
    /// What is wrong, one sentence.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Problem {
    /// An error at a line and field.
    pub fn error(file: &Arc<str>, line: u64, code: ProblemCode, message: impl Into<String>) -> Self {
        Self {
            file: file.clone(),
            line: Some(line),
            column: None,
            column_name: None,
            severity: Severity::Error,
            code,
            portal_message: None,
            // Text from the file (quoted values) passes the sanitiser.
            message: crate::sanitize::clean_line(&message.into()),
            hint: None,
        }
    }

    /// Sets the column and its header name.
    pub fn at(mut self, column: u64, name: Option<&str>) -> Self {
        self.column = Some(column);
        self.column_name = name.map(str::to_owned);
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Marks it as a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Names the portal message it amounts to.
    pub fn portal(mut self, message: DeviceMessage) -> Self {
        self.portal_message = Some(message);
        self
    }

    /// True for a problem that stops the whole file (it could not be read,
    /// or its header matched no dialect), as opposed to one row's.
    pub fn is_file_level(&self) -> bool {
        self.severity == Severity::Error
            && matches!(self.code, ProblemCode::Unreadable | ProblemCode::UnknownHeader)
    }

    /// A problem with the whole file rather than a line.
    pub fn file_error(file: &Arc<str>, code: ProblemCode, message: impl Into<String>) -> Self {
        let mut p = Self::error(file, 0, code, message);
        p.line = None;
        p
    }

    /// `file:line:column` as far as known.
    pub fn location(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
            (Some(l), None) => format!("{}:{l}", self.file),
            _ => self.file.to_string(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {level}: ", self.location())?;
        if let Some(m) = self.portal_message {
            write!(f, "{m}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Quotes text from input for a message: in backticks, with control
/// characters and other unprintables escaped so no input can steer a terminal.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('`');
    for c in text.chars() {
        if c.is_control() || c == '\u{feff}' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_message_and_hint() {
        let file: Arc<str> = Arc::from("a.csv");
        let p = Problem::error(&file, 3, ProblemCode::HashNotValid, "not base64")
            .at(3, Some("Hardware Hash"))
            .portal(DeviceMessage::HardwareHashNotValid)
            .hint("export it again");
        assert_eq!(
            p.to_string(),
            "a.csv:3:3: error: Hardware hash not valid: not base64\n  hint: export it again"
        );
    }

    #[test]
    fn quoting_escapes_terminal_controls() {
        assert_eq!(quoted("a\u{1b}[31mb"), "`a\\u{1b}[31mb`");
        assert_eq!(quoted("VMware-56 4d"), "`VMware-56 4d`");
    }
}
