//! go-get discovery pages (`<meta name="go-import">`), from any server
//! a module path names.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    modvault_git::fuzzing::go_imports(data, "example.com/a/b");
});
