//! The zip checker on arbitrary bytes: whatever a lying upstream or a
//! publisher sends must be refused with a reason or hashed, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modvault_core::ModuleVersion;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    // verify_zip_file reads a spooled file, as the proxy does.
    let path = std::env::temp_dir().join(format!("modvault-fuzz-zip-{}", std::process::id()));
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(data).unwrap();
    drop(file);
    let target = ModuleVersion::new("example.com/m", "v1.0.0");
    if let Ok(sum) = modvault_proxy::verify_zip_file(&path, &target) {
        assert!(sum.starts_with("h1:"), "{sum}");
    }
});
