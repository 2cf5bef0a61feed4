//! Object bodies that survive a dropped connection: a body that fails
//! half-way is asked again for the rest, from the byte where it stopped,
//! and only while the object still has the same entity tag. A client
//! downloading a zip therefore sees a break in the bucket connection as a
//! pause, not as a cut-off download.

use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::aws::AmazonS3;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore};

use modvault_store::ByteStream;

/// How often one body may be resumed; each resume is a new request with its
/// own retries.
const RESUMES: u32 = 3;

struct Reader {
    store: Arc<AmazonS3>,
    path: ObjectPath,
    etag: Option<String>,
    /// The bytes still to deliver.
    rest: Range<u64>,
    body: BoxStream<'static, object_store::Result<Bytes>>,
    resumes_left: u32,
    request_timeout: Duration,
}

pub(crate) fn resumable(
    store: Arc<AmazonS3>,
    path: ObjectPath,
    etag: Option<String>,
    range: Range<u64>,
    body: BoxStream<'static, object_store::Result<Bytes>>,
    request_timeout: Duration,
) -> ByteStream {
    let reader = Reader {
        store,
        path,
        etag,
        rest: range,
        body,
        resumes_left: RESUMES,
        request_timeout,
    };
    Box::pin(futures::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        loop {
            if reader.rest.is_empty() {
                return None;
            }
            let failure = match reader.body.next().await {
                Some(Ok(bytes)) => {
                    let len = (bytes.len() as u64).min(reader.rest.end - reader.rest.start);
                    reader.rest.start += len;
                    return Some((Ok(bytes.slice(..len as usize)), Some(reader)));
                }
                Some(Err(e)) => io::Error::other(e),
                None => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{}: the body ended {} bytes early",
                        reader.path,
                        reader.rest.end - reader.rest.start
                    ),
                ),
            };
            if reader.resumes_left == 0 || reader.etag.is_none() {
                return Some((Err(failure), None));
            }
            reader.resumes_left -= 1;
            tracing::info!(key = %reader.path, error = %failure, at = reader.rest.start, "object body failed; resuming");
            let reopened = reopen(
                reader.store.clone(),
                reader.path.clone(),
                reader.etag.clone(),
                reader.rest.clone(),
                reader.request_timeout,
            )
            .await;
            match reopened {
                Ok(body) => reader.body = body,
                Err(e) => {
                    let message = format!("{failure}; resuming failed: {e}");
                    return Some((Err(io::Error::other(message)), None));
                }
            }
        }
    }))
}

/// Asks for the rest of the object, of the same version only.
async fn reopen(
    store: Arc<AmazonS3>,
    path: ObjectPath,
    etag: Option<String>,
    rest: Range<u64>,
    request_timeout: Duration,
) -> Result<BoxStream<'static, object_store::Result<Bytes>>, String> {
    let options = GetOptions {
        range: Some(GetRange::Bounded(rest.clone())),
        // Never stitch two versions of an object together.
        if_match: etag,
        ..GetOptions::default()
    };
    let answer = tokio::time::timeout(request_timeout, store.get_opts(&path, options))
        .await
        .map_err(|_| format!("no answer within {request_timeout:?}"))?;
    let result = answer.map_err(|e| e.to_string())?;
    if result.range.start != rest.start {
        return Err(format!(
            "asked for bytes from {}, got from {}",
            rest.start, result.range.start
        ));
    }
    Ok(result.into_stream())
}
