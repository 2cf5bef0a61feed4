//! Who is asking: a token in `Authorization` (as for the protocol), or a
//! browser session, which is the token itself, entered once on the login
//! page and kept in an HttpOnly, SameSite cookie (Secure over TLS). Forms
//! that change anything carry a CSRF value derived from the session, and
//! cross-site posts are refused outright.

use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use modvault_access::Principal;
use modvault_server::HttpError;

use crate::Web;

pub const COOKIE: &str = "modvault_session";
/// Sessions last a working week; the token's own revocation ends them
/// sooner.
const MAX_AGE_SECS: u64 = 7 * 24 * 3600;

pub struct Caller {
    pub principal: Option<Principal>,
    /// The CSRF value forms must carry; `None` without a session.
    pub csrf: Option<String>,
    /// A session cookie whose token no longer works: the page clears it.
    pub stale_cookie: bool,
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn csrf_for(secret: &str) -> String {
    hex::encode(Sha256::digest(format!("modvault-csrf\0{secret}")))
}

pub async fn caller(web: &Web, request: &Parts) -> Result<Caller, HttpError> {
    let headers = &request.headers;
    if headers.contains_key(header::AUTHORIZATION) {
        let principal = web.app.access.caller(headers, crate::peer(request)).await?;
        return Ok(Caller {
            principal,
            csrf: None,
            stale_cookie: false,
        });
    }
    let Some(secret) = cookie_value(headers, COOKIE).filter(|s| !s.is_empty()) else {
        return Ok(Caller {
            principal: None,
            csrf: None,
            stale_cookie: false,
        });
    };
    match web.app.access.tokens.authenticate(secret).await? {
        Some(principal) => Ok(Caller {
            principal: Some(principal),
            csrf: Some(csrf_for(secret)),
            stale_cookie: false,
        }),
        None => Ok(Caller {
            principal: None,
            csrf: None,
            stale_cookie: true,
        }),
    }
}

pub fn set_cookie(web: &Web, secret: &str) -> HeaderValue {
    let secure = if web.settings.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECS}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("modvault_session=; Path=/; Max-Age=0"))
}

pub fn clear_cookie(web: &Web) -> HeaderValue {
    let secure = if web.settings.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("modvault_session=; Path=/; Max-Age=0"))
}

/// Refuses a state-changing request from another site: a browser names the
/// page's origin in `Origin` (and `Sec-Fetch-Site`); it must be this host.
pub fn same_origin(headers: &HeaderMap) -> Result<(), HttpError> {
    let refused = || HttpError::forbidden("cross-site request refused (CSRF)");
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site" || v == "same-site")
    {
        return Err(refused());
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or("null");
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// The CSRF value of a form must match the session's.
pub fn check_csrf(caller: &Caller, submitted: Option<&str>) -> Result<(), HttpError> {
    match (&caller.csrf, submitted) {
        (Some(expected), Some(given))
            if expected.len() == given.len()
                && expected
                    .bytes()
                    .zip(given.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0 =>
        {
            Ok(())
        }
        _ => Err(HttpError::forbidden(
            "missing or wrong CSRF value; reload the page and try again",
        )),
    }
}

/// `application/x-www-form-urlencoded` fields.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
