//! Everything between a typed call and the wire: the client and its one send
//! loop, endpoints and scopes, the pure retry classifier, the per-tenant
//! gates, and the services' error bodies.

mod attempt;
mod client;
pub mod flight;
pub mod retry;
pub mod service_error;
pub mod throttle;

pub use client::*;
