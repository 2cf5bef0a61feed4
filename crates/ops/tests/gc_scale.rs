//! Eviction over a real SQLite catalog and filesystem store: every
//! refetchable idle version goes, least recently used first, until the
//! store fits; published, unknown-origin and private versions stay. The
//! number of versions is `MVBENCH_GC_VERSIONS` (bench/gc.sh sets 100,000;
//! the suite runs 2,000), and the time eviction took is printed.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use modvault_ops::gc::{Gc, Policy, Refetchable};
use modvault_rules::RuleSet;
use modvault_state::embedded::SqliteCatalog;
use modvault_state::{Catalog, CatalogEntry, Origin};
use modvault_store::{layout, FsStore, PutBody, PutMode, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_frees_space_and_keeps_what_cannot_be_fetched_again() {
    let versions: usize = std::env::var("MVBENCH_GC_VERSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(FsStore::open(dir.path().join("store")).unwrap());
    let catalog = Arc::new(SqliteCatalog::open(&dir.path().join("catalog.sqlite")).unwrap());
    let long_ago = SystemTime::now() - Duration::from_secs(86_400 * 30);
    let origins = [
        Origin::Upstream,
        Origin::Git,
        Origin::Published,
        Origin::Unknown,
    ];
    let size = 1000u64;
    for i in 0..versions {
        let module = format!("example.com/m{i:06}");
        let origin = origins[i % 4];
        let escaped = modvault_core::escape::escape_path(&module).unwrap();
        for key in [
            layout::zip(&escaped, "v1.0.0"),
            layout::go_mod(&escaped, "v1.0.0"),
        ] {
            store
                .put(
                    &key,
                    PutBody::Bytes(Bytes::from_static(b"x")),
                    PutMode::Overwrite,
                )
                .await
                .unwrap();
        }
        catalog
            .record(CatalogEntry {
                module,
                version: "v1.0.0".into(),
                origin,
                size,
                // Older modules were used longer ago.
                stored_at: long_ago + Duration::from_millis(i as u64),
                last_served: None,
            })
            .await
            .unwrap();
    }
    let total = catalog.total_size().await.unwrap();
    assert_eq!(total, versions as u64 * size);
    let gc = Gc {
        store: store.clone(),
        catalog: catalog.clone(),
        own_log: None,
        rules: Arc::new(RuleSet::default()),
        refetchable: Refetchable {
            upstream: true,
            git: true,
        },
        // Everything that may go must go.
        policy: Policy {
            max_size: Some(1),
            min_idle: Duration::from_secs(86_400),
        },
        mirror_root: None,
    };
    let started = Instant::now();
    let report = gc.run(false).await.unwrap();
    let took = started.elapsed();
    println!(
        "evicted {} of {versions} versions in {:.2}s",
        report.evicted.len(),
        took.as_secs_f64()
    );
    let evictable = (0..versions).filter(|i| i % 4 < 2).count();
    assert_eq!(report.evicted.len(), evictable);
    let order: Vec<&str> = report.evicted.iter().map(|e| e.module.as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "least recently used first");
    assert_eq!(
        catalog.count().await.unwrap(),
        (versions - evictable) as u64
    );
    for (i, origin) in origins.iter().enumerate().take(versions.min(4)) {
        let escaped = format!("example.com/m{i:06}");
        let kept = store
            .head(&layout::zip(&escaped, "v1.0.0"))
            .await
            .unwrap()
            .is_some();
        assert_eq!(
            kept,
            matches!(origin, Origin::Published | Origin::Unknown),
            "{origin:?}"
        );
    }
}
