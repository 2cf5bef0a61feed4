//! Relaying upstream checksum databases under `/sumdb/<name>/…`
//! (spec §6.4), with caching of what never changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::{Client, StatusCode};

use modvault_store::{read_to_bytes, PutBody, PutMode, Store};
use modvault_sumdb::lookup::{format_lookup_response, is_valid_lookup_key, parse_lookup_response};
use modvault_sumdb::tlog::{parse_tile_path, parse_tree};

use crate::keys;

/// A database that may be relayed.
#[derive(Clone, Debug)]
pub struct RelayTarget {
    pub name: String,
    /// Base URL of the database, without a trailing slash.
    pub url: String,
}

/// What to send back for a relayed request.
#[derive(Debug, PartialEq, Eq)]
pub struct RelayAnswer {
    pub status: u16,
    pub content_type: &'static str,
    /// `None`: not cacheable by clients.
    pub max_age: Option<Duration>,
    pub body: Bytes,
}

impl RelayAnswer {
    fn text(status: u16, message: String) -> RelayAnswer {
        RelayAnswer {
            status,
            content_type: "text/plain; charset=utf-8",
            max_age: None,
            body: Bytes::from(message + "\n"),
        }
    }
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
    pub async fn get(&self, name: &str, rest: &str) -> RelayAnswer {
        let Some(target) = self.targets.get(name) else {
            return RelayAnswer::text(
                404,
                format!("not found: {name} is not a checksum database relayed here"),
            );
        };
        if rest == "supported" {
            return RelayAnswer {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                max_age: None,
                body: Bytes::new(),
            };
        }
        if rest == "latest" {
            return self.latest(target).await;
        }
        if let Some(key) = rest.strip_prefix("lookup/") {
            if !is_valid_lookup_key(key) {
                return RelayAnswer::text(400, format!("invalid lookup {key:?}"));
            }
            return self.lookup(target, rest).await;
        }
        if rest.starts_with("tile/") && parse_tile_path(rest).is_ok() {
            return self.tile(target, rest).await;
        }
        RelayAnswer::text(404, format!("not found: /sumdb/{name}/{rest}"))
    }

    async fn latest(&self, target: &RelayTarget) -> RelayAnswer {
        let key = keys::relayed(&target.name, "latest");
        if let Ok(Some((meta, body))) = read_to_bytes(self.store.as_ref(), &key).await {
            let age = SystemTime::now()
                .duration_since(meta.modified)
                .unwrap_or_default();
            if age < self.latest_ttl {
                return RelayAnswer {
                    status: 200,
                    content_type: "text/plain; charset=utf-8",
                    max_age: Some(self.latest_ttl),
                    body,
                };
            }
        }
        let answer = self.fetch(target, "latest").await;
        if answer.status == 200 {
            self.cache(&key, answer.body.clone(), PutMode::Overwrite)
                .await;
        }
        RelayAnswer {
            max_age: (answer.status == 200).then_some(self.latest_ttl),
            ..answer
        }
    }

    /// The record part of a lookup never changes; the tree note that comes
    /// with it may be refreshed from `latest`, which clients accept because
    /// they prove any two trees consistent.
    async fn lookup(&self, target: &RelayTarget, rest: &str) -> RelayAnswer {
        let key = keys::relayed(&target.name, rest);
        if let Ok(Some((_, cached))) = read_to_bytes(self.store.as_ref(), &key).await {
            if let Some(answer) = self.with_fresh_note(target, &cached).await {
                return answer;
            }
        }
        let answer = self.fetch(target, rest).await;
        if answer.status == 200 && parse_lookup_response(&answer.body).is_ok() {
            self.cache(&key, answer.body.clone(), PutMode::Overwrite)
                .await;
        }
        answer
    }

    async fn with_fresh_note(&self, target: &RelayTarget, cached: &[u8]) -> Option<RelayAnswer> {
        let record = parse_lookup_response(cached).ok()?;
        let latest = self.latest(target).await;
        let tree_size = std::str::from_utf8(&latest.body)
            .ok()
            .and_then(|text| text.split("\n\n").next())
            .and_then(|head| parse_tree(format!("{head}\n").as_bytes()).ok())
            .map(|tree| tree.n);
        let note = match tree_size {
            Some(n) if latest.status == 200 && record.id < n => &latest.body[..],
            _ => record.note,
        };
        let body = format_lookup_response(record.id, record.text.as_bytes(), note).ok()?;
        Some(RelayAnswer {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            max_age: None,
            body: Bytes::from(body),
        })
    }

    async fn tile(&self, target: &RelayTarget, rest: &str) -> RelayAnswer {
        let key = keys::relayed(&target.name, rest);
        if let Ok(Some((_, body))) = read_to_bytes(self.store.as_ref(), &key).await {
            return RelayAnswer {
                status: 200,
                content_type: "application/octet-stream",
                max_age: Some(IMMUTABLE),
                body,
            };
        }
        let answer = self.fetch(target, rest).await;
        if answer.status != 200 {
            return answer;
        }
        self.cache(&key, answer.body.clone(), PutMode::CreateOnly)
            .await;
        RelayAnswer {
            content_type: "application/octet-stream",
            max_age: Some(IMMUTABLE),
            ..answer
        }
    }

    async fn cache(&self, key: &str, body: Bytes, mode: PutMode) {
        if let Err(e) = self.store.put(key, PutBody::Bytes(body), mode).await {
            tracing::warn!(%key, error = %e, "could not cache checksum database answer");
        }
    }

    /// One upstream request; its status and body are passed on as they are,
    /// so that the go command's own handling (such as retrying a full tile
    /// when a partial one is gone) keeps working.
    async fn fetch(&self, target: &RelayTarget, rest: &str) -> RelayAnswer {
        let url = format!("{}/{rest}", target.url);
        let response = match self.client.get(&url).send().await {
            Ok(response) => response,
            Err(e) => {
                return RelayAnswer::text(
                    502,
                    format!("checksum database {} unreachable: {e}", target.name),
                )
            }
        };
        let status = response.status();
        match read_limited(response).await {
            Ok(body) => {
                let content_type = if status == StatusCode::OK && rest.starts_with("tile/") {
                    "application/octet-stream"
                } else {
                    "text/plain; charset=utf-8"
                };
                RelayAnswer {
                    status: status.as_u16(),
                    content_type,
                    max_age: None,
                    body,
                }
            }
            Err(e) => RelayAnswer::text(502, format!("checksum database {}: {e}", target.name)),
        }
    }
}

pub(crate) async fn read_limited(mut response: reqwest::Response) -> Result<Bytes, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err("answer too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}
