//! go.mod files, read the lax way the go command reads a dependency's
//! go.mod (and the module line alone, as publish and the zip checks do).
#![no_main]
use libfuzzer_sys::fuzz_target;
use modvault_core::gomod::{module_path, parse_lax};

fuzz_target!(|data: &[u8]| {
    let summary = parse_lax(data);
    let _ = summary.is_valid();
    let _ = summary.go_version_for_zip();
    let _ = summary.is_retracted("v1.0.0");
    let _ = module_path(data);
});
