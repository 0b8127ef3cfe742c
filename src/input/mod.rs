//! What comes in: device CSVs read in every dialect and encoding, the
//! devices they name, the problems found in them, and offline validation.

pub mod csv;
pub mod device;
pub mod problem;
pub mod spill;
pub mod tenant;
pub mod validate;
