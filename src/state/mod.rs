//! Files apctl keeps on a machine (locks and who holds them, the ledger of
//! what was sent, the Autopilot sync record), made so that nobody else can
//! use them: every folder is the user's own and writable by nobody else
//! (refused otherwise, with the fix, as ssh refuses a loose `~/.ssh`), every
//! file is opened without following a link (a link planted at a state
//! file's name is refused, never written through), and every file written
//! whole goes through a temporary file of a name nobody can guess
//! (`create_new`), then a rename.
//!
//! The checks are Unix ones (owner and mode bits); on Windows the folder
//! lives under the user's own `%LOCALAPPDATA%`, whose ACL already keeps
//! other users out, and links are refused the same way.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A state folder or file apctl will not use, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{why}")]
pub struct Unsafe {
    pub path: PathBuf,
    pub why: String,
}

impl Unsafe {
    fn error(path: &Path, why: String) -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            Self {
                path: path.to_owned(),
                why,
            },
        )
    }
}

/// Creates the folder (only the user may enter it) or checks the one there:
/// a real folder, not a link, owned by the user running apctl and writable
/// by nobody else.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir)?;
            Ok(())
        }
        Err(e) => Err(e),
        Ok(meta) if meta.file_type().is_symlink() => Err(Unsafe::error(
            dir,
            format!(
                "the state folder `{}` is a link; apctl keeps its state only in a folder of its own (remove the link, or give `--state-dir` a real folder)",
                dir.display()
            ),
        )),
        Ok(meta) if !meta.is_dir() => Err(Unsafe::error(
            dir,
            format!("the state folder `{}` is not a folder", dir.display()),
        )),
        Ok(meta) => check_owner(dir, &meta),
    }
}

#[cfg(unix)]
fn check_owner(dir: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(Unsafe::error(
            dir,
            format!(
                "the state folder `{}` belongs to user id {}, not to you ({me}): whoever owns it could plant locks or read what was sent; give `--state-dir` a folder of your own, or `chown` this one",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Unsafe::error(
            dir,
            format!(
                "the state folder `{}` is writable by other users (mode {:o}): they could plant locks or links there; run `chmod go-w {}`",
                dir.display(),
                meta.mode() & 0o777,
                dir.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner(_dir: &Path, _meta: &std::fs::Metadata) -> io::Result<()> {
    Ok(())
}

/// Options that never follow a link at the last component, and create
/// files only the user can read.
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    }
    options
}

/// Says so when `path` is a link (the open below would refuse it too; this
/// gives the reason in words).
fn refuse_link(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Unsafe::error(
            path,
            format!(
                "`{}` is a link; apctl never writes state through a link (remove it)",
                path.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// Opens (creating) a state file for reading and writing, never through a
/// link.
pub fn open_rw(path: &Path) -> io::Result<File> {
    refuse_link(path)?;
    no_follow(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
    )
    .open(path)
}

/// Reads a state file whole, never through a link; `Ok(None)` when there is
/// none.
pub fn read(path: &Path) -> io::Result<Option<Vec<u8>>> {
    refuse_link(path)?;
    match no_follow(OpenOptions::new().read(true)).open(path) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut f, &mut bytes)?;
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A temporary name beside `path` that nobody can guess.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.apctl-tmp", uuid::Uuid::new_v4().simple()))
}

/// Writes a state file whole: a new temporary file (`create_new`, never a
/// link, only the user can read it), then renamed over `path`, so a reader
/// or a killed run sees the old file or the new one, never half. A link at
/// `path` is refused.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    refuse_link(path)?;
    let temp = temp_name(path);
    let result = (|| {
        let mut f = no_follow(OpenOptions::new().write(true).create_new(true)).open(&temp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// A versioned state file as read. Every state file is JSON with a
/// `version`; every reader treats the three ways a file can fail it the
/// same way: missing is empty; corrupt or written by a newer apctl is said
/// once by the caller and the run goes on without it; a corrupt file may
/// be written anew, a newer one is never overwritten.
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded<T> {
    Missing,
    Read(T),
    /// Unreadable, not JSON, or not in the expected form: why.
    Corrupt(String),
    /// Of a newer format than this apctl knows: why.
    Newer(String),
}

/// Reads the state file at `path`, whose format this apctl knows up to
/// `version`. An unusable file's reason does not name the path: the
/// caller does.
pub fn load<T: serde::de::DeserializeOwned>(path: &Path, version: u64) -> Loaded<T> {
    let bytes = match read(path) {
        Ok(None) => return Loaded::Missing,
        Ok(Some(bytes)) => bytes,
        Err(e) => return Loaded::Corrupt(format!("it cannot be read: {e}")),
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return Loaded::Corrupt(format!("it is not JSON ({e})")),
    };
    let theirs = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if theirs > version {
        return Loaded::Newer(format!(
            "it was written by a newer apctl (format {theirs}; this one reads up to {version}) and is left as it is"
        ));
    }
    match serde_json::from_value(value) {
        Ok(t) => Loaded::Read(t),
        Err(e) => Loaded::Corrupt(format!("it is not in the expected form ({e})")),
    }
}

/// Longest wait for another process's lock on a state file: its holder
/// does one request under it; longer means it hangs, and the caller goes
/// on without the lock rather than stall.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Takes the lock of a state file (`<file>.lock` beside it, created as
/// state files are), waiting up to [`LOCK_WAIT`] for another process that
/// holds it; released when the returned file is dropped. For a
/// read-modify-write that must not lose another process's update.
pub async fn lock_beside(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        ensure_dir(dir)?;
    }
    let file = open_rw(&path.with_extension("lock"))?;
    let give_up = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
            Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() >= give_up => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("another apctl process held it for {} s", LOCK_WAIT.as_secs()),
                ));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_whole_and_read_back_and_no_temp_stays() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        ensure_dir(&state).unwrap();
        let file = state.join("sync.json");
        assert_eq!(read(&file).unwrap(), None);
        write_whole(&file, b"one").unwrap();
        write_whole(&file, b"two").unwrap();
        assert_eq!(read(&file).unwrap().unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&state).unwrap().count(), 1, "no temp file left");
        assert_ne!(temp_name(&file), temp_name(&file), "temp names are unique");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_and_their_targets_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        ensure_dir(&state).unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        let planted = state.join("x.lock");
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        for result in [
            open_rw(&planted).map(drop),
            write_whole(&planted, b"owned").map(drop),
            read(&planted).map(drop),
        ] {
            let err = result.unwrap_err();
            assert!(err.to_string().contains("is a link"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        let linked_dir = dir.path().join("linked");
        std::os::unix::fs::symlink(&state, &linked_dir).unwrap();
        assert!(
            ensure_dir(&linked_dir)
                .unwrap_err()
                .to_string()
                .contains("is a link")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_write_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        ensure_dir(&state).unwrap();
        assert_eq!(
            std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_dir(&state).unwrap_err().to_string();
        assert!(
            err.contains("writable by other users") && err.contains("chmod go-w"),
            "{err}"
        );
    }
}
