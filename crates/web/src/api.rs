//! `/api/v1/`: JSON for everything the pages show, described by
//! `/api/v1/openapi.json`. Errors are the protocol's (same kinds and
//! statuses, from `modvault_server::HttpError`), as JSON.

use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use modvault_access::Scope;
use modvault_server::HttpError;

use crate::session::{self, Caller};
use crate::{data, Web};

const OPENAPI: &str = include_str!("../assets/openapi.json");
const MAX_BODY: usize = 64 << 10;
const MAX_PER_PAGE: usize = 100;

/// An error as JSON: `{"error": {"status", "kind", "message"}}`.
pub fn error_json(e: HttpError) -> Response {
    let kind = match e.status.as_u16() {
        400 => "invalid",
        401 => "unauthenticated",
        403 if e.message.starts_with("SECURITY ERROR") => "security",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "too_large",
        414 => "uri_too_long",
        503 => "storage",
        _ => "error",
    };
    let status = e.status;
    let mut response = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        json(&json!({"error": {"status": status.as_u16(), "kind": kind, "message": e.message}})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"modvault\""),
        );
    }
    response
}

fn json<T: Serialize>(value: &T) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(value).unwrap_or_default(),
    )
        .into_response()
}

fn method_not_allowed() -> HttpError {
    HttpError::method_not_allowed()
}

pub async fn handle(State(web): State<Arc<Web>>, request: Request) -> Response {
    let path = request.uri().path().trim_end_matches('/').to_owned();
    match answer(&web, request).await {
        Ok(response) => response,
        Err(e) if e.status == StatusCode::METHOD_NOT_ALLOWED => {
            // RFC 9110: a 405 names the methods the resource has.
            let allow = if path.ends_with("/api/v1/tokens") {
                "GET, HEAD, POST"
            } else if path.contains("/api/v1/tokens/") {
                "DELETE"
            } else if path.starts_with("/api/v1/refresh/") {
                "POST"
            } else {
                "GET, HEAD"
            };
            let mut response = error_json(e);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        }
        Err(e) => error_json(e),
    }
}

fn query_fields(request: &Parts) -> Vec<(String, String)> {
    session::form(request.uri.query().unwrap_or_default().as_bytes())
}

fn number(
    fields: &[(String, String)],
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, HttpError> {
    match session::field(fields, name) {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                HttpError::bad_request(&format!("{name} must be a whole number from 1 to {max}"))
            }),
    }
}

async fn answer(web: &Web, request: Request) -> Result<Response, HttpError> {
    let (request, body) = request.into_parts();
    let method = request.method.clone();
    let path = percent_encoding::percent_decode_str(request.uri.path())
        .decode_utf8()
        .map_err(|_| HttpError::not_found("path is not valid UTF-8"))?
        .into_owned();
    let rest = path
        .strip_prefix("/api/v1")
        .unwrap_or(&path)
        .trim_start_matches('/')
        .to_owned();
    let read = method == Method::GET || method == Method::HEAD;
    if rest == "openapi.json" {
        if !read {
            return Err(method_not_allowed());
        }
        return Ok(([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response());
    }
    let caller = session::caller(web, &request).await?;
    let who = caller.principal.as_ref();
    let fields = query_fields(&request);
    match rest.as_str() {
        "" if read => Ok(json(&json!({
            "openapi": "/api/v1/openapi.json",
            "modules": "/api/v1/modules",
            "stats": "/api/v1/stats",
        }))),
        "modules" if read => {
            let q = session::field(&fields, "q").unwrap_or_default();
            let page = number(&fields, "page", 1, 1_000_000)?;
            let per_page = number(&fields, "per_page", 20, MAX_PER_PAGE)?;
            let found = data::search(web, who, q).await?;
            let total = found.len();
            let modules: Vec<_> = found
                .into_iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .collect();
            Ok(json(&json!({
                "query": q, "page": page, "per_page": per_page, "total": total, "modules": modules,
            })))
        }
        "stats" if read => Ok(json(&data::stats(web, who).await?)),
        "tokens" if read => {
            Web::require_admin(who)?;
            let tokens = web.app.access.tokens.list().await?;
            let tokens: Vec<_> = tokens
                .iter()
                .map(|t| json!({"name": t.name, "scope": t.scope.as_str(), "match": t.matches, "created": t.created, "prefix": t.prefix}))
                .collect();
            Ok(json(&json!({ "tokens": tokens })))
        }
        "tokens" if method == Method::POST => {
            let admin = Web::require_admin(who)?.name.clone();
            check_session_csrf(&caller, &request)?;
            let body = to_bytes(body, MAX_BODY).await.map_err(|_| {
                HttpError::of_kind(
                    modvault_error::ErrorKind::TooLarge,
                    "request body over 64 KiB",
                )
            })?;
            let wanted: NewToken = serde_json::from_slice(&body)
                .map_err(|e| HttpError::bad_request(&format!("token request: {e}")))?;
            let (secret, scope) = create_token(
                web,
                &admin,
                &wanted.name,
                &wanted.scope,
                wanted.r#match.clone(),
            )
            .await?;
            let mut response = json(
                &json!({"name": wanted.name, "scope": scope.as_str(), "match": wanted.r#match, "token": secret}),
            );
            *response.status_mut() = StatusCode::CREATED;
            Ok(response)
        }
        "audit" if read => {
            Web::require_admin(who)?;
            let limit = number(&fields, "limit", 100, 1000)?;
            Ok(json(&json!({ "events": audit_events(web, limit).await })))
        }
        _ => {
            if let Some(name) = rest.strip_prefix("tokens/") {
                if method != Method::DELETE {
                    return Err(method_not_allowed());
                }
                let admin = Web::require_admin(who)?.name.clone();
                check_session_csrf(&caller, &request)?;
                revoke_token(web, &admin, name).await?;
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            if let Some(module) = rest.strip_prefix("refresh/") {
                if method != Method::POST {
                    return Err(method_not_allowed());
                }
                check_session_csrf(&caller, &request)?;
                refresh(web, who, module).await?;
                return Ok(json(&json!({ "refreshed": module })));
            }
            if let Some(module_rest) = rest.strip_prefix("modules/") {
                if !read {
                    return Err(method_not_allowed());
                }
                return Ok(match module_rest.split_once("/@v/") {
                    Some((module, version)) => {
                        json(&data::version_detail(web, who, module, version).await?)
                    }
                    None => json(&data::module_detail(web, who, module_rest).await?),
                });
            }
            if matches!(rest.as_str(), "" | "modules" | "stats" | "tokens" | "audit") {
                return Err(method_not_allowed());
            }
            Err(HttpError::not_found(&format!(
                "/api/v1/{rest}: no such API resource"
            )))
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    scope: String,
    #[serde(default)]
    r#match: Vec<String>,
}

/// Fetches a module's `list` and `@latest` again now (admins only), as
/// `POST /admin/refresh/<module>` does. A module the caller may not read
/// answers 404 as everywhere in the API.
pub async fn refresh(
    web: &Web,
    caller: Option<&modvault_access::Principal>,
    module: &str,
) -> Result<(), HttpError> {
    Web::require_admin(caller)?;
    if !web.may_read(caller, module) {
        return Err(HttpError::not_found(&format!("{module}: not held here")));
    }
    let module = modvault_proxy::Module::new(module)?;
    modvault_server::admin::refresh_module(&web.app, caller, &module, None).await
}

/// A session (cookie) caller must send the page's CSRF value in
/// `X-CSRF-Token`; a caller with `Authorization` sends no ambient
/// credentials and needs none.
fn check_session_csrf(caller: &Caller, request: &Parts) -> Result<(), HttpError> {
    if request.headers.contains_key(header::AUTHORIZATION) {
        return Ok(());
    }
    session::same_origin(&request.headers)?;
    let given = request
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    session::check_csrf(caller, given)
}

/// Creates a token; returns its secret (shown once) and scope.
pub async fn create_token(
    web: &Web,
    admin: &str,
    name: &str,
    scope: &str,
    matches: Vec<String>,
) -> Result<(String, Scope), HttpError> {
    let scope: Scope = scope
        .parse()
        .map_err(|e: modvault_access::ParseScopeError| HttpError::bad_request(&e.to_string()))?;
    if name.is_empty() || name.len() > 100 || name.chars().any(|c| c.is_control()) {
        return Err(HttpError::bad_request(
            "a token name is 1 to 100 printable characters",
        ));
    }
    let secret = web.app.access.tokens.create(name, scope, matches).await?;
    tracing::info!(target: "modvault::audit", event = "token_create", token_name = %name, scope = %scope, by = %admin);
    Ok((secret.expose_secret().to_owned(), scope))
}

pub async fn revoke_token(web: &Web, admin: &str, name: &str) -> Result<(), HttpError> {
    if !web.app.access.tokens.revoke(name).await? {
        return Err(HttpError::not_found(&format!("no token named {name:?}")));
    }
    tracing::info!(target: "modvault::audit", event = "token_revoke", token_name = %name, by = %admin);
    Ok(())
}

/// The newest `limit` events of the audit log (JSON lines), newest first;
/// only its last MiB is read.
pub async fn audit_events(web: &Web, limit: usize) -> Vec<serde_json::Value> {
    let Some(path) = web.settings.audit_log.clone() else {
        return Vec::new();
    };
    let text = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let start = len.saturating_sub(1 << 20);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.take(1 << 20).read_to_end(&mut bytes)?;
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if start > 0 {
            // The first line may be cut: drop it.
            text = text
                .split_once('\n')
                .map(|(_, r)| r.to_owned())
                .unwrap_or_default();
        }
        Ok(text)
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.is_object())
        .take(limit)
        .collect()
}
