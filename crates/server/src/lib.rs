//! modvault's HTTP edge.

mod access;
pub mod admin;
mod error;
pub mod listen;
mod observe;
mod publish;
mod respond;
mod route;
mod sumdb;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use modvault_access::{MetricsAccess, Principal, Scope};
use modvault_proxy::{FetchPolicy, FileRequest, ModuleProxy, Request as ModuleRequest, RuleSet};
use modvault_store::{layout, ByteStream, PutBody, PutMode};

use route::Endpoint;

pub use access::{Access, FailedAuth};
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
    pub edge: EdgeSettings,
}

/// Limits and policies of the HTTP edge itself.
#[derive(Clone, Debug)]
pub struct EdgeSettings {
    pub metrics: MetricsAccess,
    /// Longest silence while an upload's body arrives.
    pub body_timeout: Duration,
    pub max_upload_bytes: u64,
    /// Longer request paths answer 414.
    pub max_path_bytes: usize,
    /// Repository webhooks (`/hooks/<provider>`): secrets and mappings.
    pub webhooks: admin::WebhookSettings,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        EdgeSettings {
            metrics: MetricsAccess::Loopback,
            body_timeout: Duration::from_secs(60),
            max_upload_bytes: modvault_core::modzip::MAX_ZIP_FILE,
            max_path_bytes: 4096,
            webhooks: admin::WebhookSettings::default(),
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The protocol plus `extra` routes (the web UI and JSON API of
/// `modvault_web`). Their prefixes (`/ui`, `/api`, `/badge`, `/`) can never
/// be module paths, whose first element has a dot, so every GOPROXY path
/// still reaches `handle`.
pub fn router_with(state: AppState, extra: Router) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(Arc::new(state))
        .merge(extra)
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
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let (parts, body) = request.into_parts();
    let mut body = Some(body);
    let response = match answer(&state, &method, &headers, &parts.uri, peer, &mut body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if let Some(body) = body {
        if method == Method::PUT {
            // Answer now, read the rest of the refused upload beside it.
            let (timeout, limit) = (state.edge.body_timeout, state.edge.max_upload_bytes);
            tokio::spawn(drain_refused_upload(body, headers, timeout, limit));
        }
    }
    response
}

async fn answer(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    peer: Option<SocketAddr>,
    body: &mut Option<Body>,
) -> Result<Response, HttpError> {
    let path = uri.path();
    let publishing = method == Method::PUT;
    let posting = method == Method::POST;
    if method != Method::GET && method != Method::HEAD && !publishing && !posting {
        return Err(HttpError::method_not_allowed());
    }
    if path.len() > state.edge.max_path_bytes {
        return Err(HttpError::uri_too_long(state.edge.max_path_bytes));
    }
    let endpoint = route::parse(path).map_err(|route::NoRoute(reason)| {
        // An upload to a bad path is a bad request, not a missing file.
        if publishing {
            HttpError::bad_request(&reason)
        } else {
            HttpError::not_found(&reason)
        }
    })?;
    if let Endpoint::Hook(provider) = endpoint {
        // Signed by the forge, not authenticated by a token.
        if !posting {
            return Err(HttpError::method_not_allowed());
        }
        return admin::webhook(
            state,
            provider,
            headers,
            body.take().unwrap_or_default(),
            peer,
        )
        .await;
    }
    let caller = state.access.caller(headers, peer).await?;
    match endpoint {
        Endpoint::AdminRefresh(module) if posting => {
            admin::admin_refresh(state, caller.as_ref(), &module, peer).await
        }
        _ if posting => Err(HttpError::method_not_allowed()),
        Endpoint::AdminRefresh(_) => Err(HttpError::method_not_allowed()),
        Endpoint::Hook(_) => Err(HttpError::method_not_allowed()),
        Endpoint::Index => admin::index_feed(state, caller.as_ref(), uri.query()).await,
        Endpoint::Module {
            module,
            file: FileRequest::Zip(version),
            ..
        } if publishing => {
            let route = state.rules.route(&module.path);
            state
                .access
                .check(caller.as_ref(), &route, &module.path, Scope::Publish)?;
            let upload = upload_stream(body.take().unwrap_or_default(), headers, &state.edge)?;
            let published = state.proxy.publish(&module, &version, upload).await?;
            tracing::info!(
                target: "modvault::audit",
                event = "publish",
                module = %module.path,
                version = %version,
                token_name = %caller.as_ref().map(|c| c.name.as_str()).unwrap_or(""),
                created = published.created,
                peer = %peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            );
            Ok(publish::answer(published, &module.path, &version))
        }
        _ if publishing => Err(HttpError::method_not_allowed()),
        Endpoint::Health => Ok(plain(StatusCode::OK, "ok\n")),
        Endpoint::Ready => Ok(ready(state).await),
        Endpoint::Metrics => {
            check_metrics_access(state.edge.metrics, caller.as_ref(), peer)?;
            observe::refresh_store_gauges(state.proxy.catalog().as_ref()).await;
            Ok((
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                modvault_observe::prom::render(),
            )
                .into_response())
        }
        Endpoint::Sumdb(rest) => Ok(sumdb::serve(state, caller.as_ref(), &rest, method).await),
        Endpoint::Module {
            module,
            file,
            policy,
        } => {
            let route =
                tracing::info_span!("rules.route").in_scope(|| state.rules.route(&module.path));
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

fn check_metrics_access(
    access: MetricsAccess,
    caller: Option<&Principal>,
    peer: Option<SocketAddr>,
) -> Result<(), HttpError> {
    let allowed = match access {
        MetricsAccess::Public => true,
        MetricsAccess::Loopback => {
            caller.is_some() || peer.is_some_and(|peer| peer.ip().is_loopback())
        }
        MetricsAccess::Token => caller.is_some(),
    };
    if allowed {
        Ok(())
    } else {
        Err(HttpError::unauthorized(
            "/metrics needs a token from this address (auth.metrics)",
        ))
    }
}

/// An upload as a stream of at most `max_upload_bytes`, each piece within
/// `body_timeout` of the last.
fn upload_stream(
    body: Body,
    headers: &HeaderMap,
    edge: &EdgeSettings,
) -> Result<ByteStream, HttpError> {
    let max = edge.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(HttpError::of_kind(
            modvault_error::ErrorKind::TooLarge,
            &format!("the upload is larger than max_upload_bytes ({max})"),
        ));
    }
    let timeout = edge.body_timeout;
    let stream = body
        .into_data_stream()
        .map_err(|e| std::io::Error::other(e.to_string()));
    let state = (Box::pin(stream), 0u64);
    Ok(Box::pin(futures::stream::unfold(
        state,
        move |(mut stream, seen)| async move {
            match tokio::time::timeout(timeout, stream.next()).await {
                Err(_) => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no upload data for body_timeout",
                    )),
                    (stream, u64::MAX),
                )),
                Ok(None) => None,
                Ok(Some(Ok(_))) if seen == u64::MAX => None,
                Ok(Some(Ok(chunk))) => {
                    let seen = seen + chunk.len() as u64;
                    if seen > max {
                        let e = std::io::Error::other(format!(
                            "the upload is larger than max_upload_bytes ({max})"
                        ));
                        Some((Err(e), (stream, u64::MAX)))
                    } else {
                        Some((Ok(chunk), (stream, seen)))
                    }
                }
                Ok(Some(Err(e))) => Some((Err(e), (stream, u64::MAX))),
            }
        },
    )))
}

/// A refused upload still arriving: read (and drop) it, up to the largest
/// upload accepted, so that the connection (HTTP/1.1) or the stream
/// (HTTP/2) is not reset while the client is still sending, which can make
/// it lose the refusal. A client that waits for `100 Continue` has sent
/// nothing, and is sent nothing more.
async fn drain_refused_upload(body: Body, headers: HeaderMap, timeout: Duration, limit: u64) {
    let expects_continue = headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue {
        return;
    }
    let mut stream = body.into_data_stream();
    let mut drained = 0u64;
    while drained <= limit {
        match tokio::time::timeout(timeout, stream.next()).await {
            Ok(Some(Ok(chunk))) => drained += chunk.len() as u64,
            _ => break,
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
            tracing::warn!(error = %modvault_error::chain(&e), "readiness probe failed");
            // The cause names paths or a bucket's address: logged, not shown.
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: storage unavailable: the store does not take writes (the server log has the cause)\n",
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
    use tracing::Instrument;
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let kind = observe::route_kind(&method, &path);
    // The path is not a span attribute: it may name a private module.
    let span = tracing::info_span!("request", http.method = %method, route = kind, http.status = tracing::field::Empty);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.status", status);
    observe::record_request(kind, status, started.elapsed());
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%method, %path, status, millis, "request");
    } else {
        tracing::info!(%method, %path, status, millis, "request");
    }
    response
}

/// Entry point for the fuzz targets in `fuzz/`: the request router, which
/// reads every client's path. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    /// Routes one raw request path; `true` when it names an endpoint.
    pub fn route(raw_path: &str) -> bool {
        crate::route::parse(raw_path).is_ok()
    }
}

#[cfg(test)]
mod tests;
