//! apctl registers Windows Autopilot devices into the tenants of a CSP
//! partner's customers and reports every device in the states and messages
//! of Microsoft's own portal.
//!
//! # Layout
//!
//! - [`state`]: the five registration states and five device messages,
//!   whose `Display` is Microsoft's exact wording.
//! - [`outcome`]: the one mapping table from service answers (import
//!   status, Autopilot error codes, Partner Center statuses, enrollment
//!   state and last contact) to state and message.
//! - [`device`]: a device, its identity and the pipe it takes; hardware
//!   hashes that never print whole.
//! - [`csv_input`]: reading device CSVs in every dialect and encoding met
//!   in the wild, streamed row by row.
//! - [`validate`]: offline validation across files, with duplicates found
//!   from digests.
//! - [`problem`]: input problems with file, line, column and a hint.
//! - [`sanitize`]: the one sanitiser every text from outside passes
//!   before any output (secrets, tokens, hashes, escapes, pipeline commands).
//! - [`secret`], [`endpoint`], [`clock`]: secrets that never print,
//!   endpoints that refuse plain http off loopback, and the clock every wait
//!   goes through (scalable to zero for tests and demos).
//! - [`auth`]: token sources per credential mode (client secret through
//!   azure_identity, certificate, refresh token, federated token, Azure
//!   DevOps, Azure CLI, device-code login), the per-tenant token cache, and
//!   AADSTS errors decoded into fixes.
//! - [`gdap`]: the partner's GDAP relationships, and customers named by
//!   display name.
//! - [`retry`], [`throttle`], [`http`]: the pure retry classifier, the
//!   per-tenant gate (concurrency, Intune budgets, Retry-After windows),
//!   and the one loop that sends every request.
//! - [`service_error`]: Graph and Partner Center error bodies, with
//!   Intune's nested messages unwrapped and the request id kept.
//! - [`graph`]: typed calls for exactly the Graph endpoints used.
//! - [`partner_center`]: typed calls for Partner Center device batches.
//! - [`import`]: the Graph import pipe for one tenant, end to end.
//! - [`pc_import`]: the Partner Center pipe for one customer, end to end,
//!   with group tags set through Graph afterwards.
//! - [`run`], [`report`]: one `apctl import` run over one or many
//!   customers and its report, one entry per input row.
//! - [`run_lock`]: one run per customer at a time on this machine.
//! - [`status`]: a tenant's devices in the portal's states.
//! - [`reconcile`]: files against tenants, the plan and its fixes.
//! - [`simulator`]: the offline simulator (wiremock), shipped in the binary.
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
pub mod clock;
pub mod graph;
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
pub mod status;
pub mod transport;
