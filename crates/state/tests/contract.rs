//! The contract every implementation of the state traits meets, run
//! against the embedded one (data directory) and the PostgreSQL one (a real
//! server started by testkit). "Replicas" are several handles on the same
//! state: for the embedded state, the same process's handle (it is single
//! process by design; a second token file reader is a real second view);
//! for PostgreSQL, separate connection pools, as separate processes have.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use modvault_access::{Scope, TokenStore};
use modvault_error::{ErrorKind, HasKind};
use modvault_state::embedded::{EmbeddedPaths, FileTokens};
use modvault_state::postgres::PgSettings;
use modvault_state::{
    CatalogEntry, CatalogQuery, ChecksumLog, Match, Origin, ServedFrom, SharedState, Tokens,
};
use modvault_sumdb::tlog::{self, stored_hashes, Hash, HashReader};
use modvault_testkit::Postgres;

/// Opens another replica's view of one shared state.
#[async_trait::async_trait]
trait Backend: Send + Sync {
    async fn replica(&self) -> SharedState;
    /// A token store as a separate process sees it.
    async fn other_tokens(&self) -> Arc<dyn Tokens>;
}

struct Embedded {
    dir: tempfile::TempDir,
    state: SharedState,
}

impl Embedded {
    fn new() -> Embedded {
        let dir = tempfile::tempdir().unwrap();
        let paths = EmbeddedPaths {
            tokens_file: dir.path().join("tokens.json"),
            log_dir: Some(dir.path().join("log")),
            catalog_file: dir.path().join("catalog.sqlite"),
        };
        let state = SharedState::embedded(&paths).unwrap();
        Embedded { dir, state }
    }
}

#[async_trait::async_trait]
impl Backend for Embedded {
    async fn replica(&self) -> SharedState {
        self.state.clone()
    }
    async fn other_tokens(&self) -> Arc<dyn Tokens> {
        let store = TokenStore::open(&self.dir.path().join("tokens.json")).unwrap();
        Arc::new(FileTokens(Arc::new(store)))
    }
}

struct Pg {
    _server: Arc<Postgres>,
    url: String,
}

impl Pg {
    fn new() -> Pg {
        let server = Postgres::shared();
        let url = server.database();
        Pg {
            _server: server,
            url,
        }
    }
}

#[async_trait::async_trait]
impl Backend for Pg {
    async fn replica(&self) -> SharedState {
        SharedState::postgres(&PgSettings {
            url: &self.url,
            log_name: Some("sum.test.example"),
        })
        .await
        .unwrap()
    }
    async fn other_tokens(&self) -> Arc<dyn Tokens> {
        self.replica().await.tokens
    }
}

/// Polls `check` until it holds; fails after a generous deadline (a hang,
/// not a timing threshold).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn tokens_contract(backend: &dyn Backend) {
    let state = backend.replica().await;
    let other = backend.other_tokens().await;
    let token = state
        .tokens
        .create("ci", Scope::Publish, vec!["corp.example/*".into()])
        .await
        .unwrap();
    let duplicate = state.tokens.create("ci", Scope::Read, vec![]).await;
    assert_eq!(duplicate.unwrap_err().kind(), ErrorKind::Conflict);
    let bad_name = state.tokens.create("bad name", Scope::Read, vec![]).await;
    assert_eq!(bad_name.unwrap_err().kind(), ErrorKind::Invalid);

    let principal = state
        .tokens
        .authenticate(token.expose_secret())
        .await
        .unwrap()
        .expect("the creating replica accepts the token at once");
    assert_eq!(principal.name, "ci");
    assert_eq!(principal.scope, Scope::Publish);
    assert!(principal.covers("corp.example/lib"));
    assert!(!principal.covers("other.example/lib"));
    let secret = token.expose_secret().to_owned();
    eventually("another replica accepts a new token", async || {
        other.authenticate(&secret).await.unwrap().is_some()
    })
    .await;
    let listed = other.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "ci");
    assert!(secret.starts_with(&listed[0].prefix));
    assert!(state
        .tokens
        .authenticate("mvt_nope")
        .await
        .unwrap()
        .is_none());

    assert!(other.revoke("ci").await.unwrap());
    assert!(!other.revoke("ci").await.unwrap(), "nothing left to revoke");
    eventually("every replica refuses a revoked token", async || {
        state.tokens.authenticate(&secret).await.unwrap().is_none()
    })
    .await;
    assert!(state.tokens.list().await.unwrap().is_empty());
}

fn record_text(i: usize) -> String {
    format!("example.com/m{i} v1.0.0 h1:zip{i}=\nexample.com/m{i} v1.0.0/go.mod h1:mod{i}=\n")
}

/// Every stored hash of the log equals the one recomputed from its
/// records alone: the log is a valid tree whoever appended.
async fn check_tree(log: &dyn ChecksumLog) -> i64 {
    let size = log.size().await.unwrap();
    let records = log.read_records(0, size).await.unwrap();
    struct Memory(Mutex<Vec<Hash>>);
    impl HashReader for Memory {
        fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, tlog::Error> {
            let hashes = self.0.lock().unwrap();
            indexes
                .iter()
                .map(|&i| {
                    hashes
                        .get(i as usize)
                        .copied()
                        .ok_or(tlog::Error::HashNotStored(i))
                })
                .collect()
        }
    }
    let memory = Memory(Mutex::new(Vec::new()));
    for (id, record) in records.iter().enumerate() {
        let new = stored_hashes(id as i64, record, &memory).unwrap();
        memory.0.lock().unwrap().extend(new);
    }
    let expected = memory.0.into_inner().unwrap();
    let indexes: Vec<i64> = (0..expected.len() as i64).collect();
    assert_eq!(log.read_hashes(&indexes).await.unwrap(), expected);
    size
}

async fn log_contract(backend: &dyn Backend) {
    let replicas = [
        backend.replica().await,
        backend.replica().await,
        backend.replica().await,
    ];
    let logs: Vec<Arc<dyn ChecksumLog>> = replicas.iter().map(|s| s.log.clone().unwrap()).collect();
    // Three replicas append 60 versions each, every version twice over
    // (by different replicas): each version gets exactly one record.
    let mut tasks = Vec::new();
    for (r, log) in logs.iter().enumerate() {
        for i in 0..60 {
            let log = log.clone();
            let i = (r * 40 + i) % 120;
            tasks.push(tokio::spawn(async move {
                let id = log
                    .append(&format!("example.com/m{i}"), "v1.0.0", &record_text(i))
                    .await
                    .unwrap();
                (i, id)
            }));
        }
    }
    let mut ids = std::collections::HashMap::new();
    for task in tasks {
        let (i, id) = task.await.unwrap();
        assert_eq!(*ids.entry(i).or_insert(id), id, "one id per version");
    }
    let distinct: HashSet<i64> = ids.values().copied().collect();
    assert_eq!(distinct.len(), 120);
    assert_eq!(distinct, (0..120).collect::<HashSet<i64>>());
    for log in &logs {
        assert_eq!(check_tree(log.as_ref()).await, 120);
        assert_eq!(
            log.find("example.com/m7", "v1.0.0").await.unwrap(),
            Some(ids[&7])
        );
        assert_eq!(log.find("example.com/m7", "v9.9.9").await.unwrap(), None);
    }
    let id = ids[&42];
    for log in &logs {
        assert_eq!(
            log.read_records(id, 1).await.unwrap(),
            [record_text(42).into_bytes()]
        );
        // A second append keeps the first record.
        assert_eq!(
            log.append("example.com/m42", "v1.0.0", "ignored")
                .await
                .unwrap(),
            id
        );
    }
    assert_eq!(
        logs[0].read_records(-1, 1).await.unwrap_err().kind(),
        ErrorKind::Invalid
    );
    assert!(logs[0].read_records(119, 2).await.is_err(), "past the tree");
}

async fn leases_contract(backend: &dyn Backend) {
    let replicas = [
        backend.replica().await,
        backend.replica().await,
        backend.replica().await,
    ];
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for replica in &replicas {
        for _ in 0..4 {
            let (leases, inside, most, entered) = (
                replica.leases.clone(),
                inside.clone(),
                most.clone(),
                entered.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let _lease = leases.acquire("example.com/m/@v/v1.0.0.zip").await.unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                entered.fetch_add(1, Ordering::SeqCst);
            }));
        }
    }
    // Another key is never held up by this one.
    let _other = replicas[1]
        .leases
        .acquire("example.com/m/@v/v2.0.0.zip")
        .await
        .unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        entered.load(Ordering::SeqCst),
        12,
        "every waiter got its turn"
    );
    assert_eq!(
        most.load(Ordering::SeqCst),
        1,
        "one holder per key at a time"
    );
}

fn entry(module: &str, version: &str, origin: Origin, second: u64) -> CatalogEntry {
    CatalogEntry {
        module: module.into(),
        version: version.into(),
        origin,
        size: 100 + second,
        stored_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000 + second),
        last_served: None,
    }
}

fn query(text: &str, matching: Match) -> CatalogQuery {
    CatalogQuery {
        text: text.into(),
        matching,
        limit: 100,
        offset: 0,
    }
}

async fn catalog_contract(backend: &dyn Backend) {
    let (a, b) = (
        backend.replica().await.catalog,
        backend.replica().await.catalog,
    );
    a.record(entry("github.com/a/b", "v1.1.0", Origin::Upstream, 2))
        .await
        .unwrap();
    b.record(entry("github.com/a/b", "v1.0.0", Origin::Upstream, 1))
        .await
        .unwrap();
    a.record(entry("corp.example/x_y", "v0.1.0", Origin::Published, 3))
        .await
        .unwrap();
    b.record(entry("corp.example/xzy", "v0.1.0", Origin::Git, 4))
        .await
        .unwrap();
    assert_eq!(a.count().await.unwrap(), 4);
    let versions = b
        .search(&CatalogQuery::module("github.com/a/b"))
        .await
        .unwrap();
    let names: Vec<&str> = versions.iter().map(|e| e.version.as_str()).collect();
    assert_eq!(names, ["v1.0.0", "v1.1.0"], "ordered by when stored");
    assert_eq!(
        versions[0],
        entry("github.com/a/b", "v1.0.0", Origin::Upstream, 1)
    );
    assert_eq!(
        a.search(&query("corp.", Match::Prefix))
            .await
            .unwrap()
            .len(),
        2
    );
    let literal = a.search(&query("x_y", Match::Substring)).await.unwrap();
    assert_eq!(literal.len(), 1, "`_` is literal");
    assert_eq!(literal[0].origin, Origin::Published);
    assert!(a
        .search(&query("%", Match::Substring))
        .await
        .unwrap()
        .is_empty());
    assert!(a
        .search(&query("a/b", Match::Prefix))
        .await
        .unwrap()
        .is_empty());
    let paged = CatalogQuery {
        limit: 1,
        offset: 1,
        ..query("", Match::Substring)
    };
    assert_eq!(
        b.search(&paged).await.unwrap()[0].module,
        "corp.example/xzy"
    );

    let early = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let late = early + Duration::from_secs(60);
    a.served("github.com/a/b", "v1.0.0", late, ServedFrom::Store)
        .await
        .unwrap();
    b.served("github.com/a/b", "v1.0.0", early, ServedFrom::Fetch)
        .await
        .unwrap();
    // Searches write the batched times first; an earlier time from another
    // replica never moves one back.
    a.search(&query("", Match::Substring)).await.unwrap();
    let versions = b
        .search(&CatalogQuery::module("github.com/a/b"))
        .await
        .unwrap();
    assert_eq!(versions[0].last_served, Some(late));

    // Downloads add up over replicas, per version and per day (hits from
    // the store, misses fetched).
    let now = SystemTime::now();
    a.served("github.com/a/b", "v1.0.0", now, ServedFrom::Store)
        .await
        .unwrap();
    a.served("github.com/a/b", "v1.0.0", now, ServedFrom::Store)
        .await
        .unwrap();
    b.served("github.com/a/b", "v1.0.0", now, ServedFrom::Fetch)
        .await
        .unwrap();
    assert_eq!(a.downloads("github.com/a/c").await.unwrap(), []);
    assert_eq!(
        b.downloads("github.com/a/b").await.unwrap(),
        [("v1.0.0".to_owned(), 5)],
        "two served earlier, three now"
    );
    let days = a.daily_downloads(3).await.unwrap();
    assert_eq!(days.len(), 3, "{days:?}");
    assert!(days[0].day < days[1].day && days[1].day < days[2].day);
    assert_eq!((days[2].hits, days[2].misses), (2, 1), "{days:?}");
    assert_eq!(
        (days[0].hits + days[1].hits, days[0].misses + days[1].misses),
        (0, 0)
    );
    assert!(now.duration_since(days[2].day).unwrap() < Duration::from_secs(86_400));
    b.remove("corp.example/xzy", "v0.1.0").await.unwrap();
    assert_eq!(a.count().await.unwrap(), 3);
    let _ = SystemTime::now();
}

/// The index feed's and eviction's queries, after `catalog_contract`.
async fn catalog_feed_and_eviction_contract(backend: &dyn Backend) {
    let (a, b) = (
        backend.replica().await.catalog,
        backend.replica().await.catalog,
    );
    let left: Vec<(String, String)> = a
        .search(&query("", Match::Substring))
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.module, e.version))
        .collect();
    b.remove_many(&left).await.unwrap();
    assert_eq!(a.count().await.unwrap(), 0, "remove_many removes a batch");
    assert_eq!(a.total_size().await.unwrap(), 0);

    // Stored at seconds 10..20 (two share second 12); every origin.
    let origins = [
        Origin::Upstream,
        Origin::Git,
        Origin::Published,
        Origin::Unknown,
    ];
    let mut all = Vec::new();
    for i in 0..10u64 {
        let second = 10 + if i == 3 { 2 } else { i };
        let e = entry(
            &format!("feed.example/m{i}"),
            "v1.0.0",
            origins[i as usize % 4],
            second,
        );
        all.push(e.clone());
        a.record(e).await.unwrap();
    }
    let sizes: u64 = all.iter().map(|e| e.size).sum();
    assert_eq!(b.total_size().await.unwrap(), sizes);

    let at = |second: u64| UNIX_EPOCH + Duration::from_secs(1_700_000_000 + second);
    let feed = b.stored_since(at(12), 3).await.unwrap();
    let names: Vec<&str> = feed.iter().map(|e| e.module.as_str()).collect();
    assert_eq!(
        names,
        ["feed.example/m2", "feed.example/m3", "feed.example/m4"],
        "ascending by time stored, inclusive of since, then by module"
    );
    assert_eq!(b.stored_since(at(100), 10).await.unwrap(), []);
    assert_eq!(b.stored_since(at(0), 100).await.unwrap().len(), 10);

    // m1 (git) is served late: it moves to the end of the eviction order
    // (the replica that served it writes its batched times first).
    b.served("feed.example/m1", "v1.0.0", at(50), ServedFrom::Store)
        .await
        .unwrap();
    let mut order = Vec::new();
    let mut after: Option<CatalogEntry> = None;
    loop {
        let page = b
            .eviction_candidates(at(60), after.as_ref(), 2)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        order.extend(page.into_iter().map(|e| e.module));
    }
    assert_eq!(
        order,
        [
            "feed.example/m0",
            "feed.example/m4",
            "feed.example/m5",
            "feed.example/m8",
            "feed.example/m9",
            "feed.example/m1",
        ],
        "only upstream and git versions, least recently used first, paged"
    );
    let idle = b.eviction_candidates(at(15), None, 100).await.unwrap();
    let idle: Vec<&str> = idle.iter().map(|e| e.module.as_str()).collect();
    assert_eq!(
        idle,
        ["feed.example/m0", "feed.example/m4"],
        "used before idle_before only"
    );
}

async fn contract(backend: &dyn Backend) {
    tokens_contract(backend).await;
    log_contract(backend).await;
    leases_contract(backend).await;
    catalog_contract(backend).await;
    catalog_feed_and_eviction_contract(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_state_meets_the_contract() {
    contract(&Embedded::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_state_meets_the_contract() {
    contract(&Pg::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_at_once_migrate_once() {
    let server = Postgres::shared();
    let url = server.database();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { modvault_state::postgres::connect(&url).await.map(drop) })
        })
        .collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let name = url.rsplit('/').next().unwrap();
    assert_eq!(
        server
            .psql(
                name,
                "SELECT string_agg(version::text, ',' ORDER BY version) FROM modvault_migrations"
            )
            .trim(),
        "1,2,3,4",
        "every migration applied once, none failed on a race"
    );
}

#[tokio::test]
async fn a_newer_schema_or_a_wrong_password_stops_start_up_naming_the_setting() {
    let server = Postgres::shared();
    let url = server.database();
    modvault_state::postgres::connect(&url).await.unwrap();
    let name = url.rsplit('/').next().unwrap();
    server.psql(
        name,
        "INSERT INTO modvault_migrations (version, name) VALUES (999, 'future')",
    );
    let error = modvault_state::postgres::connect(&url).await.unwrap_err();
    let message = modvault_error::chain(&error);
    assert!(message.contains("database_url"), "{message}");
    assert!(message.contains("newer"), "{message}");

    let password = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    let wrong = url.replace(password, "wrong-password");
    let error = modvault_state::postgres::connect(&wrong).await.unwrap_err();
    let message = modvault_error::chain(&error);
    assert!(message.contains("database_url"), "{message}");
    assert!(!message.contains("wrong-password"), "{message}");
    assert_eq!(error.kind(), ErrorKind::Storage);
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_over() {
    let backend = Pg::new();
    let state = backend.replica().await;
    let name = backend.url.rsplit('/').next().unwrap().to_owned();
    // A replica that died holding the lease: its row lapses, and nobody
    // deletes it.
    backend._server.psql(
        &name,
        "INSERT INTO modvault_fetch_leases (key, holder, expires_at) \
         VALUES ('k', 'dead-replica', now() + interval '1 second')",
    );
    let _lease = state.leases.acquire("k").await.unwrap();
    assert_ne!(
        backend
            ._server
            .psql(
                &name,
                "SELECT holder FROM modvault_fetch_leases WHERE key = 'k'"
            )
            .trim(),
        "dead-replica"
    );
}

#[tokio::test]
async fn replicas_share_remembered_failures_until_they_expire() {
    let backend = Pg::new();
    let (a, b) = (backend.replica().await, backend.replica().await);
    let (a, b) = (a.failures.unwrap(), b.failures.unwrap());
    let gone = modvault_state::Remembered {
        kind: ErrorKind::NotFound,
        reason: "example.com/x: no such module".into(),
    };
    assert_eq!(b.recall("example.com/x/@v/list").await.unwrap(), None);
    a.remember("example.com/x/@v/list", &gone, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(
        b.recall("example.com/x/@v/list").await.unwrap(),
        Some(gone.clone())
    );
    // Expiry is the database's: an answer remembered for 1 ms is gone.
    let failing = modvault_state::Remembered {
        kind: ErrorKind::Unavailable,
        reason: "502 from upstream".into(),
    };
    a.remember("example.com/y/@v/list", &failing, Duration::from_millis(1))
        .await
        .unwrap();
    eventually("an expired answer is forgotten", async || {
        b.recall("example.com/y/@v/list").await.unwrap().is_none()
    })
    .await;
    assert!(SharedState::embedded(&EmbeddedPaths {
        tokens_file: backend_dir().join("t.json"),
        log_dir: None,
        catalog_file: backend_dir().join("c.sqlite"),
    })
    .unwrap()
    .failures
    .is_none());
}

fn backend_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_owned()
}
