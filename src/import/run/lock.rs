//! One run per customer at a time on this machine: an exclusive lock on a
//! file per tenant in apctl's state folder, held while the run works on
//! that customer. The operating system releases it when the process ends,
//! however it ends (a killed run never leaves a stale lock), so the file's
//! existence means nothing; only the lock does. Beside it, `<key>.owner`
//! holds the owner's process id, run id and start time, to say who holds
//! it: a file of its own, because Windows' locks are mandatory and nobody
//! else can read a locked file there.
//!
//! Runs on other machines cannot see this lock; the import pipe's check of
//! the tenant's staged records covers them (see [`crate::import::pipes::graph`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a run waiting for another one checks whether to stop.
pub const CHECK_STOP_EVERY: Duration = Duration::from_millis(250);

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct TenantLock {
    _file: File,
    path: PathBuf,
}

impl TenantLock {
    /// The lock file: what else is kept per customer is named after it.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Another run holds the customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    /// What the owner wrote: `pid …, run …, since …`.
    pub owner: String,
}

/// Why a lock could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another apctl process on this machine works on the customer.
    #[error("another apctl run on this machine is working on this customer ({})", .0.owner)]
    Busy(Busy),
    /// The state folder or lock file could not be used.
    #[error("cannot use the lock file `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The key a customer's lock (and what else is kept for it) goes by: its
/// tenant id and the service's host and port, since the same customer
/// behind another service (the simulator on another port) is another one.
pub fn customer_key(tenant_id: &str, graph_root: &reqwest::Url) -> String {
    format!(
        "{tenant_id}@{}-{}",
        graph_root.host_str().unwrap_or(""),
        graph_root.port_or_known_default().unwrap_or(0)
    )
}

/// The key of a customer as it is named (a domain, a tenant id in any
/// case): its tenant id resolved first, so a run that names the customer
/// by domain and one that names it by id keep one lock, one ledger and one
/// sync record. A name that cannot be resolved is used as it is.
pub async fn resolved_key(
    http: &reqwest::Client,
    authority: &reqwest::Url,
    tenant: &str,
    graph_root: &reqwest::Url,
) -> String {
    let id = crate::graph::gdap::customer_id(http, authority, tenant)
        .await
        .unwrap_or_else(|_| tenant.to_owned());
    customer_key(&id.to_lowercase(), graph_root)
}

/// The lock file of a tenant: its key in letters, digits, `.`, `-` and
/// `_` only, so no tenant text can leave the folder.
pub fn path_for(dir: &Path, tenant: &str) -> PathBuf {
    let key: String = tenant
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    dir.join(format!("{key}.lock"))
}

/// Where the holder of the lock at `lock` says who it is.
fn owner_path(lock: &Path) -> PathBuf {
    lock.with_extension("owner")
}

/// Writes who holds the lock beside it (the lock is held).
fn claim(lock: &Path, owner: &str) -> std::io::Result<()> {
    crate::state::write_whole(&owner_path(lock), owner.as_bytes())
}

/// Who holds the lock at `lock`, as it wrote (empty if unknown).
fn holder(lock: &Path) -> String {
    let bytes = crate::state::read(&owner_path(lock))
        .ok()
        .flatten()
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    crate::input::problem::quoted(text.trim())
        .trim_matches('`')
        .to_owned()
}

/// Takes the tenant's lock at once, or says who holds it.
pub fn try_acquire(dir: &Path, tenant: &str, owner: &str) -> Result<TenantLock, LockError> {
    let path = path_for(dir, tenant);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    crate::state::ensure_dir(dir).map_err(io)?;
    let file = crate::state::open_rw(&path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {
            claim(&path, owner).map_err(io)?;
            Ok(TenantLock { _file: file, path })
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Busy(Busy { owner: holder(&path) })),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// Takes the tenant's lock, waiting for the run that holds it to finish
/// for at most `limit` of real time (the other run is another process: its
/// progress is real time, whatever this run's clock does), and no longer
/// once `stop` says to stop. The wait is the operating system's: the lock
/// is taken the moment the other process lets go of it.
pub async fn acquire_waiting(
    dir: &Path,
    tenant: &str,
    owner: &str,
    limit: Duration,
    stop: impl Fn() -> bool,
) -> Result<TenantLock, LockError> {
    let busy = match try_acquire(dir, tenant, owner) {
        Err(LockError::Busy(b)) => b,
        other => return other,
    };
    let path = path_for(dir, tenant);
    let owner = owner.to_owned();
    let mut waiting = tokio::task::spawn_blocking(move || -> std::io::Result<File> {
        let file = crate::state::open_rw(&path)?;
        file.lock()?;
        claim(&path, &owner)?;
        Ok(file)
    });
    let give_up = tokio::time::Instant::now() + limit;
    loop {
        tokio::select! {
            done = &mut waiting => {
                return match done {
                    Ok(Ok(file)) => Ok(TenantLock { _file: file, path: path_for(dir, tenant) }),
                    Ok(Err(source)) => Err(LockError::Io { path: path_for(dir, tenant), source }),
                    Err(_) => Err(LockError::Busy(busy)),
                };
            }
            () = tokio::time::sleep(CHECK_STOP_EVERY) => {
                if stop() || tokio::time::Instant::now() >= give_up {
                    // The blocked thread lets go of the file (and any lock
                    // it gets) when its result is dropped.
                    return Err(LockError::Busy(busy));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_tenant_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_acquire(dir.path(), "Contoso.onmicrosoft.com", "pid 1, run a").unwrap();
        match try_acquire(dir.path(), "contoso.onmicrosoft.com ", "pid 2, run b") {
            Err(LockError::Busy(b)) => assert_eq!(b.owner, "pid 1, run a"),
            other => panic!("{other:?}"),
        }
        assert!(try_acquire(dir.path(), "fabrikam.onmicrosoft.com", "pid 2").is_ok());
        // Who holds it is read from beside the lock, never from the locked
        // file (which nobody else may read on Windows).
        let lock = path_for(dir.path(), "contoso.onmicrosoft.com");
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), "");
        match try_acquire(dir.path(), "contoso.onmicrosoft.com", "pid 3") {
            Err(LockError::Busy(b)) => assert_eq!(b.owner, "pid 1, run a"),
            other => panic!("{other:?}"),
        }
        drop(first);
        assert!(try_acquire(dir.path(), "contoso.onmicrosoft.com", "pid 2, run b").is_ok());
    }

    #[test]
    fn tenant_text_never_leaves_the_folder() {
        let dir = Path::new("/state");
        assert_eq!(
            path_for(dir, "../../etc/passwd"),
            Path::new("/state/.._.._etc_passwd.lock")
        );
        assert_eq!(
            path_for(dir, "Fabrikam Inc"),
            Path::new("/state/fabrikam_inc.lock")
        );
    }
}
