//! The TOML configuration file, through the whole layering and
//! validation: a bad file is an error naming the key, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modvault_config::{Config, Sources};

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("modvault-fuzz-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("modvault.toml");
    std::fs::write(&file, data).unwrap();
    let _ = Config::load(&Sources {
        flags: Vec::new(),
        env: Vec::new(),
        config_file: Some(file),
        working_dir: Some(dir),
    });
});
