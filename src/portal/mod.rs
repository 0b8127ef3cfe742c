//! The portal's vocabulary: the five registration states and five device
//! messages in Microsoft's words, and the one table that maps service
//! answers to them.

pub mod mapping;
pub mod state;
