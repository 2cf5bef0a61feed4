//! `/sumdb/<name>/…`: modvault's own checksum database, or a relayed one.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};

use modvault_access::{Principal, Scope};
use modvault_checksum::SumdbFile;
use modvault_core::escape::{unescape_path, unescape_version};
use modvault_proxy::{ModVersion, Module};
use modvault_sumdb::lookup::is_valid_lookup_key;

use crate::error::HttpError;
use crate::AppState;

pub async fn serve(
    state: &AppState,
    caller: Option<&Principal>,
    rest: &str,
    method: &Method,
) -> Response {
    match answer(state, caller, rest).await {
        Ok(file) => file_response(file, method),
        Err(e) => e.into_response(),
    }
}

async fn answer(
    state: &AppState,
    caller: Option<&Principal>,
    rest: &str,
) -> Result<SumdbFile, HttpError> {
    if let Some(own) = state.proxy.own_sumdb() {
        if let Some(tail) = rest
            .strip_prefix(own.name())
            .and_then(|t| t.strip_prefix('/'))
        {
            if let Some(key) = tail.strip_prefix("lookup/") {
                return own_lookup(state, caller, key).await;
            }
            state.access.check_any_read(caller)?;
            return Ok(own.serve_static(tail).await?);
        }
    }
    if let Some(relay) = &state.sumdb_relay {
        // Names may contain slashes: try each split point.
        for (i, _) in rest.match_indices('/') {
            let (name, tail) = (&rest[..i], &rest[i + 1..]);
            if !relay.relays(name) {
                continue;
            }
            state.access.check_any_read(caller)?;
            // A private path (by a rule, or by sumdb.nosumdb) never
            // reaches a public database, not even when a client asks.
            if let Some(path) = lookup_path(tail) {
                if !state.rules.route(&path).sumdb {
                    return Err(HttpError::not_found(&format!(
                        "{path} is private: not looked up in {name}"
                    )));
                }
            }
            return Ok(relay.get(name, tail).await?);
        }
    }
    Err(HttpError::not_found(&format!(
        "/sumdb/{rest}: not a checksum database served or relayed here"
    )))
}

/// The module path of a `lookup/<path>@<version>` request.
fn lookup_path(tail: &str) -> Option<String> {
    let key = tail.strip_prefix("lookup/")?;
    unescape_path(key.split_once('@')?.0).ok()
}

/// A lookup in our own log: a version not yet recorded is fetched through
/// the normal path first, as sum.golang.org does.
async fn own_lookup(
    state: &AppState,
    caller: Option<&Principal>,
    key: &str,
) -> Result<SumdbFile, HttpError> {
    if !is_valid_lookup_key(key) {
        return Err(HttpError::bad_request(&format!(
            "invalid module@version syntax: {key:?}"
        )));
    }
    let (escaped_path, escaped_version) = key.split_once('@').unwrap_or((key, ""));
    let (path, version) = match (
        unescape_path(escaped_path),
        unescape_version(escaped_version),
    ) {
        (Ok(path), Ok(version)) => (path, version),
        (Err(e), _) | (_, Err(e)) => return Err(HttpError::not_found(&e.to_string())),
    };
    let module = Module::new(&path)?;
    let route = state.rules.route(&module.path);
    state
        .access
        .check(caller, &route, &module.path, Scope::Read)?;
    let version = ModVersion::new(&module, &version)?;
    state.proxy.ensure_recorded(&version, &route).await?;
    let own = state
        .proxy
        .own_sumdb()
        .ok_or_else(|| HttpError::not_found("no checksum database"))?;
    let body = own.lookup(&path, &version.version).await?;
    let body = body.ok_or_else(|| HttpError::not_found(&format!("{version}: not recorded")))?;
    Ok(SumdbFile {
        content_type: "text/plain; charset=utf-8",
        max_age: None,
        body,
    })
}

fn file_response(file: SumdbFile, method: &Method) -> Response {
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(file.body)
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    let cache = match file.max_age {
        Some(age) if age.as_secs() > 86400 => "public, max-age=31536000, immutable".to_owned(),
        Some(age) => format!("public, max-age={}", age.as_secs()),
        None => "no-cache".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&cache) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}
