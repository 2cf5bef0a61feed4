//! .netrc files, parsed the go command's way.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        modvault_git::fuzzing::netrc(text, "example.com");
    }
});
