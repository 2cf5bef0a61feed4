//! The harness behind the differential tests: one go-command sandbox (with
//! its repositories and git config) and one `GitSource` reading the same
//! repositories, plus helpers that ask both the same question and compare.

#![allow(dead_code)]

pub mod http;

use std::io::{Cursor, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

use modvault_core::dirhash::{hash_go_mod, Hash1Builder};
use modvault_core::modzip::{check_zip_entries, ZipEntry};
use modvault_core::ModuleVersion;
use modvault_git::{GitSource, GitSourceOptions};
use modvault_testkit::{GitRepo, Go};
use modvault_upstream::{FetchError, Fetcher};

/// What `.info` says, on either side.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    pub version: String,
    pub time: String,
    pub origin: Value,
}

/// What a revision query answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub version: String,
    pub time: String,
    pub hash: String,
}

/// `go mod download -json` output, as far as it got.
#[derive(Debug)]
struct GoDownload {
    info: Option<Info>,
    go_mod_sum: Option<String>,
    sum: Option<String>,
    error: Option<String>,
}

pub struct Harness {
    pub go: Go,
    pub options: GitSourceOptions,
    source: GitSource,
    runtime: tokio::runtime::Runtime,
    caches: AtomicUsize,
    go_env: Vec<(String, String)>,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::custom(Vec::new(), |_| {}, None)
    }

    /// A harness whose go commands get `go_env`, whose `GitSource` options
    /// are adjusted by `configure`, and which uses `client` for HTTP.
    pub fn custom(
        go_env: Vec<(String, String)>,
        configure: impl FnOnce(&mut GitSourceOptions),
        client: Option<reqwest::Client>,
    ) -> Harness {
        let go = Go::new();
        let mut options =
            GitSourceOptions::new(go.dir.path().join("mirrors"), go.dir.path().join("scratch"));
        // Every question sees the repositories as they are now.
        options.refs_ttl = Duration::ZERO;
        options.command_timeout = Duration::from_secs(120);
        options.max_concurrent_commands = 4;
        options.git_env = vec![
            (
                "GIT_CONFIG_GLOBAL".into(),
                go.gitconfig().to_string_lossy().into_owned(),
            ),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ];
        configure(&mut options);
        let kept = options.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let source = runtime.block_on(async {
            match client {
                Some(client) => GitSource::with_http_client(options, client),
                None => GitSource::new(options),
            }
        });
        Harness {
            go,
            options: kept,
            source: source.expect("GitSource"),
            runtime,
            caches: AtomicUsize::new(0),
            go_env,
        }
    }

    /// Makes git (for both sides) read `https://<host>/...` from
    /// `<repos>/<host>/...`.
    pub fn serve_host_from_repos(&self, host: &str) {
        use std::io::Write;
        let mut config = std::fs::OpenOptions::new()
            .append(true)
            .open(self.go.gitconfig())
            .unwrap();
        let local = self.go.repos.join(host);
        std::fs::create_dir_all(&local).unwrap();
        writeln!(
            config,
            "[url \"file://{}/\"]\n\tinsteadOf = https://{host}/",
            local.display()
        )
        .unwrap();
    }

    /// Appends to the git configuration both sides use.
    pub fn append_gitconfig(&self, text: &str) {
        use std::io::Write;
        let mut config = std::fs::OpenOptions::new()
            .append(true)
            .open(self.go.gitconfig())
            .unwrap();
        config.write_all(text.as_bytes()).unwrap();
    }

    /// What the mirror directory holds (mirrors and staging directories).
    pub fn mirror_entries(&self) -> Vec<String> {
        match std::fs::read_dir(&self.options.mirror_root) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A repository at `<repos>/<path>`.
    pub fn repo_at(&self, path: &str) -> GitRepo {
        GitRepo::init(self.go.repos.join(path), self.go.gitconfig())
    }

    pub fn source(&self) -> &GitSource {
        &self.source
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    // -----------------------------------------------------------------
    // The go command

    /// Runs the go command in direct mode with a fresh module cache.
    fn go(&self, args: &[&str]) -> (std::process::Output, std::path::PathBuf) {
        let cache = self
            .go
            .mod_cache(&format!("c{}", self.caches.fetch_add(1, Ordering::SeqCst)));
        let mut command = self.go.command("direct", &cache);
        command
            .envs(self.go_env.iter().map(|(k, v)| (k, v)))
            .args(args);
        let output = command.output().expect("run go");
        (output, cache)
    }

    fn go_download(&self, module: &str, version: &str) -> GoDownload {
        let (output, _) = self.go(&["mod", "download", "-json", &format!("{module}@{version}")]);
        let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "go mod download {module}@{version}: {e}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        let info = json["Info"]
            .as_str()
            .and_then(|path| std::fs::read(path).ok())
            .map(|raw| parse_info(&raw));
        GoDownload {
            info,
            go_mod_sum: json["GoModSum"].as_str().map(str::to_owned),
            sum: json["Sum"].as_str().map(str::to_owned),
            error: json["Error"].as_str().map(str::to_owned),
        }
    }

    /// `go list -m -versions -retracted`: every listed version.
    fn go_versions(&self, module: &str) -> Result<Vec<String>, String> {
        let (output, _) = self.go(&["list", "-m", "-versions", "-retracted", "-json", module]);
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        let json: Value = serde_json::from_slice(&output.stdout).expect("go list JSON");
        Ok(json["Versions"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default())
    }

    /// `go list -m -json M@query`.
    pub fn go_query(&self, module: &str, query: &str) -> Result<Query, String> {
        let (output, _) = self.go(&["list", "-m", "-e", "-json", &format!("{module}@{query}")]);
        let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "go list {module}@{query}: {e}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        if let Some(error) = json.get("Error") {
            return Err(error["Err"].as_str().unwrap_or_default().to_owned());
        }
        Ok(Query {
            version: json["Version"].as_str().unwrap_or_default().to_owned(),
            time: json["Time"].as_str().unwrap_or_default().to_owned(),
            hash: json["Origin"]["Hash"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    // -----------------------------------------------------------------
    // GitSource

    pub fn ours_info(&self, module: &str, query: &str) -> Result<Info, FetchError> {
        let info = self.block_on(self.source.info(module, query))?;
        Ok(parse_info(&info.raw))
    }

    pub fn ours_latest(&self, module: &str) -> Result<Info, FetchError> {
        let info = self.block_on(self.source.latest(module))?;
        Ok(parse_info(&info.raw))
    }

    pub fn ours_list(&self, module: &str) -> Result<Vec<String>, FetchError> {
        let list = self.block_on(self.source.list(module))?;
        assert!(
            list.is_empty() || list.ends_with('\n'),
            "list must end in a newline: {list:?}"
        );
        Ok(list.lines().map(str::to_owned).collect())
    }

    pub fn ours_go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, FetchError> {
        Ok(self.block_on(self.source.go_mod(module, version))?.to_vec())
    }

    /// The zip's `h1:` over its full entry names, after checking that the
    /// proxy would accept it.
    pub fn ours_zip_sum(&self, module: &str, version: &str) -> Result<String, FetchError> {
        let data = self.ours_zip(module, version)?;
        let mut archive = zip::ZipArchive::new(Cursor::new(&data)).expect("a readable zip");
        let mut hash = Hash1Builder::new();
        let mut entries = Vec::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).unwrap();
            let name = String::from_utf8(entry.name_raw().to_vec()).expect("UTF-8 entry name");
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            assert_eq!(content.len() as u64, entry.size());
            hash.add(&name, Sha256::digest(&content).into()).unwrap();
            entries.push((name, entry.size()));
        }
        let zip_entries: Vec<ZipEntry> = entries
            .iter()
            .map(|(name, size)| ZipEntry {
                name,
                uncompressed_size: *size,
            })
            .collect();
        check_zip_entries(&ModuleVersion::new(module, version), &zip_entries)
            .expect("the proxy accepts the zip");
        Ok(hash.finish())
    }

    pub fn ours_zip(&self, module: &str, version: &str) -> Result<Vec<u8>, FetchError> {
        self.block_on(async {
            let body = self.source.zip(module, version).await?;
            let chunks: Vec<bytes::Bytes> = body.stream.try_collect().await.expect("zip stream");
            let data = chunks.concat();
            if let Some(len) = body.declared_len {
                assert_eq!(len, data.len() as u64, "declared zip length");
            }
            Ok(data)
        })
    }

    // -----------------------------------------------------------------
    // Comparisons

    /// `go mod download M@V` succeeds, and GitSource agrees on `.info`,
    /// `GoModSum` and `Sum`.
    pub fn assert_download(&self, module: &str, version: &str) {
        let go = self.assert_download_same(module, version);
        assert!(
            go.error.is_none(),
            "{module}@{version}: the go command should succeed: {go:?}"
        );
    }

    /// `go mod download M@V` fails (an invalid version is unavailable), and
    /// GitSource fails at the same step with not-found.
    pub fn assert_download_fails(&self, module: &str, version: &str) {
        let go = self.assert_download_same(module, version);
        assert!(
            go.error.is_some(),
            "{module}@{version}: the go command should fail: {go:?}"
        );
    }

    /// `go mod download M@V` and GitSource agree on `.info`, `GoModSum` and
    /// `Sum`, and on where it fails.
    fn assert_download_same(&self, module: &str, version: &str) -> GoDownload {
        let go = self.go_download(module, version);
        let context = format!("{module}@{version} (go: {go:?})");
        let ours_info = self.ours_info(module, version);
        // Like the proxy, fetch .mod and .zip for the version .info resolved
        // to (v2.0.0 → v2.0.0+incompatible).
        let version = match &go.info {
            Some(info) => {
                assert_eq!(ours_info.as_ref().ok(), Some(info), "{context}: .info");
                info.version.as_str()
            }
            None => {
                expect_not_found(&ours_info, &context);
                return go;
            }
        };
        let ours_mod = self
            .ours_go_mod(module, version)
            .map(|data| hash_go_mod(&data));
        match &go.go_mod_sum {
            Some(sum) => assert_eq!(ours_mod.as_ref().ok(), Some(sum), "{context}: GoModSum"),
            None => {
                expect_not_found(&ours_mod, &context);
                return go;
            }
        }
        let ours_zip = self.ours_zip_sum(module, version);
        match &go.sum {
            Some(sum) => assert_eq!(ours_zip.as_ref().ok(), Some(sum), "{context}: Sum"),
            None => expect_not_found(&ours_zip, &context),
        }
        assert_eq!(go.error.is_some(), go.sum.is_none(), "{context}");
        go
    }

    /// The version list (retracted versions included) is the same.
    pub fn assert_list(&self, module: &str) -> Vec<String> {
        let go = self.go_versions(module);
        let ours = self.ours_list(module);
        match go {
            Ok(versions) => {
                assert_eq!(ours.as_ref().ok(), Some(&versions), "{module}: list");
                versions
            }
            Err(e) => {
                expect_not_found(&ours, &format!("{module}: list (go: {e})"));
                Vec::new()
            }
        }
    }

    /// `.info` for a query (branch, tag, hash, version) matches
    /// `go list -m M@query`, or both fail.
    pub fn assert_query(&self, module: &str, query: &str) -> Option<Query> {
        let go = self.go_query(module, query);
        let ours = self.ours_info(module, query);
        compare_query(&format!("{module}@{query}"), go, ours)
    }

    /// `@latest` matches `go list -m M@latest`, or both fail.
    pub fn assert_latest(&self, module: &str) -> Option<Query> {
        let go = self.go_query(module, "latest");
        let ours = self.ours_latest(module);
        compare_query(&format!("{module}@latest"), go, ours)
    }
}

fn compare_query(
    context: &str,
    go: Result<Query, String>,
    ours: Result<Info, FetchError>,
) -> Option<Query> {
    match go {
        Ok(go) => {
            let ours = ours.unwrap_or_else(|e| panic!("{context}: go says {go:?}, we fail: {e}"));
            let ours = Query {
                version: ours.version,
                time: ours.time,
                hash: ours.origin["Hash"].as_str().unwrap_or_default().to_owned(),
            };
            assert_eq!(ours, go, "{context}");
            Some(go)
        }
        Err(go_error) => {
            expect_not_found(&ours, &format!("{context} (go: {go_error})"));
            None
        }
    }
}

pub fn expect_not_found<T: std::fmt::Debug>(result: &Result<T, FetchError>, context: &str) {
    match result {
        Err(FetchError::NotFound(_)) => {}
        other => panic!("{context}: expected not-found, got {other:?}"),
    }
}

fn parse_info(raw: &[u8]) -> Info {
    let json: Value = serde_json::from_slice(raw).expect("info JSON");
    Info {
        version: json["Version"].as_str().unwrap_or_default().to_owned(),
        time: json["Time"].as_str().unwrap_or_default().to_owned(),
        origin: json["Origin"].clone(),
    }
}

/// The entries of a zip, by name.
pub fn zip_files(data: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (
                String::from_utf8_lossy(entry.name_raw()).into_owned(),
                content,
            )
        })
        .collect()
}

/// Writes a GOPROXY file tree with one version of one module.
pub fn write_proxy_tree(
    root: &std::path::Path,
    module: &str,
    version: &str,
    files: &[(&str, &str)],
) {
    use std::io::Write;
    let dir = root.join(module).join("@v");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("list"), format!("{version}\n")).unwrap();
    std::fs::write(
        dir.join(format!("{version}.info")),
        format!("{{\"Version\":\"{version}\",\"Time\":\"2024-02-03T04:05:06Z\"}}"),
    )
    .unwrap();
    let go_mod = files
        .iter()
        .find(|(name, _)| *name == "go.mod")
        .map_or("", |(_, c)| c);
    std::fs::write(dir.join(format!("{version}.mod")), go_mod).unwrap();
    let mut zip =
        zip::ZipWriter::new(std::fs::File::create(dir.join(format!("{version}.zip"))).unwrap());
    for (name, content) in files {
        zip.start_file(
            format!("{module}@{version}/{name}"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

/// The pseudo-version timestamp for an `.info` time
/// (`2024-01-03T10:00:00Z` → `20240103100000`).
pub fn timestamp(rfc3339: &str) -> String {
    rfc3339.chars().filter(char::is_ascii_digit).collect()
}

/// Conveniences on top of the testkit's repositories.
pub trait RepoExt {
    /// Writes the files, commits them, and returns the new commit's hash.
    fn commit_files(&mut self, files: &[(&str, &str)], message: &str) -> String;
    fn head(&self) -> String;
    fn symlink(&self, name: &str, target: &str) -> &Self;
}

impl RepoExt for GitRepo {
    fn commit_files(&mut self, files: &[(&str, &str)], message: &str) -> String {
        for (name, content) in files {
            self.write(name, content);
        }
        self.commit(message);
        self.head()
    }

    fn head(&self) -> String {
        String::from_utf8(self.git(&["rev-parse", "HEAD"]).stdout)
            .unwrap()
            .trim()
            .to_owned()
    }

    fn symlink(&self, name: &str, target: &str) -> &Self {
        let path = self.path.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
        self
    }
}

/// Writes a long history onto `main` of `repo` with `git fast-import`:
/// `commits` commits, one hour apart, each rewriting one of 64 files (and
/// the first adding `go.mod` for `module`); lightweight tags at the
/// given commit numbers (1-based). Returns every commit's hash, oldest
/// first. The working tree is checked out at the tip.
pub fn fast_import_history(
    repo: &GitRepo,
    module: &str,
    commits: usize,
    tags: &[(usize, &str)],
) -> Vec<String> {
    use std::io::Write;
    let mut stream = Vec::new();
    let data = |stream: &mut Vec<u8>, text: &str| {
        write!(stream, "data {}\n{text}\n", text.len()).unwrap();
    };
    for i in 1..=commits {
        writeln!(stream, "commit refs/heads/main\nmark :{i}").unwrap();
        writeln!(
            stream,
            "committer Test <test@example.com> {} +0000",
            1_700_000_000 + i * 3600
        )
        .unwrap();
        data(&mut stream, &format!("commit {i}"));
        if i > 1 {
            writeln!(stream, "from :{}", i - 1).unwrap();
        } else {
            writeln!(stream, "M 100644 inline go.mod").unwrap();
            data(&mut stream, &format!("module {module}\n\ngo 1.21\n"));
        }
        writeln!(stream, "M 100644 inline f{:02}.go", i % 64).unwrap();
        data(
            &mut stream,
            &format!("package p\n\n// Revision {i}.\nconst R{} = {i}\n", i % 64),
        );
    }
    for (at, name) in tags {
        writeln!(stream, "reset refs/tags/{name}\nfrom :{at}\n").unwrap();
    }
    let marks = repo.path.join(".git/fast-import-marks");
    let mut child = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .arg(format!("--export-marks={}", marks.display()))
        .current_dir(&repo.path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git fast-import");
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    repo.git(&["symbolic-ref", "HEAD", "refs/heads/main"]);
    repo.git(&["reset", "-q", "--hard", "main"]);
    let marks = std::fs::read_to_string(&marks).unwrap();
    let mut hashes = vec![String::new(); commits];
    for line in marks.lines() {
        let (mark, hash) = line.split_once(' ').unwrap();
        let mark: usize = mark.trim_start_matches(':').parse().unwrap();
        hashes[mark - 1] = hash.to_owned();
    }
    hashes
}

impl Harness {
    /// The mirror directory of the repository whose mirror name starts
    /// with `prefix` (`github.com_owner_repo`).
    pub fn mirror_dir(&self, prefix: &str) -> std::path::PathBuf {
        let name = self
            .mirror_entries()
            .into_iter()
            .find(|e| e.starts_with(&format!("{prefix}-")))
            .unwrap_or_else(|| panic!("no mirror for {prefix}: {:?}", self.mirror_entries()));
        self.options.mirror_root.join(name)
    }

    /// How many commits the mirror holds (reachable from any of its refs).
    pub fn mirror_commits(&self, prefix: &str) -> usize {
        let out = std::process::Command::new("git")
            .args(["rev-list", "--all", "--count"])
            .env("GIT_DIR", self.mirror_dir(prefix))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// Logs every pack the server makes (one line each) to the returned
    /// file, after a pause of `delay_secs` per pack: how many fetches
    /// reached the remote.
    pub fn log_server_packs(&self, delay_secs: u32) -> std::path::PathBuf {
        let log = self.go.dir.path().join("pack-objects.log");
        self.hook_server_packs(&format!(
            "echo run >> '{}'\nsleep {delay_secs}\n",
            log.display()
        ));
        log
    }

    /// Runs the shell `script` on the server before each `pack-objects`
    /// (its arguments in `$*`), through `uploadpack.packObjectsHook`.
    pub fn hook_server_packs(&self, script: &str) {
        let hook = self.go.dir.path().join("pack-objects-hook");
        std::fs::write(&hook, format!("#!/bin/sh\n{script}exec \"$@\"\n")).unwrap();
        std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        self.append_gitconfig(&format!(
            "[uploadpack]\n\tpackObjectsHook = {}\n",
            hook.display()
        ));
    }

    /// Lines in a log written by [`Harness::log_server_packs`].
    pub fn server_packs(log: &std::path::Path) -> usize {
        std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
    }

    /// Whether the mirror holds only part of its commits' history.
    pub fn mirror_is_shallow(&self, prefix: &str) -> bool {
        self.mirror_dir(prefix).join("shallow").exists()
    }
}
