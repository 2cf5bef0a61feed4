//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::cell::Cell;

use modvault_sumdb::tlog::{
    read_tile_data, stored_hashes, tree_hash, Error, Hash, Tile, TileReader, Tree,
};

/// Builds the stored hashes of a log holding `records`, in order.
pub fn build_log<R: AsRef<[u8]>>(records: impl IntoIterator<Item = R>) -> Vec<Hash> {
    let mut hashes = Vec::new();
    for (n, record) in records.into_iter().enumerate() {
        let new = stored_hashes(n as i64, record.as_ref(), &hashes).unwrap();
        hashes.extend(new);
    }
    hashes
}

/// The "leaf %d" records of Go's tlog tests.
pub fn leaf_records(n: usize) -> impl Iterator<Item = Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes())
}

/// The signed tree of the first `n` records of a log.
pub fn tree_of(hashes: &[Hash], n: i64) -> Tree {
    Tree {
        n,
        hash: tree_hash(n, hashes).unwrap(),
    }
}

/// A tile server backed by an in-memory log, counting saved tiles.
pub struct MemTiles<'a> {
    pub h: i64,
    pub hashes: &'a [Hash],
    pub reads: Cell<usize>,
    pub saved: Cell<usize>,
}

impl<'a> MemTiles<'a> {
    pub fn new(h: i64, hashes: &'a [Hash]) -> Self {
        MemTiles {
            h,
            hashes,
            reads: Cell::new(0),
            saved: Cell::new(0),
        }
    }
}

impl TileReader for MemTiles<'_> {
    fn height(&self) -> i64 {
        self.h
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        self.reads.set(self.reads.get() + tiles.len());
        tiles
            .iter()
            .map(|t| read_tile_data(t, self.hashes))
            .collect()
    }

    fn save_tiles(&self, tiles: &[Tile], _data: &[Vec<u8>]) {
        self.saved.set(self.saved.get() + tiles.len());
    }
}

/// A small deterministic PRNG (xorshift64*), so property tests are
/// reproducible without extra dependencies.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
