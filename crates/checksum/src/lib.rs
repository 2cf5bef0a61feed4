//! Checksum databases at run time: the relay of upstream databases,
//! verification of fetched modules against them, and modvault's own
//! database (signing and serving; its records live in
//! `modvault_state::ChecksumLog`).

mod own;
mod relay;
mod tiles;
mod verify;

use std::time::Duration;

use bytes::Bytes;

use modvault_error::{ErrorKind, HasKind};

pub use own::OwnSumdb;
pub use relay::{Relay, RelayTarget};
pub use verify::{HashKind, SumdbVerifier, VerifyError};

/// The tile height the go command uses.
pub const TILE_HEIGHT: i64 = 8;

pub(crate) const TEXT: &str = "text/plain; charset=utf-8";

/// A file of a checksum database, ours or relayed, ready to send.
#[derive(Debug, PartialEq, Eq)]
pub struct SumdbFile {
    pub content_type: &'static str,
    /// How long clients may cache it; `None`: not at all.
    pub max_age: Option<Duration>,
    pub body: Bytes,
}

/// Why a checksum-database file cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SumdbError {
    #[error("{0}")]
    NotFound(String),
    /// Bad lookup or tile syntax.
    #[error("{0}")]
    Invalid(String),
    /// An upstream database could not be asked or gave no usable answer.
    #[error("checksum database {name} unavailable: {reason}")]
    Unavailable { name: String, reason: String },
    #[error(transparent)]
    State(#[from] modvault_state::StateError),
    /// Our own key or log cannot produce an answer.
    #[error("{0}")]
    Config(String),
}

impl HasKind for SumdbError {
    fn kind(&self) -> ErrorKind {
        match self {
            SumdbError::NotFound(_) => ErrorKind::NotFound,
            SumdbError::Invalid(_) => ErrorKind::Invalid,
            SumdbError::Unavailable { .. } => ErrorKind::Unavailable,
            SumdbError::State(e) => e.kind(),
            SumdbError::Config(_) => ErrorKind::Storage,
        }
    }
}
