use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::TryStreamExt;
use modvault_store::FsStore;
use modvault_upstream::{FetchResult, ZipBody};

use modvault_error::{ErrorKind, HasKind};
use modvault_state::{CatalogQuery, Origin};
use modvault_store::{PutBody, PutMode, Store};
use modvault_testkit::hostile::RawEntry;
use modvault_upstream::{FetchError, Fetcher, RevInfo};

use super::*;

/// An in-memory upstream that counts what it is asked.
#[derive(Default)]
struct FakeUpstream {
    list: Mutex<Option<FetchResult<String>>>,
    infos: Mutex<HashMap<String, String>>,
    mods: Mutex<HashMap<String, Bytes>>,
    zips: Mutex<HashMap<String, Bytes>>,
    calls: Mutex<HashMap<&'static str, usize>>,
    zip_delay: Option<Duration>,
}

impl FakeUpstream {
    fn count(&self, what: &'static str) {
        *self.calls.lock().unwrap().entry(what).or_default() += 1;
    }
    fn calls(&self, what: &'static str) -> usize {
        self.calls.lock().unwrap().get(what).copied().unwrap_or(0)
    }
    fn add_version(&self, version: &str, zip: Bytes) {
        self.infos.lock().unwrap().insert(
            version.into(),
            format!(r#"{{"Version":"{version}","Time":"2024-01-01T00:00:00Z"}}"#),
        );
        self.mods
            .lock()
            .unwrap()
            .insert(version.into(), Bytes::from("module example.com/m\n"));
        self.zips.lock().unwrap().insert(version.into(), zip);
    }
}

fn missing(what: &str) -> FetchError {
    FetchError::NotFound(format!("{what}: not here"))
}

#[async_trait]
impl Fetcher for FakeUpstream {
    async fn list(&self, _module: &str) -> FetchResult<String> {
        self.count("list");
        self.list
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| Err(missing("list")))
    }
    async fn latest(&self, _module: &str) -> FetchResult<RevInfo> {
        self.count("latest");
        Err(missing("latest"))
    }
    async fn info(&self, _module: &str, query: &str) -> FetchResult<RevInfo> {
        self.count("info");
        let query = if query == "main" { "v1.0.0" } else { query };
        let raw = self
            .infos
            .lock()
            .unwrap()
            .get(query)
            .cloned()
            .ok_or_else(|| missing(query))?;
        Ok(RevInfo::parse(Bytes::from(raw)).unwrap())
    }
    async fn go_mod(&self, _module: &str, version: &str) -> FetchResult<Bytes> {
        self.count("mod");
        self.mods
            .lock()
            .unwrap()
            .get(version)
            .cloned()
            .ok_or_else(|| missing(version))
    }
    async fn zip(&self, _module: &str, version: &str) -> FetchResult<ZipBody> {
        self.count("zip");
        let zip = self
            .zips
            .lock()
            .unwrap()
            .get(version)
            .cloned()
            .ok_or_else(|| missing(version))?;
        let delay = self.zip_delay;
        // Deliver in small pieces, slowly if asked, so readers join mid-way.
        let pieces: Vec<std::io::Result<Bytes>> = zip
            .chunks(1000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let stream = futures::stream::iter(pieces).then(move |piece| async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            piece
        });
        Ok(ZipBody {
            from_vcs: false,
            declared_len: Some(zip.len() as u64),
            stream: Box::pin(stream),
        })
    }
}

use futures::StreamExt;

fn module_zip(prefix: &str, files: &[(&str, &[u8])]) -> Bytes {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    for (name, content) in files {
        writer
            .start_file(
                format!("{prefix}{name}"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap();
    Bytes::from(out.into_inner())
}

/// A zip of about 20 KB that does not compress: 20 pieces from the fake
/// upstream.
fn noisy_zip(version: &str) -> Bytes {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let noise: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    module_zip(
        &format!("example.com/m@{version}/"),
        &[("go.mod", b"module example.com/m\n"), ("noise.bin", &noise)],
    )
}

fn good_zip(version: &str) -> Bytes {
    let big = vec![b'x'; 20_000];
    module_zip(
        &format!("example.com/m@{version}/"),
        &[("go.mod", b"module example.com/m\n"), ("m.go", &big)],
    )
}

struct Setup {
    dir: tempfile::TempDir,
    upstream: Arc<FakeUpstream>,
    proxy: ModuleProxy,
    state: ProxyState,
    module: Module,
}

fn setup(upstream: FakeUpstream, list_ttl: Duration) -> Setup {
    setup_with(upstream, |settings| ProxySettings {
        list_ttl,
        max_concurrent_fetches: 8,
        ..settings
    })
}

fn setup_with(upstream: FakeUpstream, tune: impl FnOnce(ProxySettings) -> ProxySettings) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(FsStore::open(dir.path().join("data")).unwrap());
    let upstream = Arc::new(upstream);
    let settings = tune(ProxySettings::new(dir.path().join("spool")));
    let state = test_state(dir.path());
    let proxy = ModuleProxy::new(
        store,
        Sources::single(upstream.clone()),
        settings,
        Integrity::default(),
        state.clone(),
    )
    .unwrap();
    Setup {
        dir,
        upstream,
        proxy,
        state,
        module: Module::new("example.com/m").unwrap(),
    }
}

/// Embedded leases and a catalog in `dir`.
fn test_state(dir: &std::path::Path) -> ProxyState {
    ProxyState {
        leases: Arc::new(modvault_state::embedded::LocalLeases::default()),
        catalog: Arc::new(
            modvault_state::embedded::SqliteCatalog::open(&dir.join("catalog.sqlite")).unwrap(),
        ),
        failures: None,
    }
}

/// A request on the default route (the upstream chain).
fn request(module: &Module, file: &FileRequest, policy: FetchPolicy) -> Request {
    Request {
        module: module.clone(),
        route: Route::DEFAULT,
        file: file.clone(),
        policy,
    }
}

async fn body_bytes(proxy: &ModuleProxy, answer: Answer) -> std::io::Result<Bytes> {
    let stream = match answer.body {
        Body::Bytes(bytes) => return Ok(bytes),
        Body::Streaming(stream) => stream,
        Body::Stored { key, .. } => proxy.store().get(&key, None).await.unwrap().unwrap().body,
    };
    let chunks: Vec<Bytes> = stream.try_collect().await?;
    Ok(Bytes::from(chunks.concat()))
}

async fn wait_for_key(proxy: &ModuleProxy, key: &str) -> bool {
    for _ in 0..200 {
        if proxy.store().head(key).await.unwrap().is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_zip_misses_make_one_fetch_and_identical_bodies() {
    let upstream = FakeUpstream {
        zip_delay: Some(Duration::from_millis(2)),
        ..Default::default()
    };
    let zip = good_zip("v1.0.0");
    upstream.add_version("v1.0.0", zip.clone());
    let s = setup(upstream, Duration::from_secs(60));
    let mut clients = Vec::new();
    for _ in 0..50 {
        let (proxy, module) = (s.proxy.clone(), s.module.clone());
        clients.push(tokio::spawn(async move {
            let answer = proxy
                .serve(&request(
                    &module,
                    &FileRequest::Zip("v1.0.0".into()),
                    FetchPolicy::FetchOnMiss,
                ))
                .await
                .unwrap();
            body_bytes(&proxy, answer).await.unwrap()
        }));
    }
    for client in clients {
        assert_eq!(client.await.unwrap(), zip);
    }
    assert_eq!(s.upstream.calls("zip"), 1);
    assert!(wait_for_key(&s.proxy, "example.com/m/@v/v1.0.0.zip").await);
    // Metadata arrives in the background after a zip miss.
    assert!(wait_for_key(&s.proxy, "example.com/m/@v/v1.0.0.mod").await);
    let again = s
        .proxy
        .serve(&request(
            &s.module,
            &FileRequest::Zip("v1.0.0".into()),
            FetchPolicy::FetchOnMiss,
        ))
        .await
        .unwrap();
    assert!(matches!(again.body, Body::Stored { .. }));
    assert_eq!(again.freshness, Freshness::Immutable);
    assert_eq!(s.upstream.calls("zip"), 1);
}

#[tokio::test]
async fn an_invalid_zip_fails_the_stream_and_is_never_stored() {
    let upstream = FakeUpstream::default();
    let wrong_prefix = module_zip(
        "example.com/other@v1.0.0/",
        &[("go.mod", b"module example.com/other\n")],
    );
    upstream.add_version("v1.0.0", wrong_prefix);
    upstream.add_version(
        "v1.0.1",
        Bytes::from_static(b"PK\x03\x04 truncated garbage"),
    );
    let s = setup(upstream, Duration::from_secs(60));
    for version in ["v1.0.0", "v1.0.1"] {
        let answer = s
            .proxy
            .serve(&request(
                &s.module,
                &FileRequest::Zip(version.into()),
                FetchPolicy::FetchOnMiss,
            ))
            .await
            .unwrap();
        let err = body_bytes(&s.proxy, answer).await.unwrap_err();
        assert!(err.to_string().contains("upstream zip rejected"), "{err}");
    }
    assert!(s
        .proxy
        .store()
        .list("example.com/m/@v/")
        .await
        .unwrap()
        .iter()
        .all(|k| !k.ends_with(".zip")));
}

#[tokio::test]
async fn info_miss_stores_info_mod_and_zip() {
    let upstream = FakeUpstream::default();
    upstream.add_version("v1.0.0", good_zip("v1.0.0"));
    let s = setup(upstream, Duration::from_secs(60));
    let answer = s
        .proxy
        .serve(&request(
            &s.module,
            &FileRequest::Info("v1.0.0".into()),
            FetchPolicy::FetchOnMiss,
        ))
        .await
        .unwrap();
    assert_eq!(answer.freshness, Freshness::Immutable);
    assert!(body_bytes(&s.proxy, answer)
        .await
        .unwrap()
        .starts_with(br#"{"Version":"v1.0.0""#));
    assert!(wait_for_key(&s.proxy, "example.com/m/@v/v1.0.0.mod").await);
    assert!(wait_for_key(&s.proxy, "example.com/m/@v/v1.0.0.zip").await);
    let go_mod = s
        .proxy
        .serve(&request(
            &s.module,
            &FileRequest::GoMod("v1.0.0".into()),
            FetchPolicy::FetchOnMiss,
        ))
        .await
        .unwrap();
    assert_eq!(
        body_bytes(&s.proxy, go_mod).await.unwrap(),
        Bytes::from("module example.com/m\n")
    );
    assert_eq!((s.upstream.calls("info"), s.upstream.calls("mod")), (1, 1));
}

#[tokio::test]
async fn a_lying_upstream_is_an_error_not_a_cache_entry() {
    let upstream = FakeUpstream::default();
    upstream
        .infos
        .lock()
        .unwrap()
        .insert("v1.0.0".into(), r#"{"Version":"v1.0.1"}"#.into());
    let s = setup(upstream, Duration::from_secs(60));
    let err = s
        .proxy
        .serve(&request(
            &s.module,
            &FileRequest::Info("v1.0.0".into()),
            FetchPolicy::FetchOnMiss,
        ))
        .await
        .err()
        .unwrap();
    assert!(
        err.kind() == ErrorKind::Unavailable
            && err.to_string().contains("instead of requested version"),
        "{err:?}"
    );
    assert!(s
        .proxy
        .store()
        .head("example.com/m/@v/v1.0.0.info")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn queries_resolve_to_canonical_versions() {
    let upstream = FakeUpstream::default();
    upstream.add_version("v1.0.0", good_zip("v1.0.0"));
    let s = setup(upstream, Duration::from_secs(60));
    let answer = s
        .proxy
        .serve(&request(
            &s.module,
            &FileRequest::Info("main".into()),
            FetchPolicy::FetchOnMiss,
        ))
        .await
        .unwrap();
    assert_eq!(answer.freshness, Freshness::For(Duration::from_secs(60)));
    assert!(body_bytes(&s.proxy, answer)
        .await
        .unwrap()
        .starts_with(br#"{"Version":"v1.0.0""#));
    assert!(s
        .proxy
        .store()
        .head("example.com/m/@v/v1.0.0.info")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn list_is_fresh_then_refetched_then_served_stale() {
    let upstream = FakeUpstream::default();
    *upstream.list.lock().unwrap() = Some(Ok("v1.0.0\n".into()));
    let s = setup(upstream, Duration::from_millis(300));
    let list_request = request(&s.module, &FileRequest::List, FetchPolicy::FetchOnMiss);
    let list = || s.proxy.serve(&list_request);
    assert_eq!(
        body_bytes(&s.proxy, list().await.unwrap()).await.unwrap(),
        "v1.0.0\n"
    );
    assert_eq!(
        body_bytes(&s.proxy, list().await.unwrap()).await.unwrap(),
        "v1.0.0\n"
    );
    assert_eq!(s.upstream.calls("list"), 1, "a fresh list is not refetched");

    tokio::time::sleep(Duration::from_millis(350)).await;
    *s.upstream.list.lock().unwrap() = Some(Ok("v1.0.0\nv1.1.0\n".into()));
    assert_eq!(
        body_bytes(&s.proxy, list().await.unwrap()).await.unwrap(),
        "v1.0.0\nv1.1.0\n"
    );
    assert_eq!(s.upstream.calls("list"), 2);

    tokio::time::sleep(Duration::from_millis(350)).await;
    *s.upstream.list.lock().unwrap() = Some(Err(FetchError::Upstream("connection refused".into())));
    assert_eq!(
        body_bytes(&s.proxy, list().await.unwrap()).await.unwrap(),
        "v1.0.0\nv1.1.0\n"
    );
    assert_eq!(s.upstream.calls("list"), 3);
}

#[tokio::test]
async fn not_found_is_remembered_and_cached_only_never_fetches() {
    let s = setup(FakeUpstream::default(), Duration::from_secs(60));
    for _ in 0..3 {
        let err = s
            .proxy
            .serve(&request(
                &s.module,
                &FileRequest::List,
                FetchPolicy::FetchOnMiss,
            ))
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
    assert_eq!(s.upstream.calls("list"), 1);
    let other = Module::new("example.com/other").unwrap();
    let err = s
        .proxy
        .serve(&request(
            &other,
            &FileRequest::Zip("v1.0.0".into()),
            FetchPolicy::CachedOnly,
        ))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, ProxyError::NotFound(ref m) if m.contains("not cached")),
        "{err:?}"
    );
    assert_eq!(s.upstream.calls("zip"), 0);
}

#[tokio::test]
async fn invalid_versions_are_not_found_without_asking_upstream() {
    let s = setup(FakeUpstream::default(), Duration::from_secs(60));
    for bad in ["v1.0", "v2.0.0", "latest", "v1.0.0+meta"] {
        let err = s
            .proxy
            .serve(&request(
                &s.module,
                &FileRequest::GoMod(bad.into()),
                FetchPolicy::FetchOnMiss,
            ))
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{bad}: {err:?}");
    }
    assert_eq!(s.upstream.calls("mod"), 0);
    assert!(Module::new("Example.com/x").is_err());
    assert!(Module::new("example.com/x/v1").is_err());
}

#[tokio::test]
async fn list_includes_versions_stored_here() {
    let upstream = FakeUpstream::default();
    *upstream.list.lock().unwrap() = Some(Ok("v1.0.0".into()));
    let s = setup(upstream, Duration::from_secs(60));
    for key in [
        "example.com/m/@v/v1.2.0.mod",
        "example.com/m/@v/v0.0.0-20240101000000-abcdefabcdef.mod",
    ] {
        s.proxy
            .store()
            .put(key, PutBody::Bytes(Bytes::new()), PutMode::CreateOnly)
            .await
            .unwrap();
    }
    let answer = s
        .proxy
        .serve(&request(
            &s.module,
            &FileRequest::List,
            FetchPolicy::FetchOnMiss,
        ))
        .await
        .unwrap();
    assert_eq!(
        body_bytes(&s.proxy, answer).await.unwrap(),
        "v1.0.0\nv1.2.0\n"
    );
}

#[tokio::test]
async fn stored_versions_are_catalogued_with_origin_and_last_served() {
    let upstream = FakeUpstream::default();
    let zip = good_zip("v1.0.0");
    upstream.add_version("v1.0.0", zip.clone());
    let s = setup(upstream, Duration::from_secs(60));
    let zip_request = request(
        &s.module,
        &FileRequest::Zip("v1.0.0".into()),
        FetchPolicy::FetchOnMiss,
    );
    body_bytes(&s.proxy, s.proxy.serve(&zip_request).await.unwrap())
        .await
        .unwrap();
    let entries = s
        .state
        .catalog
        .search(&CatalogQuery::module("example.com/m"))
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (entries[0].origin, entries[0].size),
        (Origin::Upstream, zip.len() as u64)
    );
    // The fetch served a client: noted for eviction and as a miss.
    let first = entries[0]
        .last_served
        .expect("a fetched download is a serve");
    // Served again, from the store: a hit.
    body_bytes(&s.proxy, s.proxy.serve(&zip_request).await.unwrap())
        .await
        .unwrap();
    let entries = s
        .state
        .catalog
        .search(&CatalogQuery::module("example.com/m"))
        .await
        .unwrap();
    assert!(entries[0].last_served.unwrap() >= first);
    assert_eq!(
        s.state.catalog.downloads("example.com/m").await.unwrap(),
        [("v1.0.0".to_owned(), 2)]
    );
    let today = s.state.catalog.daily_downloads(1).await.unwrap();
    assert_eq!((today[0].hits, today[0].misses), (1, 1), "{today:?}");

    let published = module_zip(
        "example.com/m@v1.1.0/",
        &[("go.mod", b"module example.com/m\n")],
    );
    let body: modvault_store::ByteStream = Box::pin(futures::stream::iter([Ok(published)]));
    assert!(
        s.proxy
            .publish(&s.module, "v1.1.0", body)
            .await
            .unwrap()
            .created
    );
    let entries = s
        .state
        .catalog
        .search(&CatalogQuery::module("example.com/m"))
        .await
        .unwrap();
    let origins: Vec<_> = entries
        .iter()
        .map(|e| (e.version.as_str(), e.origin))
        .collect();
    assert_eq!(
        origins,
        [("v1.0.0", Origin::Upstream), ("v1.1.0", Origin::Published)]
    );
}

#[tokio::test]
async fn an_empty_catalog_is_filled_from_the_store() {
    let upstream = FakeUpstream::default();
    upstream.add_version("v1.0.0", good_zip("v1.0.0"));
    let s = setup(upstream, Duration::from_secs(60));
    let zip_request = request(
        &s.module,
        &FileRequest::Zip("v1.0.0".into()),
        FetchPolicy::FetchOnMiss,
    );
    body_bytes(&s.proxy, s.proxy.serve(&zip_request).await.unwrap())
        .await
        .unwrap();
    // Things in the store that are not module zips are not versions.
    for key in [
        "sumdb/sum.golang.org/tile/8/0/000",
        "example.com/m/@v/list",
        "example.com/m/@v/v9.zip",
    ] {
        s.proxy
            .store()
            .put(
                key,
                PutBody::Bytes(Bytes::from_static(b"x")),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
    }

    // The same store with a new, empty catalog (an upgrade).
    let fresh =
        modvault_state::embedded::SqliteCatalog::open(&s.dir.path().join("new-catalog.sqlite"))
            .unwrap();
    let state = ProxyState {
        leases: s.state.leases.clone(),
        catalog: Arc::new(fresh),
        failures: None,
    };
    let settings = ProxySettings {
        list_ttl: Duration::from_secs(60),
        max_concurrent_fetches: 1,
        ..ProxySettings::new(s.dir.path().join("spool2"))
    };
    let proxy = ModuleProxy::new(
        s.proxy.store().clone(),
        Sources::single(s.upstream.clone()),
        settings,
        Integrity::default(),
        state.clone(),
    )
    .unwrap();
    assert_eq!(proxy.backfill_catalog().await.unwrap(), 1);
    let entries = state
        .catalog
        .search(&CatalogQuery::module("example.com/m"))
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].version.as_str(), entries[0].origin),
        ("v1.0.0", Origin::Unknown)
    );
    assert_eq!(
        proxy.backfill_catalog().await.unwrap(),
        0,
        "only an empty catalog is filled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_stored_by_another_process_while_waiting_for_the_lease_is_not_fetched() {
    let upstream = FakeUpstream::default();
    let zip = good_zip("v1.0.0");
    upstream.add_version("v1.0.0", zip.clone());
    let s = setup(upstream, Duration::from_secs(60));
    let key = "example.com/m/@v/v1.0.0.zip";
    // Another replica holds the lease and is fetching.
    let lease = s.state.leases.acquire(key).await.unwrap();
    let (proxy, module) = (s.proxy.clone(), s.module.clone());
    let client = tokio::spawn(async move {
        let zip_request = request(
            &module,
            &FileRequest::Zip("v1.0.0".into()),
            FetchPolicy::FetchOnMiss,
        );
        let answer = proxy.serve(&zip_request).await.unwrap();
        body_bytes(&proxy, answer).await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !client.is_finished(),
        "the client waits for the lease holder"
    );
    // ... which stores the zip and lets go.
    s.proxy
        .store()
        .put(key, PutBody::Bytes(zip.clone()), PutMode::CreateOnly)
        .await
        .unwrap();
    drop(lease);
    assert_eq!(client.await.unwrap(), zip);
    assert_eq!(s.upstream.calls("zip"), 0, "one fetch across processes");
}

/// Stored entries in a zip no writer library would make (two entries may
/// share a name).
fn raw_zip(entries: &[(&str, &[u8])]) -> Bytes {
    let entries: Vec<RawEntry> = entries
        .iter()
        .map(|(name, data)| RawEntry::stored(name, data))
        .collect();
    Bytes::from(modvault_testkit::hostile::raw_zip(&entries))
}

#[tokio::test]
async fn zips_with_two_entries_for_one_file_are_refused_from_upstream_and_upload() {
    let duplicate = |version: &str| {
        let go_mod = format!("example.com/m@{version}/go.mod");
        let code = format!("example.com/m@{version}/m.go");
        raw_zip(&[
            (&go_mod, b"module example.com/m\n"),
            (&code, b"package m\n"),
            (&code, b"package m // again\n"),
        ])
    };
    let upstream = FakeUpstream::default();
    upstream.add_version("v1.0.0", duplicate("v1.0.0"));
    // The same writer without the duplicate makes a zip that is accepted.
    let single = raw_zip(&[("example.com/m@v1.0.1/go.mod", b"module example.com/m\n")]);
    upstream.add_version("v1.0.1", single);
    let s = setup(upstream, Duration::from_secs(60));
    let zip_request = |v: &str| {
        request(
            &s.module,
            &FileRequest::Zip(v.into()),
            FetchPolicy::FetchOnMiss,
        )
    };
    let err = body_bytes(
        &s.proxy,
        s.proxy.serve(&zip_request("v1.0.0")).await.unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("multiple entries for file"),
        "{err}"
    );
    assert!(s
        .proxy
        .store()
        .head("example.com/m/@v/v1.0.0.zip")
        .await
        .unwrap()
        .is_none());
    body_bytes(
        &s.proxy,
        s.proxy.serve(&zip_request("v1.0.1")).await.unwrap(),
    )
    .await
    .unwrap();

    let body: modvault_store::ByteStream =
        Box::pin(futures::stream::iter([Ok(duplicate("v1.2.0"))]));
    let err = s
        .proxy
        .publish(&s.module, "v1.2.0", body)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(
        err.to_string().contains("multiple entries for file"),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_publishes_of_one_version_end_in_one_201_and_conflicts() {
    let s = setup(FakeUpstream::default(), Duration::from_secs(60));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (proxy, module) = (s.proxy.clone(), s.module.clone());
        tasks.push(tokio::spawn(async move {
            let content = format!("package m\n\nconst N = {i}\n");
            let zip = module_zip(
                "example.com/m@v1.0.0/",
                &[
                    ("go.mod", b"module example.com/m\n"),
                    ("m.go", content.as_bytes()),
                ],
            );
            let body: modvault_store::ByteStream = Box::pin(futures::stream::iter([Ok(zip)]));
            proxy.publish(&module, "v1.0.0", body).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(published) => {
                assert!(published.created);
                created += 1;
            }
            Err(e) => assert_eq!(
                e.kind(),
                ErrorKind::Conflict,
                "every loser is a conflict: {e}"
            ),
        }
    }
    assert_eq!(created, 1);
    assert!(
        std::fs::read_dir(s.dir.path().join("spool"))
            .unwrap()
            .next()
            .is_none(),
        "no spool file is left"
    );
}

#[tokio::test]
async fn a_failing_upstream_is_asked_once_per_failure_ttl() {
    let s = setup(FakeUpstream::default(), Duration::from_secs(60));
    *s.upstream.list.lock().unwrap() = Some(Err(FetchError::Upstream("502 Bad Gateway".into())));
    for _ in 0..5 {
        let err = s
            .proxy
            .serve(&request(
                &s.module,
                &FileRequest::List,
                FetchPolicy::FetchOnMiss,
            ))
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }
    assert_eq!(
        s.upstream.calls("list"),
        1,
        "retries within upstream_failure_ttl are answered from memory"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_zips_neither_starve_small_fetches_nor_queue_for_ever() {
    let upstream = FakeUpstream {
        zip_delay: Some(Duration::from_millis(100)),
        ..Default::default()
    };
    for v in ["v1.0.0", "v1.0.1", "v1.0.2", "v1.0.3"] {
        upstream.add_version(v, noisy_zip(v));
    }
    let s = setup_with(upstream, |settings| ProxySettings {
        max_concurrent_zip_fetches: 2,
        max_concurrent_fetches: 2,
        fetch_slot_wait: Duration::from_millis(300),
        zip_min_rate: 0,
        ..settings
    });
    // Two slow zips take every zip slot...
    let mut slow = Vec::new();
    for v in ["v1.0.0", "v1.0.1"] {
        let (proxy, module) = (s.proxy.clone(), s.module.clone());
        slow.push(tokio::spawn(async move {
            let answer = proxy
                .serve(&request(
                    &module,
                    &FileRequest::Zip(v.into()),
                    FetchPolicy::FetchOnMiss,
                ))
                .await;
            body_bytes(&proxy, answer.unwrap()).await.unwrap()
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ... yet a metadata miss is answered while they still arrive,
    let info = request(
        &s.module,
        &FileRequest::Info("v1.0.3".into()),
        FetchPolicy::FetchOnMiss,
    );
    s.proxy.serve(&info).await.unwrap();
    assert!(
        slow.iter().all(|task| !task.is_finished()),
        "the zips were still arriving"
    );
    // and a third zip is refused after fetch_slot_wait instead of waiting
    // for them.
    let third = request(
        &s.module,
        &FileRequest::Zip("v1.0.2".into()),
        FetchPolicy::FetchOnMiss,
    );
    let err = match s.proxy.serve(&third).await {
        Err(e) => e,
        Ok(answer) => body_bytes(&s.proxy, answer)
            .await
            .map(|_| ())
            .map_err(|e| ProxyError::BadUpstream(e.to_string()))
            .unwrap_err(),
    };
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("busy"), "{err}");
    for task in slow {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn a_zip_dripping_under_the_minimum_rate_is_abandoned() {
    let upstream = FakeUpstream {
        zip_delay: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    upstream.add_version("v1.0.0", noisy_zip("v1.0.0"));
    // 1000-byte pieces every 50 ms: 20 KB/s, under the 100 KB/s asked.
    let s = setup_with(upstream, |settings| ProxySettings {
        zip_min_rate: 100_000,
        rate_window: Duration::from_millis(200),
        ..settings
    });
    let zip = request(
        &s.module,
        &FileRequest::Zip("v1.0.0".into()),
        FetchPolicy::FetchOnMiss,
    );
    let err = body_bytes(&s.proxy, s.proxy.serve(&zip).await.unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("under upstream_min_rate"), "{err}");
    assert!(s
        .proxy
        .store()
        .head("example.com/m/@v/v1.0.0.zip")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_fetch_nobody_waits_for_any_more_is_stopped() {
    let upstream = FakeUpstream {
        zip_delay: Some(Duration::from_millis(20)),
        ..Default::default()
    };
    upstream.add_version("v1.0.0", noisy_zip("v1.0.0"));
    let s = setup_with(upstream, |settings| ProxySettings {
        zip_min_rate: 0,
        ..settings
    });
    let zip = request(
        &s.module,
        &FileRequest::Zip("v1.0.0".into()),
        FetchPolicy::FetchOnMiss,
    );
    let Body::Streaming(mut stream) = s.proxy.serve(&zip).await.unwrap().body else {
        panic!("a miss streams")
    };
    stream.next().await.unwrap().unwrap();
    drop(stream); // the client went away
                  // Long enough for the whole zip (about 21 pieces of 20 ms) to arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        s.proxy
            .store()
            .head("example.com/m/@v/v1.0.0.zip")
            .await
            .unwrap()
            .is_none(),
        "the fetch went on"
    );
    // The next request fetches again, and completes.
    let again = body_bytes(&s.proxy, s.proxy.serve(&zip).await.unwrap())
        .await
        .unwrap();
    assert_eq!(again, noisy_zip("v1.0.0"));
    assert_eq!(s.upstream.calls("zip"), 2);
}
