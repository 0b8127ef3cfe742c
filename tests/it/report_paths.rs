//! Report paths are files (issue #26 point 6): each output path is checked
//! before anything is sent. A folder, a device, a FIFO, a link (dangling or
//! not: never written through, never replaced) or a path apctl cannot write
//! is refused with the fix (exit 2, nothing sent).

#![cfg(unix)]

use std::path::Path;

use crate::common::{apctl_env, example};

fn import_with(flag: &str, path: &Path) -> crate::common::Run {
    apctl_env(
        [
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            flag,
            path.to_str().unwrap(),
        ],
        &[],
    )
}

/// Refused before the run: exit 2, the path named with the fix, and no
/// device sent (nothing of the run's summary printed).
fn refused(flag: &str, path: &Path, words: &str) {
    let run = import_with(flag, path);
    assert_eq!(
        run.code,
        2,
        "{flag} {}: {}{}",
        path.display(),
        run.stdout,
        run.stderr
    );
    assert!(run.stderr.contains(words), "{flag}: `{words}` in {}", run.stderr);
    assert!(
        !run.stdout.contains("rows, 1 customer"),
        "nothing ran: {}",
        run.stdout
    );
}

#[test]
fn folders_devices_fifos_and_dangling_links_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    refused("--report", dir.path(), "is a folder");
    refused("--junit", Path::new("/dev/null"), "not a regular file");
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a path in our own temporary folder.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    refused("--report-csv", &fifo, "not a regular file");
    let dangling = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("nowhere/x.json"), &dangling).unwrap();
    refused("--report", &dangling, "never through a link");
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is left as it was"
    );
}

#[test]
fn an_unwritable_folder_is_refused_with_the_fix() {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // root writes anywhere: nothing to refuse.
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    refused(
        "--report",
        &locked.join("r.json"),
        "choose a folder you can write to",
    );
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_link_to_a_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    refused("--report", &link, "give the path of the file itself");
    assert!(
        std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
        "the link stays a link"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "old",
        "nothing written through it"
    );
}
