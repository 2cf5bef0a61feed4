//! How fast the embedded catalog answers searches: fills a catalog with N
//! versions (default 100,000) of generated modules, then times prefix,
//! substring and one-module searches, median of rounds. Run by
//! `bench/catalog.sh`.

use std::time::{Duration, Instant, SystemTime};

use modvault_state::embedded::SqliteCatalog;
use modvault_state::{Catalog, CatalogEntry, CatalogQuery, Match, Origin};

const ROUNDS: usize = 7;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::open(&dir.path().join("catalog.sqlite")).unwrap();
    let started = Instant::now();
    for i in 0..n {
        // 10 versions per module, modules spread over 50 hosts.
        let module = format!(
            "git{}.example.com/team{}/service{}",
            (i / 10) % 50,
            (i / 10) % 7,
            i / 10
        );
        let entry = CatalogEntry {
            module,
            version: format!("v1.{}.0", i % 10),
            origin: Origin::Upstream,
            size: 1000 + i as u64,
            stored_at: SystemTime::now(),
            last_served: None,
        };
        catalog.record(entry).await.unwrap();
    }
    let fill = started.elapsed();
    // The floor: a linear scan of every path held in memory, which is what
    // a catalog-less server could at best do per search.
    let paths: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "git{}.example.com/team{}/service{}",
                (i / 10) % 50,
                (i / 10) % 7,
                i / 10
            )
        })
        .collect();
    println!("versions: {}", catalog.count().await.unwrap());
    println!(
        "fill: {:.1} s ({:.0} versions/s, one transaction each)",
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64()
    );
    let queries = [
        (
            "prefix, 20 results",
            CatalogQuery {
                text: "git7.example.com/team3".into(),
                matching: Match::Prefix,
                limit: 20,
                offset: 0,
            },
        ),
        (
            "substring, 20 results",
            CatalogQuery {
                text: "service4242".into(),
                matching: Match::Substring,
                limit: 20,
                offset: 0,
            },
        ),
        (
            "substring, no match (full scan)",
            CatalogQuery {
                text: "nowhere".into(),
                matching: Match::Substring,
                limit: 20,
                offset: 0,
            },
        ),
        (
            "one module's versions",
            CatalogQuery::module("git42.example.com/team0/service4242"),
        ),
    ];
    println!("\n| search | catalog (SQLite), ms | in-memory scan of {n} paths, ms | found |\n|---|---|---|---|");
    for (what, query) in queries {
        let mut samples = Vec::new();
        let mut found = 0;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            found = catalog.search(&query).await.unwrap().len();
            samples.push(t.elapsed());
        }
        let mut scans = Vec::new();
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let hits = paths.iter().filter(|p| match query.matching {
                Match::Prefix => p.starts_with(&query.text),
                Match::Substring => p.contains(&query.text),
                Match::Module => **p == query.text,
            });
            std::hint::black_box(hits.take(query.limit).count());
            scans.push(t.elapsed());
        }
        println!(
            "| {what} | {:.2} | {:.2} | {found} |",
            median(samples).as_secs_f64() * 1000.0,
            median(scans).as_secs_f64() * 1000.0
        );
    }
}
