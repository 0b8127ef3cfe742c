//! `apctl cleanup`: deleting the staged import records nobody needs any
//! more, apart from imports, so a partner can schedule it (issue #26).
//!
//! Which records go is the import's own rule
//! ([`crate::import::run::markers::leftovers`]): every staged record of a
//! serial the tenant has registered, whoever made it, and settled records
//! of apctl runs that have ended. Reads grow with what is staged: the
//! staged list, then the registered devices of its serials only. Deletes go
//! several at once through the tenant's gate (its write budget) and none
//! after the deadline; what is left is counted.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;

use crate::graph::Graph;
use crate::status::Leftover;
use crate::transport::CallError;

/// What one customer's cleanup found and did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cleaned {
    pub tenant: String,
    /// Staged records in the tenant.
    pub staged: usize,
    /// The records no longer needed (to delete, or deleted).
    pub leftovers: Vec<Leftover>,
    pub deleted: usize,
    /// Leftovers not deleted: the deadline came first, or a delete failed.
    pub left: usize,
}

/// Finds a tenant's leftovers and, unless `dry_run`, deletes them until
/// `deadline` (a reading of the client's clock).
pub async fn clean(graph: &Graph<'_>, deadline: Duration, dry_run: bool) -> Result<Cleaned, CallError> {
    let staged = graph.list_imported().await?;
    let serials: Vec<String> = staged
        .iter()
        .filter_map(|r| r.serial_number.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let registered = graph.registered_of(&serials).await?;
    let held: HashSet<&str> = registered
        .iter()
        .filter_map(|d| d.serial_number.as_deref())
        .collect();
    let now = graph.client.clock().wall();
    let leftovers: Vec<Leftover> = crate::import::run::markers::leftovers(&staged, &held, now.as_second())
        .into_iter()
        .map(|r| Leftover::of(graph.tenant, r))
        .collect();
    let deleted = if dry_run {
        0
    } else {
        let ids = leftovers.iter().map(|l| l.id.clone());
        graph.delete_imported_until(ids, WIDTH, deadline).await.len()
    };
    Ok(Cleaned {
        tenant: graph.tenant.to_owned(),
        staged: staged.len(),
        left: if dry_run { 0 } else { leftovers.len() - deleted },
        leftovers,
        deleted,
    })
}

/// Deletes at once by `apctl cleanup`, per tenant.
const WIDTH: usize = 4;
