//! `apctl import`, folder by folder in the order a run goes:
//!
//! 1. [`plan`]: the files read into each customer's rows (and [`settings`],
//!    what the run and each customer are given);
//! 2. [`run`]: the run over customers, and for each its lock, its ledger of
//!    what was sent and the markers that tell apctl's staged records;
//! 3. [`pipes`]: the engine both pipes share, and the two pipes a row can
//!    take — Graph's import for hardware hashes, Partner Center's device
//!    batches for the rest;
//! 4. [`after`]: what follows the pipes — group tags and users, the
//!    Autopilot sync and deployment profiles;
//! 5. [`report`]: what the run tells as it goes (progress, checkpoints).

pub mod after;
pub mod pipes;
pub mod plan;
pub mod report;
pub mod run;
pub mod settings;

pub use report::progress::{Cancel, Event, Progress, Silent, TenantOutcome};
pub use settings::{CustomerSettings, ImportSettings, RunSettings};
