//! `PUT /<module>/@v/<version>.zip`: the answer to a publish.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use modvault_proxy::Published;

/// 201 for a new version, 200 for the same bytes again, with the two go.sum
/// lines as the body (errors go through the one mapping in `error.rs`).
pub fn answer(published: Published, module: &str, version: &str) -> Response {
    let status = if published.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = format!(
        "{module} {version} {}\n{module} {version}/go.mod {}\n",
        published.zip_hash, published.go_mod_hash
    );
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
