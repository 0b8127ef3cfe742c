//! The two pipes a row can take, on one engine: [`engine`] (one phase
//! list, one row type, the shared steps), [`waiter`] (the one way every
//! pipe waits), [`graph`] (Graph's import of hardware hashes) and
//! [`partner_center`] (Partner Center's device batches).

pub mod corporate;
pub(crate) mod engine;
pub mod graph;
pub mod partner_center;
pub mod waiter;
