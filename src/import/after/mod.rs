//! What follows the pipes for a registered device: its group tag and
//! user set and read back ([`tags`]), one Autopilot sync per customer and
//! its deployment profile awaited ([`profiles`]).

pub mod profiles;
pub mod tags;
