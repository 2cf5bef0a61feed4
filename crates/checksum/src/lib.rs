//! Checksum databases at run time: relay, verification, and (later) our own
//! transparent log.

mod log;
mod own;
mod relay;
mod tiles;
mod verify;

pub use own::OwnSumdb;
pub use relay::{Relay, RelayAnswer, RelayTarget};
pub use verify::{HashKind, SumdbVerifier, VerifyError};

/// The tile height the go command uses.
pub const TILE_HEIGHT: i64 = 8;

/// Store keys of checksum-database state. `sumdb/…` keys are also a valid
/// GOPROXY tree layout (a module path's first element contains a dot, so
/// `sumdb` can never be a module); `.modvault/…` keys are private state.
pub mod keys {
    /// A relayed file, exactly as the database served it.
    pub fn relayed(name: &str, rest: &str) -> String {
        format!("sumdb/{name}/{rest}")
    }
    /// A tile the verifier has authenticated.
    pub fn verified_tile(name: &str, tile_path: &str) -> String {
        format!(".modvault/sumdb-verified/{name}/{tile_path}")
    }
    /// The latest signed tree note the verifier has accepted.
    pub fn verified_latest(name: &str) -> String {
        format!(".modvault/sumdb-verified/{name}/latest")
    }
    /// A lookup answer the verifier has authenticated.
    pub fn verified_lookup(name: &str, escaped_module_at_version: &str) -> String {
        format!(".modvault/sumdb-verified/{name}/lookup/{escaped_module_at_version}")
    }
}
