//! Hardware hashes kept on disk while a large import runs (issue #26 point
//! 5): 4,000 characters a device is most of what a run of 50,000 devices
//! would hold in memory. The import plan moves each hash into one
//! anonymous temporary file (unlinked at once, so nothing is left behind
//! however the process ends; readable only by this process) and reads it
//! back when the device is sent.

use std::io::Write as _;
use std::sync::Mutex;

/// An append-only store of hash texts.
#[derive(Debug)]
pub struct HashStore {
    file: Mutex<(std::fs::File, u64)>,
}

impl HashStore {
    /// A new store in the system's temporary folder.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            file: Mutex::new((tempfile::tempfile()?, 0)),
        })
    }

    /// Appends a text; returns where it is.
    pub fn put(&self, text: &str) -> std::io::Result<(u64, u32)> {
        let len = u32::try_from(text.len()).map_err(std::io::Error::other)?;
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (file, end) = &mut *guard;
        let at = *end;
        file.write_all(text.as_bytes())?;
        *end += u64::from(len);
        Ok((at, len))
    }

    /// Reads a text back.
    pub fn get(&self, offset: u64, len: u32) -> std::io::Result<String> {
        let mut buf = vec![0u8; len as usize];
        let guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        read_at(&guard.0, &mut buf, offset)?;
        String::from_utf8(buf).map_err(std::io::Error::other)
    }
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], offset + done as u64)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        done += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_back_as_they_went_in() {
        let store = HashStore::new().unwrap();
        let a = store.put("first").unwrap();
        let b = store.put("second text").unwrap();
        assert_eq!(store.get(b.0, b.1).unwrap(), "second text");
        assert_eq!(store.get(a.0, a.1).unwrap(), "first");
    }
}
