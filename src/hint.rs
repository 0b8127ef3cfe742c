//! The user's next step, as data: every library error that knows what
//! fixes it says so through [`Hint`], apart from its message, and [`of`]
//! finds it on any error of an error chain. The command line's renderer
//! walks the whole chain and shows the most specific fix (the one nearest
//! the root cause), so a wrong secret says so however the customer was
//! named.

use crate::auth::AuthError;
use crate::graph::gdap::ResolveError;
use crate::import::run::lock::LockError;
use crate::transport::CallError;

/// An error that can say what fixes it.
pub trait Hint {
    /// The next step, when the error knows one.
    fn hint(&self) -> Option<&str>;
}

impl Hint for AuthError {
    fn hint(&self) -> Option<&str> {
        Some(self.hint.as_str()).filter(|h| !h.is_empty())
    }
}

impl Hint for CallError {
    fn hint(&self) -> Option<&str> {
        match self {
            // Transparent: the credential's own fix.
            Self::Auth(e) => e.hint(),
            Self::ForeignLink { .. } => Some(
                "check `--graph-url` / `--partner-center-url`: apctl talks only to the service it was pointed at",
            ),
            Self::MayHaveBeenSent { .. } => {
                Some("run apctl again: it looks at what was staged before sending anything twice")
            }
            _ => None,
        }
    }
}

impl Hint for ResolveError {
    fn hint(&self) -> Option<&str> {
        Some(match self {
            Self::NotFound { .. } => {
                "`apctl tenants` lists every customer with its tenant id; give the id or a domain"
            }
            Self::Ambiguous { .. } => "give the customer's tenant id or domain instead of its name",
        })
    }
}

impl Hint for LockError {
    fn hint(&self) -> Option<&str> {
        match self {
            Self::Busy(_) => Some("run again when the other run is done, or add `--wait-for-other-runs`"),
            Self::Io { .. } => Some("check the state folder (`--state-dir`, `APCTL_STATE_DIR`)"),
        }
    }
}

/// The hint of one error, when it is one of the library's errors that
/// carries one.
pub fn of<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a str> {
    if let Some(x) = e.downcast_ref::<AuthError>() {
        return x.hint();
    }
    if let Some(x) = e.downcast_ref::<CallError>() {
        return x.hint();
    }
    if let Some(x) = e.downcast_ref::<ResolveError>() {
        return x.hint();
    }
    if let Some(x) = e.downcast_ref::<LockError>() {
        return x.hint();
    }
    None
}

/// The most specific hint along an error's chain of causes: the one
/// nearest the root cause.
pub fn deepest<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a str> {
    let mut found = None;
    let mut current = Some(e);
    while let Some(err) = current {
        found = of(err).or(found);
        current = err.source();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot look up `Contoso Ltd` among GDAP relationships")]
    struct Outer(#[source] CallError);

    #[test]
    fn the_root_causes_fix_wins_whatever_wraps_it() {
        let auth = AuthError {
            tenant: "t".into(),
            aadsts: Some(7000215),
            error: "invalid_client".into(),
            summary: "the client secret is wrong".into(),
            hint: "use the secret's value, not its ID (`AZURE_CLIENT_SECRET`)".into(),
            trace_id: None,
        };
        let outer = Outer(CallError::from(auth));
        assert_eq!(
            deepest(&outer),
            Some("use the secret's value, not its ID (`AZURE_CLIENT_SECRET`)")
        );
        let gave_up = CallError::GaveUp {
            kind: "graph.list",
            attempts: 3,
            last: "HTTP 500".into(),
            request_id: None,
        };
        assert_eq!(deepest(&gave_up), None);
    }
}
