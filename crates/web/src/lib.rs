//! The web UI (`/ui/`) and JSON API (`/api/v1/`, described by
//! `/api/v1/openapi.json`) over what modvault holds, and README badges
//! (`/badge/<module>.svg`).
//!
//! Everything here reads through the same access rules as the protocol: a
//! module the caller may not read is left out of every list and count and
//! answers 404, exactly like a module that is not here. Pages are rendered
//! on the server (they work without JavaScript); the small script and
//! style sheet are compiled into the binary.

mod api;
mod data;
mod gomod;
mod markdown;
mod memo;
mod session;
mod ui;
mod zipread;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use modvault_access::{Principal, Scope};
use modvault_server::{AppState, HttpError};

/// What the web part needs beyond the protocol's state.
#[derive(Clone, Debug, Default)]
pub struct WebSettings {
    /// The audit log (JSON lines) shown to admins; `None`: none kept.
    pub audit_log: Option<PathBuf>,
    /// Whether the server listens with TLS: session cookies are `Secure`.
    pub tls: bool,
}

/// Memory for zips' hashes (some 10,000 of them) and for their rendered
/// READMEs and licenses (hundreds at their largest, thousands typically).
const HASHES_BYTES: usize = 2 << 20;
const ZIP_TEXTS_BYTES: usize = 64 << 20;

pub(crate) struct Web {
    pub app: AppState,
    pub settings: WebSettings,
    /// `h1:` hashes of stored zips, by store key: computed once.
    pub hashes: memo::Memo<String>,
    /// What the pages show from stored zips, by store key.
    pub zip_texts: memo::Memo<data::ZipTexts>,
}

/// The web routes, to merge beside the protocol
/// (`modvault_server::router_with`).
pub fn routes(app: AppState, settings: WebSettings) -> Router {
    let web = Arc::new(Web {
        app,
        settings,
        hashes: memo::Memo::new(HASHES_BYTES),
        zip_texts: memo::Memo::new(ZIP_TEXTS_BYTES),
    });
    Router::new()
        .route("/", any(root))
        .route("/ui", any(ui::handle))
        .route("/ui/", any(ui::handle))
        .route("/ui/{*rest}", any(ui::handle))
        .route("/api/v1", any(api::handle))
        .route("/api/v1/", any(api::handle))
        .route("/api/v1/{*rest}", any(api::handle))
        .route("/badge/{*rest}", any(badge))
        .with_state(web)
}

/// `/` sends a browser to the UI; anything else gets the protocol's answer
/// for a path that is not a module.
async fn root(method: Method, headers: HeaderMap) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if browser && (method == Method::GET || method == Method::HEAD) {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/ui/")]).into_response();
    }
    HttpError::not_found(": not a module proxy path").into_response()
}

pub(crate) fn peer(request: &axum::http::request::Parts) -> Option<SocketAddr> {
    request
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

impl Web {
    /// Whether `caller` may read `module`: the protocol's own check.
    pub fn may_read(&self, caller: Option<&Principal>, module: &str) -> bool {
        let route = self.app.rules.route(module);
        self.app
            .access
            .check(caller, &route, module, Scope::Read)
            .is_ok()
    }

    pub fn is_admin(caller: Option<&Principal>) -> bool {
        caller.is_some_and(|c| c.scope >= Scope::Admin)
    }

    /// Admin operations: 401 without a token, 403 with a weaker one.
    pub fn require_admin(caller: Option<&Principal>) -> Result<&Principal, HttpError> {
        match caller {
            None => Err(HttpError::unauthorized(
                "this needs a token with admin scope",
            )),
            Some(c) if c.scope >= Scope::Admin => Ok(c),
            Some(c) => Err(HttpError::forbidden(&format!(
                "token {:?} has scope {}; this needs admin",
                c.name, c.scope
            ))),
        }
    }
}

/// `GET /badge/<module>.svg`: the latest version, for READMEs.
async fn badge(State(web): State<Arc<Web>>, request: Request) -> Response {
    let (request, _) = request.into_parts();
    let path = request.uri.path().to_owned();
    let caller = match session::caller(&web, &request).await {
        Ok(found) => found.principal,
        Err(e) => return e.into_response(),
    };
    let module = percent_encoding::percent_decode_str(path.trim_start_matches("/badge/"))
        .decode_utf8_lossy()
        .into_owned();
    let Some(module) = module.strip_suffix(".svg") else {
        return HttpError::not_found("badges are /badge/<module>.svg").into_response();
    };
    let latest = match data::module_versions(&web, caller.as_ref(), module).await {
        Ok(versions) => data::latest(&versions),
        Err(e) => return e.into_response(),
    };
    let svg = badge_svg("go module", latest.as_deref().unwrap_or("none"));
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            // Badges follow new versions; a short cache keeps them cheap.
            (header::CACHE_CONTROL, "public, max-age=300"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        svg,
    )
        .into_response()
}

fn badge_svg(label: &str, value: &str) -> String {
    // Verdana 11px averages about 6.5px a character.
    let width = |s: &str| 10 + (s.chars().count() as u32 * 13).div_ceil(2);
    let (lw, vw) = (width(label), width(value));
    let total = lw + vw;
    let (label, value) = (markdown::escape(label), markdown::escape(value));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {value}"><title>{label}: {value}</title><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{vw}" height="20" fill="#007d9c"/><g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="{lx}" y="14">{label}</text><text x="{vx}" y="14">{value}</text></g></svg>"##,
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}
