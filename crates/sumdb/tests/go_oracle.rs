//! Cross-checks against vectors computed by Go 1.27.3's own vendored
//! golang.org/x/mod/sumdb (tests/testdata/go_oracle.json, produced by
//! tests/oracle/main.go through tests/oracle/regen.sh). Each case is run
//! through this crate and must give Go's answer: same hashes, proofs,
//! paths, bytes, and the same accept/reject decision with Go's message.

mod common;

use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use common::{build_log, leaf_records, MemTiles};
use modvault_sumdb::lookup::verify_lookup;
use modvault_sumdb::note::{
    self, generate_key, open, sign_note, Note, Signature, Signer, Verifier,
};
use modvault_sumdb::tlog::{
    format_record, format_tree, new_tiles, parse_record, parse_tile_path, parse_tree, prove_record,
    prove_tree, read_tile_data, split_stored_hash_index, stored_hash_count, stored_hash_index,
    tile_for_index, tree_hash, Hash, Tile, Tree,
};

fn oracle() -> &'static Value {
    static ORACLE: OnceLock<Value> = OnceLock::new();
    ORACLE.get_or_init(|| serde_json::from_str(include_str!("testdata/go_oracle.json")).unwrap())
}

fn cases(key: &str) -> &'static [Value] {
    oracle()[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in go_oracle.json"))
}

/// The stored hashes of Go's 65537 "leaf %d" records, built once.
fn leaf_log() -> &'static [Hash] {
    static LOG: OnceLock<Vec<Hash>> = OnceLock::new();
    LOG.get_or_init(|| build_log(leaf_records(65537)))
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an int64: {v}"))
}

fn string(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Go's JSON encoding of []byte: base64, or null for nil.
fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Null => Vec::new(),
        v => base64::engine::general_purpose::STANDARD
            .decode(string(v))
            .unwrap(),
    }
}

fn go_err(v: &Value) -> Option<&str> {
    v["err"].as_str()
}

fn hash_strings(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_string).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| string(s).to_owned()).collect())
        .unwrap_or_default()
}

fn tile(v: &Value) -> Tile {
    let f: Vec<i64> = v.as_array().unwrap().iter().map(int).collect();
    Tile {
        h: f[0],
        l: f[1],
        n: f[2],
        w: f[3],
    }
}

fn signatures(v: &Value) -> Vec<Signature> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| Signature {
                    name: string(&s["name"]).to_owned(),
                    hash: int(&s["hash"]) as u32,
                    base64: string(&s["base64"]).to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn tree_hashes_and_counts() {
    let log = leaf_log();
    for c in cases("trees") {
        let n = int(&c["n"]);
        assert_eq!(
            tree_hash(n, log).unwrap().to_string(),
            string(&c["hash"]),
            "TreeHash({n})"
        );
        assert_eq!(
            stored_hash_count(n),
            int(&c["stored_hash_count"]),
            "StoredHashCount({n})"
        );
    }
}

#[test]
fn proofs() {
    let log = leaf_log();
    for c in cases("record_proofs") {
        let (t, n) = (int(&c["t"]), int(&c["n"]));
        assert_eq!(
            hash_strings(&prove_record(t, n, log).unwrap()),
            strings(&c["proof"]),
            "ProveRecord({t}, {n})"
        );
    }
    for c in cases("tree_proofs") {
        let (t, n) = (int(&c["t"]), int(&c["n"]));
        assert_eq!(
            hash_strings(&prove_tree(t, n, log).unwrap()),
            strings(&c["proof"]),
            "ProveTree({t}, {n})"
        );
    }
}

#[test]
fn tiles() {
    for c in cases("new_tiles") {
        let (h, old, new) = (int(&c["h"]), int(&c["old"]), int(&c["new"]));
        let paths: Vec<String> = new_tiles(h, old, new)
            .unwrap()
            .iter()
            .map(Tile::path)
            .collect();
        assert_eq!(paths, strings(&c["paths"]), "NewTiles({h}, {old}, {new})");
    }
    let log = leaf_log();
    for c in cases("tile_data") {
        let t = parse_tile_path(string(&c["path"])).unwrap();
        let data = read_tile_data(&t, log).unwrap();
        let sum: String = Sha256::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sum, string(&c["data_sha256"]), "ReadTileData({t})");
    }
    for c in cases("tile_for_index") {
        let (h, index) = (int(&c["h"]), int(&c["index"]));
        let t = tile_for_index(h, index).unwrap();
        assert_eq!(t, tile(&c["tile"]), "TileForIndex({h}, {index})");
        assert_eq!(t.path(), string(&c["path"]));
    }
    for c in cases("tile_paths") {
        assert_eq!(tile(&c["tile"]).path(), string(&c["path"]));
    }
    for c in cases("parse_tile_path") {
        let path = string(&c["path"]);
        match (parse_tile_path(path), go_err(c)) {
            (Ok(t), None) => assert_eq!(t, tile(&c["tile"]), "ParseTilePath({path:?})"),
            (Err(e), Some(want)) => assert_eq!(e.to_string(), want),
            (got, want) => panic!("ParseTilePath({path:?}) = {got:?}, Go: {want:?}"),
        }
    }
}

#[test]
fn stored_hash_arithmetic() {
    for c in cases("stored_hash_index") {
        let (level, n) = (int(&c["level"]), int(&c["n"]));
        assert_eq!(
            stored_hash_index(level, n),
            int(&c["index"]),
            "StoredHashIndex({level}, {n})"
        );
    }
    for c in cases("split_stored_hash_index") {
        let index = int(&c["index"]);
        let want = (int(&c["level"]), int(&c["n"]));
        assert_eq!(
            split_stored_hash_index(index).unwrap(),
            want,
            "SplitStoredHashIndex({index})"
        );
    }
    for c in cases("stored_hash_count") {
        let n = int(&c["n"]);
        assert_eq!(
            stored_hash_count(n),
            int(&c["count"]),
            "StoredHashCount({n})"
        );
    }
    // Go spins forever on this one; it is the first index past a tree of
    // MAX_TREE_SIZE records.
    assert_eq!(split_stored_hash_index(i64::MAX).unwrap(), (0, 1 << 62));
}

#[test]
fn keys() {
    for c in cases("verifier_keys") {
        let key = string(&c["key"]);
        match (Verifier::new(key), go_err(c)) {
            (Ok(_), None) => {}
            (Err(e), Some(want)) => assert_eq!(e.to_string(), want, "NewVerifier({key:?})"),
            (got, want) => panic!("NewVerifier({key:?}) = {got:?}, Go: {want:?}"),
        }
    }
    for c in cases("signer_keys") {
        let key = string(&c["key"]);
        match (Signer::new(key), go_err(c)) {
            (Ok(s), None) => {
                assert_eq!(s.name(), string(&c["name"]));
                assert_eq!(i64::from(s.key_hash()), int(&c["hash"]));
            }
            // Go's signer errors reuse the verifier's wording; ours do not.
            (Err(_), Some(_)) => {}
            (got, want) => panic!("NewSigner({key:?}) = {got:?}, Go: {want:?}"),
        }
    }
    for c in cases("generate_key") {
        let seed: [u8; 32] = bytes(&c["seed"]).try_into().unwrap();
        let (skey, vkey) = generate_key(string(&c["name"]), seed);
        assert_eq!(skey, string(&c["skey"]));
        assert_eq!(vkey, string(&c["vkey"]));
    }
}

#[test]
fn open_notes() {
    for c in cases("open") {
        let name = string(&c["name"]);
        let verifiers: Vec<Verifier> = strings(&c["verifiers"])
            .iter()
            .map(|k| Verifier::new(k).unwrap())
            .collect();
        let got = open(&bytes(&c["msg"]), &verifiers);
        assert_eq!(
            got.as_ref().err().map(ToString::to_string).as_deref(),
            go_err(c),
            "{name}"
        );
        let note = match got {
            Ok(n) => Some(n),
            Err(note::Error::UnverifiedNote(n)) => Some(*n),
            Err(_) => None,
        };
        assert_eq!(
            note.is_some(),
            c.get("text").is_some(),
            "{name}: note returned"
        );
        if let Some(n) = note {
            assert_eq!(n.text, string(&c["text"]), "{name}");
            assert_eq!(n.sigs, signatures(&c["sigs"]), "{name}");
            assert_eq!(n.unverified_sigs, signatures(&c["unverified"]), "{name}");
        }
    }
}

#[test]
fn sign_notes() {
    for c in cases("sign") {
        let name = string(&c["name"]);
        let signers: Vec<Signer> = strings(&c["signers"])
            .iter()
            .map(|k| Signer::new(k).unwrap())
            .collect();
        let signers: Vec<&Signer> = signers.iter().collect();
        let note = Note {
            text: string(&c["text"]).to_owned(),
            sigs: signatures(&c["sigs"]),
            unverified_sigs: signatures(&c["unverified"]),
        };
        match (sign_note(&note, &signers), go_err(c)) {
            (Ok(msg), None) => assert_eq!(msg, bytes(&c["msg"]), "{name}"),
            (Err(e), Some(want)) => assert_eq!(e.to_string(), want, "{name}"),
            (got, want) => panic!("{name}: Sign = {got:?}, Go: {want:?}"),
        }
    }
}

#[test]
fn tree_notes_and_records() {
    for c in cases("parse_tree") {
        let text = bytes(&c["text"]);
        match (parse_tree(&text), go_err(c)) {
            (Ok(t), None) => {
                assert_eq!(t.n, int(&c["n"]));
                assert_eq!(t.hash.to_string(), string(&c["hash"]));
            }
            (Err(e), Some(want)) => assert_eq!(e.to_string(), want),
            (got, want) => panic!(
                "ParseTree({:?}) = {got:?}, Go: {want:?}",
                String::from_utf8_lossy(&text)
            ),
        }
    }
    let f = &oracle()["format_tree"];
    let tree = Tree {
        n: int(&f["n"]),
        hash: Hash::parse(string(&f["hash"])).unwrap(),
    };
    assert_eq!(format_tree(&tree), string(&f["text"]));

    for c in cases("parse_record") {
        let msg = bytes(&c["msg"]);
        match (parse_record(&msg), go_err(c)) {
            (Ok((id, text, rest)), None) => {
                assert_eq!(id, int(&c["id"]));
                assert_eq!(text, bytes(&c["text"]));
                assert_eq!(rest, bytes(&c["rest"]));
            }
            (Err(e), Some(want)) => assert_eq!(e.to_string(), want),
            (got, want) => panic!(
                "ParseRecord({:?}) = {got:?}, Go: {want:?}",
                String::from_utf8_lossy(&msg)
            ),
        }
    }
    for c in cases("format_record") {
        let text = bytes(&c["text"]);
        match (format_record(int(&c["id"]), &text), go_err(c)) {
            (Ok(msg), None) => assert_eq!(msg, bytes(&c["msg"])),
            (Err(e), Some(want)) => assert_eq!(e.to_string(), want),
            (got, want) => panic!(
                "FormatRecord({:?}) = {got:?}, Go: {want:?}",
                String::from_utf8_lossy(&text)
            ),
        }
    }
}

/// The records of the oracle's lookup log, by the oracle's formula.
fn lookup_records() -> Vec<String> {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s));
    let mut records = vec![
        "rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\nrsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=\nrsc.io/quote v1.5.2 h2:xyzzy\n".to_owned(),
        "golang.org/x/text v0.0.0-20170915032832-14c0d48ead0c h1:qgOY6WgZOaTkIIMiVjBQcw93ERBE4m30iBm00nkL0i8=\ngolang.org/x/text v0.0.0-20170915032832-14c0d48ead0c/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=\n".to_owned(),
        "rsc.io/sampler v1.3.0 h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4=\nrsc.io/sampler v1.3.0/go.mod h1:T1hPZKmBbMNahiBKFy5HrXp6adAjACjK9JXDnKaTXpA=\n".to_owned(),
    ];
    for i in 3..1000 {
        let (zip, m) = (b64(format!("zip {i}")), b64(format!("mod {i}")));
        let v = i % 7;
        records.push(format!(
            "example.com/m{i} v1.0.{v} h1:{zip}\nexample.com/m{i} v1.0.{v}/go.mod h1:{m}\n"
        ));
    }
    records
}

#[test]
fn lookups_signed_by_go_verify() {
    const LOCAL_VKEY: &str =
        "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
    let verifiers = [Verifier::new(LOCAL_VKEY).unwrap()];
    let records = lookup_records();
    let log = build_log(&records);
    for c in cases("lookups") {
        let (size, id) = (int(&c["size"]), int(&c["id"]));
        assert_eq!(
            tree_hash(size, &log).unwrap().to_string(),
            string(&c["tree_hash"])
        );
        // Serve only the first `size` records' hashes, as that server would.
        let hashes = &log[..stored_hash_count(size) as usize];
        let response = bytes(&c["response"]);
        let verified = verify_lookup(&response, &verifiers, &MemTiles::new(8, hashes)).unwrap();
        assert_eq!((verified.id, verified.tree.n), (id, size));
        assert_eq!(verified.text, records[id as usize]);
    }
}

/// When the test suite has the real toolchain (`MVTEST_GO`, which
/// scripts/test provides), regenerate the vectors and insist that the
/// checked-in file is exactly what Go 1.27.3 computes today.
#[test]
fn vectors_are_current() {
    let Some(go) = std::env::var_os("MVTEST_GO") else {
        eprintln!("MVTEST_GO is not set; not regenerating go_oracle.json");
        return;
    };
    let dir = env!("CARGO_MANIFEST_DIR");
    let out =
        std::env::temp_dir().join(format!("modvault-sumdb-oracle-{}.json", std::process::id()));
    let status = std::process::Command::new("bash")
        .arg(format!("{dir}/tests/oracle/regen.sh"))
        .arg(&go)
        .arg(&out)
        .status()
        .expect("running tests/oracle/regen.sh");
    let fresh = std::fs::read_to_string(&out);
    let _ = std::fs::remove_file(&out);
    assert!(status.success(), "tests/oracle/regen.sh failed");
    let fresh: Value = serde_json::from_str(&fresh.unwrap()).unwrap();
    assert!(
        fresh == *oracle(),
        "tests/testdata/go_oracle.json is stale: run tests/oracle/regen.sh"
    );
}
