//! The one mapping from errors to HTTP statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

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

    pub fn not_found(reason: &str) -> Self {
        HttpError::new(StatusCode::NOT_FOUND, format!("not found: {reason}"))
    }

    pub fn bad_request(reason: &str) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, format!("bad request: {reason}"))
    }

    pub fn unauthorized(reason: &str) -> Self {
        HttpError::new(StatusCode::UNAUTHORIZED, format!("unauthorized: {reason}"))
    }

    pub fn forbidden(reason: &str) -> Self {
        HttpError::new(StatusCode::FORBIDDEN, format!("forbidden: {reason}"))
    }

    pub fn conflict(reason: &str) -> Self {
        HttpError::new(StatusCode::CONFLICT, format!("conflict: {reason}"))
    }

    pub fn internal(reason: &str) -> Self {
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {reason}"),
        )
    }

    pub fn method_not_allowed() -> Self {
        HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET or HEAD (PUT to publish a .zip)".into(),
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
            // Invalid, unavailable and not-a-module all mean "not here": 404
            // lets a client's `,` chain fall through.
            ProxyError::NotFound(reason) => HttpError::not_found(&reason),
            // Also 404, as proxy.golang.org does for failed origin fetches:
            // a client's `,` list may then try its next source, so builds
            // survive an upstream outage. The reason says what happened.
            ProxyError::Upstream(reason) => {
                HttpError::not_found(&format!("upstream error: {reason}"))
            }
            ProxyError::Storage(reason) => HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("storage error: {reason}"),
            ),
            // Not 404: the module may well be there once the bucket is back.
            ProxyError::StorageUnavailable(reason) => {
                HttpError::new(StatusCode::SERVICE_UNAVAILABLE, reason)
            }
            ProxyError::RangeNotSatisfiable { size } => HttpError::range_not_satisfiable(size),
            // Terminal for the go command (not 404/410), and shown to its
            // user: the message starts with "SECURITY ERROR".
            ProxyError::Security(message) => HttpError::new(StatusCode::FORBIDDEN, message),
        }
    }
}

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
