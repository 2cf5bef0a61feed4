//! Multipart uploads from a local file: the file is read part by part, at
//! most [`PARTS_IN_FLIGHT`] parts of an upload are on their way at once, and
//! all uploads together hold at most `PART_BUFFERS` parts in memory.

use std::io;
use std::path::Path;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};
use tokio::io::AsyncReadExt;

use modvault_store::{StoreError, StoreResult};

use crate::{timeout_error, S3Store, PARTS_IN_FLIGHT, PART_SIZE};

impl S3Store {
    /// Uploads `file` (of `size` bytes) to `path`. The object appears only
    /// when the upload completes; a failed upload is aborted, so its parts
    /// are not kept (a killed process leaves an incomplete upload, which
    /// only a bucket lifecycle rule removes).
    pub(crate) async fn upload_file(
        &self,
        key: &str,
        path: &ObjectPath,
        file: &Path,
        size: u64,
    ) -> StoreResult<()> {
        let mut upload = match self.timed(key, self.inner.put_multipart(path)).await? {
            Ok(upload) => upload,
            Err(e) => return Err(self.classify(key, e)),
        };
        let sent = self.send_parts(key, upload.as_mut(), file, size).await;
        let completed = match sent {
            Ok(()) => match self.timed(key, upload.complete()).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => Err(self.classify(key, e)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = self
            .timed(key, upload.abort())
            .await
            .and_then(|r| r.map_err(|e| self.classify(key, e)))
        {
            tracing::warn!(%key, error = %e, "could not abort a failed multipart upload");
        }
        completed
    }

    async fn send_parts(
        &self,
        key: &str,
        upload: &mut dyn MultipartUpload,
        file: &Path,
        size: u64,
    ) -> StoreResult<()> {
        let io_error = |e: io::Error| StoreError::io(key, e);
        let mut reader = tokio::fs::File::open(file).await.map_err(io_error)?;
        let mut in_flight = FuturesUnordered::new();
        let mut offset = 0u64;
        while offset < size {
            let buffer = self
                .part_buffers
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| io_error(io::Error::other(e)))?;
            let len = (size - offset).min(PART_SIZE as u64) as usize;
            let mut part = vec![0; len];
            reader.read_exact(&mut part).await.map_err(io_error)?;
            offset += len as u64;
            let request = upload.put_part(PutPayload::from(part));
            let limit = self.request_timeout;
            // A task of its own, so parts go up while the next is read.
            in_flight.push(tokio::spawn(async move {
                let answer = tokio::time::timeout(limit, request).await;
                drop(buffer);
                answer
            }));
            while in_flight.len() >= PARTS_IN_FLIGHT {
                self.part_done(key, in_flight.next().await)?;
            }
        }
        while !in_flight.is_empty() {
            self.part_done(key, in_flight.next().await)?;
        }
        Ok(())
    }

    fn part_done(
        &self,
        key: &str,
        done: Option<
            Result<
                Result<object_store::Result<()>, tokio::time::error::Elapsed>,
                tokio::task::JoinError,
            >,
        >,
    ) -> StoreResult<()> {
        match done {
            None | Some(Ok(Ok(Ok(())))) => Ok(()),
            Some(Ok(Ok(Err(e)))) => Err(self.classify(key, e)),
            Some(Ok(Err(_))) => Err(timeout_error(key, self.request_timeout)),
            Some(Err(e)) => Err(StoreError::io(key, io::Error::other(e))),
        }
    }
}
