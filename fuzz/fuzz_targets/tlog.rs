//! Transparency-log text: tree notes, records, tile paths, tile data and
//! lookup answers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modvault_sumdb::{lookup, tlog};

fuzz_target!(|data: &[u8]| {
    let _ = tlog::parse_tree(data);
    let _ = tlog::parse_record(data);
    let _ = tlog::is_valid_record_text(data);
    let _ = tlog::tile_hash_from_data(data);
    let _ = lookup::parse_lookup_response(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lookup::is_valid_lookup_key(text);
        if let Ok(tile) = tlog::parse_tile_path(text) {
            // A parsed tile formats back to a path that parses the same.
            assert_eq!(tlog::parse_tile_path(&tile.path()).ok(), Some(tile));
            let _ = tlog::hash_from_tile(&tile, data, tile.n);
        }
    }
});
