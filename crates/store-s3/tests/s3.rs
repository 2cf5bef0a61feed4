//! What only the S3 backend has to get right: an unreachable or refusing
//! bucket, and connections that break half-way through a body.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use modvault_store::{PutBody, PutMode, Store, StoreError};
use modvault_store_s3::{Credentials, S3Error, S3Settings, S3Store, Secret};
use modvault_testkit::seaweedfs::{ACCESS_KEY, REGION, SECRET_KEY};
use modvault_testkit::{closed_port, SeaweedFs};

const BUCKET: &str = "s3-tests";

fn settings(endpoint: &str, prefix: &str) -> S3Settings {
    let mut settings = S3Settings::new(BUCKET);
    settings.prefix = format!("{prefix}-{}", std::process::id());
    settings.endpoint = Some(endpoint.to_owned());
    settings.region = REGION.into();
    settings.allow_http = true;
    settings.credentials = Some(Credentials {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: Secret::new(SECRET_KEY),
        session_token: None,
    });
    settings
}

async fn weed() -> Arc<SeaweedFs> {
    tokio::task::spawn_blocking(|| {
        let weed = SeaweedFs::shared();
        weed.bucket(BUCKET);
        weed
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_unreachable_bucket_is_unavailable() {
    let mut settings = settings(&format!("http://127.0.0.1:{}", closed_port()), "x");
    settings.retries = 1;
    let error = S3Store::open(&settings).await.unwrap_err();
    assert!(
        matches!(
            error,
            S3Error::Probe {
                source: StoreError::Unavailable { .. },
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.starts_with("s3://s3-tests/x-"), "{message}");
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_the_secret_never_shown() {
    let weed = weed().await;
    let mut settings = settings(&weed.endpoint, "creds");
    let wrong = "wrong-secret-do-not-print";
    settings.credentials = Some(Credentials {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: Secret::new(wrong),
        session_token: None,
    });
    let error = S3Store::open(&settings).await.unwrap_err();
    assert!(
        matches!(
            error,
            S3Error::Probe {
                source: StoreError::Backend { .. },
                ..
            }
        ),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(wrong), "{shown}");
    assert!(shown.contains("SignatureDoesNotMatch"), "{shown}");
}

/// Forwards connections to `target`, and cuts the first connection that
/// has carried more than `cut_after` bytes of answers (once).
fn cutting_proxy(target: String, cut_after: usize) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let cut = Arc::new(AtomicBool::new(false));
    let done = cut.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(&target).unwrap();
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(Shutdown::Write);
            });
            let done = done.clone();
            std::thread::spawn(move || {
                let (mut s_read, mut c_write) = (server, client);
                let mut buf = vec![0u8; 64 * 1024];
                let mut forwarded = 0;
                loop {
                    let n = match s_read.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    forwarded += n;
                    if forwarded > cut_after && !done.swap(true, Ordering::SeqCst) {
                        let _ = c_write.shutdown(Shutdown::Both);
                        let _ = s_read.shutdown(Shutdown::Both);
                        break;
                    }
                }
                let _ = c_write.shutdown(Shutdown::Write);
            });
        }
    });
    (address, cut)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_half_way_is_resumed_from_where_it_stopped() {
    let weed = weed().await;
    let direct = S3Store::open(&settings(&weed.endpoint, "resume"))
        .await
        .unwrap();
    let data = modvault_store::contract::pattern(12 << 20, 7);
    let key = "resume.example/m/@v/v1.0.0.zip";
    direct
        .put(
            key,
            PutBody::Bytes(Bytes::from(data.clone())),
            PutMode::CreateOnly,
        )
        .await
        .unwrap();

    let target = weed.endpoint.trim_start_matches("http://").to_owned();
    let (proxy, cut) = cutting_proxy(target, 2 << 20);
    let mut through = settings(&proxy, "resume");
    // Longer than object_store's own retry window, so that the break is
    // only seen after it has given up on this body.
    through.request_timeout = Duration::from_secs(1);
    let store = S3Store::new(&through).unwrap();
    let object = store.get(key, None).await.unwrap().unwrap();
    let mut body = object.body;
    let mut received = body.next().await.unwrap().unwrap().to_vec();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    while let Some(chunk) = body.next().await {
        received.extend_from_slice(&chunk.expect("the body resumes after the cut"));
    }
    assert!(cut.load(Ordering::SeqCst), "the proxy cut a connection");
    assert_eq!(received.len(), data.len());
    assert!(received == data, "resumed bytes differ");
}
