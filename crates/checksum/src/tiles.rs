//! Tiles of an upstream database, fetched over HTTP and cached once
//! authenticated, behind the synchronous `TileReader` the proof code uses.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::Client;
use tokio::runtime::Handle;

use modvault_store::{read_to_bytes, PutBody, PutMode, Store};
use modvault_sumdb::tlog::{Error as TlogError, Tile, TileReader};

use modvault_store::layout;

use crate::TILE_HEIGHT;

/// Must be used from a blocking thread (`spawn_blocking`): each read blocks
/// on the async fetch.
pub struct HttpTiles {
    pub handle: Handle,
    pub client: Client,
    pub store: Arc<dyn Store>,
    pub name: String,
    pub url: String,
}

impl HttpTiles {
    async fn cached(&self, tile: &Tile) -> Option<Bytes> {
        let key = layout::verified_tile(&self.name, &tile.path());
        read_to_bytes(self.store.as_ref(), &key)
            .await
            .ok()
            .flatten()
            .map(|(_, data)| data)
    }

    async fn remote(&self, tile: &Tile) -> Result<Bytes, String> {
        let url = format!("{}/{}", self.url, tile.path());
        let shown = tile.path();
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{shown}: {}", modvault_error::chain(&e.without_url())))?;
        if !response.status().is_success() {
            return Err(format!("{shown}: {}", response.status()));
        }
        crate::relay::read_limited(response)
            .await
            .map_err(|e| format!("{shown}: {e}"))
    }

    /// Go's `Client.readTile`: the tile from the cache, else the full tile
    /// from the cache (its prefix is just as authenticated), else the tile
    /// from the server, else the full tile from the server (a partial tile
    /// disappears once it is completed).
    async fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, String> {
        if let Some(data) = self.cached(tile).await {
            return Ok(data.to_vec());
        }
        let full = Tile {
            w: 1 << tile.h,
            ..*tile
        };
        let prefix = |data: &[u8]| {
            data[..(data.len() / full.w as usize * tile.w as usize).min(data.len())].to_vec()
        };
        if full != *tile {
            if let Some(data) = self.cached(&full).await {
                return Ok(prefix(&data));
            }
        }
        match self.remote(tile).await {
            Ok(data) => Ok(data.to_vec()),
            Err(first) if full != *tile => self
                .remote(&full)
                .await
                .map(|data| prefix(&data))
                .map_err(|_| first),
            Err(e) => Err(e),
        }
    }
}

impl TileReader for HttpTiles {
    fn height(&self) -> i64 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TlogError> {
        self.handle.block_on(async {
            let reads = tiles.iter().map(|tile| self.read_tile(tile));
            futures::future::try_join_all(reads)
                .await
                .map_err(|e| TlogError::Storage(e.into()))
        })
    }

    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]) {
        self.handle.block_on(async {
            for (tile, data) in tiles.iter().zip(data) {
                let key = layout::verified_tile(&self.name, &tile.path());
                let _ = self
                    .store
                    .put(
                        &key,
                        PutBody::Bytes(Bytes::from(data.clone())),
                        PutMode::CreateOnly,
                    )
                    .await;
            }
        });
    }
}
