//! `modvault verify` end to end with real parts: a store filled by the real
//! go command through a modvault relaying an origin's checksum database
//! (and running its own), plus a published module; damaged on disk the way
//! disks and people damage stores; verified, repaired (the public versions
//! fetched again and accepted by the go command, the published one
//! quarantined and no longer served) and verified again.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{create_token, keygen, modvault_bin, proxy_tree_version, start_with_own_sumdb};
use modvault_testkit::{file_url, run_ok, Go, Modvault, TempDir};

const ORIGIN_DB: &str = "sum.verify.example";
const OWN_DB: &str = "own.verify.example";
const PUBLISHED: &str = "corp.example/lib";

/// A GOPROXY file tree of `mv.example/{a,b,c,d} v1.0.0`.
fn module_tree(root: &Path) -> PathBuf {
    for name in ["a", "b", "c", "d"] {
        let (module, version) = (format!("mv.example/{name}"), "v1.0.0");
        let go_mod = format!("module {module}\n\ngo 1.21\n");
        let source = format!("package {name}\n\nfunc Name() string {{ return \"{name}\" }}\n");
        proxy_tree_version(
            root,
            &module,
            version,
            &go_mod,
            &[(&format!("{name}.go"), &source)],
        );
    }
    root.to_owned()
}

/// Rewrites a zip with one byte of its Go file changed: still a valid
/// zip, only its hash differs (what a flipped bit on disk under a
/// checksumming layer, or a careless hand, leaves).
fn flip_one_byte(zip_path: &Path) {
    let original = std::fs::read(zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(original)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().into_owned();
        let mut body = Vec::new();
        file.read_to_end(&mut body).unwrap();
        if name.ends_with(".go") {
            let last = body.len() - 3;
            body[last] ^= 0x20;
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&body).unwrap();
    }
    std::fs::write(zip_path, out.finish().unwrap().into_inner()).unwrap();
}

/// The go command's `h1:` of a module zip.
fn zip_h1(path: &Path) -> String {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(std::fs::read(path).unwrap())).unwrap();
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut body = Vec::new();
        file.read_to_end(&mut body).unwrap();
        files.push((file.name().unwrap().into_owned(), body));
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    modvault_core::dirhash::hash1(&refs).unwrap()
}

struct World {
    go: Go,
    dir: TempDir,
    tree: PathBuf,
    vkey: String,
    origin: Modvault,
    data: PathBuf,
    /// Settings shared by `serve` and `verify`.
    settings: Vec<String>,
}

impl World {
    fn new() -> World {
        let go = Go::new();
        let dir = TempDir::new().unwrap();
        let tree = module_tree(&dir.path().join("tree"));
        let (origin, vkey) = start_with_own_sumdb(
            dir.path(),
            &dir.path().join("origin"),
            &file_url(&tree),
            ORIGIN_DB,
        );
        let (own_key, _) = keygen(dir.path(), "own.key", OWN_DB);
        let config = dir.path().join("modvault.toml");
        std::fs::write(
            &config,
            format!("[[rule]]\nmatch = \"{PUBLISHED}\"\nsource = \"published\"\n"),
        )
        .unwrap();
        let data = dir.path().join("data");
        let settings = vec![
            "--config".to_owned(),
            config.display().to_string(),
            "--storage".to_owned(),
            String::new(),
            "--sumdb-upstream".to_owned(),
            format!("{vkey} {}/sumdb/{ORIGIN_DB}", origin.url),
            "--sumdb-name".to_owned(),
            OWN_DB.to_owned(),
            "--sumdb-signer-key-file".to_owned(),
            own_key.display().to_string(),
        ];
        World {
            go,
            dir,
            tree,
            vkey,
            origin,
            data,
            settings,
        }
    }

    fn serve(&self) -> Modvault {
        let args: Vec<&str> = self.settings.iter().map(String::as_str).collect();
        Modvault::start_in(&modvault_bin(), &self.data, &self.origin.url, &args, &[])
    }

    /// `go mod download -json` through `server`, verified against the
    /// origin's database as `server` relays it.
    fn download(&self, server: &Modvault, cache: &str, modules: &[&str]) -> Output {
        run_ok(
            self.go
                .command(&server.url, &self.go.mod_cache(cache))
                .env(
                    "GOSUMDB",
                    format!("{} {}/sumdb/{ORIGIN_DB}", self.vkey, server.url),
                )
                .args(["mod", "download", "-json"])
                .args(modules),
        )
    }

    fn verify(&self, args: &[&str]) -> Output {
        self.verify_with(&self.origin.url, args)
    }

    fn verify_with(&self, upstream: &str, args: &[&str]) -> Output {
        Command::new(modvault_bin())
            .arg("verify")
            .arg("--data-dir")
            .arg(&self.data)
            .args(&self.settings)
            .args(["--upstream", upstream])
            .args(args)
            .output()
            .unwrap()
    }

    fn stored(&self, key: &str) -> PathBuf {
        self.data.join(key)
    }
}

/// The report lines (`kind`, `module@version`), sorted; the summary line.
fn report(output: &Output) -> (Vec<(String, String)>, String) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines: Vec<(String, String)> = stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let kind = fields.next()?;
            let what = fields.next()?;
            [
                "corrupt",
                "missing",
                "unrecorded",
                "repaired",
                "quarantined",
            ]
            .contains(&kind)
            .then(|| (kind.to_owned(), what.to_owned()))
        })
        .collect();
    lines.sort();
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("verify: "))
        .unwrap_or_else(|| panic!("no summary in:\n{stdout}"))
        .to_owned();
    (lines, summary)
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = expected
        .iter()
        .map(|(k, w)| ((*k).to_owned(), (*w).to_owned()))
        .collect();
    out.sort();
    out
}

fn explain(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn verify_finds_damage_repair_fetches_public_versions_again_and_quarantines_the_rest() {
    let world = World::new();
    let publisher = create_token(&world.data, "publisher", "publish");
    let server = world.serve();
    world.download(
        &server,
        "fill",
        &[
            "mv.example/a@v1.0.0",
            "mv.example/b@v1.0.0",
            "mv.example/c@v1.0.0",
        ],
    );
    let lib = world.dir.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(
        lib.join("go.mod"),
        format!("module {PUBLISHED}\n\ngo 1.21\n"),
    )
    .unwrap();
    std::fs::write(
        lib.join("lib.go"),
        "package lib\n\nconst Content = \"ours\"\n",
    )
    .unwrap();
    run_ok(
        Command::new(modvault_bin())
            .args(["publish", "--server", &server.url, "--token", &publisher])
            .arg(&lib)
            .arg("v1.0.0"),
    );
    drop(server);

    // A healthy store: nothing reported, exit 0, progress on stderr.
    let clean = world.verify(&[]);
    assert!(clean.status.success(), "{}", explain(&clean));
    let (lines, summary) = report(&clean);
    assert_eq!(lines, pairs(&[]), "{}", explain(&clean));
    assert!(
        summary.starts_with("verify: 4 versions checked")
            && summary.contains("0 corrupt, 0 missing, 0 unrecorded"),
        "{summary}"
    );
    assert!(
        String::from_utf8_lossy(&clean.stderr).contains("verify [4/4] "),
        "{}",
        explain(&clean)
    );

    // The damage: one byte of a's zip, b's go.mod gone, a version nobody
    // stored dropped in, the published zip cut short.
    flip_one_byte(&world.stored("mv.example/a/@v/v1.0.0.zip"));
    std::fs::remove_file(world.stored("mv.example/b/@v/v1.0.0.mod")).unwrap();
    std::fs::create_dir_all(world.stored("mv.example/d/@v")).unwrap();
    for ext in ["info", "mod", "zip"] {
        let key = format!("mv.example/d/@v/v1.0.0.{ext}");
        std::fs::copy(world.tree.join(&key), world.stored(&key)).unwrap();
    }
    let published_zip = world.stored(&format!("{PUBLISHED}/@v/v1.0.0.zip"));
    let mut cut = std::fs::read(&published_zip).unwrap();
    cut.truncate(cut.len() - 10);
    std::fs::write(&published_zip, &cut).unwrap();

    let damaged = world.verify(&[]);
    assert_eq!(damaged.status.code(), Some(1), "{}", explain(&damaged));
    let (lines, summary) = report(&damaged);
    assert_eq!(
        lines,
        pairs(&[
            ("corrupt", "mv.example/a@v1.0.0"),
            ("missing", "mv.example/b@v1.0.0"),
            ("unrecorded", "mv.example/d@v1.0.0"),
            ("corrupt", "corp.example/lib@v1.0.0"),
        ]),
        "{}",
        explain(&damaged)
    );
    assert!(
        summary.contains("5 versions checked")
            && summary.contains("2 corrupt, 1 missing, 1 unrecorded"),
        "{summary}"
    );
    let stdout = String::from_utf8_lossy(&damaged.stdout);
    // a's zip is compared with every record: its .ziphash, our own log,
    // and the relayed database's authenticated record.
    let a_line = stdout
        .lines()
        .find(|l| l.starts_with("corrupt\tmv.example/a@"))
        .unwrap();
    let want = format!(
        "the zip hashes to {}, but its .ziphash and our checksum database and checksum database {ORIGIN_DB} record {}",
        zip_h1(&world.stored("mv.example/a/@v/v1.0.0.zip")),
        zip_h1(&world.tree.join("mv.example/a/@v/v1.0.0.zip")),
    );
    assert!(a_line.ends_with(&want), "{a_line}\nwanted: {want}");
    assert!(stdout.contains("no .mod in the store"), "{stdout}");
    assert!(stdout.contains("the zip is invalid"), "{stdout}");
    // Without --repair nothing changes.
    assert_eq!(std::fs::read(&published_zip).unwrap(), cut);
    assert!(!world.stored("mv.example/b/@v/v1.0.0.mod").exists());

    // A pattern limits the walk.
    let only = world.verify(&["corp.example/*"]);
    assert_eq!(only.status.code(), Some(1), "{}", explain(&only));
    assert_eq!(
        report(&only).0,
        pairs(&[("corrupt", "corp.example/lib@v1.0.0")]),
        "{}",
        explain(&only)
    );
    // A check that cannot be done is not "damage": exit 2.
    let bad = world.verify(&["mv.example/["]);
    assert_eq!(bad.status.code(), Some(2), "{}", explain(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("invalid PATTERN"),
        "{}",
        explain(&bad)
    );
    let clean_c = world.verify(&["mv.example/c"]);
    assert!(clean_c.status.success(), "{}", explain(&clean_c));
    assert!(report(&clean_c).1.starts_with("verify: 1 versions checked"));

    // Repair: the public versions are fetched again; the published one
    // (its only copy) and the unrecorded one are quarantined.
    let repaired = world.verify(&["--repair"]);
    assert_eq!(repaired.status.code(), Some(1), "{}", explain(&repaired));
    assert_eq!(
        report(&repaired).0,
        pairs(&[
            ("corrupt", "mv.example/a@v1.0.0"),
            ("repaired", "mv.example/a@v1.0.0"),
            ("missing", "mv.example/b@v1.0.0"),
            ("repaired", "mv.example/b@v1.0.0"),
            ("unrecorded", "mv.example/d@v1.0.0"),
            ("quarantined", "mv.example/d@v1.0.0"),
            ("corrupt", "corp.example/lib@v1.0.0"),
            ("quarantined", "corp.example/lib@v1.0.0"),
        ]),
        "{}",
        explain(&repaired)
    );
    for key in ["mv.example/a/@v/v1.0.0.zip", "mv.example/b/@v/v1.0.0.mod"] {
        assert_eq!(
            std::fs::read(world.stored(key)).unwrap(),
            std::fs::read(world.tree.join(key)).unwrap(),
            "{key} is the upstream's again"
        );
    }
    let quarantine = world.data.join(".modvault/quarantine");
    assert!(!world.stored("mv.example/d/@v/v1.0.0.zip").exists());
    assert!(quarantine.join("mv.example/d/@v/v1.0.0.zip").is_file());
    assert!(
        !published_zip.exists(),
        "the corrupt published zip is not served"
    );
    assert_eq!(
        std::fs::read(quarantine.join(format!("{PUBLISHED}/@v/v1.0.0.zip"))).unwrap(),
        cut,
        "the published copy is kept, in quarantine"
    );
    assert!(
        !quarantine.join("mv.example/a/@v/v1.0.0.zip").exists(),
        "a repaired version's damaged copy is gone once the new one is clean"
    );

    // Served again: the go command, with an empty cache, accepts the
    // repaired versions against the checksum database; the quarantined
    // published version is not served at all.
    let server = world.serve();
    let downloaded = world.download(
        &server,
        "after",
        &["mv.example/a@v1.0.0", "mv.example/b@v1.0.0"],
    );
    let text = String::from_utf8_lossy(&downloaded.stdout);
    assert!(!text.contains("\"Error\""), "{text}");
    assert_eq!(text.matches("\"Sum\": \"h1:").count(), 2, "{text}");
    let cache = world.go.mod_cache("after").join("cache/download");
    for key in ["mv.example/a/@v/v1.0.0.zip", "mv.example/b/@v/v1.0.0.mod"] {
        assert_eq!(
            std::fs::read(cache.join(key)).unwrap(),
            std::fs::read(world.tree.join(key)).unwrap(),
            "{key} as the go command got it"
        );
    }
    for file in ["zip", "info", "mod"] {
        let status = server
            .get(&format!("/{PUBLISHED}/@v/v1.0.0.{file}"))
            .status()
            .as_u16();
        assert!(status == 404 || status == 410, "{file}: {status}");
    }
    drop(server);

    // Verified again: what was repaired is clean; what is quarantined is
    // still reported (lost to clients until dealt with), so exit 1.
    let after = world.verify(&[]);
    assert_eq!(after.status.code(), Some(1), "{}", explain(&after));
    let (lines, summary) = report(&after);
    assert_eq!(
        lines,
        pairs(&[
            ("quarantined", "mv.example/d@v1.0.0"),
            ("quarantined", "corp.example/lib@v1.0.0"),
        ]),
        "{}",
        explain(&after)
    );
    assert!(
        summary.starts_with("verify: 3 versions checked")
            && summary.contains("0 corrupt, 0 missing, 0 unrecorded, 2 quarantined"),
        "{summary}"
    );
    let repaired_only = world.verify(&["mv.example/a,mv.example/b,mv.example/c"]);
    assert!(
        repaired_only.status.success(),
        "{}",
        explain(&repaired_only)
    );
}

#[test]
fn what_cannot_be_fetched_again_is_quarantined_never_deleted() {
    let mut world = World::new();
    let server = world.serve();
    world.download(
        &server,
        "fill",
        &["mv.example/a@v1.0.0", "mv.example/b@v1.0.0"],
    );
    drop(server);
    let a_zip = world.stored("mv.example/a/@v/v1.0.0.zip");
    let b_zip = world.stored("mv.example/b/@v/v1.0.0.zip");
    flip_one_byte(&a_zip);
    flip_one_byte(&b_zip);
    let (a_bad, b_bad) = (
        std::fs::read(&a_zip).unwrap(),
        std::fs::read(&b_zip).unwrap(),
    );

    // With upstream off, a public version cannot be fetched again.
    let off = world.verify_with("off", &["--repair", "mv.example/a"]);
    assert_eq!(off.status.code(), Some(1), "{}", explain(&off));
    assert_eq!(
        report(&off).0,
        pairs(&[
            ("corrupt", "mv.example/a@v1.0.0"),
            ("quarantined", "mv.example/a@v1.0.0"),
        ]),
        "{}",
        explain(&off)
    );
    assert!(
        String::from_utf8_lossy(&off.stdout)
            .contains("upstream version that the configured upstream cannot serve again"),
        "{}",
        explain(&off)
    );
    let quarantine = world.data.join(".modvault/quarantine");
    assert!(!a_zip.exists());
    assert_eq!(
        std::fs::read(quarantine.join("mv.example/a/@v/v1.0.0.zip")).unwrap(),
        a_bad
    );

    // The upstream gone: the fetch fails, and the damaged copy is kept.
    world
        .origin
        .signal_and_wait("KILL", std::time::Duration::from_secs(10));
    let gone = world.verify(&["--repair", "mv.example/b"]);
    assert_eq!(gone.status.code(), Some(1), "{}", explain(&gone));
    let stdout = String::from_utf8_lossy(&gone.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("quarantined\tmv.example/b@v1.0.0\t"))
        .unwrap_or_else(|| panic!("{}", explain(&gone)));
    assert!(line.contains("cannot fetch it again"), "{line}");
    assert!(!b_zip.exists(), "not served corrupt");
    assert_eq!(
        std::fs::read(quarantine.join("mv.example/b/@v/v1.0.0.zip")).unwrap(),
        b_bad
    );
    for key in ["mv.example/b/@v/v1.0.0.mod", "mv.example/b/@v/v1.0.0.info"] {
        assert!(quarantine.join(key).is_file(), "{key} kept with it");
        assert!(!world.stored(key).exists(), "{key} not served");
    }
    let reason: serde_json::Value = serde_json::from_slice(
        &std::fs::read(quarantine.join("mv.example/b/@v/v1.0.0.reason")).unwrap(),
    )
    .unwrap();
    assert_eq!(reason["what"], "mv.example/b@v1.0.0");

    // Both are reported on every later run, and nothing else is wrong.
    let again = world.verify_with("off", &[]);
    assert_eq!(again.status.code(), Some(1), "{}", explain(&again));
    let (lines, summary) = report(&again);
    assert_eq!(
        lines,
        pairs(&[
            ("quarantined", "mv.example/a@v1.0.0"),
            ("quarantined", "mv.example/b@v1.0.0"),
        ]),
        "{}",
        explain(&again)
    );
    assert!(
        summary.starts_with("verify: 0 versions checked"),
        "{summary}"
    );
}
