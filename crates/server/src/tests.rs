use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, Request, StatusCode};
use modvault_proxy::ProxySettings;
use modvault_store::FsStore;
use modvault_upstream::FileProxy;
use tower::ServiceExt;

use super::*;

struct App {
    _dir: tempfile::TempDir,
    router: Router,
}

/// A server whose upstream is a file tree holding example.com/Upper v1.0.0.
fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("upstream/example.com/!upper/@v");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("list"), "v1.0.0\n").unwrap();
    std::fs::write(
        tree.join("v1.0.0.info"),
        r#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    std::fs::write(tree.join("v1.0.0.mod"), "module example.com/Upper\n").unwrap();
    let store = Arc::new(FsStore::open(dir.path().join("data")).unwrap());
    let settings = ProxySettings {
        list_ttl: Duration::from_secs(60),
        max_concurrent_fetches: 4,
        ..ProxySettings::new(dir.path().join("spool"))
    };
    let fetcher = Arc::new(FileProxy::new(dir.path().join("upstream")));
    let shared = modvault_state::SharedState::embedded(&modvault_state::embedded::EmbeddedPaths {
        tokens_file: dir.path().join("tokens.json"),
        log_dir: None,
        catalog_file: dir.path().join("catalog.sqlite"),
    })
    .unwrap();
    let proxy = ModuleProxy::new(
        store,
        modvault_proxy::Sources::single(fetcher),
        settings,
        modvault_proxy::Integrity::default(),
        modvault_proxy::ProxyState {
            leases: shared.leases,
            catalog: shared.catalog,
            failures: shared.failures,
        },
    )
    .unwrap();
    let tokens = shared.tokens;
    App {
        _dir: dir,
        router: router(AppState {
            proxy,
            sumdb_relay: None,
            access: Arc::new(Access {
                tokens,
                policy: modvault_access::AccessPolicy::default(),
                failures: FailedAuth::default(),
            }),
            rules: Arc::new(RuleSet::default()),
            edge: EdgeSettings::default(),
        }),
    }
}

async fn send(
    app: &App,
    method: &str,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, bytes)
}

#[tokio::test]
async fn serves_escaped_paths_with_caching_headers() {
    let app = app();
    let (status, headers, body) = send(&app, "GET", "/example.com/%21upper/@v/list", &[]).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"v1.0.0\n"[..]));
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=60");
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");

    let (status, headers, body) = send(&app, "GET", "/example.com/!upper/@v/v1.0.0.mod", &[]).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &b"module example.com/Upper\n"[..])
    );
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(headers.contains_key(header::LAST_MODIFIED));

    let (status, _, body) = send(
        &app,
        "GET",
        "/example.com/!upper/@v/v1.0.0.mod",
        &[(header::IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));

    let (status, headers, body) = send(
        &app,
        "GET",
        "/example.com/!upper/@v/v1.0.0.mod",
        &[(header::RANGE, "bytes=0-5")],
    )
    .await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::PARTIAL_CONTENT, &b"module"[..])
    );
    assert_eq!(headers[header::CONTENT_RANGE], "bytes 0-5/25");

    let (status, headers, body) =
        send(&app, "HEAD", "/example.com/!upper/@v/v1.0.0.info", &[]).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CONTENT_LENGTH], "50");

    let (status, _, _) = send(
        &app,
        "GET",
        "/example.com/!upper/@v/v1.0.0.mod",
        &[(header::RANGE, "bytes=99-")],
    )
    .await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn errors_are_404_with_a_one_line_reason() {
    let app = app();
    for uri in [
        "/example.com/Upper/@v/list",
        "/example.com/missing/@v/list",
        "/github.com/@v/list",
        "/example.com/x/v1/@v/v1.0.0.info",
        "/example.com/!upper/@v/v1.0.0.tar",
        "/nothing-here",
    ] {
        let (status, headers, body) = send(&app, "GET", uri, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        let text = std::str::from_utf8(&body).unwrap();
        assert!(
            text.starts_with("not found: ") && text.ends_with('\n') && text.lines().count() == 1,
            "{uri}: {text:?}"
        );
    }
    let (status, headers, _) = send(&app, "POST", "/example.com/!upper/@v/list", &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::ALLOW], "GET, HEAD, PUT");
}

#[tokio::test]
async fn cached_only_answers_from_the_store() {
    let app = app();
    let (status, _, _) = send(
        &app,
        "GET",
        "/cached-only/example.com/!upper/@v/v1.0.0.info",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(
        &app,
        "GET",
        "/example.com/!upper/@v/v1.0.0.info",
        &[("disable-module-fetch".parse().unwrap(), "true")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&app, "GET", "/example.com/!upper/@v/v1.0.0.info", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = send(
        &app,
        "GET",
        "/cached-only/example.com/!upper/@v/v1.0.0.info",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(br#"{"Version":"v1.0.0""#));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = app();
    assert_eq!(send(&app, "GET", "/healthz", &[]).await.0, StatusCode::OK);
    assert_eq!(send(&app, "GET", "/readyz", &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_path_the_store_cannot_name_is_not_found_on_every_route() {
    let app = app();
    // Valid as a module path, but one element is longer than a file name
    // may be (ENAMETOOLONG from the store).
    let long = format!("example.com/{}", "a".repeat(300));
    // The parent directory must exist for the file system to look at the
    // long name at all.
    assert_eq!(
        send(&app, "GET", "/example.com/!upper/@v/list", &[])
            .await
            .0,
        StatusCode::OK
    );
    for file in [
        "@v/list",
        "@latest",
        "@v/v1.0.0.info",
        "@v/v1.0.0.mod",
        "@v/v1.0.0.zip",
        "@v/main.info",
    ] {
        for base in ["", "/cached-only"] {
            let uri = format!("{base}/{long}/{file}");
            let (status, _, body) = send(&app, "GET", &uri, &[]).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{base}/…/{file}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    // And a long version.
    let uri = format!("/example.com/!upper/@v/v1.0.0-{}.info", "a".repeat(300));
    assert_eq!(send(&app, "GET", &uri, &[]).await.0, StatusCode::NOT_FOUND);
}
