//! Differential test: builds many directory trees, zips each with
//! `zip_dir` and with the go command's own `zip.CreateFromDir` (the x/mod
//! code vendored into the Go toolchain), and requires the same outcome:
//! the same `h1:` hash, entry names in the same order and the same go.mod,
//! or the same invalid files / error message. `plan_dir` must list what
//! Go's `CheckDir` lists. Our zip must also pass the go command's
//! `CheckZip` and `Unzip` and hash, by Go's `dirhash.HashZip`, to the
//! `h1:` we reported.
//!
//! The Go side is `tests/oracle/main.go`, built against a copy of
//! `$GOROOT/src/cmd/vendor/golang.org/x/mod` with the network off. The go
//! binary is `$MVTEST_GO`, else `<workspace>/.venv/bin/go`, else
//! `/tmp/govenv/bin/go`. Without one the test fails (it never skips).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use modvault_core::modzip::ZipError;
use modvault_publish::{plan_dir, zip_dir, PublishError, ZipSummary};
use serde::{Deserialize, Serialize};

const ORACLE_SOURCE: &str = include_str!("oracle/main.go");

#[derive(Serialize)]
struct Request {
    dir: String,
    path: String,
    version: String,
    our_zip: String,
}

#[derive(Deserialize, Debug)]
struct Answer {
    error: String,
    invalid: Option<Vec<String>>,
    hash: String,
    names: Option<Vec<String>>,
    go_mod: Option<String>,
    dir_valid: Option<Vec<String>>,
    dir_omitted: Option<Vec<String>>,
    our_hash: String,
    our_check: String,
    our_unzip: String,
}

/// One tree to compare.
struct Case {
    name: String,
    dir: PathBuf,
    path: String,
    version: String,
    /// Error texts can be compared (false for non-UTF-8 names, which Go
    /// quotes byte by byte and we see with U+FFFD).
    exact_messages: bool,
}

/// Builds trees under one directory.
struct Trees {
    root: PathBuf,
    cases: Vec<Case>,
}

impl Trees {
    fn new(root: PathBuf) -> Trees {
        Trees {
            root,
            cases: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, path: &str, version: &str, build: impl FnOnce(&Tree)) {
        let dir = self.root.join(format!("{:04}", self.cases.len()));
        fs::create_dir_all(&dir).unwrap();
        build(&Tree(dir.clone()));
        self.cases.push(Case {
            name: name.to_owned(),
            dir,
            path: path.to_owned(),
            version: version.to_owned(),
            exact_messages: true,
        });
    }
}

struct Tree(PathBuf);

impl Tree {
    fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
        self
    }

    fn dir(&self, rel: &str) -> &Self {
        fs::create_dir_all(self.0.join(rel)).unwrap();
        self
    }

    fn symlink(&self, rel: &str, target: &str) -> &Self {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(target, path).unwrap();
        self
    }

    /// A file of `len` bytes that takes no disk space.
    fn sparse(&self, rel: &str, len: u64) -> &Self {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::File::create(path).unwrap().set_len(len).unwrap();
        self
    }

    fn fifo(&self, rel: &str) -> &Self {
        use std::os::unix::ffi::OsStrExt;
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
        self
    }

    fn socket(&self, rel: &str) -> &Self {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        drop(std::os::unix::net::UnixListener::bind(path).unwrap());
        self
    }

    fn raw_name(&self, rel_dir: &str, name: &[u8], contents: &[u8]) -> &Self {
        use std::os::unix::ffi::OsStrExt;
        let dir = self.0.join(rel_dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(std::ffi::OsStr::from_bytes(name)), contents).unwrap();
        self
    }
}

const M: &str = "example.com/m";
const V: &str = "v1.0.0";

fn go_mod(go: &str) -> String {
    format!("module {M}\n\ngo {go}\n")
}

/// Vendored trees, where the `go` line changes the rules.
fn vendor_tree(t: &Tree) {
    t.file("vendor/modules.txt", "# example.com/x v1.0.0\n")
        .file("vendor/example.com/x/x.go", "package x\n")
        .file("vendor/example.com/x/.git/HEAD", "ref\n")
        .file(
            "vendor/example.com/x/sub/go.mod",
            "module example.com/x/sub\n",
        )
        .file("vendor/a.go", "package vendor\n")
        .file("pkg/vendor/vendor.go", "package vendor\n")
        .file("pkg/vendor/foo/foo.go", "package foo\n")
        .file("x/vendor/y/z.go", "package y\n")
        .file("vendorx/a/b.go", "package a\n")
        .file("a/vendor", "not a directory\n")
        .symlink("vendor/example.com/x/link", "x.go")
        .file("main.go", "package main\n");
}

fn hand_written(trees: &mut Trees) {
    trees.add("basic", M, V, |t| {
        t.file("go.mod", go_mod("1.23"))
            .file("LICENSE", "Apache\n")
            .file("a.go", "package m\n")
            .file("a/b.go", "package a\n")
            .file("a-b.go", "package m\n")
            .file("a0", "zero\n")
            .file("README.md", "# m\n")
            .file("sub/b.go", "package sub\n")
            .file("sub/testdata/x.txt", "")
            .file("with space.go", "package m\n")
            .file("ünïcödé.go", "package m\n")
            .file("Makefile", "all:\n");
    });
    for go in ["1.23", "1.24", "1.21.3", "1.24rc1", "1.25.0"] {
        trees.add(&format!("vendor go {go}"), M, V, |t| {
            t.file("go.mod", go_mod(go));
            vendor_tree(t);
        });
    }
    trees.add("vendor without go line", M, V, |t| {
        t.file("go.mod", format!("module {M}\n"));
        vendor_tree(t);
    });
    trees.add("vendor with a go.mod ParseLax rejects", M, V, |t| {
        t.file("go.mod", format!("module {M}\ngo 1.24\ngo 1.24\n"));
        vendor_tree(t);
    });
    trees.add("vendor without go.mod", M, V, vendor_tree);
    for (go, target) in [
        ("1.24", "gomod.txt"),
        ("1.23", "gomod.txt"),
        ("1.24", "missing"),
    ] {
        trees.add(
            &format!("vendor, root go.mod a symlink ({go}, {target})"),
            M,
            V,
            |t| {
                t.file("gomod.txt", go_mod(go)).symlink("go.mod", target);
                vendor_tree(t);
            },
        );
    }
    trees.add("root go.mod a symlink to a directory", M, V, |t| {
        t.file("d/x.go", "package d\n").symlink("go.mod", "d");
        vendor_tree(t);
    });
    trees.add("nested modules", M, V, |t| {
        t.file("go.mod", go_mod("1.22"))
            .file("a.go", "package m\n")
            .file("sub/go.mod", "module example.com/m/sub\n")
            .file("sub/x.go", "package sub\n")
            .file("sub/inner/y.go", "package inner\n")
            .file("other/GO.MOD", "module example.com/m/other\n")
            .file("other/z.go", "package other\n")
            .file("other/deep/z.go", "package deep\n")
            .file("third/real", "module example.com/m/third\n")
            .symlink("third/go.mod", "real")
            .file("third/t.go", "package third\n")
            .file("fourth/go.mod/inside.go", "package x\n")
            .file("fourth/f.go", "package fourth\n")
            .file("fifth/Go.Mod", "module example.com/m/fifth\n")
            .file("fifth/f.go", "package fifth\n")
            .file(
                "sixth/seventh/go.mod",
                "module example.com/m/sixth/seventh\n",
            )
            .file("sixth/s.go", "package sixth\n");
    });
    trees.add("version control directories", M, V, |t| {
        t.file("go.mod", go_mod("1.24"))
            .file(".git/config", "[core]\n")
            .file(".git/objects/ab/cdef", "x")
            .file(".hg/store/data", "x")
            .file(".svn/entries", "x")
            .file(".bzr/branch-format", "x")
            .file("sub/.git/HEAD", "x")
            .file("sub/keep.go", "package sub\n")
            .file(".GIT/x", "not skipped\n")
            .file(".gitignore", "*.o\n")
            .file(".gitattributes", "* text\n")
            .file(".github/workflows/ci.yml", "on: push\n")
            .file(".hgtags", "x\n")
            .file("git/x.go", "package git\n")
            .file(".git2/x", "kept\n");
    });
    trees.add("symbolic links and irregular files", M, V, |t| {
        t.file("go.mod", go_mod("1.24"))
            .file("a.go", "package m\n")
            .file("sub/ok.go", "package sub\n")
            .symlink("link.go", "a.go")
            .symlink("dirlink", "sub")
            .symlink("dangling", "nowhere")
            .symlink("loop", "loop")
            .symlink("LICENSE", "a.go")
            .symlink("sub/up", "..")
            .fifo("pipe")
            .fifo("sub/pipe")
            .socket("sock");
    });
    trees.add("no go.mod", M, V, |t| {
        t.file("a.go", "package m\n");
    });
    trees.add("empty", M, V, |_| {});
    trees.add("only empty directories", M, V, |t| {
        t.dir("a/b/c").dir("d");
    });
    trees.add("hg archival", M, V, |t| {
        t.file(".hg_archival.txt", "repo: x\n")
            .file("sub/.hg_archival.txt", "kept\n")
            .file("a.go", "package m\n");
    });
    trees.add("case collision", M, V, |t| {
        t.file("a.go", "1").file("A.go", "2").file("b.go", "3");
    });
    trees.add("case collision of directories", M, V, |t| {
        t.file("dir/x.go", "1")
            .file("DIR/y.go", "2")
            .file("Dir/z.go", "3");
    });
    trees.add("go.mod in the wrong case", M, V, |t| {
        t.file("GO.MOD", go_mod("1.24")).file("a.go", "package m\n");
    });
    trees.add("go.mod in both cases", M, V, |t| {
        t.file("go.mod", go_mod("1.24"))
            .file("Go.mod", go_mod("1.24"));
    });
    trees.add("bad file names", M, V, |t| {
        t.file("a:b.go", "x")
            .file("aux.go", "x")
            .file("sub/COM1", "x")
            .file("foo~1.go", "x")
            .file("emoji😀.go", "x")
            .file("ok.go", "x")
            .file("quote\".go", "x")
            .file("back\\slash", "x")
            .file("tab\t.go", "x");
    });
    trees.add("LICENSE too large", M, V, |t| {
        t.file("go.mod", go_mod("1.24"))
            .sparse("LICENSE", (16 << 20) + 1);
    });
    trees.add("LICENSE at the limit", M, V, |t| {
        t.file("go.mod", go_mod("1.24")).sparse("LICENSE", 16 << 20);
    });
    trees.add("nested LICENSE not limited", M, V, |t| {
        t.sparse("sub/LICENSE", (16 << 20) + 1);
    });
    trees.add("go.mod too large", M, V, |t| {
        t.sparse("go.mod", (16 << 20) + 1).file("a.go", "x");
    });
    trees.add("source tree too large", M, V, |t| {
        t.file("go.mod", go_mod("1.24"))
            .sparse("big1", 300 << 20)
            .sparse("big2", 200 << 20)
            .file("one-more-byte", "x")
            .file("a:b", "invalid too, but the size error wins");
    });
    trees.add("large file, many buffers", M, V, |t| {
        let mut data = Vec::with_capacity(3 << 20);
        let mut x: u32 = 1;
        while data.len() < 3 << 20 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            data.extend_from_slice(&x.to_le_bytes());
        }
        t.file("go.mod", go_mod("1.24")).file("random.bin", data);
    });
    trees.add("deep", M, V, |t| {
        t.file(&format!("{}f.go", "d/".repeat(60)), "package d\n");
    });
    trees.add(
        "major version v2",
        "example.com/m/v2",
        "v2.1.0-pre.1",
        |t| {
            t.file("go.mod", "module example.com/m/v2\n\ngo 1.24\n")
                .file("a.go", "package m\n");
        },
    );
    trees.add("gopkg.in", "gopkg.in/yaml.v3", "v3.0.1", |t| {
        t.file("go.mod", "module gopkg.in/yaml.v3\n")
            .file("yaml.go", "package yaml\n");
    });
    trees.add("incompatible", M, "v2.0.0+incompatible", |t| {
        t.file("a.go", "package m\n");
    });
    trees.add(
        "pseudo-version",
        M,
        "v0.0.0-20240101000000-abcdefabcdef",
        |t| {
            t.file("go.mod", go_mod("1.24"));
        },
    );
    for (path, version) in [
        (M, "v1.0"),
        (M, "v1.0.0+build"),
        (M, "1.0.0"),
        (M, "v2.0.0"),
        ("example.com/m/v2", V),
        ("Example", V),
        ("example.com/m/", V),
        ("", V),
        (M, ""),
    ] {
        trees.add(
            &format!("bad module {path:?}@{version:?}"),
            path,
            version,
            |t| {
                t.file("a.go", "package m\n");
            },
        );
    }
    trees.add("non-UTF-8 name in a vendored package", M, V, |t| {
        t.file("go.mod", go_mod("1.24"))
            .file("a.go", "package m\n")
            .raw_name("vendor/x", b"\xff.go", b"package x\n");
    });
    trees.add("non-UTF-8 name in a nested module", M, V, |t| {
        t.file("a.go", "package m\n")
            .file("sub/go.mod", "module example.com/m/sub\n")
            .raw_name("sub", b"\xfe\xff", b"x");
    });
    let exact = trees.cases.len();
    trees.add("non-UTF-8 name", M, V, |t| {
        t.file("a.go", "package m\n")
            .raw_name("", b"bad\xff.go", b"x");
    });
    trees.cases[exact].exact_messages = false;
}

use modvault_testkit::Rng;

/// Random trees over names chosen to hit the rules: vendor directories,
/// nested go.mod files in both cases, VCS directories, case collisions,
/// symlinks, `.hg_archival.txt`, files named like directories.
fn random_trees(trees: &mut Trees, count: usize) {
    const NAMES: &[&str] = &[
        "a.go",
        "A.go",
        "b.go",
        "go.mod",
        "GO.MOD",
        "LICENSE",
        "vendor",
        "modules.txt",
        "vendor.go",
        "x",
        "X",
        "pkg",
        "sub",
        ".git",
        ".hg",
        ".svn",
        ".hg_archival.txt",
        "README",
        "a",
        "a-",
        "a.b",
        "con",
        "ok~1",
        "ä.go",
    ];
    const GO_MODS: &[&str] = &[
        "",
        "go 1.23\n",
        "go 1.24\n",
        "go 1.21\n",
        "go 1.25.1\n",
        "go 1.24\ngo 1.24\n",
        "go x\n",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for n in 0..count {
        let go_mod_choice = rng.pick(GO_MODS);
        let entries: Vec<(String, usize)> = (0..3 + rng.below(25))
            .map(|_| {
                let depth = 1 + rng.below(4);
                let path: Vec<&str> = (0..depth).map(|_| rng.pick(NAMES)).collect();
                (path.join("/"), rng.below(10))
            })
            .collect();
        let root_go_mod = rng.below(4);
        trees.add(&format!("random #{n}"), M, V, |t| {
            match root_go_mod {
                0 => {}
                1 => {
                    t.symlink("go.mod", "gomod.txt")
                        .file("gomod.txt", format!("module {M}\n{go_mod_choice}"));
                }
                _ => {
                    t.file("go.mod", format!("module {M}\n{go_mod_choice}"));
                }
            }
            for (rel, kind) in &entries {
                let path = t.0.join(rel);
                // Skip paths that clash with what is already there.
                let parent_ok = path
                    .ancestors()
                    .skip(1)
                    .take_while(|p| *p != t.0)
                    .all(|p| fs::symlink_metadata(p).map_or(true, |m| m.is_dir()));
                if !parent_ok || fs::symlink_metadata(&path).is_ok() {
                    continue;
                }
                match kind {
                    0 => {
                        t.symlink(rel, "a.go");
                    }
                    1 => {
                        t.dir(rel);
                    }
                    _ => {
                        t.file(rel, format!("{rel} {kind}\n"));
                    }
                }
            }
        });
    }
}

/// Our outcome, in the oracle's terms.
fn compare(
    case: &Case,
    ours: &Result<ZipSummary, PublishError>,
    our_zip: &Path,
    go: &Answer,
) -> Result<(), String> {
    match ours {
        Ok(summary) => {
            if !go.hash.is_empty() {
                let names = zip_names(our_zip);
                let go_names = go.names.clone().unwrap_or_default();
                let go_mod = match &go.go_mod {
                    Some(text) => text.clone().into_bytes(),
                    None => format!("module {}\n", case.path).into_bytes(),
                };
                let checks = [
                    ("h1", summary.zip_hash == go.hash),
                    ("entry names and order", names == go_names),
                    ("file count", summary.files == go_names.len()),
                    ("go.mod", summary.go_mod == go_mod),
                    (
                        "go.mod hash",
                        summary.go_mod_hash == modvault_core::dirhash::hash_go_mod(&go_mod),
                    ),
                    ("Go's hash of our zip", go.our_hash == summary.zip_hash),
                    ("CheckZip", go.our_check == "ok"),
                    ("Unzip", go.our_unzip == "ok"),
                ];
                let failed: Vec<&str> = checks
                    .iter()
                    .filter(|(_, ok)| !ok)
                    .map(|(what, _)| *what)
                    .collect();
                if failed.is_empty() {
                    return Ok(());
                }
                return Err(format!(
                    "{failed:?} differ\n  ours: {} {names:?}\n  go:   {} {go_names:?}\n  Go on our zip: {} / {} / {}",
                    summary.zip_hash, go.hash, go.our_hash, go.our_check, go.our_unzip
                ));
            }
            Err(format!(
                "we zipped ({}), Go failed: {:?} {:?}",
                summary.zip_hash, go.error, go.invalid
            ))
        }
        Err(PublishError::Invalid(ZipError::InvalidFiles(list))) if go.invalid.is_some() => {
            let ours: Vec<String> = list.iter().map(|e| e.to_string()).collect();
            let theirs = go.invalid.clone().unwrap_or_default();
            if ours == theirs || (!case.exact_messages && ours.len() == theirs.len()) {
                Ok(())
            } else {
                Err(format!(
                    "invalid files differ\n  ours: {ours:?}\n  go:   {theirs:?}"
                ))
            }
        }
        Err(e) if !go.error.is_empty() => {
            if e.to_string() == go.error {
                Ok(())
            } else {
                Err(format!("errors differ\n  ours: {e}\n  go:   {}", go.error))
            }
        }
        Err(e) => Err(format!(
            "we failed ({e}), Go: hash {:?}, invalid {:?}",
            go.hash, go.invalid
        )),
    }
}

fn compare_plan(case: &Case, go: &Answer) -> Result<(), String> {
    let (Some(valid), Some(omitted)) = (&go.dir_valid, &go.dir_omitted) else {
        return Ok(()); // CheckDir failed; compared through CreateFromDir
    };
    // CheckDir does not check the module path and version; plan_dir does.
    if !case.exact_messages || !go.error.is_empty() {
        return Ok(());
    }
    let plan = plan_dir(&case.dir, &case.path, &case.version)
        .map_err(|e| format!("plan_dir failed: {e}"))?;
    let ours: Vec<String> = plan
        .omitted
        .iter()
        .map(|o| format!("{}: {}", o.path, o.reason))
        .collect();
    if &plan.included != valid || &ours != omitted {
        return Err(format!(
            "plan differs\n  ours: {:?}\n        {ours:?}\n  go:   {valid:?}\n        {omitted:?}",
            plan.included
        ));
    }
    Ok(())
}

fn zip_names(path: &Path) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().unwrap().into_owned())
        .collect()
}

#[test]
fn zips_match_the_go_command() {
    let work = tempfile::tempdir().unwrap();
    let oracle = modvault_testkit::build_xmod_program(ORACLE_SOURCE, work.path());

    let mut trees = Trees::new(work.path().join("trees"));
    hand_written(&mut trees);
    let hand_written_count = trees.cases.len();
    random_trees(&mut trees, 400);

    let zips = work.path().join("zips");
    fs::create_dir_all(&zips).unwrap();
    let mut ours = Vec::new();
    let mut requests = String::new();
    for (i, case) in trees.cases.iter().enumerate() {
        let our_zip = zips.join(format!("{i}.zip"));
        let result = zip_dir(
            &case.dir,
            &case.path,
            &case.version,
            fs::File::create(&our_zip).unwrap(),
        );
        let request = Request {
            dir: case.dir.to_str().unwrap().to_owned(),
            path: case.path.clone(),
            version: case.version.clone(),
            our_zip: if result.is_ok() {
                our_zip.to_str().unwrap().to_owned()
            } else {
                String::new()
            },
        };
        requests.push_str(&serde_json::to_string(&request).unwrap());
        requests.push('\n');
        ours.push((result, our_zip));
    }

    let mut child = Command::new(&oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the oracle");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()).unwrap());
    let answers: Vec<Answer> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success(), "the oracle failed");
    assert_eq!(answers.len(), trees.cases.len());

    let mut failures = Vec::new();
    let (mut zipped, mut invalid, mut errors) = (0, 0, 0);
    for ((case, (result, our_zip)), answer) in trees.cases.iter().zip(&ours).zip(&answers) {
        match result {
            Ok(_) => zipped += 1,
            Err(PublishError::Invalid(ZipError::InvalidFiles(_))) => invalid += 1,
            Err(_) => errors += 1,
        }
        if let Err(why) =
            compare(case, result, our_zip, answer).and_then(|()| compare_plan(case, answer))
        {
            failures.push(format!("{} ({}): {why}", case.name, case.dir.display()));
        }
    }
    // Keep the trees of a failing run for inspection.
    if !failures.is_empty() {
        let kept = work.keep();
        panic!(
            "{} of {} trees differ from the go command (trees kept in {}):\n{}",
            failures.len(),
            trees.cases.len(),
            kept.display(),
            failures.join("\n")
        );
    }
    // The generated trees must exercise every outcome.
    assert!(
        zipped > 100 && invalid > 50 && errors >= 9,
        "{zipped} zipped, {invalid} invalid, {errors} errors"
    );
    eprintln!(
        "{} trees ({hand_written_count} hand-written): {zipped} zipped, {invalid} invalid, {errors} other errors, all as Go",
        trees.cases.len()
    );
}
