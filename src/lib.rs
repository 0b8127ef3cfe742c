//! apctl registers Windows Autopilot devices into the tenants of a CSP
//! partner's customers and reports every device in the states and messages
//! of Microsoft's own portal.
//!
//! # Layout
//!
//! The flow is CSV → rows → route → pipes over one transport → report:
//!
//! - [`input`]: CSV files in every dialect and encoding ([`input::csv`],
//!   bounded lines, one table of value checks), devices and the pipe they
//!   take, problems with file, line and column, how a customer is named
//!   ([`input::tenant`]), and offline validation.
//! - [`portal`]: the five states and five messages in Microsoft's words
//!   ([`portal::state`]) and the one table mapping service answers to them
//!   ([`portal::mapping`]).
//! - [`net`]: endpoints and scopes per cloud, answers read up to a cap,
//!   network errors without URLs; below both [`auth`] and [`transport`].
//! - [`auth`]: token sources per credential mode, the per-tenant token
//!   cache, AADSTS errors decoded into fixes.
//! - [`transport`]: the client and its one send loop, the pure retry
//!   classifier, per-tenant gates, and the services' error bodies.
//! - [`graph`] (with GDAP in [`graph::gdap`]) and [`partner_center`]:
//!   typed calls for exactly the endpoints apctl uses.
//! - [`import`]: the run over customers ([`import::plan`], [`import::run`],
//!   `checkpoints`: reports while it runs, `assemble`),
//!   one lock per customer ([`import::run::lock`]), what both pipes share
//!   ([`import::settings`], [`import::report::progress`], [`import::pipes::waiter`], row
//!   tracking, the `importId` [`import::run::markers`]) and the two pipes:
//!   [`import::pipes::graph`] and [`import::pipes::partner_center`].
//! - [`report`]: one entry per input row, written as JSON, CSV and JUnit,
//!   and merged across shards.
//! - [`status`] and [`reconcile`]: a tenant's devices in the portal's
//!   states; files against tenants, and the fixes (`reconcile::apply`).
//! - [`sanitize`], [`secret`], [`clock`]: the one sanitiser every text from
//!   outside passes before output, secrets that never print, and the clock
//!   every wait goes through (scaled to zero, or virtual, in tests).
//! - [`simulator`]: the offline simulator (wiremock), shipped in the binary,
//!   its world split by service.
//!
//! The library never prints: it returns values and the `apctl` binary
//! renders them.

/// Declares an error whose whole content is one sentence for a person
/// (what is wrong with a file, a value or an answer), typed so that each
/// kind stays apart and converts from the text that builds it.
macro_rules! sentence_error {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
        #[error("{0}")]
        pub struct $name(pub String);

        impl From<$name> for String {
            fn from(e: $name) -> String {
                e.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

pub mod auth;
pub mod cleanup;
pub mod clock;
pub mod graph;
pub mod hint;
pub mod import;
pub mod input;
pub mod net;
pub mod partner_center;
pub mod portal;
pub mod reconcile;
pub mod report;
pub mod sanitize;
pub mod secret;
pub mod simulator;
pub mod state;
pub mod status;
pub mod transport;
