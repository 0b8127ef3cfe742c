//! What a run tells as it goes: progress events for the command line
//! ([`progress`]) and the report written at checkpoints, so a run that is
//! killed leaves what was known ([`checkpoints`]).

pub(crate) mod checkpoints;
pub mod progress;
