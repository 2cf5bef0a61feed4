//! Nothing panics, whatever the input: random and mutated inputs for every
//! parser, out-of-range arguments for every computation, and tile servers
//! that lie. (A poor man's fuzzer, deterministic and dependency-free; each
//! function is also written to be driven by cargo-fuzz.)

mod common;

use common::{build_log, leaf_records, MemTiles, Rng};
use modvault_sumdb::lookup::{self, is_valid_lookup_key, parse_lookup_response};
use modvault_sumdb::note::{self, open, Signer, Verifier};
use modvault_sumdb::tlog::{
    check_record, check_tree, format_tree, hash_from_tile, new_tiles, parse_record,
    parse_tile_path, parse_tree, prove_record, prove_tree, read_tile_data, record_hash,
    split_stored_hash_index, stored_hash_count, stored_hash_index, stored_hashes, tile_for_index,
    tile_hash_from_data, tree_hash, Error, Hash, HashReader, HashReaderFunc, Tile, TileHashReader,
    TileReader, Tree, MAX_TREE_SIZE,
};

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

/// Interesting i64 values for arguments.
const EDGES: [i64; 14] = [
    i64::MIN,
    i64::MIN + 1,
    -65537,
    -2,
    -1,
    0,
    1,
    2,
    63,
    64,
    65537,
    MAX_TREE_SIZE - 1,
    MAX_TREE_SIZE,
    i64::MAX,
];

/// Mutates `seed`: flips, inserts, deletes, duplicates or truncates bytes.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = if b.is_empty() {
            0
        } else {
            rng.below(b.len() as u64) as usize
        };
        match rng.below(6) {
            0 if !b.is_empty() => b[at] ^= 1 << rng.below(8),
            1 => b.insert(
                at,
                [b'\n', b'+', b'/', b'=', 0, 0xff, b' ', b'x'][rng.below(8) as usize],
            ),
            2 if !b.is_empty() => {
                b.remove(at);
            }
            3 => {
                let piece = b[at..].iter().take(8).copied().collect::<Vec<_>>();
                b.splice(at..at, piece);
            }
            4 => b.truncate(at),
            _ => b.insert(at, rng.next_u64() as u8),
        }
    }
    b
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn parsers_never_panic() {
    let signer = Signer::new(PETER_SKEY).unwrap();
    let verifiers = [Verifier::new(PETER_VKEY).unwrap()];
    let tree = Tree {
        n: 5,
        hash: record_hash(b"x"),
    };
    let note = note::sign(&format_tree(&tree), &signer).unwrap();
    let mut lookup =
        b"4\nexample.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n\n".to_vec();
    lookup.extend_from_slice(&note);
    let seeds: Vec<Vec<u8>> = vec![
        note.clone(),
        lookup,
        format_tree(&tree).into_bytes(),
        b"tile/8/0/x001/x234/567.p/3".to_vec(),
        b"tile/8/data/000".to_vec(),
        PETER_VKEY.as_bytes().to_vec(),
        PETER_SKEY.as_bytes().to_vec(),
        b"example.com/m@v1.2.3-pre+incompatible".to_vec(),
        Vec::new(),
    ];
    let mut rng = Rng(0xf022);
    for round in 0..20_000 {
        let input = if round % 10 == 0 {
            let len = rng.below(200) as usize;
            rng.bytes(len)
        } else {
            mutate(&mut rng, &seeds[round % seeds.len()])
        };
        let text = lossy(&input);
        let _ = open(&input, &verifiers);
        let _ = parse_tree(&input);
        let _ = parse_record(&input);
        let _ = parse_lookup_response(&input);
        let _ = lookup::verify_lookup(&input, &verifiers, &MemTiles::new(8, &[]));
        let _ = parse_tile_path(&text);
        let _ = Verifier::new(&text);
        let _ = Signer::new(&text);
        let _ = Hash::parse(&text);
        let _ = is_valid_lookup_key(&text);
        let _ = lookup::go_sum_lines(&text, "example.com/m", "v1.0.0");
        let _ = lookup::module_lines(&text, "example.com/m", "v1.0.0");
    }
}

#[test]
fn arithmetic_never_panics() {
    let log = build_log(leaf_records(40));
    let h = record_hash(b"x");
    let proof = vec![h; 70];
    for &a in &EDGES {
        let _ = stored_hash_count(a);
        let _ = split_stored_hash_index(a);
        let _ = tree_hash(a, &log);
        let _ = stored_hashes(a, b"x", &log);
        let _ = tile_for_index(8, a);
        let _ = tile_for_index(a, 5);
        for &b in &EDGES {
            let _ = stored_hash_index(a, b);
            let _ = prove_record(a, b, &log);
            let _ = prove_tree(a, b, &log);
            for p in [&proof[..], &proof[..1], &[]] {
                let _ = check_record(p, a, h, b, h);
                let _ = check_tree(p, a, h, b, h);
            }
            let _ = new_tiles(8, a.max(0) % 100_000, b.max(0) % 100_000);
            let _ = new_tiles(a, 0, 10);
            for &c in &[-1i64, 0, 1, 255, 256, 1 << 30] {
                let t = Tile {
                    h: a.clamp(-1, 70),
                    l: b.clamp(-3, 70),
                    n: b,
                    w: c,
                };
                let _ = t.path();
                let _ = read_tile_data(&t, &log);
                let _ = hash_from_tile(&t, &[0; 64], a);
                let _ = hash_from_tile(&t, &[], b);
            }
        }
    }
    for len in [0usize, 1, 31, 32, 33, 64, 96, 128, 160] {
        let _ = tile_hash_from_data(&vec![7; len]);
    }
}

#[test]
fn wide_tiles_beyond_the_log_fail_fast() {
    // A client asking for tile/30/0/000 of a small log gets an error
    // before 2³⁰ hashes are allocated.
    let log = build_log(leaf_records(10));
    let t = parse_tile_path("tile/30/0/000").unwrap();
    assert!(matches!(
        read_tile_data(&t, &log),
        Err(Error::HashNotStored(_))
    ));
}

/// A tile server that answers with garbage of every kind.
struct LyingTiles {
    h: i64,
    mode: u64,
    seed: u64,
}

impl TileReader for LyingTiles {
    fn height(&self) -> i64 {
        self.h
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        let mut rng = Rng(self.seed | 1);
        let mut out: Vec<Vec<u8>> = tiles
            .iter()
            .map(|t| {
                // Capped: a real server could not send 2³⁰ hashes either.
                let len = (t.w as usize * 32).min(1 << 16);
                match self.mode {
                    0 => rng.bytes(len),
                    1 => rng.bytes(len.saturating_sub(1)),
                    2 => rng.bytes(len + 32),
                    _ => Vec::new(),
                }
            })
            .collect();
        match self.mode {
            4 => {
                out.pop();
            }
            5 => out.push(Vec::new()),
            6 => return Err(Error::Storage("offline".into())),
            _ => {}
        }
        Ok(out)
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {
        panic!("lying tiles must never be authenticated");
    }
}

#[test]
fn lying_tile_servers_are_caught() {
    let mut rng = Rng(5);
    for h in [-1i64, 0, 1, 2, 8, 30, 31] {
        for mode in 0..7 {
            for &n in &[
                0i64,
                1,
                2,
                3,
                255,
                256,
                257,
                65537,
                MAX_TREE_SIZE,
                i64::MAX,
                -1,
            ] {
                let thr = TileHashReader::new(
                    Tree {
                        n,
                        hash: record_hash(b"tree"),
                    },
                    LyingTiles {
                        h,
                        mode,
                        seed: rng.next_u64(),
                    },
                );
                for indexes in [
                    vec![],
                    vec![0],
                    vec![-1],
                    vec![n / 3, n - 1],
                    vec![i64::MAX],
                ] {
                    assert!(thr.read_hashes(&indexes).is_err() || indexes.is_empty() && n == 0);
                }
                assert!(tree_hash(n.min(3), &thr).is_err() || n == 0);
            }
        }
    }
}

#[test]
fn readers_returning_the_wrong_count_are_errors() {
    // Go's HashReaderFunc: any function can serve hashes.
    let short = &HashReaderFunc(|indexes: &[i64]| {
        Ok(vec![Hash::default(); indexes.len().saturating_sub(1)])
    });
    assert!(matches!(
        tree_hash(3, short),
        Err(Error::WrongHashCount { want: 2, got: 1 })
    ));
    assert!(matches!(
        prove_record(3, 0, short),
        Err(Error::WrongHashCount { .. })
    ));
    assert!(matches!(
        prove_tree(7, 3, short),
        Err(Error::WrongHashCount { .. })
    ));
    assert!(matches!(
        stored_hashes(3, b"x", short),
        Err(Error::WrongHashCount { .. })
    ));
    let t = Tile {
        h: 2,
        l: 0,
        n: 0,
        w: 4,
    };
    assert!(matches!(
        read_tile_data(&t, short),
        Err(Error::WrongHashCount { .. })
    ));
}
