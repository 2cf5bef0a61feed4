//! The request router: every client's raw path.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        modvault_server::fuzzing::route(path);
    }
});
