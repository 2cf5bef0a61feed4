//! The one mapping from errors to HTTP answers.
//!
//! Library errors say what kind of failure they are
//! ([`modvault_error::ErrorKind`]); this file alone decides the status, the
//! headers and the one-line body for each kind. Which kind a library should
//! use is documented in `modvault_error`. Handlers return `HttpError`
//! (through `?` on any library error, or built here for HTTP-level
//! refusals such as a wrong method) and never pick a status themselves.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use modvault_error::{chain, ErrorKind, HasKind};
use modvault_proxy::ProxyError;

/// An error answer: a status and a one-line reason, sent as `text/plain` so
/// the go command shows it to its user.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
    content_range_size: Option<u64>,
}

impl HttpError {
    fn new(status: StatusCode, message: String) -> Self {
        HttpError {
            status,
            message,
            content_range_size: None,
        }
    }

    /// What a client sees for an error of `kind` with reason `reason`.
    pub fn of_kind(kind: ErrorKind, reason: &str) -> Self {
        let (status, message) = match kind {
            // Invalid, unavailable and not-a-module all mean "not here" for
            // a read: 404 lets a client's `,` chain fall through.
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, format!("not found: {reason}")),
            // Also 404, as proxy.golang.org does for failed origin fetches:
            // a client's `,` list may then try its next source, so builds
            // survive an upstream outage. The reason says what happened.
            ErrorKind::Unavailable => (
                StatusCode::NOT_FOUND,
                format!("not found: upstream error: {reason}"),
            ),
            ErrorKind::Invalid => (StatusCode::BAD_REQUEST, format!("bad request: {reason}")),
            ErrorKind::Conflict => (StatusCode::CONFLICT, format!("conflict: {reason}")),
            ErrorKind::Unauthenticated => {
                (StatusCode::UNAUTHORIZED, format!("unauthorized: {reason}"))
            }
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, format!("forbidden: {reason}")),
            // Terminal for the go command (not 404/410), and shown to its
            // user: the reason starts with "SECURITY ERROR".
            ErrorKind::Security => (StatusCode::FORBIDDEN, reason.to_owned()),
            // Our own store or state failed: retryable, and not a reason
            // for a client to try elsewhere silently.
            // The reason (a path, a bucket's address) is for the log,
            // where `from_error` puts it with its causes.
            ErrorKind::Storage => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable: modvault's store or state failed; try again (the server log has the cause)"
                    .to_owned(),
            ),
            ErrorKind::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("too large: {reason}"),
            ),
        };
        HttpError::new(status, message)
    }

    /// The answer for a library error. Failures of our own (storage) are
    /// logged here with their whole cause chain, once.
    pub fn from_error<E: HasKind + 'static>(error: &E) -> Self {
        let kind = error.kind();
        if kind == ErrorKind::Storage {
            tracing::error!(error = %chain(error), "storage failure");
        }
        HttpError::of_kind(kind, &error.to_string())
    }

    pub fn not_found(reason: &str) -> Self {
        HttpError::of_kind(ErrorKind::NotFound, reason)
    }

    pub fn bad_request(reason: &str) -> Self {
        HttpError::of_kind(ErrorKind::Invalid, reason)
    }

    pub fn unauthorized(reason: &str) -> Self {
        HttpError::of_kind(ErrorKind::Unauthenticated, reason)
    }

    pub fn forbidden(reason: &str) -> Self {
        HttpError::of_kind(ErrorKind::Forbidden, reason)
    }

    pub fn method_not_allowed() -> Self {
        HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET or HEAD (PUT to publish a .zip)".into(),
        )
    }

    pub fn uri_too_long(limit: usize) -> Self {
        HttpError::new(
            StatusCode::URI_TOO_LONG,
            format!("uri too long: paths are limited to {limit} bytes (max_path_bytes)"),
        )
    }

    pub fn range_not_satisfiable(size: u64) -> Self {
        HttpError {
            content_range_size: Some(size),
            ..HttpError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range not satisfiable".into(),
            )
        }
    }
}

impl From<ProxyError> for HttpError {
    fn from(e: ProxyError) -> Self {
        match e {
            ProxyError::RangeNotSatisfiable { size } => HttpError::range_not_satisfiable(size),
            other => HttpError::from_error(&other),
        }
    }
}

macro_rules! from_library_errors {
    ($($error:ty),*) => {
        $(impl From<$error> for HttpError {
            fn from(e: $error) -> Self {
                HttpError::from_error(&e)
            }
        })*
    };
}

from_library_errors!(
    modvault_proxy::PublishError,
    modvault_checksum::SumdbError,
    modvault_state::StateError,
    modvault_store::StoreError
);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        // One line, printable: the go command drops bodies with control
        // characters and stops at the first blank line.
        let line: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut response = (self.status, format!("{}\n", line.trim())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, PUT"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"modvault\""),
            );
        }
        if let Some(size) = self.content_range_size {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                headers.insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}
