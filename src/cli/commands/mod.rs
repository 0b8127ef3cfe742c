//! One file per `apctl` command: its arguments and what it does with them.

pub mod cleanup;
pub mod corporate;
pub mod doctor;
pub mod import;
pub mod login;
pub mod reconcile;
pub mod reconcile_corporate;
pub mod report;
pub mod setup;
pub mod simulate;
pub mod status;
pub mod tenants;
pub mod validate;
