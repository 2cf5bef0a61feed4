//! modvault's own checksum database: a transparent log of every module
//! version modvault stores, signed with modvault's key and served under
//! `/sumdb/<name>/` exactly as sum.golang.org serves its own. The records
//! and hashes live in a [`ChecksumLog`] (shared state); signing, tiles and
//! lookups are computed here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use modvault_state::ChecksumLog;
use modvault_sumdb::lookup::{format_lookup_response, record_text};
use modvault_sumdb::note::{self, Signer};
use modvault_sumdb::tlog::{
    self, format_tree, parse_tile_path, read_tile_data, tree_hash, Hash, HashReader, Tile, Tree,
};

use crate::{SumdbError, SumdbFile, TEXT};

pub struct OwnSumdb {
    name: String,
    signer: Signer,
    log: Arc<dyn ChecksumLog>,
    /// The signed note of the current tree, re-signed only when it grows.
    signed: Mutex<Option<(i64, Bytes)>>,
}

const IMMUTABLE: Duration = Duration::from_secs(365 * 24 * 3600);

impl OwnSumdb {
    /// Serves the log in `log`, signing with the key in `signer_key`.
    pub fn new(signer_key: &str, log: Arc<dyn ChecksumLog>) -> Result<OwnSumdb, SumdbError> {
        let signer = Signer::new(signer_key.trim())
            .map_err(|e| SumdbError::Config(format!("invalid signer key: {e}")))?;
        Ok(OwnSumdb {
            name: signer.name().to_owned(),
            signer,
            log,
            signed: Mutex::new(None),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn contains(&self, path: &str, version: &str) -> Result<bool, SumdbError> {
        Ok(self.log.find(path, version).await?.is_some())
    }

    /// Records a stored version; durable once this returns. A version
    /// already in the log keeps its first record.
    pub async fn append(
        &self,
        path: &str,
        version: &str,
        zip_hash: &str,
        go_mod_hash: &str,
    ) -> Result<i64, SumdbError> {
        let text = record_text(path, version, zip_hash, go_mod_hash);
        Ok(self.log.append(path, version, &text).await?)
    }

    /// The signed tree note of the current log.
    pub async fn signed_tree(&self) -> Result<Bytes, SumdbError> {
        let n = self.log.size().await?;
        if let Some((size, note)) = self
            .signed
            .lock()
            .expect("signed note lock poisoned")
            .as_ref()
        {
            if *size == n {
                return Ok(note.clone());
            }
        }
        let hash = with_hashes(self.log.as_ref(), |reader| tree_hash(n, reader)).await?;
        let note = note::sign(&format_tree(&Tree { n, hash }), &self.signer)
            .map_err(|e| SumdbError::Config(format!("cannot sign the tree: {e}")))?;
        let note = Bytes::from(note);
        *self.signed.lock().expect("signed note lock poisoned") = Some((n, note.clone()));
        Ok(note)
    }

    /// The lookup answer for a version already in the log.
    pub async fn lookup(&self, path: &str, version: &str) -> Result<Option<Bytes>, SumdbError> {
        let Some(id) = self.log.find(path, version).await? else {
            return Ok(None);
        };
        let text = self
            .log
            .read_records(id, 1)
            .await?
            .pop()
            .unwrap_or_default();
        let signed = self.signed_tree().await?;
        let body = format_lookup_response(id, &text, &signed)
            .map_err(|e| SumdbError::Config(format!("cannot format the lookup answer: {e}")))?;
        Ok(Some(Bytes::from(body)))
    }

    /// Serves `supported`, `latest` and `tile/…`; lookups go through
    /// [`OwnSumdb::lookup`] after the caller has made sure the version is
    /// stored (and so recorded).
    pub async fn serve_static(&self, rest: &str) -> Result<SumdbFile, SumdbError> {
        match rest {
            "supported" => Ok(SumdbFile {
                content_type: TEXT,
                max_age: None,
                body: Bytes::new(),
            }),
            "latest" => Ok(SumdbFile {
                content_type: TEXT,
                max_age: None,
                body: self.signed_tree().await?,
            }),
            _ if rest.starts_with("tile/") => {
                let tile = parse_tile_path(rest)
                    .map_err(|_| SumdbError::Invalid(format!("invalid tile syntax: {rest}")))?;
                let size = self.log.size().await?;
                if !tile_is_complete(&tile, size) {
                    return Err(SumdbError::NotFound(format!("{rest}: not in the tree yet")));
                }
                let (content_type, body) = if tile.l < 0 {
                    let mut data = Vec::new();
                    for record in self.log.read_records(tile.n << tile.h, tile.w).await? {
                        data.extend_from_slice(&record);
                        data.push(b'\n');
                    }
                    (TEXT, data)
                } else {
                    let data =
                        with_hashes(self.log.as_ref(), |reader| read_tile_data(&tile, reader))
                            .await?;
                    ("application/octet-stream", data)
                };
                Ok(SumdbFile {
                    content_type,
                    max_age: Some(IMMUTABLE),
                    body: Bytes::from(body),
                })
            }
            _ => Err(SumdbError::NotFound(format!("/sumdb/{}/{rest}", self.name))),
        }
    }
}

/// Whether every hash or record a tile covers is in a tree of `size`
/// records (a tile is served only once it can never change).
fn tile_is_complete(tile: &Tile, size: i64) -> bool {
    let leaves_per_entry = if tile.l < 0 {
        1i128
    } else {
        1i128 << (tile.h * tile.l).min(62)
    };
    let entries_needed = ((tile.n as i128) << tile.h) + tile.w as i128;
    entries_needed * leaves_per_entry <= size as i128
}

/// Runs a pure tlog computation over the log's stored hashes. Which hashes
/// it reads depends only on tree sizes, never on hash values, so a first
/// pass records the indexes it asks for, one call reads them all, and the
/// second pass computes over them.
async fn with_hashes<T>(
    log: &dyn ChecksumLog,
    compute: impl Fn(&dyn HashReader) -> Result<T, tlog::Error>,
) -> Result<T, SumdbError> {
    struct Recording(Mutex<Vec<i64>>);
    impl HashReader for Recording {
        fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, tlog::Error> {
            self.0
                .lock()
                .expect("recording lock poisoned")
                .extend_from_slice(indexes);
            Ok(vec![Hash([0; 32]); indexes.len()])
        }
    }
    let recording = Recording(Mutex::new(Vec::new()));
    // The first pass may fail on the dummy hashes (a proof check, say);
    // only the indexes it asked for matter.
    let _ = compute(&recording);
    let mut indexes = recording.0.into_inner().expect("recording lock poisoned");
    indexes.sort_unstable();
    indexes.dedup();
    let hashes = log.read_hashes(&indexes).await?;
    let known: HashMap<i64, Hash> = indexes.into_iter().zip(hashes).collect();
    compute(&known).map_err(|e| SumdbError::Config(format!("checksum log: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use modvault_state::embedded::{FileLog, TransparentLog};

    #[tokio::test]
    async fn tiles_and_tree_match_the_log_read_directly() {
        let dir = tempfile::tempdir().unwrap();
        let (skey, _) = note::generate_key("sum.test.example", [3; 32]);
        let db = OwnSumdb::new(&skey, Arc::new(FileLog::open(dir.path()).unwrap())).unwrap();
        for i in 0..300 {
            db.append(&format!("example.com/m{i}"), "v1.0.0", "h1:zip=", "h1:mod=")
                .await
                .unwrap();
        }
        let full = db.serve_static("tile/8/0/000").await.unwrap();
        let partial = db.serve_static("tile/8/0/001.p/44").await.unwrap();
        let data = db.serve_static("tile/8/data/001.p/44").await.unwrap();
        assert!(matches!(
            db.serve_static("tile/8/0/001.p/45").await,
            Err(SumdbError::NotFound(_))
        ));
        assert!(matches!(
            db.serve_static("tile/8/1/000.p/2").await,
            Err(SumdbError::NotFound(_))
        ));
        assert!(matches!(
            db.serve_static("tile/x").await,
            Err(SumdbError::Invalid(_))
        ));
        let note = db.signed_tree().await.unwrap();
        drop(db);

        let log = TransparentLog::open(dir.path()).unwrap();
        let tile = |n, w| Tile { h: 8, l: 0, n, w };
        assert_eq!(
            &full.body[..],
            &read_tile_data(&tile(0, 256), &log).unwrap()[..]
        );
        assert_eq!(
            &partial.body[..],
            &read_tile_data(&tile(1, 44), &log).unwrap()[..]
        );
        assert_eq!(data.body.iter().filter(|b| **b == b'\n').count(), 44 * 3);
        let tree = format!("go.sum database tree\n300\n{}\n", log.tree_hash().unwrap());
        assert!(std::str::from_utf8(&note).unwrap().starts_with(&tree));
    }
}
