//! `modvault mirror`, `export` and `import` end to end: the real go command
//! builds a project from a store filled by `mirror` with `upstream = "off"`,
//! the mirrored set is the go command's own (`go mod download all`), and a
//! bundle carried to an air-gapped server lets the go command verify every
//! module against the relayed checksum database with no network.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{modvault_bin, proxy_tree_version, start_with_own_sumdb};
use modvault_testkit::{closed_port, file_url, run_ok, Go, Modvault, TempDir};

const DB: &str = "sum.mirror.example";

/// (module, version, go version, requirements, imports of its package)
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// A multi-level graph: `a` is pruned (go 1.21) and requires `f`, whose own
/// requirement `g` the go command never reads; `b` and `c` are go 1.16
/// modules, so everything below them is loaded; `c v1.0.0` and `e v1.0.0`
/// are in the graph but not selected.
const MODULES: &[Spec] = &[
    ("mv.example/a", "v1.0.0", "1.21", &[], &[]),
    (
        "mv.example/a",
        "v1.1.0",
        "1.21",
        &["mv.example/c v1.0.0", "mv.example/f v1.0.0"],
        &["mv.example/c"],
    ),
    (
        "mv.example/b",
        "v1.0.0",
        "1.16",
        &["mv.example/c v1.1.0", "mv.example/e v1.0.0"],
        &["mv.example/c"],
    ),
    ("mv.example/c", "v1.0.0", "1.16", &[], &[]),
    (
        "mv.example/c",
        "v1.1.0",
        "1.16",
        &["mv.example/e v1.1.0"],
        &["mv.example/e"],
    ),
    ("mv.example/e", "v1.0.0", "1.21", &[], &[]),
    ("mv.example/e", "v1.1.0", "1.21", &[], &[]),
    (
        "mv.example/f",
        "v1.0.0",
        "1.21",
        &["mv.example/g v1.0.0"],
        &[],
    ),
    ("mv.example/g", "v1.0.0", "1.21", &[], &[]),
];

fn package_name(module: &str) -> &str {
    module.rsplit('/').next().unwrap()
}

/// Writes the modules as a GOPROXY file tree.
fn module_tree(root: &Path) -> PathBuf {
    for (module, version, go, requires, imports) in MODULES {
        let mut go_mod = format!("module {module}\n\ngo {go}\n");
        for r in *requires {
            go_mod.push_str(&format!("\nrequire {r}\n"));
        }
        let name = package_name(module);
        let mut source = format!("package {name}\n\n");
        for i in *imports {
            source.push_str(&format!("import \"{i}\"\n"));
        }
        let calls: String = imports
            .iter()
            .map(|i| format!(" + {}.Name()", package_name(i)))
            .collect();
        source.push_str(&format!(
            "\nfunc Name() string {{ return \"{name}@{version}\"{calls} }}\n"
        ));
        proxy_tree_version(
            root,
            module,
            version,
            &go_mod,
            &[(&format!("{name}.go"), &source)],
        );
    }
    root.to_owned()
}

/// The origin: a modvault serving the tree and running the checksum
/// database every other server relays.
struct World {
    go: Go,
    dir: TempDir,
    vkey: String,
    origin: Modvault,
    app: PathBuf,
    go_mod: String,
    go_sum: String,
}

impl World {
    fn new() -> World {
        let go = Go::new();
        let dir = TempDir::new().unwrap();
        let tree = module_tree(&dir.path().join("tree"));
        let (origin, vkey) =
            start_with_own_sumdb(dir.path(), &dir.path().join("origin"), &file_url(&tree), DB);
        let app = dir.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(
            app.join("go.mod"),
            "module example.com/app\n\ngo 1.21\n\nrequire (\n\tmv.example/a v1.1.0\n\tmv.example/b v1.0.0\n)\n",
        )
        .unwrap();
        std::fs::write(
            app.join("main.go"),
            "package main\n\nimport (\n\t\"mv.example/a\"\n\t\"mv.example/b\"\n)\n\nfunc main() { println(a.Name(), b.Name()) }\n",
        )
        .unwrap();
        let mut world = World {
            go,
            dir,
            vkey,
            origin,
            app,
            go_mod: String::new(),
            go_sum: String::new(),
        };
        // The go command writes go.mod and go.sum online, verified against
        // the origin's database.
        let url = world.origin.url.clone();
        let sumdb = world.sumdb_for(&url);
        world.go_in_app(&url, "tidy", &sumdb, &["mod", "tidy"]);
        world.go_mod = std::fs::read_to_string(world.app.join("go.mod")).unwrap();
        world.go_sum = std::fs::read_to_string(world.app.join("go.sum")).unwrap();
        world
    }

    /// GOSUMDB naming the database as relayed (or run) by `server`.
    fn sumdb_for(&self, server: &str) -> String {
        format!("{} {server}/sumdb/{DB}", self.vkey)
    }

    fn go_in_app(&self, proxy: &str, cache: &str, gosumdb: &str, args: &[&str]) -> Output {
        run_ok(
            self.go
                .command(proxy, &self.go.mod_cache(cache))
                .env("GOSUMDB", gosumdb)
                .args(args)
                .current_dir(&self.app),
        )
    }

    fn relayed(&self) -> String {
        format!("{} {}/sumdb/{DB}", self.vkey, self.origin.url)
    }

    /// `modvault mirror` into `data_dir` through the origin, verified
    /// against its database.
    fn mirror(&self, data_dir: &Path, sources: &[&str]) -> Output {
        ops(
            data_dir,
            &self.origin.url,
            &self.relayed(),
            "mirror",
            sources,
        )
    }
}

/// A `modvault` operations command on a data dir, without a server.
fn ops(data_dir: &Path, upstream: &str, sumdb: &str, command: &str, args: &[&str]) -> Output {
    Command::new(modvault_bin())
        .arg(command)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--upstream", upstream, "--sumdb-upstream", sumdb])
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `module@version` of every file with `suffix` in a store or cache tree.
fn versions_with(root: &Path, suffix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(version) = name.strip_suffix(suffix) else {
                continue;
            };
            let module_dir = path.parent().unwrap().parent().unwrap();
            if path.parent().unwrap().file_name().unwrap() != "@v" {
                continue;
            }
            let module = module_dir.strip_prefix(root).unwrap().display().to_string();
            if module.starts_with("mv.example/") {
                out.insert(format!("{module}@{version}"));
            }
        }
    }
    out
}

/// Serves a data dir with `upstream = "off"`, relaying the database at an
/// address where nothing answers.
fn serve_offline(world: &World, data_dir: &Path) -> Modvault {
    let unreachable = format!("{} http://127.0.0.1:{}", world.vkey, closed_port());
    Modvault::start_in(
        &modvault_bin(),
        data_dir,
        "off",
        &["--sumdb-upstream", &unreachable],
        &[],
    )
}

#[test]
fn the_go_command_builds_offline_from_what_mirror_fetched_and_nothing_more() {
    let world = World::new();
    let data = world.dir.path().join("mirrored");
    let go_mod = world.app.join("go.mod");
    let first = world.mirror(&data, &[go_mod.to_str().unwrap()]);
    // Not a terminal: one progress line per version.
    let progress = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(progress.contains("mirror [6/6] "), "{progress}");
    let summary = ok(first);
    assert!(summary.contains("6 fetched"), "{summary}");

    // What the go command itself needs: `go mod download all` into an
    // empty cache through the origin. Its go.mod files are the graph it
    // read; its zips are the build list.
    let cache = world.go.mod_cache("reference");
    let listed = world.go_in_app(
        &world.origin.url,
        "reference",
        &world.sumdb_for(&world.origin.url),
        &["list", "-m", "all"],
    );
    let build_list: BTreeSet<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.replace(' ', "@"))
        .collect();
    world.go_in_app(
        &world.origin.url,
        "reference",
        &world.sumdb_for(&world.origin.url),
        &["mod", "download", "all"],
    );
    let download = cache.join("cache/download");
    let go_zips = versions_with(&download, ".zip");
    let go_mods = versions_with(&download, ".mod");
    assert_eq!(go_zips, build_list);
    // The pruned graph: f's requirement g is never read; c v1.0.0 (only
    // required by pruned a) is in the graph but needs nothing.
    assert!(
        !go_mods.iter().any(|m| m.starts_with("mv.example/g@")),
        "{go_mods:?}"
    );
    assert!(go_mods.contains("mv.example/e@v1.0.0"), "{go_mods:?}");

    // mirror fetched exactly every version whose go.mod the go command
    // read, complete, and the build list among them.
    let mirrored_zips = versions_with(&data, ".zip");
    assert_eq!(mirrored_zips, go_mods);
    assert_eq!(versions_with(&data, ".mod"), go_mods);
    assert_eq!(versions_with(&data, ".info"), go_mods);
    assert!(build_list.is_subset(&mirrored_zips));
    // Byte-identical to what the origin stored for the same versions.
    for version in &mirrored_zips {
        let (module, v) = version.split_once('@').unwrap();
        let key = format!("{module}/@v/{v}.zip");
        assert_eq!(
            std::fs::read(data.join(&key)).unwrap(),
            std::fs::read(world.origin.data_dir.join(&key)).unwrap(),
            "{key}"
        );
    }

    // Resumable: a second run fetches nothing.
    let again = ok(world.mirror(&data, &[go_mod.to_str().unwrap()]));
    assert!(
        again.contains(&format!(
            "0 fetched (0 B), {} already present, 0 failed",
            go_mods.len()
        )),
        "{again}"
    );

    // Served with upstream off, the go command builds the project and
    // finds every module of its graph.
    let offline = serve_offline(&world, &data);
    let sumdb = world.sumdb_for(&offline.url);
    world.go_in_app(
        &offline.url,
        "offline",
        &sumdb,
        &["build", "-o", "/dev/null", "."],
    );
    world.go_in_app(
        &offline.url,
        "offline-all",
        &sumdb,
        &["mod", "download", "all"],
    );
    assert_eq!(
        versions_with(
            &world.go.mod_cache("offline-all").join("cache/download"),
            ".mod"
        ),
        go_mods
    );
    // list and @latest from what is held.
    let versions = world.go_in_app(
        &offline.url,
        "offline",
        &sumdb,
        &["list", "-m", "-versions", "mv.example/e"],
    );
    assert_eq!(
        String::from_utf8_lossy(&versions.stdout).trim(),
        "mv.example/e v1.0.0 v1.1.0"
    );
    assert_eq!(
        offline.get("/mv.example/e/@latest").text().unwrap(),
        "{\"Version\":\"v1.1.0\",\"Time\":\"2024-01-01T00:00:00Z\"}"
    );
    assert_eq!(offline.get("/mv.example/g/@v/list").status().as_u16(), 404);
    drop(offline);

    // A failure is reported with its reason and the exit status says so.
    let failed = world.mirror(&data, &["mv.example/nothere@v1.0.0"]);
    assert!(!failed.status.success());
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(
        stdout.contains("1 failed") && stdout.contains("failed: mv.example/nothere@v1.0.0: "),
        "{stdout}"
    );
}

#[test]
fn a_bundle_carries_a_project_to_an_air_gapped_server_verified_offline() {
    let world = World::new();
    let exporter = world.dir.path().join("exporter");
    let go_mod = world.app.join("go.mod");
    ok(world.mirror(&exporter, &[go_mod.to_str().unwrap()]));
    let bundle = world.dir.path().join("project.tar.gz");
    let exported = ok(ops(
        &exporter,
        &world.origin.url,
        &world.relayed(),
        "export",
        &["--output", bundle.to_str().unwrap()],
    ));
    let stored = versions_with(&exporter, ".zip");
    assert!(
        exported.contains(&format!("export: {} versions", stored.len())),
        "{exported}"
    );

    // A tampered bundle: one byte of one zip flipped, and then also its
    // hash in the manifest, so that only the checksum database's record
    // (proven offline from the bundle's tiles) catches it. Refused,
    // nothing stored.
    let airgapped = world.dir.path().join("airgapped");
    let unreachable = format!("{} http://127.0.0.1:{}", world.vkey, closed_port());
    for (rehash, reason) in [
        (false, "the manifest says h1:"),
        (
            true,
            "SECURITY ERROR: checksum mismatch: sum.mirror.example records",
        ),
    ] {
        let tampered = tamper(&world, &bundle, rehash);
        let refused = ops(
            &airgapped,
            "off",
            &unreachable,
            "import",
            &[tampered.to_str().unwrap()],
        );
        assert!(!refused.status.success());
        let stdout = String::from_utf8_lossy(&refused.stdout);
        assert!(
            stdout.contains("import refused (nothing stored)")
                && stdout.contains("failed: mv.example/c@v1.1.0: ")
                && stdout.contains(reason),
            "{stdout}\n{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert!(versions_with(&airgapped, ".zip").is_empty());
        assert!(versions_with(&airgapped, ".mod").is_empty());
        assert!(!airgapped.join("sumdb").exists());
    }

    // The real bundle, twice: the second import changes nothing.
    let imported = ok(ops(
        &airgapped,
        "off",
        &unreachable,
        "import",
        &[bundle.to_str().unwrap()],
    ));
    assert!(
        imported.contains(&format!("import: {} versions stored", stored.len())),
        "{imported}"
    );
    assert_eq!(versions_with(&airgapped, ".zip"), stored);
    let again = ok(ops(
        &airgapped,
        "off",
        &unreachable,
        "import",
        &[bundle.to_str().unwrap()],
    ));
    assert!(
        again.contains(&format!(
            "import: 0 versions stored (0 B), {} already present",
            stored.len()
        )),
        "{again}"
    );

    // The origin goes away: nothing but the air-gapped server is left.
    let mut world = world;
    world
        .origin
        .signal_and_wait("KILL", std::time::Duration::from_secs(10));
    let server = &serve_offline(&world, &airgapped);
    // A fresh client with no go.sum verifies every module against the
    // relayed database through the bundle's records and tiles, and writes
    // the go.sum it wrote online, byte for byte.
    std::fs::remove_file(world.app.join("go.sum")).unwrap();
    let sumdb = world.sumdb_for(&server.url);
    world.go_in_app(&server.url, "airgapped", &sumdb, &["mod", "tidy"]);
    assert_eq!(
        std::fs::read_to_string(world.app.join("go.sum")).unwrap(),
        world.go_sum
    );
    assert_eq!(
        std::fs::read_to_string(world.app.join("go.mod")).unwrap(),
        world.go_mod
    );
    world.go_in_app(
        &server.url,
        "airgapped",
        &sumdb,
        &["build", "-o", "/dev/null", "."],
    );
    assert!(server.requests_for(&format!("/sumdb/{DB}/lookup/mv.example/a@v1.1.0")) >= 1);
    // list, @latest and queries from what is held.
    let out = world.go_in_app(
        &server.url,
        "airgapped",
        &sumdb,
        &["list", "-m", "mv.example/e@latest", "mv.example/c@v1"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "mv.example/e v1.1.0\nmv.example/c v1.1.0\n"
    );
}

/// The bundle with one byte flipped inside a file of `mv.example/c@v1.1.0`'s
/// zip (rewritten, so it stays a valid zip and only its hash changes),
/// repacked; with `rehash`, the manifest is given the new hash too.
fn tamper(world: &World, bundle: &Path, rehash: bool) -> PathBuf {
    let work = world.dir.path().join(format!("tamper-{rehash}"));
    std::fs::create_dir_all(&work).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(bundle)
            .arg("-C")
            .arg(&work),
    );
    let zip_path = work.join("files/mv.example/c/@v/v1.1.0.zip");
    let original = std::fs::read(&zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(original)).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().into_owned();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut body).unwrap();
        if name.ends_with(".go") {
            let last = body.len() - 2;
            body[last] ^= 0x20;
        }
        out.start_file(name.clone(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&body).unwrap();
        files.push((name, body));
    }
    out.finish().unwrap();
    if rehash {
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let hash = modvault_core::dirhash::hash1(&refs).unwrap();
        let manifest_path = work.join("bundle.json");
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
        for entry in manifest["versions"].as_array_mut().unwrap() {
            if entry["module"] == "mv.example/c" && entry["version"] == "v1.1.0" {
                entry["zip_hash"] = hash.clone().into();
            }
        }
        std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    }
    let tampered = world.dir.path().join(format!("tampered-{rehash}.tar.gz"));
    let mut entries: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // bundle.json first, as export writes it.
    entries.sort_by_key(|name| name != "bundle.json");
    run_ok(
        Command::new("tar")
            .arg("-czf")
            .arg(&tampered)
            .arg("-C")
            .arg(&work)
            .args(&entries),
    );
    tampered
}
