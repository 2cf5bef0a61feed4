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

/// modvault on `data_dir` fetching from `upstream` and running its own
/// checksum database `db` (its key written into `dir`): the server and the
/// database's verifier key, as a client's `GOSUMDB` names it.
pub fn start_with_own_sumdb(
    dir: &Path,
    data_dir: &Path,
    upstream: &str,
    db: &str,
) -> (modvault_testkit::Modvault, String) {
    let (key_file, vkey) = keygen(dir, &format!("{db}.key"), db);
    let server = modvault_testkit::Modvault::start_in(
        &modvault_bin(),
        data_dir,
        upstream,
        &[
            "--sumdb-name",
            db,
            "--sumdb-signer-key-file",
            key_file.to_str().unwrap(),
        ],
        &[],
    );
    (server, vkey)
}

/// Adds `module@version` to the GOPROXY file tree under `root`: its zip
/// (go.mod and `files`), `.mod`, `.info` and a line in `list`.
pub fn proxy_tree_version(
    root: &Path,
    module: &str,
    version: &str,
    go_mod: &str,
    files: &[(&str, &str)],
) {
    use std::io::Write;
    let dir = root.join(module).join("@v");
    std::fs::create_dir_all(&dir).unwrap();
    let mut zip =
        zip::ZipWriter::new(std::fs::File::create(dir.join(format!("{version}.zip"))).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (file, body) in [("go.mod", go_mod)].iter().chain(files) {
        zip.start_file(format!("{module}@{version}/{file}"), options)
            .unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    std::fs::write(dir.join(format!("{version}.mod")), go_mod).unwrap();
    std::fs::write(
        dir.join(format!("{version}.info")),
        format!("{{\"Version\":\"{version}\",\"Time\":\"2024-01-01T00:00:00Z\"}}"),
    )
    .unwrap();
    let mut list = std::fs::read_to_string(dir.join("list")).unwrap_or_default();
    list.push_str(&format!("{version}\n"));
    std::fs::write(dir.join("list"), list).unwrap();
}
