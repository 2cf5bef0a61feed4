//! zip_dir, plan_dir and module_path_from_dir on their own: the parts the
//! go command has no opinion on (errors, module path checks, hostile
//! trees, reproducibility). Agreement with Go is in go_differential.rs.

use std::fs;
use std::io::{Cursor, Read};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use modvault_core::dirhash::{hash1, hash_go_mod};
use modvault_publish::{module_path_from_dir, plan_dir, zip_dir, OmittedFile, PublishError};

fn write(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn zip_bytes(
    dir: &Path,
    path: &str,
    version: &str,
) -> Result<(Vec<u8>, modvault_publish::ZipSummary), PublishError> {
    let mut out = Cursor::new(Vec::new());
    let summary = zip_dir(dir, path, version, &mut out)?;
    Ok((out.into_inner(), summary))
}

fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            assert_eq!(file.compression(), zip::CompressionMethod::Deflated);
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().unwrap().into_owned(), data)
        })
        .collect()
}

#[test]
fn zips_a_module_and_reports_its_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let go_mod = "module example.com/m\n\ngo 1.24\n";
    write(dir.path(), "go.mod", go_mod);
    write(dir.path(), "a.go", "package m\n");
    write(dir.path(), "sub/b.go", "package sub\n");
    write(dir.path(), ".git/HEAD", "ref: refs/heads/main\n");
    write(dir.path(), "vendor/modules.txt", "");
    let (zip, summary) = zip_bytes(dir.path(), "example.com/m", "v1.2.3").unwrap();

    let got = entries(&zip);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "example.com/m@v1.2.3/a.go",
            "example.com/m@v1.2.3/go.mod",
            "example.com/m@v1.2.3/sub/b.go"
        ]
    );
    let files: Vec<(&str, &[u8])> = got
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    assert_eq!(summary.zip_hash, hash1(&files).unwrap());
    assert_eq!(summary.go_mod, go_mod.as_bytes());
    assert_eq!(summary.go_mod_hash, hash_go_mod(go_mod.as_bytes()));
    assert_eq!(summary.files, 3);
}

#[test]
fn a_module_without_go_mod_gets_the_synthesized_one() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.go", "package m\n");
    let (zip, summary) = zip_bytes(dir.path(), "example.com/m/v2", "v2.0.0").unwrap();
    assert_eq!(summary.go_mod, b"module example.com/m/v2\n");
    assert_eq!(
        summary.go_mod_hash,
        hash_go_mod(b"module example.com/m/v2\n")
    );
    assert_eq!(entries(&zip).len(), 1);
}

#[test]
fn zips_are_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go.mod", "module example.com/m\n");
    write(dir.path(), "a.go", &"package m\n".repeat(10_000));
    let (first, _) = zip_bytes(dir.path(), "example.com/m", "v1.0.0").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    fs::write(dir.path().join("a.go"), "package m\n".repeat(10_000)).unwrap(); // new mtime
    let (second, _) = zip_bytes(dir.path(), "example.com/m", "v1.0.0").unwrap();
    assert!(first == second, "zip bytes depend on when they were made");
}

#[test]
fn the_go_mod_must_name_the_module_being_published() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go.mod", "module example.com/other\n");
    let err = zip_bytes(dir.path(), "example.com/m", "v1.0.0").unwrap_err();
    assert_eq!(
        err.to_string(),
        "go.mod declares module path example.com/other, not example.com/m"
    );
    // A go.mod without a module line does not contradict anything.
    fs::write(dir.path().join("go.mod"), "go 1.24\n").unwrap();
    zip_bytes(dir.path(), "example.com/m", "v1.0.0").unwrap();
    // Neither does a symlinked go.mod, which is not part of the zip.
    fs::remove_file(dir.path().join("go.mod")).unwrap();
    write(dir.path(), "real.mod", "module example.com/other\n");
    symlink("real.mod", dir.path().join("go.mod")).unwrap();
    let (_, summary) = zip_bytes(dir.path(), "example.com/m", "v1.0.0").unwrap();
    assert_eq!(summary.go_mod, b"module example.com/m\n");
}

#[test]
fn module_and_version_are_checked_before_walking() {
    // The directory does not even exist: the version is refused first.
    let missing = Path::new("/nonexistent/modvault-publish-test");
    let cases = [
        (
            "example.com/m",
            "v1.0",
            "version \"v1.0\" is not canonical (should be \"v1.0.0\")",
        ),
        (
            "example.com/m",
            "v2.0.0",
            "example.com/m@v2.0.0: invalid version: should be v0 or v1, not v2",
        ),
        (
            "Example",
            "v1.0.0",
            "malformed module path \"Example\": missing dot in first path element",
        ),
    ];
    for (path, version, message) in cases {
        let err = zip_dir(missing, path, version, Cursor::new(Vec::new())).unwrap_err();
        assert!(matches!(err, PublishError::Invalid(_)));
        assert_eq!(err.to_string(), message);
        assert_eq!(
            plan_dir(missing, path, version).unwrap_err().to_string(),
            message
        );
    }
}

#[test]
fn the_directory_must_be_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = zip_dir(&missing, "example.com/m", "v1.0.0", Cursor::new(Vec::new())).unwrap_err();
    assert!(matches!(err, PublishError::Io { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
    let file = dir.path().join("file");
    fs::write(&file, "x").unwrap();
    let err = zip_dir(&file, "example.com/m", "v1.0.0", Cursor::new(Vec::new())).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: not a directory", file.display())
    );
}

/// Deliberate difference: Go's filepath.Walk does not follow a root that
/// is a symlink (and zips nothing); here the root is resolved.
#[test]
fn a_symlinked_root_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "real/go.mod", "module example.com/m\n");
    write(dir.path(), "real/a.go", "package m\n");
    symlink("real", dir.path().join("link")).unwrap();
    let (_, summary) = zip_bytes(&dir.path().join("link"), "example.com/m", "v1.0.0").unwrap();
    assert_eq!(summary.files, 2);
}

#[test]
fn plan_dir_explains_what_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go.mod", "module example.com/m\n\ngo 1.24\n");
    write(dir.path(), "a.go", "package m\n");
    write(dir.path(), ".git/HEAD", "x");
    write(dir.path(), "sub/go.mod", "module example.com/m/sub\n");
    write(dir.path(), "vendor/example.com/x/x.go", "package x\n");
    write(dir.path(), ".hg_archival.txt", "x");
    symlink("a.go", dir.path().join("link.go")).unwrap();
    let plan = plan_dir(dir.path(), "example.com/m", "v1.0.0").unwrap();
    assert_eq!(plan.included, ["a.go", "go.mod"]);
    let omitted = |path: &str, reason: &str| OmittedFile {
        path: path.into(),
        reason: reason.into(),
    };
    assert_eq!(
        plan.omitted,
        [
            omitted(
                ".hg_archival.txt",
                "file is inserted by 'hg archive' and is always omitted"
            ),
            omitted(".git", "directory is a version control repository"),
            omitted("link.go", "not a regular file"),
            omitted("sub", "directory is in another module"),
            // "vendor/example.com" itself is not in a vendored package.
            omitted("vendor/example.com/x", "file is in vendor directory"),
            omitted("vendor/example.com/x/x.go", "file is in vendor directory"),
        ]
    );
}

#[test]
fn invalid_trees_report_every_invalid_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.go", "1");
    write(dir.path(), "A.go", "2");
    write(dir.path(), "x:y", "3");
    let err = zip_bytes(dir.path(), "example.com/m", "v1.0.0").unwrap_err();
    let PublishError::Invalid(zip_error) = &err else {
        panic!("{err}")
    };
    let problems: Vec<String> = zip_error
        .invalid_files()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        problems,
        [
            "a.go: case-insensitive file name collision: \"A.go\" and \"a.go\"",
            "x:y: malformed file path \"x:y\": invalid char ':'",
        ]
    );
    assert!(
        err.to_string().ends_with("(and 1 more invalid file)"),
        "{err}"
    );
}

#[test]
fn non_utf8_names_are_invalid_unless_omitted() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.go", "package m\n");
    fs::create_dir_all(dir.path().join("vendor/x")).unwrap();
    fs::write(
        dir.path()
            .join("vendor/x")
            .join(std::ffi::OsStr::from_bytes(b"\xff.go")),
        "x",
    )
    .unwrap();
    zip_bytes(dir.path(), "example.com/m", "v1.0.0").unwrap();
    fs::write(
        dir.path().join(std::ffi::OsStr::from_bytes(b"b\xff.go")),
        "x",
    )
    .unwrap();
    let err = zip_bytes(dir.path(), "example.com/m", "v1.0.0").unwrap_err();
    assert!(err.to_string().contains("invalid char"), "{err}");
}

/// Go's os.ReadFile would block forever on a FIFO behind the root go.mod
/// symlink, and os.Open on a file swapped for a FIFO; we must not.
#[test]
fn fifos_never_block() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.go", "package m\n");
    let fifo = dir.path().join("pipe");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    symlink("pipe", dir.path().join("go.mod")).unwrap();
    let root = dir.path().to_owned();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = zip_bytes(&root, "example.com/m", "v1.0.0").map(|(_, s)| s.files);
        let module_path = module_path_from_dir(&root).map_err(|e| e.to_string());
        done.send((result.map_err(|e| e.to_string()), module_path))
            .unwrap();
    });
    let (result, module_path) = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("zip_dir blocked");
    assert_eq!(result, Ok(1));
    let message = module_path.unwrap_err();
    assert!(message.ends_with("go.mod: not a regular file"), "{message}");
}

#[test]
fn unreadable_directories_are_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.go", "package m\n");
    write(dir.path(), "locked/b.go", "package locked\n");
    let locked = dir.path().join("locked");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let readable_anyway = fs::read_dir(&locked).is_ok(); // running as root
    let result = zip_bytes(dir.path(), "example.com/m", "v1.0.0");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    if !readable_anyway {
        let err = result.unwrap_err();
        assert!(matches!(err, PublishError::Io { .. }), "{err}");
        assert!(err.to_string().contains("locked"), "{err}");
    }
}

#[test]
fn module_path_from_go_mod() {
    let dir = tempfile::tempdir().unwrap();
    let err = module_path_from_dir(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: no go.mod file", dir.path().display())
    );

    for (text, expected) in [
        ("module example.com/m\n", "example.com/m"),
        (
            "// comment\nmodule \"example.com/quoted\" // trailing\n\ngo 1.24\n",
            "example.com/quoted",
        ),
        ("module `example.com/raw`\n", "example.com/raw"),
        (
            "go 1.24\nmodule example.com/late\nrequire (\n",
            "example.com/late",
        ),
    ] {
        fs::write(dir.path().join("go.mod"), text).unwrap();
        assert_eq!(
            module_path_from_dir(dir.path()).unwrap(),
            expected,
            "{text:?}"
        );
    }
    fs::write(dir.path().join("go.mod"), "go 1.24\n").unwrap();
    let err = module_path_from_dir(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: no module path in go.mod",
            dir.path().join("go.mod").display()
        )
    );

    fs::File::create(dir.path().join("go.mod"))
        .unwrap()
        .set_len((16 << 20) + 1)
        .unwrap();
    let err = module_path_from_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("go.mod file too large"), "{err}");
}
