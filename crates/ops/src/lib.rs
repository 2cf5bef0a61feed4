//! Operations on a store and its catalog that need no running server.

pub mod gc;
