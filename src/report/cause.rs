//! Why rows were not sent: one [`Cause`] per reason, shared by the rows it
//! stopped and numbered once per report.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Entry, TenantError};

/// A reason rows were not sent, shared by the rows it stopped.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// `C1`, `C2`, … in the order first met; entries name it.
    pub id: String,
    /// The customer it concerns, if one.
    pub tenant: Option<String>,
    /// The file it concerns, if one.
    pub file: Option<String>,
    pub error: String,
    pub hint: Option<String>,
    /// How many rows it stopped.
    pub rows: u64,
}

impl Cause {
    /// A reason about a customer (its credentials, its preflight, an
    /// outage while talking to it), before the report numbers it.
    pub fn tenant(error: &TenantError) -> Arc<Self> {
        Arc::new(Self {
            id: String::new(),
            tenant: (!error.tenant.is_empty()).then(|| error.tenant.clone()),
            file: None,
            error: error.error.clone(),
            hint: error.hint.clone(),
            rows: 0,
        })
    }

    /// A reason of the run itself (interrupted, no customer named).
    pub fn run(file: Option<&str>, error: &str, hint: Option<&str>) -> Arc<Self> {
        Arc::new(Self {
            id: String::new(),
            tenant: None,
            file: file.map(str::to_owned),
            error: error.to_owned(),
            hint: hint.map(str::to_owned),
            rows: 0,
        })
    }
}

/// Gives each shared cause of the entries an id (`C1`, `C2`, … in the
/// order first met), counts its rows, and points each row at it.
pub fn number_causes(entries: &mut [Entry]) -> Vec<Cause> {
    let mut causes: Vec<Cause> = Vec::new();
    let mut index: std::collections::HashMap<Arc<Cause>, usize> = std::collections::HashMap::new();
    for e in entries.iter_mut() {
        let Some(why) = &e.why else { continue };
        let i = *index.entry(why.clone()).or_insert_with(|| {
            let mut c = (**why).clone();
            c.id = format!("C{}", causes.len() + 1);
            causes.push(c);
            causes.len() - 1
        });
        causes[i].rows += 1;
        e.say(crate::portal::details::Detail::SeeCause {
            id: causes[i].id.clone(),
        });
        e.cause = Some(causes[i].id.clone());
    }
    causes
}
