//! Operations on a store and its catalog without a running server, each in
//! its own module:
//!
//! | module | command |
//! |---|---|
//! | [`mirror`] | `modvault mirror`: fetch what the go command needs to build some modules |
//! | [`bundle`] | `modvault export` / `modvault import`: air-gap bundles |
//! | [`gc`] | `modvault gc` and the server's background eviction |
//! | [`verify`] | `modvault verify`: re-hash stored versions against their records, repair or quarantine |
//!
//! Mirror and bundles work through the same `ModuleProxy` the server uses, so
//! a store filled here is byte-identical to one filled by serving clients.

pub mod bundle;
pub mod gc;
pub mod mirror;
pub mod verify;
