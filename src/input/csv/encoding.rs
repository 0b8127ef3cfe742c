//! Text encodings of real Autopilot CSVs (SPEC §6): UTF-16 LE/BE with BOM
//! (Windows PowerShell 5.1's default, and every real file found), UTF-8
//! with or without BOM, and ANSI / Windows-1252 (Excel, Notepad). UTF-16 is
//! transcoded to UTF-8 while streaming; files without a BOM are read as raw
//! bytes and each field is decoded as UTF-8, falling back to Windows-1252
//! when its bytes are not valid UTF-8.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;
use serde::Serialize;

/// The encoding a file was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TextEncoding {
    /// UTF-16 little-endian (with BOM, or sniffed from the zero bytes).
    #[serde(rename = "utf-16le")]
    Utf16Le,
    /// UTF-16 big-endian (with BOM, or sniffed).
    #[serde(rename = "utf-16be")]
    Utf16Be,
    /// UTF-8 with a byte-order mark.
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    /// UTF-8 without BOM (plain ASCII is reported as this).
    #[serde(rename = "utf-8")]
    Utf8,
    /// ANSI / Windows-1252: some bytes were not valid UTF-8.
    #[serde(rename = "windows-1252")]
    Windows1252,
}

impl TextEncoding {
    /// A person's name for the encoding.
    pub fn title(self) -> &'static str {
        match self {
            Self::Utf16Le => "UTF-16 LE",
            Self::Utf16Be => "UTF-16 BE",
            Self::Utf8Bom => "UTF-8 with BOM",
            Self::Utf8 => "UTF-8 (no BOM)",
            Self::Windows1252 => "Windows-1252 (ANSI)",
        }
    }

    /// Whether the portal's "ANSI only" rule holds for the file as a whole.
    /// UTF-8 without BOM counts while its text is plain ASCII; the reader
    /// checks that per line.
    pub fn is_ansi(self) -> bool {
        matches!(self, Self::Utf8 | Self::Windows1252)
    }
}

/// Size of the read buffer: large enough that a 4,000-character hash row
/// never straddles more than one refill.
const BUFFER: usize = 256 * 1024;

/// Opens a file and returns a byte stream of UTF-8 (or, without BOM, raw
/// bytes to be decoded per field) plus the encoding found at its start.
pub fn open(file: File) -> io::Result<(Box<dyn Read + Send>, TextEncoding)> {
    let mut raw = BufReader::with_capacity(BUFFER, file);
    let head = raw.fill_buf()?;
    let encoding = sniff(head);
    let stream: Box<dyn Read + Send> = match encoding {
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            let enc = if encoding == TextEncoding::Utf16Le {
                UTF_16LE
            } else {
                UTF_16BE
            };
            let decoder = DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .bom_override(true)
                .strip_bom(true)
                .build(raw);
            Box::new(BufReader::with_capacity(BUFFER, decoder))
        }
        TextEncoding::Utf8Bom => {
            raw.consume(3);
            Box::new(raw)
        }
        _ => Box::new(raw),
    };
    Ok((stream, encoding))
}

/// Tells the encoding from the first bytes: a BOM, or for UTF-16 without
/// BOM, zero bytes in every other position of an ASCII header.
pub fn sniff(head: &[u8]) -> TextEncoding {
    match head {
        [0xFF, 0xFE, ..] => TextEncoding::Utf16Le,
        [0xFE, 0xFF, ..] => TextEncoding::Utf16Be,
        [0xEF, 0xBB, 0xBF, ..] => TextEncoding::Utf8Bom,
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => TextEncoding::Utf16Le,
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => TextEncoding::Utf16Be,
        _ => TextEncoding::Utf8,
    }
}

/// How a field's bytes turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldText {
    /// Plain ASCII.
    Ascii,
    /// Valid UTF-8 with non-ASCII characters.
    Utf8,
    /// Not valid UTF-8: decoded as Windows-1252.
    Windows1252,
}

/// Decodes one field: UTF-8 when valid, else Windows-1252.
pub fn decode_field(bytes: &[u8]) -> (Cow<'_, str>, FieldText) {
    if bytes.is_ascii() {
        // SAFETY-free fast path: ASCII is valid UTF-8.
        return (
            Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default()),
            FieldText::Ascii,
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), FieldText::Utf8),
        Err(_) => {
            let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
            (text, FieldText::Windows1252)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_boms_and_bare_utf16() {
        assert_eq!(sniff(b"\xFF\xFED\0e\0"), TextEncoding::Utf16Le);
        assert_eq!(sniff(b"\xFE\xFF\0D\0e"), TextEncoding::Utf16Be);
        assert_eq!(sniff(b"\xEF\xBB\xBFDevice"), TextEncoding::Utf8Bom);
        assert_eq!(sniff(b"D\0e\0v\0"), TextEncoding::Utf16Le);
        assert_eq!(sniff(b"\0D\0e\0v"), TextEncoding::Utf16Be);
        assert_eq!(sniff(b"Device"), TextEncoding::Utf8);
        assert_eq!(sniff(b""), TextEncoding::Utf8);
    }

    #[test]
    fn fields_fall_back_to_windows_1252() {
        assert_eq!(decode_field(b"abc"), (Cow::Borrowed("abc"), FieldText::Ascii));
        assert_eq!(decode_field("Müller".as_bytes()).1, FieldText::Utf8);
        let (text, kind) = decode_field(b"M\xFCller \x80");
        assert_eq!((text.as_ref(), kind), ("Müller €", FieldText::Windows1252));
    }
}
