//! What every end-to-end test of the `modvault` binary shares. Helpers that
//! do not need the binary live in `modvault_testkit`.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

use modvault_testkit::run_ok;

/// The `modvault` binary cargo built for these tests.
pub fn modvault_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modvault"))
}

/// `modvault sumdb keygen NAME --key-file DIR/FILE`: returns (key file,
/// verifier key).
pub fn keygen(dir: &Path, file: &str, name: &str) -> (PathBuf, String) {
    let key_file = dir.join(file);
    let output = run_ok(
        Command::new(modvault_bin())
            .args(["sumdb", "keygen", name, "--key-file"])
            .arg(&key_file),
    );
    (
        key_file,
        String::from_utf8(output.stdout).unwrap().trim().to_owned(),
    )
}

/// `modvault token create` on `data_dir`, for every module: the token.
pub fn create_token(data_dir: &Path, name: &str, scope: &str) -> String {
    let output = run_ok(
        Command::new(modvault_bin())
            .args([
                "token",
                "create",
                "--name",
                name,
                "--scope",
                scope,
                "--data-dir",
            ])
            .arg(data_dir),
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
