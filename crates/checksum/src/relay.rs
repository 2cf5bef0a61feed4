//! Relaying upstream checksum databases under `/sumdb/<name>/…`
//! (spec §6.4), with caching of what never changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::{Client, StatusCode};

use modvault_store::{read_to_bytes, PutBody, PutMode, Store};
use modvault_sumdb::lookup::{format_lookup_response, is_valid_lookup_key, parse_lookup_response};
use modvault_sumdb::tlog::{parse_tile_path, parse_tree, Tile, HASH_SIZE};

use modvault_store::layout;

use crate::{SumdbError, SumdbFile, TEXT};

/// A database that may be relayed.
#[derive(Clone, Debug)]
pub struct RelayTarget {
    pub name: String,
    /// Base URL of the database, without a trailing slash.
    pub url: String,
}

const IMMUTABLE: Duration = Duration::from_secs(365 * 24 * 3600);
/// Far above any real tile (8 KiB) or lookup answer.
const MAX_ANSWER: usize = 1 << 20;

pub struct Relay {
    targets: HashMap<String, RelayTarget>,
    store: Arc<dyn Store>,
    client: Client,
    latest_ttl: Duration,
}

impl Relay {
    pub fn new(
        targets: Vec<RelayTarget>,
        store: Arc<dyn Store>,
        client: Client,
        latest_ttl: Duration,
    ) -> Relay {
        let targets = targets.into_iter().map(|t| (t.name.clone(), t)).collect();
        Relay {
            targets,
            store,
            client,
            latest_ttl,
        }
    }

    pub fn relays(&self, name: &str) -> bool {
        self.targets.contains_key(name)
    }

    /// Answers `/sumdb/<name>/<rest>` for a relayed database.
    pub async fn get(&self, name: &str, rest: &str) -> Result<SumdbFile, SumdbError> {
        let Some(target) = self.targets.get(name) else {
            return Err(SumdbError::NotFound(format!(
                "{name} is not a checksum database relayed here"
            )));
        };
        if rest == "supported" {
            return Ok(SumdbFile {
                content_type: TEXT,
                max_age: None,
                body: Bytes::new(),
            });
        }
        if rest == "latest" {
            return self.latest(target).await;
        }
        if let Some(key) = rest.strip_prefix("lookup/") {
            if !is_valid_lookup_key(key) {
                return Err(SumdbError::Invalid(format!("invalid lookup {key:?}")));
            }
            return self.lookup(target, rest).await;
        }
        if rest.starts_with("tile/") && parse_tile_path(rest).is_ok() {
            return self.tile(target, rest).await;
        }
        Err(SumdbError::NotFound(format!("/sumdb/{name}/{rest}")))
    }

    async fn latest(&self, target: &RelayTarget) -> Result<SumdbFile, SumdbError> {
        let key = layout::relayed_sumdb(&target.name, "latest");
        if let Ok(Some((meta, body))) = read_to_bytes(self.store.as_ref(), &key).await {
            let age = SystemTime::now()
                .duration_since(meta.modified)
                .unwrap_or_default();
            if age < self.latest_ttl {
                return Ok(SumdbFile {
                    content_type: TEXT,
                    max_age: Some(self.latest_ttl),
                    body,
                });
            }
        }
        let body = self.fetch(target, "latest").await?;
        self.cache(&key, body.clone(), PutMode::Overwrite).await;
        Ok(SumdbFile {
            content_type: TEXT,
            max_age: Some(self.latest_ttl),
            body,
        })
    }

    /// The record part of a lookup never changes; the tree note that comes
    /// with it may be refreshed from `latest`, which clients accept because
    /// they prove any two trees consistent.
    async fn lookup(&self, target: &RelayTarget, rest: &str) -> Result<SumdbFile, SumdbError> {
        let key = layout::relayed_sumdb(&target.name, rest);
        if let Ok(Some((_, cached))) = read_to_bytes(self.store.as_ref(), &key).await {
            if let Some(answer) = self.with_fresh_note(target, &cached).await {
                return Ok(answer);
            }
        }
        let body = self.fetch(target, rest).await?;
        if parse_lookup_response(&body).is_ok() {
            self.cache(&key, body.clone(), PutMode::Overwrite).await;
        }
        Ok(SumdbFile {
            content_type: TEXT,
            max_age: None,
            body,
        })
    }

    async fn with_fresh_note(&self, target: &RelayTarget, cached: &[u8]) -> Option<SumdbFile> {
        let record = parse_lookup_response(cached).ok()?;
        let latest = self.latest(target).await.ok();
        let tree_size = latest
            .as_ref()
            .and_then(|latest| std::str::from_utf8(&latest.body).ok())
            .and_then(|text| text.split("\n\n").next())
            .and_then(|head| parse_tree(format!("{head}\n").as_bytes()).ok())
            .map(|tree| tree.n);
        let note = match (tree_size, &latest) {
            (Some(n), Some(latest)) if record.id < n => &latest.body[..],
            _ => record.note,
        };
        let body = format_lookup_response(record.id, record.text.as_bytes(), note).ok()?;
        Some(SumdbFile {
            content_type: TEXT,
            max_age: None,
            body: Bytes::from(body),
        })
    }

    async fn tile(&self, target: &RelayTarget, rest: &str) -> Result<SumdbFile, SumdbError> {
        let key = layout::relayed_sumdb(&target.name, rest);
        let body = match read_to_bytes(self.store.as_ref(), &key).await {
            Ok(Some((_, body))) => body,
            _ => match self.fetch(target, rest).await {
                Ok(body) => {
                    self.cache(&key, body.clone(), PutMode::CreateOnly).await;
                    body
                }
                Err(e) => self.wider_cached_tile(target, rest).await.ok_or(e)?,
            },
        };
        Ok(SumdbFile {
            content_type: "application/octet-stream",
            max_age: Some(IMMUTABLE),
            body,
        })
    }

    /// A partial tile the database cannot be asked for (an air-gapped
    /// server, say) from a wider copy of the same tile in the cache: its
    /// first hashes are the same bytes. A client that remembers an older
    /// tree asks for the partial tile of that tree when it starts.
    async fn wider_cached_tile(&self, target: &RelayTarget, rest: &str) -> Option<Bytes> {
        // Data tiles hold records, not fixed-size hashes.
        let tile = parse_tile_path(rest).ok().filter(|t| t.l >= 0)?;
        let full = Tile {
            w: 1 << tile.h,
            ..tile
        };
        if full == tile {
            return None;
        }
        let full_key = layout::relayed_sumdb(&target.name, &full.path());
        let mut keys = self
            .store
            .list(&format!("{full_key}.p/"))
            .await
            .unwrap_or_default();
        keys.push(full_key);
        let want = usize::try_from(tile.w).ok()? * HASH_SIZE;
        for key in keys {
            if let Ok(Some((_, data))) = read_to_bytes(self.store.as_ref(), &key).await {
                if data.len() >= want {
                    return Some(data.slice(..want));
                }
            }
        }
        None
    }

    async fn cache(&self, key: &str, body: Bytes, mode: PutMode) {
        if let Err(e) = self.store.put(key, PutBody::Bytes(body), mode).await {
            tracing::warn!(%key, error = %e, "could not cache checksum database answer");
        }
    }

    /// One upstream request. 404 and 410 stay not-found, so that the go
    /// command's own handling (such as retrying a full tile when a partial
    /// one is gone) keeps working; anything else but 200 is unavailable.
    async fn fetch(&self, target: &RelayTarget, rest: &str) -> Result<Bytes, SumdbError> {
        let url = format!("{}/{rest}", target.url);
        let unavailable = |reason: String| SumdbError::Unavailable {
            name: target.name.clone(),
            reason,
        };
        // The URL may carry credentials: errors name the database instead.
        let response = self.client.get(&url).send().await.map_err(|e| {
            unavailable(format!(
                "{rest}: {}",
                modvault_error::chain(&e.without_url())
            ))
        })?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Err(SumdbError::NotFound(format!(
                "{}/{rest}: {status}",
                target.name
            )));
        }
        let body = read_limited(response)
            .await
            .map_err(|e| unavailable(format!("{rest}: {e}")))?;
        if status != StatusCode::OK {
            let detail = String::from_utf8_lossy(&body)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            return Err(unavailable(format!("{rest}: {status} {detail}")));
        }
        Ok(body)
    }
}

pub(crate) async fn read_limited(mut response: reqwest::Response) -> Result<Bytes, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| modvault_error::chain(&e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err("answer too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}
