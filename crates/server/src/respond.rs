//! Turning proxy answers into responses with HTTP caching semantics.

use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body as HttpBody;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use modvault_proxy::{Answer, Body, FileRequest, Freshness, ModuleProxy};
use modvault_store::ObjectMeta;

use crate::error::HttpError;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub async fn answer(
    proxy: &ModuleProxy,
    file: &FileRequest,
    answer: Answer,
    method: &Method,
    request: &HeaderMap,
) -> Result<Response, HttpError> {
    let content_type = match file {
        FileRequest::List | FileRequest::GoMod(_) => "text/plain; charset=utf-8",
        FileRequest::Info(_) | FileRequest::Latest => "application/json",
        FileRequest::Zip(_) => "application/zip",
    };
    let cache_control = match answer.freshness {
        Freshness::Immutable => IMMUTABLE.to_owned(),
        Freshness::For(ttl) => format!("public, max-age={}", ttl.as_secs()),
    };
    let mut response = match answer.body {
        Body::Bytes(bytes) => {
            let len = bytes.len();
            let body = if method == Method::HEAD {
                HttpBody::empty()
            } else {
                HttpBody::from(bytes)
            };
            with_length(Response::new(body), len as u64)
        }
        // A zip still arriving: no length is known, and the body ends in an
        // error (not a clean end) if the zip turns out to be bad.
        Body::Streaming(stream) => {
            let body = if method == Method::HEAD {
                HttpBody::empty()
            } else {
                HttpBody::from_stream(stream)
            };
            Response::new(body)
        }
        Body::Stored { key, meta } => stored(proxy, &key, &meta, method, request).await?,
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    Ok(response)
}

async fn stored(
    proxy: &ModuleProxy,
    key: &str,
    meta: &ObjectMeta,
    method: &Method,
    request: &HeaderMap,
) -> Result<Response, HttpError> {
    let validators = |response: &mut Response| {
        let headers = response.headers_mut();
        if let Ok(etag) = HeaderValue::from_str(&meta.etag) {
            headers.insert(header::ETAG, etag);
        }
        if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(meta.modified)) {
            headers.insert(header::LAST_MODIFIED, date);
        }
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    };
    if not_modified(request, meta) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        validators(&mut response);
        return Ok(response);
    }
    let range = match requested_range(request, meta) {
        Some(Ok(range)) => Some(range),
        Some(Err(())) => return Err(HttpError::range_not_satisfiable(meta.size)),
        None => None,
    };
    let (status, span) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.clone()),
        None => (StatusCode::OK, 0..meta.size),
    };
    let body = if method == Method::HEAD {
        HttpBody::empty()
    } else {
        let object = proxy
            .store()
            .get(key, range)
            .await
            .map_err(|e| HttpError::from(modvault_proxy::ProxyError::from(e)))?
            .ok_or_else(|| HttpError::not_found(&format!("{key}: removed while being served")))?;
        HttpBody::from_stream(object.body)
    };
    let mut response = with_length(Response::new(body), span.end - span.start);
    *response.status_mut() = status;
    validators(&mut response);
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {}-{}/{}", span.start, span.end - 1, meta.size);
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

fn with_length(mut response: Response, len: u64) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// RFC 9110 §13.1.2/§13.1.3: If-None-Match wins over If-Modified-Since.
fn not_modified(request: &HeaderMap, meta: &ObjectMeta) -> bool {
    if let Some(value) = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let ours = meta.etag.trim_start_matches("W/");
        return value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours);
    }
    let since = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match since {
        Some(since) => whole_seconds(meta.modified) <= since,
        None => false,
    }
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A single `bytes=` range, resolved against the object's size. `None`
/// means "send everything" (no header, a syntax we ignore, several ranges, or
/// an If-Range that no longer matches); `Some(Err)` means unsatisfiable.
fn requested_range(request: &HeaderMap, meta: &ObjectMeta) -> Option<Result<Range<u64>, ()>> {
    let spec = request
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .trim()
        .strip_prefix("bytes=")?;
    if let Some(if_range) = request.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        if if_range.trim() != meta.etag {
            return None;
        }
    }
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    let size = meta.size;
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().ok()?;
        if suffix == 0 || size == 0 {
            return Some(Err(()));
        }
        size.saturating_sub(suffix)..size
    } else {
        let first: u64 = start.parse().ok()?;
        let last = if end.is_empty() {
            u64::MAX
        } else {
            end.parse::<u64>().ok()?
        };
        if last < first {
            return None;
        }
        if first >= size {
            return Some(Err(()));
        }
        first..last.saturating_add(1).min(size)
    };
    Some(Ok(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(size: u64) -> ObjectMeta {
        ObjectMeta {
            size,
            modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            etag: "\"abc\"".into(),
        }
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

    #[test]
    fn ranges() {
        let m = meta(100);
        let range = |spec: &str| requested_range(&headers(&[(header::RANGE, spec)]), &m);
        assert_eq!(range("bytes=0-9"), Some(Ok(0..10)));
        assert_eq!(range("bytes=90-"), Some(Ok(90..100)));
        assert_eq!(range("bytes=-5"), Some(Ok(95..100)));
        assert_eq!(range("bytes=95-200"), Some(Ok(95..100)));
        assert_eq!(range("bytes=100-"), Some(Err(())));
        assert_eq!(range("bytes=0-1,5-6"), None);
        assert_eq!(range("bytes=5-1"), None);
        assert_eq!(range("items=0-1"), None);
        let stale = headers(&[(header::RANGE, "bytes=0-1"), (header::IF_RANGE, "\"old\"")]);
        assert_eq!(requested_range(&stale, &m), None);
    }

    #[test]
    fn conditional_requests() {
        let m = meta(1);
        assert!(not_modified(
            &headers(&[(header::IF_NONE_MATCH, "\"x\", \"abc\"")]),
            &m
        ));
        assert!(not_modified(&headers(&[(header::IF_NONE_MATCH, "*")]), &m));
        assert!(!not_modified(
            &headers(&[(header::IF_NONE_MATCH, "\"x\"")]),
            &m
        ));
        let later = httpdate::fmt_http_date(m.modified + Duration::from_secs(10));
        let earlier = httpdate::fmt_http_date(m.modified - Duration::from_secs(10));
        assert!(not_modified(
            &headers(&[(header::IF_MODIFIED_SINCE, &later)]),
            &m
        ));
        assert!(!not_modified(
            &headers(&[(header::IF_MODIFIED_SINCE, &earlier)]),
            &m
        ));
    }
}
