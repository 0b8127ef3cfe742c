//! The state folder is the user's alone: a link planted at any of its
//! files' names is refused and never written through, and a folder that
//! belongs to someone else or that others can write is refused, with the
//! fix, before anything is sent.
#![cfg(unix)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use crate::common::{SimProcess, apctl_sim, example, requests};

const CONTOSO_ID: &str = "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01";

/// The name apctl keeps Contoso's state under, behind this simulator.
fn key(sim: &SimProcess) -> String {
    let port = sim.uri.rsplit(':').next().unwrap();
    format!("{CONTOSO_ID}_127.0.0.1-{port}")
}

fn private_dir(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
}

fn import(sim: &SimProcess, state: &Path) -> crate::common::Run {
    apctl_sim(
        sim,
        &[
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "-q",
        ],
        &[("APCTL_STATE_DIR", state.to_str().unwrap())],
    )
}

#[test]
fn planted_links_are_refused_and_never_written_through() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let key = key(&sim);
    // Each case plants links at some of the state files' names.
    let cases: [(&str, Vec<String>); 3] = [
        ("the lock", vec![format!("locks/{key}.lock")]),
        ("the lock's owner file", vec![format!("locks/{key}.owner")]),
        (
            "the ledger and the sync record",
            vec![format!("sent/{key}.json"), "sync.json".into()],
        ),
    ];
    for (case, names) in cases {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        private_dir(&state.join("locks"));
        private_dir(&state.join("sent"));
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        for name in &names {
            symlink(&victim, state.join(name)).unwrap();
        }
        let run = import(&sim, &state);
        assert_eq!(run.code, 0, "{case}: the run itself goes on\n{}", run.stderr);
        assert!(
            run.stderr.contains("is a link"),
            "{case}: says why: {}",
            run.stderr
        );
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "keep",
            "{case}: not written through"
        );
        for name in &names {
            assert!(
                std::fs::symlink_metadata(state.join(name))
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "{case}: the link is left as it was, not replaced"
            );
        }
    }
}

#[test]
fn a_state_folder_others_can_use_is_refused_before_anything_is_sent() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();

    let loose = dir.path().join("loose");
    std::fs::create_dir(&loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = import(&sim, &loose);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("writable by other users") && run.stderr.contains("chmod go-w"),
        "{}",
        run.stderr
    );

    // Someone else's folder: as root, one handed to `nobody`; otherwise
    // the root folder, which is root's.
    // SAFETY: geteuid has no preconditions.
    let foreign = if unsafe { libc::geteuid() } == 0 {
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        let c = std::ffi::CString::new(theirs.to_str().unwrap()).unwrap();
        // SAFETY: a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
        theirs
    } else {
        std::path::PathBuf::from("/")
    };
    let run = import(&sim, &foreign);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("belongs to user id"), "{}", run.stderr);

    let linked = dir.path().join("linked");
    let real = dir.path().join("real");
    private_dir(&real);
    symlink(&real, &linked).unwrap();
    let run = import(&sim, &linked);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is a link"), "{}", run.stderr);

    assert_eq!(requests(&sim.stats(), "graph.import"), 0, "nothing was sent");
}
