//! Puts the commit apctl was built from into `apctl --version`: from
//! `APCTL_COMMIT` when a release build sets it, else from git when the
//! source is a checkout, else "unknown" (a source archive).

fn main() {
    println!("cargo:rerun-if-env-changed=APCTL_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = std::env::var("APCTL_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                .filter(|c| !c.is_empty())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=APCTL_COMMIT={commit}");
}
