//! modvault's own checksum database: a transparent log of every module
//! version modvault stores, signed with modvault's key and served under
//! `/sumdb/<name>/` exactly as sum.golang.org serves its own.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use modvault_sumdb::lookup::{format_lookup_response, record_text};
use modvault_sumdb::note::{self, Signer};
use modvault_sumdb::tlog::{format_tree, parse_tile_path, Tree};

use crate::log::{LogError, TransparentLog};
use crate::relay::RelayAnswer;

pub struct OwnSumdb {
    name: String,
    signer: Signer,
    log: Arc<Mutex<TransparentLog>>,
    /// The signed note of the current tree, re-signed only when it grows.
    signed: Mutex<Option<(i64, Bytes)>>,
}

const IMMUTABLE: Duration = Duration::from_secs(365 * 24 * 3600);

impl OwnSumdb {
    /// Opens the log in `dir`, signing with the key in `signer_key`.
    pub fn open(signer_key: &str, dir: &Path) -> Result<OwnSumdb, String> {
        let signer =
            Signer::new(signer_key.trim()).map_err(|e| format!("invalid signer key: {e}"))?;
        let log = TransparentLog::open(dir).map_err(|e| e.to_string())?;
        Ok(OwnSumdb {
            name: signer.name().to_owned(),
            signer,
            log: Arc::new(Mutex::new(log)),
            signed: Mutex::new(None),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn contains(&self, path: &str, version: &str) -> bool {
        self.log
            .lock()
            .expect("log lock poisoned")
            .lookup(path, version)
            .is_some()
    }

    /// Records a stored version; durable once this returns.
    pub async fn append(
        &self,
        path: &str,
        version: &str,
        zip_hash: &str,
        go_mod_hash: &str,
    ) -> Result<i64, String> {
        let log = self.log.clone();
        let (path, version) = (path.to_owned(), version.to_owned());
        let text = record_text(&path, &version, zip_hash, go_mod_hash);
        tokio::task::spawn_blocking(move || {
            log.lock()
                .expect("log lock poisoned")
                .append(&path, &version, &text)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e: LogError| e.to_string())
    }

    /// The signed tree note of the current log.
    pub async fn signed_tree(&self) -> Result<Bytes, String> {
        let log = self.log.clone();
        let (n, hash) = tokio::task::spawn_blocking(move || {
            let log = log.lock().expect("log lock poisoned");
            log.tree_hash().map(|hash| (log.size(), hash))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let mut signed = self.signed.lock().expect("signed note lock poisoned");
        if let Some((size, note)) = signed.as_ref() {
            if *size == n {
                return Ok(note.clone());
            }
        }
        let note = Bytes::from(
            note::sign(&format_tree(&Tree { n, hash }), &self.signer).map_err(|e| e.to_string())?,
        );
        *signed = Some((n, note.clone()));
        Ok(note)
    }

    /// The lookup answer for a version already in the log.
    pub async fn lookup(&self, path: &str, version: &str) -> Result<Option<Bytes>, String> {
        let log = self.log.clone();
        let (p, v) = (path.to_owned(), version.to_owned());
        let record = tokio::task::spawn_blocking(move || {
            let log = log.lock().expect("log lock poisoned");
            match log.lookup(&p, &v) {
                Some(id) => log.record(id).map(|text| Some((id, text))),
                None => Ok(None),
            }
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let Some((id, text)) = record else {
            return Ok(None);
        };
        let signed = self.signed_tree().await?;
        format_lookup_response(id, &text, &signed)
            .map(|body| Some(Bytes::from(body)))
            .map_err(|e| e.to_string())
    }

    /// Serves `supported`, `latest` and `tile/…`; lookups go through
    /// [`OwnSumdb::lookup`] after the caller has made sure the version is
    /// stored (and so recorded).
    pub async fn serve_static(&self, rest: &str) -> RelayAnswer {
        let text = |status, body: String| RelayAnswer {
            status,
            content_type: "text/plain; charset=utf-8",
            max_age: None,
            body: Bytes::from(body),
        };
        match rest {
            "supported" => text(200, String::new()),
            "latest" => match self.signed_tree().await {
                Ok(note) => RelayAnswer {
                    status: 200,
                    content_type: "text/plain; charset=utf-8",
                    max_age: None,
                    body: note,
                },
                Err(e) => text(500, format!("{e}\n")),
            },
            _ if rest.starts_with("tile/") => {
                let Ok(tile) = parse_tile_path(rest) else {
                    return text(400, "invalid tile syntax\n".into());
                };
                let log = self.log.clone();
                let data = tokio::task::spawn_blocking(move || {
                    let log = log.lock().expect("log lock poisoned");
                    if log.has_tile(&tile) {
                        log.tile_data(&tile).map(Some)
                    } else {
                        Ok(None)
                    }
                })
                .await;
                match data {
                    Ok(Ok(Some(data))) => RelayAnswer {
                        status: 200,
                        content_type: if rest.contains("/data/") {
                            "text/plain; charset=utf-8"
                        } else {
                            "application/octet-stream"
                        },
                        max_age: Some(IMMUTABLE),
                        body: Bytes::from(data),
                    },
                    Ok(Ok(None)) => text(404, format!("not found: {rest}: not in the tree yet\n")),
                    Ok(Err(e)) => text(500, format!("{e}\n")),
                    Err(e) => text(500, format!("{e}\n")),
                }
            }
            _ => text(404, format!("not found: /sumdb/{}/{rest}\n", self.name)),
        }
    }
}
