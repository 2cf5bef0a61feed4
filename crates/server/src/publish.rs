//! `PUT /<module>/@v/<version>.zip`: the answer to a publish.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use modvault_proxy::{PublishError, Published};

use crate::error::HttpError;

/// 201 for a new version, 200 for the same bytes again, with the two go.sum
/// lines as the body; 400, 409 or 500 with the reason otherwise.
pub fn answer(result: Result<Published, PublishError>, module: &str, version: &str) -> Response {
    match result {
        Ok(published) => {
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
        Err(PublishError::Invalid(reason)) => HttpError::bad_request(&reason).into_response(),
        Err(PublishError::Conflict(reason)) => HttpError::conflict(&reason).into_response(),
        Err(PublishError::Storage(reason)) => HttpError::internal(&reason).into_response(),
    }
}
