//! Signed notes and verifier keys: what a checksum database (or someone
//! in its place) sends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modvault_sumdb::note;

const KEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

fuzz_target!(|data: &[u8]| {
    let known = [note::Verifier::new(KEY).unwrap()];
    let _ = note::open(data, &known);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = note::Verifier::new(text);
        let _ = note::is_valid_name(text);
    }
});
