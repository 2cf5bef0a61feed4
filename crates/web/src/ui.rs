//! `/ui/`: pages rendered on the server, readable without JavaScript.
//! `app.js` only adds search as you type and copy buttons. Every page
//! carries a Content-Security-Policy that allows nothing but this server's
//! own script and style sheet, so even a README that got past the
//! sanitizer could not run.

use std::fmt::Write;
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use modvault_server::HttpError;

use crate::markdown::escape as e;
use crate::session::{self, Caller};
use crate::{api, data, Web};

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const MAX_FORM: usize = 16 << 10;

pub async fn handle(State(web): State<Arc<Web>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let rest = percent_encoding::percent_decode_str(path.strip_prefix("/ui").unwrap_or(&path))
        .decode_utf8_lossy()
        .trim_start_matches('/')
        .to_owned();
    let current = request.uri().query() == Some(&format!("v={}", assets_version())[..]);
    match rest.as_str() {
        "-/static/app.css" => return asset("text/css; charset=utf-8", CSS, current),
        "-/static/app.js" => return asset("text/javascript; charset=utf-8", JS, current),
        _ => {}
    }
    if path == "/ui" {
        return redirect("/ui/");
    }
    let (request, body) = request.into_parts();
    let caller = match session::caller(&web, &request).await {
        Ok(caller) => caller,
        Err(err) => return error_page(None, err),
    };
    let method = request.method.clone();
    let result = if method == Method::POST {
        post(&web, &caller, &rest, &request, body).await
    } else if method == Method::GET || method == Method::HEAD {
        get(&web, &caller, &rest, &request).await
    } else {
        Err(HttpError::method_not_allowed())
    };
    let mut response = match result {
        Ok(response) => response,
        Err(err) => error_page(Some(&caller), err),
    };
    if caller.stale_cookie && !response.headers().contains_key(header::SET_COOKIE) {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, session::clear_cookie(&web));
    }
    response
}

/// A digest of the script and style sheet, in their addresses on every
/// page (`app.css?v=…`): a browser keeps them for good and still loads the
/// new ones right after an upgrade.
fn assets_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(CSS)
            .chain_update([0])
            .chain_update(JS)
            .finalize();
        hex::encode(&digest[..5])
    })
}

/// `current`: asked for under the address pages give now, so immutable;
/// any other address (an old page, a hand-typed one) is kept briefly.
fn asset(content_type: &'static str, body: &'static str, current: bool) -> Response {
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A page inside the common frame, with the security headers.
fn page(caller: Option<&Caller>, status: StatusCode, title: &str, body: &str) -> Response {
    let mut nav = String::new();
    match caller.and_then(|c| c.principal.as_ref()) {
        Some(who) => {
            if Web::is_admin(Some(who)) {
                nav.push_str(
                    r#"<a href="/ui/-/tokens">Tokens</a> <a href="/ui/-/audit">Audit log</a> "#,
                );
            }
            let csrf = caller.and_then(|c| c.csrf.clone()).unwrap_or_default();
            if csrf.is_empty() {
                let _ = write!(nav, "<span class=who>{}</span>", e(&who.name));
            } else {
                let _ = write!(
                    nav,
                    r#"<form method=post action="/ui/-/logout" class=inline><input type=hidden name=csrf value="{}"><span class=who>{}</span> <button type=submit class=link>Log out</button></form>"#,
                    e(&csrf),
                    e(&who.name)
                );
            }
        }
        None => nav.push_str(r#"<a href="/ui/-/login">Log in</a>"#),
    }
    let csrf_meta = caller
        .and_then(|c| c.csrf.as_deref())
        .map(|c| format!(r#"<meta name=csrf-token content="{}">"#, e(c)))
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1"><title>{title} · modvault</title><link rel=stylesheet href="/ui/-/static/app.css?v={v}">{csrf_meta}<script src="/ui/-/static/app.js?v={v}" defer></script></head><body><header><a class=brand href="/ui/">modvault</a><form class=search action="/ui/-/search" method=get role=search><input id=q name=q type=search placeholder="Search modules" aria-label="Search modules" autocomplete=off></form><nav>{nav}</nav></header><main>{body}</main><footer>JSON API: <a href="/api/v1/">/api/v1/</a> · <a href="/api/v1/openapi.json">OpenAPI</a></footer></body></html>"#,
        title = e(title),
        v = assets_version(),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        html,
    )
        .into_response()
}

fn error_page(caller: Option<&Caller>, err: HttpError) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=error>{}</p><p><a href=\"/ui/\">Home</a></p>",
        err.status.as_u16(),
        e(&err.message)
    );
    page(caller, err.status, &err.status.as_u16().to_string(), &body)
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The UI address of a module or version (paths are URL-safe apart from
/// characters percent-encoding covers).
fn module_href(path: &str) -> String {
    format!(
        "/ui/{}",
        percent_encoding::utf8_percent_encode(path, PATH_SET)
    )
}

const PATH_SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn version_href(path: &str, version: &str) -> String {
    format!(
        "{}/@v/{}",
        module_href(path),
        percent_encoding::utf8_percent_encode(version, PATH_SET)
    )
}

fn copy_line(id: &str, line: &str) -> String {
    format!(
        r#"<div class=copy><code id="{id}">{}</code><button type=button data-copy="{id}">Copy</button></div>"#,
        e(line)
    )
}

async fn get(
    web: &Web,
    caller: &Caller,
    rest: &str,
    request: &Parts,
) -> Result<Response, HttpError> {
    let who = caller.principal.as_ref();
    let page_ok = |title: &str, body: String| Ok(page(Some(caller), StatusCode::OK, title, &body));
    match rest {
        "" => {
            let stats = data::stats(web, who).await?;
            let mut body = format!(
                r#"<h1>Modules</h1><form class=bigsearch action="/ui/-/search" method=get role=search><input id=live name=q type=search placeholder="Type to search modules" aria-label="Search modules" autocomplete=off><button type=submit>Search</button></form><ul id=results class=results></ul><section class=stats><div><b>{}</b> modules</div><div><b>{}</b> versions</div><div><b>{}</b> stored</div><div><b>{:.0}%</b> of versions served</div><div><b>{}</b> cache hit ratio (30 days)</div></section>"#,
                stats.modules,
                stats.versions,
                human_bytes(stats.bytes),
                stats.served_ratio * 100.0,
                stats
                    .hit_ratio
                    .map_or("–".to_owned(), |r| format!("{:.0}%", r * 100.0))
            );
            body.push_str("<h2>Recently added</h2><table><thead><tr><th>Module</th><th>Version</th><th>From</th><th>Stored</th></tr></thead><tbody>");
            for r in &stats.recent {
                let _ = write!(
                    body,
                    r#"<tr><td><a href="{}">{}</a></td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>"#,
                    e(&module_href(&r.path)),
                    e(&r.path),
                    e(&version_href(&r.path, &r.version)),
                    e(&r.version),
                    r.origin,
                    e(&r.stored)
                );
            }
            body.push_str("</tbody></table><h2>Publish history</h2>");
            if stats.published.is_empty() {
                body.push_str("<p>Nothing published here yet.</p>");
            } else {
                body.push_str("<table><thead><tr><th>Module</th><th>Version</th><th>Published</th></tr></thead><tbody>");
                for r in &stats.published {
                    let _ = write!(
                        body,
                        r#"<tr><td><a href="{}">{}</a></td><td><a href="{}">{}</a></td><td>{}</td></tr>"#,
                        e(&module_href(&r.path)),
                        e(&r.path),
                        e(&version_href(&r.path, &r.version)),
                        e(&r.version),
                        e(&r.stored)
                    );
                }
                body.push_str("</tbody></table>");
            }
            body.push_str("<h2>Activity</h2><table><thead><tr><th>Day (UTC)</th><th>Versions stored</th><th>Versions last served</th></tr></thead><tbody>");
            for d in &stats.days {
                let _ = write!(body, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", e(&d.day), d.stored, d.served);
            }
            body.push_str("</tbody></table><h2>Downloads</h2><table><thead><tr><th>Day (UTC)</th><th>From the store</th><th>Fetched</th></tr></thead><tbody>");
            for d in stats.downloads.iter().rev().filter(|d| d.hits + d.misses > 0) {
                let _ = write!(body, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", e(&d.day), d.hits, d.misses);
            }
            body.push_str("</tbody></table>");
            page_ok("Home", body)
        }
        "-/search" => {
            let fields = session::form(request.uri.query().unwrap_or_default().as_bytes());
            let q = session::field(&fields, "q").unwrap_or_default();
            let found = data::search(web, who, q).await?;
            let mut body = format!(
                r#"<h1>Search</h1><form class=bigsearch action="/ui/-/search" method=get role=search><input id=live name=q type=search value="{}" aria-label="Search modules" autocomplete=off><button type=submit>Search</button></form><ul id=results class=results>"#,
                e(q)
            );
            for m in found.iter().take(100) {
                let _ = write!(
                    body,
                    r#"<li><a href="{}">{}</a> <span class=muted>{}</span></li>"#,
                    e(&module_href(&m.path)),
                    e(&m.path),
                    e(m.latest.as_deref().unwrap_or(""))
                );
            }
            body.push_str("</ul>");
            if found.is_empty() {
                body.push_str("<p>No module matches.</p>");
            } else if found.len() > 100 {
                let _ = write!(body, "<p>{} more: refine the search.</p>", found.len() - 100);
            }
            page_ok("Search", body)
        }
        "-/login" => page_ok(
            "Log in",
            r#"<h1>Log in</h1><p>Paste a token (from <code>modvault token create</code>). It is kept in an HttpOnly cookie for this browser only.</p><form method=post action="/ui/-/login" class=stack><label>Token <input name=token type=password autocomplete=off required></label><button type=submit>Log in</button></form>"#.to_owned(),
        ),
        "-/tokens" => {
            Web::require_admin(who)?;
            page_ok("Tokens", tokens_body(web, caller, None).await?)
        }
        "-/audit" => {
            Web::require_admin(who)?;
            let events = api::audit_events(web, 200).await;
            let mut body = String::from("<h1>Audit log</h1>");
            if events.is_empty() {
                body.push_str("<p>No events recorded.</p>");
            } else {
                body.push_str("<table><thead><tr><th>Time</th><th>Event</th><th>Details</th></tr></thead><tbody>");
                for ev in &events {
                    let details: Vec<String> = ev
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| *k != "time" && *k != "event")
                        .map(|(k, v)| format!("{k}={}", v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
                        .collect();
                    let _ = write!(
                        body,
                        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                        e(ev["time"].as_str().unwrap_or("")),
                        e(ev["event"].as_str().unwrap_or("")),
                        e(&details.join(" "))
                    );
                }
                body.push_str("</tbody></table>");
            }
            page_ok("Audit log", body)
        }
        _ if rest.starts_with("-/") => Err(HttpError::not_found(&format!("/ui/{rest}: no such page"))),
        _ => match rest.split_once("/@v/") {
            Some((module, version)) => {
                let v = data::version_detail(web, who, module, version).await?;
                page_ok(&format!("{module}@{version}"), version_body(&v))
            }
            None => {
                let m = data::module_detail(web, who, rest.trim_end_matches('/')).await?;
                let latest = match &m.latest {
                    Some(latest) => data::version_detail(web, who, &m.path, latest).await.ok(),
                    None => None,
                };
                let mut body = module_body(&m, latest.as_ref());
                if Web::is_admin(who) {
                    let _ = write!(
                        body,
                        r#"<form method=post action="/ui/-/refresh" class=inline><input type=hidden name=csrf value="{}"><input type=hidden name=module value="{}"><button type=submit>Refresh list and @latest now</button></form>"#,
                        e(caller.csrf.as_deref().unwrap_or("")),
                        e(&m.path)
                    );
                }
                page_ok(&m.path, body)
            }
        },
    }
}

fn module_body(m: &data::ModuleDetail, latest: Option<&data::VersionDetail>) -> String {
    let mut body = format!(
        r#"<h1 class=path>{}</h1>{}"#,
        e(&m.path),
        copy_line("goget", &m.go_get)
    );
    if let Some(notice) = &m.deprecated {
        let _ = write!(body, "<p class=warn>Deprecated: {}</p>", e(notice));
    }
    body.push_str("<div class=cols><section class=main>");
    match latest.and_then(|v| v.readme_html.as_deref()) {
        Some(readme) => {
            let _ = write!(
                body,
                "<h2>README</h2><article class=readme>{readme}</article>"
            );
        }
        None => body.push_str("<p class=muted>No README in the latest version.</p>"),
    }
    body.push_str("</section><aside>");
    let _ = write!(body, "<h2>Versions</h2><p class=muted>{} downloads</p><table><thead><tr><th>Version</th><th>From</th><th>Stored</th><th>Size</th><th>Downloads</th></tr></thead><tbody>", m.downloads);
    for v in &m.versions {
        let _ = write!(
            body,
            r#"<tr><td><a href="{}">{}</a>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td></tr>"#,
            e(&version_href(&m.path, &v.version)),
            e(&v.version),
            if v.retracted {
                " <span class=tag>retracted</span>"
            } else {
                ""
            },
            v.origin,
            e(&v.stored.chars().take(10).collect::<String>()),
            human_bytes(v.size),
            v.downloads
        );
    }
    body.push_str("</tbody></table>");
    if let Some(v) = latest {
        if let Some(license) = &v.license {
            let _ = write!(
                body,
                "<h2>License</h2><details><summary>{}</summary><pre>{}</pre></details>",
                e(&license.name),
                e(&license.text)
            );
        }
        if let Some(go_mod) = &v.go_mod {
            let _ = write!(body, "<h2>go.mod</h2><pre>{}</pre>", e(&go_mod.text));
        }
    }
    // The badge is an SVG document of its own with text in it: shown at
    // once, a new tab built a frame and looked up fonts for it before its
    // first paint (about 14 ms later, bench/results-ui.md). Folded and
    // lazy, it is fetched when opened.
    let badge = format!(
        "/badge/{}.svg",
        percent_encoding::utf8_percent_encode(&m.path, PATH_SET)
    );
    let _ = write!(
        body,
        r#"<h2>Badge</h2><details><summary>For a README</summary><p><img src="{0}" alt="badge: latest version" loading=lazy></p><p><code>{0}</code></p></details>"#,
        e(&badge)
    );
    body.push_str("</aside></div>");
    body
}

fn version_body(v: &data::VersionDetail) -> String {
    let mut body = format!(
        r#"<p class=crumbs><a href="{}">{}</a></p><h1 class=path>{}@{}</h1>{}"#,
        e(&module_href(&v.path)),
        e(&v.path),
        e(&v.path),
        e(&v.version),
        copy_line("goget", &v.go_get)
    );
    if v.retracted {
        body.push_str("<p class=warn>This version is retracted by its module's latest go.mod.</p>");
    }
    body.push_str("<dl class=facts>");
    let checksum = match (v.checksum.database, v.checksum.record) {
        ("own", Some(record)) => format!(
            "recorded in this server's database {} as record {record}",
            v.checksum.name.as_deref().unwrap_or("")
        ),
        ("public", _) => "checked against the public checksum database (relayed)".to_owned(),
        _ => "not in a checksum database (private module)".to_owned(),
    };
    for (k, val) in [
        ("From", v.origin.to_owned()),
        ("Time", v.time.clone().unwrap_or_default()),
        ("Stored", v.stored.clone()),
        ("Zip size", human_bytes(v.size)),
        ("h1 (zip)", v.h1.clone().unwrap_or_default()),
        ("h1 (go.mod)", v.go_mod_h1.clone().unwrap_or_default()),
        ("Checksum database", checksum),
    ] {
        let _ = write!(body, "<dt>{}</dt><dd><code>{}</code></dd>", e(k), e(&val));
    }
    body.push_str("</dl>");
    if let Some(go_mod) = &v.go_mod {
        body.push_str("<h2>Requires</h2>");
        if go_mod.require.is_empty() {
            body.push_str("<p class=muted>No requirements.</p>");
        } else {
            body.push_str("<ul>");
            for r in &go_mod.require {
                let name = if r.held {
                    format!(
                        r#"<a href="{}">{}</a>"#,
                        e(&version_href(&r.path, &r.version)),
                        e(&r.path)
                    )
                } else {
                    e(&r.path)
                };
                let _ = write!(
                    body,
                    "<li>{name} {}{}</li>",
                    e(&r.version),
                    if r.indirect {
                        " <span class=muted>// indirect</span>"
                    } else {
                        ""
                    }
                );
            }
            body.push_str("</ul>");
        }
        if !go_mod.replace.is_empty() {
            body.push_str("<h2>Replaces</h2><ul>");
            for r in &go_mod.replace {
                let _ = write!(body, "<li>{} =&gt; {}</li>", e(&r.old), e(&r.new));
            }
            body.push_str("</ul>");
        }
        if !go_mod.retract.is_empty() {
            body.push_str("<h2>Retracts</h2><ul>");
            for r in &go_mod.retract {
                let range = if r.low == r.high {
                    r.low.clone()
                } else {
                    format!("[{}, {}]", r.low, r.high)
                };
                let _ = write!(
                    body,
                    "<li>{} <span class=muted>{}</span></li>",
                    e(&range),
                    e(&r.rationale)
                );
            }
            body.push_str("</ul>");
        }
        let _ = write!(body, "<h2>go.mod</h2><pre>{}</pre>", e(&go_mod.text));
    }
    let _ = write!(body, "<h2>Files ({})</h2><table><tbody>", v.files.len());
    for f in &v.files {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=num>{}</td></tr>",
            e(&f.name),
            human_bytes(f.size)
        );
    }
    body.push_str("</tbody></table>");
    // The module's page shows its latest README open; here it is this
    // version's, folded below the facts, so it costs the page nothing
    // until it is opened.
    if let Some(readme) = &v.readme_html {
        let _ = write!(
            body,
            "<h2>README</h2><details><summary>README of {}</summary><article class=readme>{readme}</article></details>",
            e(&v.version)
        );
    }
    if let Some(license) = &v.license {
        let _ = write!(
            body,
            "<h2>License</h2><details><summary>{}</summary><pre>{}</pre></details>",
            e(&license.name),
            e(&license.text)
        );
    }
    body
}

async fn tokens_body(
    web: &Web,
    caller: &Caller,
    created: Option<(&str, &str)>,
) -> Result<String, HttpError> {
    let csrf = e(caller.csrf.as_deref().unwrap_or(""));
    let mut body = String::from("<h1>Tokens</h1>");
    if let Some((name, secret)) = created {
        let _ = write!(
            body,
            "<div class=notice><p>Token <b>{}</b> created. Copy it now: it is not shown again.</p>{}</div>",
            e(name),
            copy_line("newtoken", secret)
        );
    }
    body.push_str("<table><thead><tr><th>Name</th><th>Scope</th><th>Modules</th><th>Created</th><th>Starts</th><th></th></tr></thead><tbody>");
    for t in web.app.access.tokens.list().await? {
        let matches = if t.matches.is_empty() {
            "all".to_owned()
        } else {
            t.matches.join(", ")
        };
        let _ = write!(
            body,
            r#"<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><form method=post action="/ui/-/tokens/revoke" class=inline><input type=hidden name=csrf value="{csrf}"><input type=hidden name=name value="{name}"><button type=submit class=danger data-revoke="{name}">Revoke</button></form></td></tr>"#,
            t.scope.as_str(),
            e(&matches),
            e(&t.created),
            e(&t.prefix),
            name = e(&t.name),
        );
    }
    let _ = write!(
        body,
        r#"</tbody></table><h2>New token</h2><form method=post action="/ui/-/tokens" class=stack><input type=hidden name=csrf value="{csrf}"><label>Name <input name=name required maxlength=100></label><label>Scope <select name=scope><option>read</option><option>publish</option><option>admin</option></select></label><label>Modules (patterns, comma-separated; empty: all) <input name=match></label><button type=submit>Create</button></form>"#
    );
    Ok(body)
}

async fn post(
    web: &Web,
    caller: &Caller,
    rest: &str,
    request: &Parts,
    body: axum::body::Body,
) -> Result<Response, HttpError> {
    session::same_origin(&request.headers)?;
    let body = to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| HttpError::of_kind(modvault_error::ErrorKind::TooLarge, "form over 16 KiB"))?;
    let fields = session::form(&body);
    match rest {
        "-/login" => {
            let token = session::field(&fields, "token")
                .unwrap_or_default()
                .trim()
                .to_owned();
            match web.app.access.tokens.authenticate(&token).await? {
                Some(_) if !token.is_empty() => {
                    let mut response = redirect("/ui/");
                    response
                        .headers_mut()
                        .insert(header::SET_COOKIE, session::set_cookie(web, &token));
                    Ok(response)
                }
                _ => {
                    tracing::info!(target: "modvault::audit", event = "auth_failure", reason = "web login with an invalid token");
                    Ok(page(
                        Some(caller),
                        StatusCode::UNAUTHORIZED,
                        "Log in",
                        r#"<h1>Log in</h1><p class=error>That token is not valid (or was revoked).</p><form method=post action="/ui/-/login" class=stack><label>Token <input name=token type=password autocomplete=off required></label><button type=submit>Log in</button></form>"#,
                    ))
                }
            }
        }
        "-/logout" => {
            session::check_csrf(caller, session::field(&fields, "csrf"))?;
            let mut response = redirect("/ui/");
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session::clear_cookie(web));
            Ok(response)
        }
        "-/tokens" => {
            let admin = Web::require_admin(caller.principal.as_ref())?.name.clone();
            session::check_csrf(caller, session::field(&fields, "csrf"))?;
            let name = session::field(&fields, "name")
                .unwrap_or_default()
                .trim()
                .to_owned();
            let scope = session::field(&fields, "scope").unwrap_or("read");
            let matches: Vec<String> = session::field(&fields, "match")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let (secret, _) = api::create_token(web, &admin, &name, scope, matches).await?;
            let body = tokens_body(web, caller, Some((&name, &secret))).await?;
            Ok(page(Some(caller), StatusCode::OK, "Tokens", &body))
        }
        "-/refresh" => {
            session::check_csrf(caller, session::field(&fields, "csrf"))?;
            let module = session::field(&fields, "module").unwrap_or_default();
            api::refresh(web, caller.principal.as_ref(), module).await?;
            Ok(redirect(&module_href(module)))
        }
        "-/tokens/revoke" => {
            let admin = Web::require_admin(caller.principal.as_ref())?.name.clone();
            session::check_csrf(caller, session::field(&fields, "csrf"))?;
            let name = session::field(&fields, "name").unwrap_or_default();
            api::revoke_token(web, &admin, name).await?;
            Ok(redirect("/ui/-/tokens"))
        }
        _ => Err(HttpError::method_not_allowed()),
    }
}
