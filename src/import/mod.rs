//! `apctl import`: the run over customers ([`run`]), one lock per customer
//! ([`run_lock`]), and the two pipes a row can take: [`graph_pipe`] for
//! hardware hashes and [`partner_center_pipe`] for Partner Center batches.

mod assemble;
mod checkpoints;
pub mod graph_pipe;
pub mod ledger;
pub mod markers;
pub mod partner_center_pipe;
pub mod plan;
pub mod profiles;
pub mod progress;
pub mod run;
pub mod run_lock;
pub mod settings;
pub mod tags;

pub use progress::{Cancel, Event, Progress, Silent, TenantOutcome};
pub use settings::{CustomerSettings, ImportSettings, RunSettings};
pub(crate) mod engine;
pub mod waiter;
