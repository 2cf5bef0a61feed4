//! Property tests over whole logs: trees of 1, 2, 3, 255, 256, 257 and
//! 65537 records, checked against an independent recursive RFC 6962
//! implementation, through both the in-memory hash store and tiles.

mod common;

use std::collections::HashSet;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use common::{build_log, leaf_records, MemTiles, Rng};
use modvault_sumdb::tlog::{
    check_record, check_tree, empty_hash, hash_from_tile, new_tiles, node_hash, parse_tile_path,
    prove_record, prove_tree, read_tile_data, record_hash, split_stored_hash_index,
    stored_hash_count, stored_hash_index, tile_for_index, tile_hash_from_data, tree_hash, Hash,
    HashReader, Tile, TileHashReader, Tree, EMPTY_HASH, MAX_TREE_SIZE,
};

/// Largest power of two smaller than n (n ≥ 2).
fn split_point(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// A log of `n` "leaf %d" records: its stored hashes, and an independent
/// model of its tree following RFC 6962 §2.1's definition of MTH.
struct Log {
    hashes: Vec<Hash>,
    leaves: Vec<Hash>,
    /// perfect[k][i]: MTH of the aligned, complete subtree of 2ᵏ leaves
    /// starting at leaf i·2ᵏ, so that any MTH costs O(log n).
    perfect: Vec<Vec<Hash>>,
}

impl Log {
    fn new(n: usize) -> Self {
        let leaves: Vec<Hash> = leaf_records(n).map(|r| record_hash(&r)).collect();
        let mut perfect = vec![leaves.clone()];
        while perfect.last().unwrap().len() > 1 {
            let below = perfect.last().unwrap();
            perfect.push(
                below
                    .chunks_exact(2)
                    .map(|p| node_hash(&p[0], &p[1]))
                    .collect(),
            );
        }
        Log {
            hashes: build_log(leaf_records(n)),
            leaves,
            perfect,
        }
    }

    /// MTH(D[lo:hi]).
    fn mth(&self, lo: usize, hi: usize) -> Hash {
        match hi - lo {
            0 => Hash(Sha256::digest(b"").into()),
            1 => self.leaves[lo],
            n if n.is_power_of_two() && lo % n == 0 => {
                self.perfect[n.trailing_zeros() as usize][lo / n]
            }
            n => {
                let k = split_point(n);
                node_hash(&self.mth(lo, lo + k), &self.mth(lo + k, hi))
            }
        }
    }

    fn root(&self, n: i64) -> Hash {
        self.mth(0, n as usize)
    }
}

fn big_log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| Log::new(65537))
}

#[test]
fn hash_definitions() {
    assert_eq!(empty_hash(), EMPTY_HASH);
    assert_eq!(EMPTY_HASH.0, <[u8; 32]>::from(Sha256::digest(b"")));
    assert_eq!(
        record_hash(b"abc").0,
        <[u8; 32]>::from(Sha256::digest(b"\x00abc"))
    );
    let (l, r) = (record_hash(b"l"), record_hash(b"r"));
    let mut input = vec![1u8];
    input.extend_from_slice(&l.0);
    input.extend_from_slice(&r.0);
    assert_eq!(
        node_hash(&l, &r).0,
        <[u8; 32]>::from(Sha256::digest(&input))
    );
    assert_eq!(tree_hash(0, &Vec::new()).unwrap(), EMPTY_HASH);
}

/// Checks the record proof of (t, n) from `r`, and that tampering fails.
fn check_record_proof(log: &Log, r: &impl HashReader, t: i64, n: i64) {
    let th = log.root(t);
    let leaf = log.leaves[n as usize];
    let mut p = prove_record(t, n, r).unwrap();
    check_record(&p, t, th, n, leaf).unwrap_or_else(|e| panic!("CheckRecord({t}, {n}): {e}"));
    assert!(
        check_record(&p, t, th, n, record_hash(b"other")).is_err(),
        "wrong leaf accepted ({t}, {n})"
    );
    if t > 1 {
        assert!(
            check_record(&p, t, th, n ^ 1, leaf).is_err() || (n ^ 1) >= t,
            "wrong index accepted ({t}, {n})"
        );
    }
    let mut longer = p.clone();
    longer.push(th);
    assert!(
        check_record(&longer, t, th, n, leaf).is_err(),
        "long proof accepted ({t}, {n})"
    );
    if let Some((_, shorter)) = p.split_last() {
        assert!(
            check_record(shorter, t, th, n, leaf).is_err(),
            "short proof accepted ({t}, {n})"
        );
    }
    for k in 0..p.len() {
        p[k].0[k % 32] ^= 0x80;
        assert!(
            check_record(&p, t, th, n, leaf).is_err(),
            "corrupt proof #{k} accepted ({t}, {n})"
        );
        p[k].0[k % 32] ^= 0x80;
    }
}

/// Checks the tree proof from n to t, and that tampering fails.
fn check_tree_proof(log: &Log, r: &impl HashReader, t: i64, n: i64) {
    let (th, h) = (log.root(t), log.root(n));
    let mut p = prove_tree(t, n, r).unwrap();
    check_tree(&p, t, th, n, h).unwrap_or_else(|e| panic!("CheckTree({t}, {n}): {e}"));
    if n < t {
        assert!(
            check_tree(&p, t, th, n, log.root(n + 1)).is_err(),
            "wrong old hash accepted ({t}, {n})"
        );
    }
    assert!(
        check_tree(&p, t, h, n, h).is_err() || t == n,
        "wrong new hash accepted ({t}, {n})"
    );
    let mut longer = p.clone();
    longer.push(th);
    assert!(
        check_tree(&longer, t, th, n, h).is_err(),
        "long proof accepted ({t}, {n})"
    );
    for k in 0..p.len() {
        p[k].0[0] ^= 1;
        assert!(
            check_tree(&p, t, th, n, h).is_err(),
            "corrupt proof #{k} accepted ({t}, {n})"
        );
        p[k].0[0] ^= 1;
    }
}

#[test]
fn small_trees_exhaustively() {
    // Every record proof and every tree proof of every prefix.
    let log = Log::new(257);
    for t in 1..=257i64 {
        assert_eq!(
            tree_hash(t, &log.hashes).unwrap(),
            log.root(t),
            "TreeHash({t})"
        );
    }
    for t in [1i64, 2, 3, 255, 256, 257] {
        assert_eq!(
            stored_hash_count(t) as usize,
            build_log(leaf_records(t as usize)).len()
        );
        for n in 0..t {
            check_record_proof(&log, &log.hashes, t, n);
        }
        for n in 1..=t {
            check_tree_proof(&log, &log.hashes, t, n);
        }
    }
}

#[test]
fn tree_of_65537_records() {
    // Big enough for three levels of height-8 tiles and a partial tile on
    // each; sampled so that a debug build stays fast.
    let log = big_log();
    let t = 65537;
    assert_eq!(stored_hash_count(t) as usize, log.hashes.len());
    assert_eq!(tree_hash(t, &log.hashes).unwrap(), log.root(t));

    let mut rng = Rng(0x5eed);
    let mut sizes: Vec<i64> = vec![1, 2, 255, 256, 257, 32768, 32769, 65535, 65536, 65537];
    sizes.extend((0..20).map(|_| 1 + rng.below(65537) as i64));
    for &t in &sizes {
        assert_eq!(
            tree_hash(t, &log.hashes).unwrap(),
            log.root(t),
            "TreeHash({t})"
        );
        let mut ns: Vec<i64> = vec![0, t - 1, t / 2];
        ns.extend((0..5).map(|_| rng.below(t as u64) as i64));
        for n in ns {
            check_record_proof(log, &log.hashes, t, n);
        }
        for &n in &sizes {
            if n <= t {
                check_tree_proof(log, &log.hashes, t, n);
            }
        }
    }
}

#[test]
fn tiles_serve_the_same_hashes_and_proofs() {
    let log = big_log();
    let mut rng = Rng(7);
    for h in [1i64, 2, 8] {
        for t in [1i64, 2, 3, 255, 256, 257, 65537] {
            let tiles = MemTiles::new(h, &log.hashes);
            let thr = TileHashReader::new(
                Tree {
                    n: t,
                    hash: log.root(t),
                },
                &tiles,
            );
            // Leaves and interior hashes read through tiles are the stored ones.
            let limit = stored_hash_index(0, t);
            let mut indexes: Vec<i64> = (0..limit.min(40)).collect();
            indexes.extend((0..10).map(|_| rng.below(limit as u64) as i64));
            indexes.push(limit - 1);
            for &x in &indexes {
                assert_eq!(
                    thr.read_hashes(&[x]).unwrap(),
                    [log.hashes[x as usize]],
                    "H={h} N={t} index {x}"
                );
            }
            assert!(thr.read_hashes(&[limit]).is_err(), "index past the tree");
            // Proofs built from tiles equal proofs built from storage.
            for n in [0, t / 3, t - 1] {
                assert_eq!(
                    prove_record(t, n, &thr).unwrap(),
                    prove_record(t, n, &log.hashes).unwrap()
                );
            }
            for n in [1, t / 2 + 1, t] {
                assert_eq!(
                    prove_tree(t, n, &thr).unwrap(),
                    prove_tree(t, n, &log.hashes).unwrap()
                );
                assert_eq!(tree_hash(n, &thr).unwrap(), log.root(n));
            }
            assert_eq!(
                tiles.saved.get(),
                tiles.reads.get(),
                "every tile read was authenticated and saved"
            );
        }
    }
}

#[test]
fn tiles_from_a_wrong_tree_are_rejected() {
    let log = Log::new(300);
    let tiles = MemTiles::new(2, &log.hashes);
    // A tree claiming a different hash, or a size the tiles do not support.
    for tree in [
        Tree {
            n: 300,
            hash: log.root(299),
        },
        Tree {
            n: 299,
            hash: log.root(300),
        },
        Tree {
            n: 300,
            hash: Hash::default(),
        },
    ] {
        let thr = TileHashReader::new(tree, &tiles);
        assert!(thr.read_hashes(&[0]).is_err(), "{tree:?}");
    }
    assert_eq!(tiles.saved.get(), 0, "nothing unauthenticated is saved");
}

#[test]
fn stored_hash_index_round_trips() {
    let mut rng = Rng(99);
    for _ in 0..10_000 {
        let level = rng.below(40) as i64;
        let n = (rng.next_u64() >> (level + 24)) as i64;
        let x = stored_hash_index(level, n);
        assert_eq!(split_stored_hash_index(x).unwrap(), (level, n), "index {x}");
    }
    // Indexes are dense: splitting 0..N and re-joining gives 0..N.
    for x in 0..5000 {
        let (l, n) = split_stored_hash_index(x).unwrap();
        assert_eq!(stored_hash_index(l, n), x);
    }
    // The largest tree still has representable indexes.
    assert_eq!(stored_hash_index(0, MAX_TREE_SIZE), i64::MAX);
    assert!(stored_hash_count(MAX_TREE_SIZE) > 0);
}

#[test]
fn tile_paths_round_trip() {
    let mut rng = Rng(3);
    for _ in 0..5000 {
        let h = 1 + rng.below(30) as i64;
        let l = rng.below(64) as i64 - 1;
        let n = (rng.next_u64() >> rng.below(64)) as i64 & i64::MAX;
        let w = 1 + rng.below(1 << h) as i64;
        let t = Tile { h, l, n, w };
        assert_eq!(parse_tile_path(&t.path()).unwrap(), t, "{t}");
    }
}

#[test]
fn new_tiles_cover_growth() {
    // Publishing old→mid and mid→new publishes everything 0→new needs, and
    // each tile's data extends what was published for it before.
    let log = Log::new(1100);
    let mut rng = Rng(11);
    for h in [1i64, 2, 3, 8, 10] {
        for _ in 0..30 {
            let a = rng.below(1100) as i64;
            let b = a + rng.below(1100 - a as u64 + 1) as i64;
            let published: HashSet<Tile> = new_tiles(h, 0, a)
                .unwrap()
                .into_iter()
                .chain(new_tiles(h, a, b).unwrap())
                .collect();
            for t in new_tiles(h, 0, b).unwrap() {
                assert!(published.contains(&t), "h={h} 0→{a}→{b} misses {t}");
                let data = read_tile_data(&t, &log.hashes).unwrap();
                // Every hash in the tile is readable from it.
                let first = stored_hash_index(t.h * t.l, t.n << t.h);
                let tile_for_first = tile_for_index(h, first).unwrap();
                assert_eq!((tile_for_first.l, tile_for_first.n), (t.l, t.n));
                assert_eq!(
                    hash_from_tile(&t, &data, first).unwrap(),
                    log.hashes[first as usize]
                );
                if t.w == 1 << t.h {
                    // A full tile hashes to its parent's entry.
                    let root = stored_hash_index(t.h * (t.l + 1), t.n);
                    if (root as usize) < log.hashes.len() {
                        assert_eq!(
                            tile_hash_from_data(&data).unwrap(),
                            log.hashes[root as usize]
                        );
                    }
                }
            }
        }
    }
}
