//! Module files in an S3-compatible bucket, behind modvault's [`Store`]
//! trait, on the `object_store` crate (signing, retries, multipart uploads,
//! conditional puts).
//!
//! Keys are stored as they are (under an optional prefix), so the bucket is
//! a GOPROXY file tree that any static host can serve, exactly like the data
//! directory of the filesystem backend.
//!
//! How the filesystem's guarantees carry over:
//! - Create-only puts are conditional (`If-None-Match: *`): of concurrent
//!   writers of one key exactly one creates it, the others learn it exists.
//! - A small object is one PUT; a file larger than a part is a multipart
//!   upload read from the file part by part. S3 shows an object only when
//!   its upload completes, so nothing half-written is ever visible under a
//!   key. A create-only multipart upload is done only by the writer that
//!   won a small claim object with a conditional PUT (completions are not
//!   conditional everywhere); a killed process leaves at most a claim,
//!   removed at a later start.
//! - Every request has a timeout and bounded retries; a reader whose body
//!   fails half-way resumes from where it stopped (the same entity tag only).

mod http;
mod read;
mod upload;

use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut, S3CopyIfNotExists};
use object_store::client::HttpErrorKind;

use crate::http::Connector;
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
    RetryConfig,
};
use tokio::sync::Semaphore;

use modvault_store::{
    validate_key, validate_prefix, BoxError, Object, ObjectMeta, PutBody, PutMode, PutOutcome,
    Store, StoreError, StoreResult,
};

/// Objects up to this size go up in one PUT; larger files in parts of this
/// size (S3's smallest part size: memory, not request count, is what runs
/// short on a busy proxy). One part is what an upload holds in memory at a
/// time.
pub const PART_SIZE: usize = 5 << 20;
/// Parts of one upload sent at once.
const PARTS_IN_FLIGHT: usize = 2;
/// Part buffers for all uploads together: with [`PART_SIZE`], the most
/// memory uploads can take, however many run at once.
const PART_BUFFERS: usize = 4;
/// Where claims of create-only multipart uploads live; private state,
/// never listed with module files.
const STAGING: &str = ".modvault/uploads/";
/// A staging object older than this belongs to a process that died
/// between upload and copy.
const STALE_STAGING_AGE: Duration = Duration::from_secs(3600);
/// How often a writer renews its upload claim, and how old an unrenewed
/// claim must be to belong to a writer that died (kill -9, say).
const CLAIM_REFRESH: Duration = Duration::from_secs(5);
const STALE_CLAIM: Duration = Duration::from_secs(20);
/// Conditional writes answered 409 (another conditional write of the key is
/// in flight) are retried this often before giving up.
const CONFLICT_RETRIES: u32 = 3;

pub use modvault_error::Secret;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// Where the bucket is and how to reach it.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub bucket: String,
    /// Keys are stored under `<prefix>/`; empty: at the bucket's root.
    pub prefix: String,
    /// An S3-compatible endpoint (`http://127.0.0.1:8333`); `None`: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    /// `None`: the rest of AWS's credential chain (web identity, container
    /// credentials, instance metadata), as the AWS SDKs do.
    pub credentials: Option<Credentials>,
    pub allow_http: bool,
    /// `https://BUCKET.host/key` rather than `https://host/BUCKET/key`.
    pub virtual_hosted_style: bool,
    pub connect_timeout: Duration,
    /// Longest any one request may take until its answer starts (a part
    /// upload: until it is answered).
    pub request_timeout: Duration,
    /// Longest silence while reading an answer's body.
    pub idle_timeout: Duration,
    /// Retries after a connection error, a timeout or a 5xx.
    pub retries: usize,
}

impl S3Settings {
    pub fn new(bucket: impl Into<String>) -> S3Settings {
        S3Settings {
            bucket: bucket.into(),
            prefix: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            credentials: None,
            allow_http: false,
            virtual_hosted_style: false,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            retries: 3,
        }
    }

    /// `s3://bucket/prefix`, for messages.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("invalid S3 endpoint {endpoint:?}: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error("invalid prefix {0:?}: it must be a relative path such as modules or go/modules")]
    Prefix(String),
    #[error("cannot set up the S3 client: {0}")]
    Client(#[source] object_store::Error),
    #[error("{url}: {source}")]
    Probe {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "{url}: the bucket does not honour conditional writes (a second create-only PUT with \
         If-None-Match: * replaced the object); modvault needs them so stored versions never change"
    )]
    NoConditionalWrites { url: String },
}

#[derive(Clone)]
pub struct S3Store {
    inner: Arc<AmazonS3>,
    /// `""` or `"some/prefix/"`.
    prefix: String,
    url: String,
    request_timeout: Duration,
    part_buffers: Arc<Semaphore>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store").field("url", &self.url).finish()
    }
}

impl S3Store {
    /// Sets up the client; nothing is sent yet (see [`S3Store::open`]).
    pub fn new(settings: &S3Settings) -> Result<S3Store, S3Error> {
        let prefix = settings.prefix.trim_matches('/');
        if !prefix.is_empty() && validate_key(prefix).is_err() {
            return Err(S3Error::Prefix(settings.prefix.clone()));
        }
        let mut builder = match &settings.credentials {
            Some(credentials) => {
                let mut builder = AmazonS3Builder::new()
                    .with_access_key_id(&credentials.access_key_id)
                    .with_secret_access_key(credentials.secret_access_key.expose());
                if let Some(token) = &credentials.session_token {
                    builder = builder.with_token(token.expose());
                }
                builder
            }
            // The AWS_* variables of the rest of the credential chain.
            None => AmazonS3Builder::from_env(),
        };
        builder = builder
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_allow_http(settings.allow_http)
            .with_virtual_hosted_style_request(settings.virtual_hosted_style)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: settings.retries,
                retry_timeout: settings.request_timeout,
            })
            .with_http_connector(Connector {
                connect_timeout: settings.connect_timeout,
                idle_timeout: settings.idle_timeout,
                allow_http: settings.allow_http,
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint_for(settings, endpoint)?);
        }
        let inner = builder.build().map_err(S3Error::Client)?;
        Ok(S3Store {
            inner: Arc::new(inner),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            url: settings.url(),
            request_timeout: settings.request_timeout,
            part_buffers: Arc::new(Semaphore::new(PART_BUFFERS)),
        })
    }

    /// Sets up the client and checks that the bucket is reachable, writable
    /// and honours conditional writes; then removes, in the background,
    /// staging objects a killed process left behind.
    pub async fn open(settings: &S3Settings) -> Result<S3Store, S3Error> {
        let store = S3Store::new(settings)?;
        store.probe().await?;
        let cleaner = store.clone_handle();
        tokio::spawn(async move { cleaner.remove_stale_staging().await });
        Ok(store)
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn clone_handle(&self) -> S3Store {
        S3Store {
            inner: self.inner.clone(),
            prefix: self.prefix.clone(),
            url: self.url.clone(),
            request_timeout: self.request_timeout,
            part_buffers: self.part_buffers.clone(),
        }
    }

    /// Writes, conditionally rewrites and removes a probe object.
    pub async fn probe(&self) -> Result<(), S3Error> {
        let failed = |source| S3Error::Probe {
            url: self.url.clone(),
            source,
        };
        let key = format!(".modvault/probe/{}", unique_name());
        let body = || PutBody::Bytes(Bytes::from_static(b"probe\n"));
        let first = self
            .put(&key, body(), PutMode::CreateOnly)
            .await
            .map_err(failed)?;
        let second = self.put(&key, body(), PutMode::CreateOnly).await;
        let _ = self.delete(&key).await;
        match (first, second.map_err(failed)?) {
            (PutOutcome::Created, PutOutcome::AlreadyExists) => Ok(()),
            _ => Err(S3Error::NoConditionalWrites {
                url: self.url.clone(),
            }),
        }
    }

    async fn remove_stale_staging(&self) {
        let Ok(prefix) = ObjectPath::parse(format!("{}{}", self.prefix, STAGING)) else {
            return;
        };
        let mut listing = self.inner.list(Some(&prefix));
        while let Ok(Some(Ok(meta))) =
            tokio::time::timeout(self.request_timeout, listing.next()).await
        {
            let age = SystemTime::now()
                .duration_since(SystemTime::from(meta.last_modified))
                .unwrap_or_default();
            if age > STALE_STAGING_AGE {
                tracing::info!(key = %meta.location, "removing a staging object left by an interrupted upload");
                let _ =
                    tokio::time::timeout(self.request_timeout, self.inner.delete(&meta.location))
                        .await;
            }
        }
    }

    fn path(&self, key: &str) -> StoreResult<ObjectPath> {
        validate_key(key)?;
        ObjectPath::parse(format!("{}{key}", self.prefix))
            .map_err(|_| StoreError::InvalidKey(key.to_owned()))
    }

    /// Runs one request under the request timeout; the outer error is the
    /// timeout, the inner one the store's answer.
    async fn timed<T>(
        &self,
        key: &str,
        request: impl Future<Output = object_store::Result<T>>,
    ) -> StoreResult<object_store::Result<T>> {
        tokio::time::timeout(self.request_timeout, request)
            .await
            .map_err(|_| timeout_error(key, self.request_timeout))
    }

    fn classify(&self, key: &str, error: object_store::Error) -> StoreError {
        classify(key, error)
    }

    async fn head_path(&self, key: &str, path: &ObjectPath) -> StoreResult<Option<ObjectMeta>> {
        match self.timed(key, self.inner.head(path)).await? {
            Ok(meta) => Ok(Some(object_meta(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.classify(key, e)),
        }
    }

    /// One PUT, conditional for create-only.
    async fn put_payload(
        &self,
        key: &str,
        path: &ObjectPath,
        payload: PutPayload,
        mode: PutMode,
    ) -> StoreResult<PutOutcome> {
        let options = PutOptions::from(match mode {
            PutMode::CreateOnly => object_store::PutMode::Create,
            PutMode::Overwrite => object_store::PutMode::Overwrite,
        });
        for attempt in 0..=CONFLICT_RETRIES {
            let answer = self
                .timed(
                    key,
                    self.inner.put_opts(path, payload.clone(), options.clone()),
                )
                .await?;
            match answer {
                Ok(_) => return Ok(PutOutcome::Created),
                Err(e) if mode == PutMode::CreateOnly && is_conflict(&e) => {
                    if self.head_path(key, path).await?.is_some() {
                        return Ok(PutOutcome::AlreadyExists);
                    }
                    // 409: another conditional write was in flight and has
                    // not (yet) created the object.
                    tracing::debug!(%key, attempt, "conditional put conflicted; retrying");
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                Err(e) => return Err(self.classify(key, e)),
            }
        }
        Err(StoreError::Unavailable {
            key: key.to_owned(),
            source: "conditional writes of this key kept conflicting".into(),
        })
    }

    async fn put_file(
        &self,
        key: &str,
        path: &ObjectPath,
        file: std::path::PathBuf,
        mode: PutMode,
    ) -> StoreResult<PutOutcome> {
        let io_error = |e| StoreError::io(key, e);
        let size = tokio::fs::metadata(&file).await.map_err(io_error)?.len();
        if size <= PART_SIZE as u64 {
            let _buffer = self
                .part_buffers
                .acquire()
                .await
                .map_err(|e| StoreError::io(key, std::io::Error::other(e)))?;
            let bytes = tokio::fs::read(&file).await.map_err(io_error)?;
            return self
                .put_payload(key, path, PutPayload::from(bytes), mode)
                .await;
        }
        match mode {
            // Completing an upload replaces the object at once.
            PutMode::Overwrite => {
                self.upload_file(key, path, &file, size).await?;
                Ok(PutOutcome::Created)
            }
            PutMode::CreateOnly => self.create_large(key, path, &file, size).await,
        }
    }

    /// A create-only put too large for one request. A multipart upload
    /// becomes visible whole when completed, but completing is not
    /// conditional everywhere (two racing completions can both succeed,
    /// the second replacing the first). So writers first race for a small
    /// claim object, which a conditional PUT settles; only its winner
    /// uploads, and the others wait for the object to appear. A claim left
    /// by a writer that died is taken over once older than `STALE_CLAIM`.
    async fn create_large(
        &self,
        key: &str,
        path: &ObjectPath,
        file: &std::path::Path,
        size: u64,
    ) -> StoreResult<PutOutcome> {
        let claim_key = format!("{STAGING}claims/{key}");
        let claim = self.path(&claim_key)?;
        for _ in 0..=CONFLICT_RETRIES {
            if self.head_path(key, path).await?.is_some() {
                return Ok(PutOutcome::AlreadyExists);
            }
            let mine = PutPayload::from(unique_name().into_bytes());
            match self
                .put_payload(&claim_key, &claim, mine, PutMode::CreateOnly)
                .await?
            {
                PutOutcome::Created => {
                    // The previous claimant may have finished just before.
                    if self.head_path(key, path).await?.is_some() {
                        self.delete(&claim_key).await?;
                        return Ok(PutOutcome::AlreadyExists);
                    }
                    // Keep the claim fresh while uploading, so that others
                    // can tell a slow upload from a dead writer.
                    let refresher = {
                        let (store, claim_key, claim) =
                            (self.clone(), claim_key.clone(), claim.clone());
                        tokio::spawn(async move {
                            loop {
                                tokio::time::sleep(CLAIM_REFRESH).await;
                                let mark = PutPayload::from(unique_name().into_bytes());
                                let _ = store
                                    .put_payload(&claim_key, &claim, mark, PutMode::Overwrite)
                                    .await;
                            }
                        })
                    };
                    let uploaded = self.upload_file(key, path, file, size).await;
                    refresher.abort();
                    if let Err(e) = self.delete(&claim_key).await {
                        tracing::warn!(key = %claim_key, error = %e, "could not remove an upload claim");
                    }
                    uploaded?;
                    return Ok(PutOutcome::Created);
                }
                PutOutcome::AlreadyExists => {
                    // Someone else uploads: wait for the object, or for
                    // the claim to go (a failed upload) or to go stale.
                    let mut wait = Duration::from_millis(50);
                    loop {
                        if self.head_path(key, path).await?.is_some() {
                            return Ok(PutOutcome::AlreadyExists);
                        }
                        match self.head_path(&claim_key, &claim).await? {
                            None => break,
                            Some(meta) => {
                                let age = SystemTime::now()
                                    .duration_since(meta.modified)
                                    .unwrap_or_default();
                                if age > STALE_CLAIM {
                                    tracing::warn!(%key, "taking over an upload claim left by a writer that died");
                                    self.delete(&claim_key).await?;
                                    break;
                                }
                            }
                        }
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(2));
                    }
                }
            }
        }
        Err(StoreError::Unavailable {
            key: key.to_owned(),
            source: "create-only uploads of this key kept failing".into(),
        })
    }

    /// The size, for an unsatisfiable or empty range, when the store did
    /// not serve the range.
    async fn range_answer(
        &self,
        key: &str,
        path: &ObjectPath,
        range: &Range<u64>,
    ) -> StoreResult<Option<Result<Object, StoreError>>> {
        let Some(meta) = self.head_path(key, path).await? else {
            return Ok(None);
        };
        if meta.size == 0 && range.start == 0 {
            return Ok(Some(Ok(Object {
                meta,
                range: 0..0,
                body: Box::pin(futures::stream::empty()),
            })));
        }
        if range.start >= meta.size || range.start >= range.end {
            return Ok(Some(Err(StoreError::RangeNotSatisfiable {
                size: meta.size,
            })));
        }
        Ok(Some(Err(StoreError::Backend {
            key: key.to_owned(),
            source: format!(
                "the store refused range {range:?} of a {}-byte object",
                meta.size
            )
            .into(),
        })))
    }
}

#[async_trait]
impl Store for S3Store {
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<Object>> {
        let path = self.path(key)?;
        if let Some(r) = &range {
            if r.start >= r.end {
                return self.range_answer(key, &path, r).await?.transpose();
            }
        }
        let options = GetOptions {
            range: range.clone().map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = match self.timed(key, self.inner.get_opts(&path, options)).await? {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => match &range {
                // S3 answers 416 for a range past the end, or on an empty
                // object: the size tells which.
                Some(r) if !is_transient(&e) => {
                    return match self.range_answer(key, &path, r).await? {
                        None => Ok(None),
                        Some(Ok(object)) => Ok(Some(object)),
                        Some(Err(StoreError::Backend { .. })) => Err(self.classify(key, e)),
                        Some(Err(other)) => Err(other),
                    };
                }
                _ => return Err(self.classify(key, e)),
            },
        };
        let meta = object_meta(&result.meta);
        let served = result.range.clone();
        let body = read::resumable(
            self.inner.clone(),
            path,
            result.meta.e_tag.clone(),
            served.clone(),
            result.into_stream(),
            self.request_timeout,
        );
        Ok(Some(Object {
            meta,
            range: served,
            body,
        }))
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectMeta>> {
        let path = self.path(key)?;
        self.head_path(key, &path).await
    }

    async fn put(&self, key: &str, body: PutBody, mode: PutMode) -> StoreResult<PutOutcome> {
        let path = self.path(key)?;
        match body {
            PutBody::Bytes(bytes) => {
                self.put_payload(key, &path, PutPayload::from(bytes), mode)
                    .await
            }
            PutBody::File(file) => self.put_file(key, &path, file, mode).await,
        }
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        validate_prefix(prefix)?;
        // S3 lists by directory here; the string prefix is applied below.
        let dir = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let full = format!("{}{dir}", self.prefix);
        let full = full.trim_end_matches('/');
        let listed = if full.is_empty() {
            None
        } else {
            Some(ObjectPath::parse(full).map_err(|_| StoreError::InvalidKey(prefix.to_owned()))?)
        };
        let private = prefix.starts_with(".modvault/");
        let mut listing = self.inner.list(listed.as_ref());
        let mut keys = Vec::new();
        loop {
            // Each page is one request, each under the request timeout.
            let next = tokio::time::timeout(self.request_timeout, listing.next())
                .await
                .map_err(|_| timeout_error(prefix, self.request_timeout))?;
            let meta = match next {
                None => break,
                Some(Ok(meta)) => meta,
                Some(Err(e)) => return Err(self.classify(prefix, e)),
            };
            let Some(key) = meta.location.as_ref().strip_prefix(&self.prefix) else {
                continue;
            };
            if key.starts_with(prefix) && (private || !key.starts_with(".modvault/")) {
                keys.push(key.to_owned());
            }
        }
        Ok(keys)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path(key)?;
        match self.timed(key, self.inner.delete(&path)).await? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.classify(key, e)),
        }
    }
}

/// AWS's convention: the endpoint names the service, and a virtual-hosted
/// request puts the bucket in front of its host (object_store expects the
/// bucket to be in the endpoint already).
fn endpoint_for(settings: &S3Settings, endpoint: &str) -> Result<String, S3Error> {
    let invalid = |reason: &str| S3Error::Endpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = url::Url::parse(endpoint).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => return Err(invalid("plain http needs allow_http")),
        _ => return Err(invalid("expected an http:// or https:// URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the endpoint URL"));
    }
    if settings.virtual_hosted_style {
        let host = url.host_str().ok_or_else(|| invalid("no host"))?;
        let with_bucket = format!("{}.{host}", settings.bucket);
        url.set_host(Some(&with_bucket))
            .map_err(|e| invalid(&e.to_string()))?;
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn object_meta(meta: &object_store::ObjectMeta) -> ObjectMeta {
    let modified = SystemTime::from(meta.last_modified);
    let etag = match &meta.e_tag {
        Some(tag) if tag.starts_with('"') || tag.starts_with("W/") => tag.clone(),
        Some(tag) => format!("\"{tag}\""),
        None => {
            let secs = modified
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!("\"{:x}-{secs:x}\"", meta.size)
        }
    };
    ObjectMeta {
        size: meta.size,
        modified,
        etag,
    }
}

/// 412 (the key exists) or 409 (a concurrent conditional write).
fn is_conflict(error: &object_store::Error) -> bool {
    matches!(
        error,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }
    )
}

fn timeout_error(key: &str, limit: Duration) -> StoreError {
    StoreError::Unavailable {
        key: key.to_owned(),
        source: format!("no answer from the bucket within {limit:?}").into(),
    }
}

fn classify(key: &str, error: object_store::Error) -> StoreError {
    if is_transient(&error) {
        StoreError::Unavailable {
            key: key.to_owned(),
            source: Box::new(error) as BoxError,
        }
    } else {
        StoreError::Backend {
            key: key.to_owned(),
            source: Box::new(error),
        }
    }
}

/// Whether the bucket could not be reached or was overloaded (after
/// object_store's own retries), as opposed to refusing the request.
fn is_transient(error: &object_store::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(http) = e.downcast_ref::<object_store::client::HttpError>() {
            if matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
            ) {
                return true;
            }
        }
        cause = e.source();
    }
    // object_store keeps the status only in its (private) retry error's
    // text: "... status code: 503 Service Unavailable ...".
    let text = error.to_string();
    text.contains("status code: 5") || text.contains("status code: 429")
}

/// Unique across processes and hosts sharing a bucket: time, process,
/// a counter and the process's random hash seed.
fn unique_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    format!(
        "{nanos}-{}-{}-{:016x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        hasher.finish()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut settings = S3Settings::new("modules");
        settings.credentials = Some(Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG"),
            session_token: Some(Secret::new("FQoGZXIvYXdzEJr")),
        });
        let shown = format!("{settings:?}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(!shown.contains("FQoGZXIvYXdzEJr"), "{shown}");
        let store = S3Store::new(&settings).unwrap();
        let shown = format!("{store:?}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
    }

    #[test]
    fn endpoints_follow_aws_conventions() {
        let mut settings = S3Settings::new("modules");
        settings.allow_http = true;
        assert_eq!(
            endpoint_for(&settings, "http://127.0.0.1:8333/").unwrap(),
            "http://127.0.0.1:8333"
        );
        settings.virtual_hosted_style = true;
        assert_eq!(
            endpoint_for(&settings, "https://s3.example.com").unwrap(),
            "https://modules.s3.example.com"
        );
        settings.allow_http = false;
        assert!(endpoint_for(&settings, "http://127.0.0.1:8333").is_err());
        assert!(endpoint_for(&settings, "https://user:pw@s3.example.com").is_err());
        assert!(endpoint_for(&settings, "ftp://s3.example.com").is_err());
    }

    #[test]
    fn prefixes_are_relative_paths() {
        let mut settings = S3Settings::new("modules");
        for bad in ["a//b", "../a", "a/./b"] {
            settings.prefix = bad.into();
            assert!(S3Store::new(&settings).is_err(), "{bad}");
        }
        settings.prefix = "/go/modules/".into();
        assert_eq!(S3Store::new(&settings).unwrap().prefix, "go/modules/");
    }
}
