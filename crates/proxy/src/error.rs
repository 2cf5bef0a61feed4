//! What can go wrong while answering a protocol request or a publish.

use std::sync::Arc;

use modvault_checksum::{SumdbError, VerifyError};
use modvault_error::{ErrorKind, HasKind};
use modvault_state::StateError;
use modvault_store::StoreError;
use modvault_upstream::FetchError;

/// An error of the caching proxy. Cloneable, because one fetch's result is
/// handed to every request waiting on it; causes are shared for the same
/// reason.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ProxyError {
    /// Not a module, not a valid version, or not available anywhere.
    #[error("{0}")]
    NotFound(String),
    /// A routing rule denies the module.
    #[error("{0}")]
    Denied(String),
    /// A source answered: not found, or it failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A source answered something unusable (an invalid `.info`, a zip
    /// that breaks the module zip rules): treated like a failed source.
    #[error("{0}")]
    BadUpstream(String),
    /// Data does not match the checksum database, or the database could
    /// not be asked (verification fails closed).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// Something stored is not what it should be.
    #[error("{0}")]
    Corrupt(String),
    #[error(transparent)]
    State(Arc<StateError>),
    #[error(transparent)]
    OwnLog(Arc<SumdbError>),
    /// Local files on the way into the store (spool files).
    #[error("{context}: {source}")]
    Spool {
        context: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// No fetch slot came free in time: retryable, like a failed source.
    #[error("{0}")]
    Busy(String),
    /// Every request waiting on a fetch went away; it was stopped.
    #[error("the fetch was stopped: nobody waits for it any more")]
    Abandoned,
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
}

impl ProxyError {
    pub(crate) fn spool(context: impl Into<String>, source: std::io::Error) -> ProxyError {
        ProxyError::Spool {
            context: context.into(),
            source: Arc::new(source),
        }
    }
}

impl HasKind for ProxyError {
    fn kind(&self) -> ErrorKind {
        match self {
            ProxyError::NotFound(_) => ErrorKind::NotFound,
            ProxyError::Denied(_) => ErrorKind::Forbidden,
            ProxyError::Fetch(e) => e.kind(),
            ProxyError::BadUpstream(_) | ProxyError::Busy(_) | ProxyError::Abandoned => {
                ErrorKind::Unavailable
            }
            ProxyError::Verify(e) => e.kind(),
            ProxyError::Store(e) => e.kind(),
            ProxyError::State(e) => e.kind(),
            ProxyError::OwnLog(e) => e.kind(),
            ProxyError::Spool { .. } | ProxyError::Corrupt(_) => ErrorKind::Storage,
            ProxyError::RangeNotSatisfiable { .. } => ErrorKind::Invalid,
        }
    }
}

impl From<StoreError> for ProxyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::RangeNotSatisfiable { size } => ProxyError::RangeNotSatisfiable { size },
            other => ProxyError::Store(Arc::new(other)),
        }
    }
}

impl From<StateError> for ProxyError {
    fn from(e: StateError) -> Self {
        ProxyError::State(Arc::new(e))
    }
}

impl From<SumdbError> for ProxyError {
    fn from(e: SumdbError) -> Self {
        ProxyError::OwnLog(Arc::new(e))
    }
}

pub type ProxyResult<T> = Result<T, ProxyError>;
