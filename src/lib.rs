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
//!
//! The library never prints: it returns values and the `apctl` binary
//! renders them.

pub mod auth;
pub mod clock;
pub mod csv_input;
pub mod device;
pub mod endpoint;
pub mod graph;
pub mod http;
pub mod import;
pub mod outcome;
pub mod problem;
pub mod report;
pub mod retry;
pub mod run;
pub mod secret;
pub mod service_error;
pub mod simulator;
pub mod state;
pub mod throttle;
pub mod validate;
