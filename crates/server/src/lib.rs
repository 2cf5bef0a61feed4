//! modvault's HTTP edge.

mod access;
mod error;
mod publish;
mod respond;
mod route;
mod sumdb;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;

use futures::TryStreamExt;
use modvault_access::Scope;
use modvault_proxy::{FetchPolicy, FileRequest, ModuleProxy, RuleSet};
use modvault_store::{layout, PutBody, PutMode};
use modvault_upstream::ByteStream;

pub use access::Access;
pub use error::HttpError;
pub use route::CACHED_ONLY_PREFIX;

/// The request header with which pkgsite asks for cached answers only.
const DISABLE_MODULE_FETCH: &str = "disable-module-fetch";

#[derive(Clone)]
pub struct AppState {
    pub proxy: ModuleProxy,
    /// Upstream checksum databases relayed under `/sumdb/<name>/`.
    pub sumdb_relay: Option<Arc<modvault_checksum::Relay>>,
    /// Who may read and publish what.
    pub access: Arc<Access>,
    /// Routing rules; `deny` is enforced here.
    pub rules: Arc<RuleSet>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(Arc::new(state))
        .layer(middleware::from_fn(log_request))
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let publishing = method == Method::PUT;
    if method != Method::GET && method != Method::HEAD && !publishing {
        return HttpError::method_not_allowed().into_response();
    }
    let route = match route::parse(request.uri().path()) {
        Ok(route) => route,
        // An upload to a bad path is a bad request, not a missing file.
        Err(route::NoRoute(reason)) if publishing => {
            return HttpError::bad_request(&reason).into_response()
        }
        Err(route::NoRoute(reason)) => return HttpError::not_found(&reason).into_response(),
    };
    let caller = match state.access.caller(&headers) {
        Ok(caller) => caller,
        Err(refusal) => return refusal.into_response(),
    };
    match route {
        route::Route::Module {
            module,
            file: FileRequest::Zip(version),
            ..
        } if publishing => {
            if let Err(refusal) =
                state
                    .access
                    .check(caller.as_ref(), &state.rules, &module.path, Scope::Publish)
            {
                return refusal.into_response();
            }
            let body: ByteStream = Box::pin(
                request
                    .into_body()
                    .into_data_stream()
                    .map_err(|e| std::io::Error::other(e.to_string())),
            );
            publish::answer(
                state.proxy.publish(&module, &version, body).await,
                &module.path,
                &version,
            )
        }
        _ if publishing => HttpError::method_not_allowed().into_response(),
        route::Route::Health => plain(StatusCode::OK, "ok\n"),
        route::Route::Ready => ready(&state).await,
        route::Route::Metrics => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            state.proxy.metrics().render(),
        )
            .into_response(),
        route::Route::Sumdb(rest) => sumdb::serve(&state, caller.as_ref(), &rest, &method).await,
        route::Route::Module {
            module,
            file,
            policy,
        } => {
            if let Err(refusal) =
                state
                    .access
                    .check(caller.as_ref(), &state.rules, &module.path, Scope::Read)
            {
                return refusal.into_response();
            }
            let fetch_disabled = headers
                .get(DISABLE_MODULE_FETCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            let policy = if fetch_disabled {
                FetchPolicy::CachedOnly
            } else {
                policy
            };
            match state.proxy.serve(&module, &file, policy).await {
                Ok(answer) => respond::answer(&state.proxy, &file, answer, &method, &headers).await,
                Err(e) => HttpError::from(e).into_response(),
            }
        }
    }
}

/// Ready means the store takes writes: a probe object is written and removed.
async fn ready(state: &AppState) -> Response {
    let store = state.proxy.store();
    let probe = store
        .put(
            layout::READY_PROBE,
            PutBody::Bytes(Bytes::from_static(b"ok")),
            PutMode::Overwrite,
        )
        .await;
    match probe {
        Ok(_) => plain(StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness probe failed");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("not ready: {e}\n"),
            )
        }
    }
}

fn plain(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from(body.to_owned()),
    )
        .into_response()
}

/// One line per request. Only the path is logged: no headers, so no
/// credentials.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%method, %path, status, millis, "request");
    } else {
        tracing::info!(%method, %path, status, millis, "request");
    }
    response
}

#[cfg(test)]
mod tests;
