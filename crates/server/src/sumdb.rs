//! `/sumdb/<name>/…`: modvault's own checksum database, or a relayed one.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use modvault_access::{Principal, Scope};
use modvault_checksum::RelayAnswer;
use modvault_core::escape::{unescape_path, unescape_version};
use modvault_proxy::Module;
use modvault_sumdb::lookup::is_valid_lookup_key;

use crate::error::HttpError;
use crate::AppState;

pub async fn serve(
    state: &AppState,
    caller: Option<&Principal>,
    rest: &str,
    method: &Method,
) -> Response {
    if let Some(own) = state.proxy.own_sumdb() {
        if let Some(tail) = rest
            .strip_prefix(own.name())
            .and_then(|t| t.strip_prefix('/'))
        {
            let answer = match tail.strip_prefix("lookup/") {
                Some(key) => return own_lookup(state, caller, key).await,
                None => {
                    if let Err(refusal) = state.access.check_any_read(caller) {
                        return refusal.into_response();
                    }
                    own.serve_static(tail).await
                }
            };
            return relay_response(answer, method);
        }
    }
    if let Some(relay) = &state.sumdb_relay {
        // Names may contain slashes: try each split point.
        for (i, _) in rest.match_indices('/') {
            let (name, tail) = (&rest[..i], &rest[i + 1..]);
            if relay.relays(name) {
                if let Err(refusal) = state.access.check_any_read(caller) {
                    return refusal.into_response();
                }
                // A private path never reaches a public database, not even
                // when a client asks for it.
                if let Some(path) = lookup_path(tail) {
                    if state.rules.is_private(&path) {
                        return HttpError::not_found(&format!(
                            "{path} is private: not looked up in {name}"
                        ))
                        .into_response();
                    }
                }
                return relay_response(relay.get(name, tail).await, method);
            }
        }
    }
    HttpError::not_found(&format!(
        "/sumdb/{rest}: not a checksum database served or relayed here"
    ))
    .into_response()
}

/// A lookup in our own log: a version not yet recorded is fetched through
/// the normal path first, as sum.golang.org does.
/// The module path of a `lookup/<path>@<version>` request.
fn lookup_path(tail: &str) -> Option<String> {
    let key = tail.strip_prefix("lookup/")?;
    unescape_path(key.split_once('@')?.0).ok()
}

async fn own_lookup(state: &AppState, caller: Option<&Principal>, key: &str) -> Response {
    let bad = |reason: String| (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response();
    if !is_valid_lookup_key(key) {
        return bad(format!("invalid module@version syntax: {key:?}"));
    }
    let (escaped_path, escaped_version) = key.split_once('@').unwrap_or((key, ""));
    let (path, version) = match (
        unescape_path(escaped_path),
        unescape_version(escaped_version),
    ) {
        (Ok(path), Ok(version)) => (path, version),
        (Err(e), _) | (_, Err(e)) => return HttpError::not_found(&e.to_string()).into_response(),
    };
    let module = match Module::new(&path) {
        Ok(module) => module,
        Err(e) => return HttpError::from(e).into_response(),
    };
    if let Err(refusal) = state
        .access
        .check(caller, &state.rules, &module.path, Scope::Read)
    {
        return refusal.into_response();
    }
    if let Err(e) = state.proxy.ensure_recorded(&module, &version).await {
        return HttpError::from(e).into_response();
    }
    let Some(own) = state.proxy.own_sumdb() else {
        return HttpError::not_found("no checksum database").into_response();
    };
    match own.lookup(&path, &version).await {
        Ok(Some(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response(),
        Ok(None) => {
            HttpError::not_found(&format!("{path}@{version}: not recorded")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

fn relay_response(answer: RelayAnswer, method: &Method) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(answer.body)
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    let cache = match answer.max_age {
        Some(age) if age.as_secs() > 86400 => "public, max-age=31536000, immutable".to_owned(),
        Some(age) => format!("public, max-age={}", age.as_secs()),
        None => "no-cache".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&cache) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}
