//! The store contract against a real S3 server (SeaweedFS): the same checks
//! the filesystem and in-memory backends pass.

use std::sync::Arc;

use modvault_store::Store;
use modvault_store_s3::{Credentials, S3Settings, S3Store, Secret};
use modvault_testkit::seaweedfs::{ACCESS_KEY, REGION, SECRET_KEY};
use modvault_testkit::SeaweedFs;

const BUCKET: &str = "contract";

/// Settings for a fresh, empty part of the bucket: each test has its own
/// prefix.
fn settings(weed: &SeaweedFs) -> S3Settings {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut settings = S3Settings::new(BUCKET);
    settings.prefix = format!("run-{}-{n}/modules", std::process::id());
    settings.endpoint = Some(weed.endpoint.clone());
    settings.region = REGION.into();
    settings.allow_http = true;
    settings.credentials = Some(Credentials {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: Secret::new(SECRET_KEY),
        session_token: None,
    });
    settings
}

async fn store() -> (Arc<SeaweedFs>, Arc<dyn Store>) {
    let weed = tokio::task::spawn_blocking(|| {
        let weed = SeaweedFs::shared();
        weed.bucket(BUCKET);
        weed
    })
    .await
    .unwrap();
    let store = S3Store::open(&settings(&weed))
        .await
        .unwrap_or_else(|e| panic!("{e}\nlog:\n{}", weed.log()));
    (weed, Arc::new(store))
}

modvault_store::store_contract_tests!(store);
