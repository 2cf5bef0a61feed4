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
use modvault_proxy::{FetchPolicy, FileRequest, ModuleProxy, Request as ModuleRequest, RuleSet};
use modvault_store::{layout, ByteStream, PutBody, PutMode};

use route::Endpoint;

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
    /// Routing rules and GONOSUMDB patterns: consulted once per request.
    pub rules: Arc<RuleSet>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(Arc::new(state))
        .layer(middleware::from_fn(log_request))
}

/// Every request, top to bottom: what the path asks for, who is asking,
/// the module's route (decided here, once, and carried along), whether the
/// caller may, then the proxy or the relay; every error becomes a response
/// through `error.rs`.
async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    request: Request,
) -> Response {
    match answer(&state, &method, &headers, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn answer(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    request: Request,
) -> Result<Response, HttpError> {
    let publishing = method == Method::PUT;
    if method != Method::GET && method != Method::HEAD && !publishing {
        return Err(HttpError::method_not_allowed());
    }
    let endpoint = route::parse(request.uri().path()).map_err(|route::NoRoute(reason)| {
        // An upload to a bad path is a bad request, not a missing file.
        if publishing {
            HttpError::bad_request(&reason)
        } else {
            HttpError::not_found(&reason)
        }
    })?;
    let caller = state.access.caller(headers).await?;
    match endpoint {
        Endpoint::Module {
            module,
            file: FileRequest::Zip(version),
            ..
        } if publishing => {
            let route = state.rules.route(&module.path);
            state
                .access
                .check(caller.as_ref(), &route, &module.path, Scope::Publish)?;
            let body: ByteStream = Box::pin(
                request
                    .into_body()
                    .into_data_stream()
                    .map_err(|e| std::io::Error::other(e.to_string())),
            );
            let published = state.proxy.publish(&module, &version, body).await?;
            Ok(publish::answer(published, &module.path, &version))
        }
        _ if publishing => Err(HttpError::method_not_allowed()),
        Endpoint::Health => Ok(plain(StatusCode::OK, "ok\n")),
        Endpoint::Ready => Ok(ready(state).await),
        Endpoint::Metrics => Ok((
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            state.proxy.metrics().render(),
        )
            .into_response()),
        Endpoint::Sumdb(rest) => Ok(sumdb::serve(state, caller.as_ref(), &rest, method).await),
        Endpoint::Module {
            module,
            file,
            policy,
        } => {
            let route = state.rules.route(&module.path);
            state
                .access
                .check(caller.as_ref(), &route, &module.path, Scope::Read)?;
            let fetch_disabled = headers
                .get(DISABLE_MODULE_FETCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            let policy = if fetch_disabled {
                FetchPolicy::CachedOnly
            } else {
                policy
            };
            let request = ModuleRequest {
                module,
                route,
                file,
                policy,
            };
            let answer = state.proxy.serve(&request).await?;
            respond::answer(&state.proxy, &request.file, answer, method, headers).await
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
