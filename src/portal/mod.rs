//! The portal's vocabulary: the five registration states and five device
//! messages in Microsoft's words, the one table that maps service answers
//! to them, and what a row's details say ([`details`]).

pub mod details;
pub mod mapping;
pub mod state;
