//! Three modvault replicas on one S3 bucket (SeaweedFS) and one PostgreSQL,
//! behind nginx as a round-robin load balancer, all started by the tests:
//! the go command through nginx, one upstream fetch per version across
//! replicas, a replica killed mid-fetch, tokens, publishing, our own
//! checksum database and a database outage.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{keygen, modvault_bin};
use modvault_testkit::hostile::{raw_zip, Behaviour, HostileUpstream, RawEntry};
use modvault_testkit::servers::LoadBalancer;
use modvault_testkit::{run_ok, Go, Modvault, Postgres, S3Location, SeaweedFs, TempDir};

const HELLO: &str = "github.com/mvtest/hello";
const DB: &str = "sum.replicas.example";

/// Polls until `check` holds; a generous deadline catches a hang, it is
/// not a timing requirement.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The go command's GOPROXY tree of `versions` of HELLO.
fn hello_tree(go: &Go, versions: &[&str]) -> PathBuf {
    let mut repo = go.repo("mvtest/hello");
    repo.write("go.mod", format!("module {HELLO}\n\ngo 1.21\n"));
    for version in versions {
        repo.write(
            "hello.go",
            format!("package hello\n\nconst Version = \"{version}\"\n"),
        );
        repo.commit(version).tag(version);
    }
    let modules: Vec<String> = versions.iter().map(|v| format!("{HELLO}@{v}")).collect();
    let refs: Vec<&str> = modules.iter().map(String::as_str).collect();
    go.direct_tree("direct", &refs)
}

/// Every file of a GOPROXY tree, by request path (`/<module>/@v/…`).
fn tree_files(tree: &Path) -> HashMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut HashMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                out.insert(format!("/{rel}"), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = HashMap::new();
    walk(tree, tree, &mut out);
    out
}

/// An upstream proxy that serves `tree` and counts requests; `.zip`s in
/// `slow` arrive a byte every `every`, so fetches overlap and can be cut.
fn recording_upstream(tree: &Path, slow: &[&str], every: Duration) -> HostileUpstream {
    let upstream = HostileUpstream::start();
    for (path, body) in tree_files(tree) {
        let behaviour = if slow.contains(&path.as_str()) {
            Behaviour::Drip { body, every }
        } else {
            Behaviour::Ok(body)
        };
        upstream.on(&path, behaviour);
    }
    upstream
}

struct Cluster {
    replicas: Vec<Option<Modvault>>,
    lb: LoadBalancer,
    database_url: String,
    vkey: String,
    _s3: S3Location,
    _pg: Arc<Postgres>,
    _dir: TempDir,
}

impl Cluster {
    /// Three replicas of `upstream` on a fresh database and bucket prefix,
    /// with our own checksum database, behind nginx.
    fn start(pg: Arc<Postgres>, upstream: &str, extra: &[&str]) -> Cluster {
        let dir = TempDir::new().unwrap();
        let s3 = S3Location::new(SeaweedFs::shared(), "replicas");
        let database_url = pg.database();
        let (key_file, vkey) = keygen(dir.path(), "sumdb.key", DB);
        let key_file = key_file.display().to_string();
        let storage = s3.url();
        let mut args = vec![
            "--storage",
            storage.as_str(),
            "--database-url",
            database_url.as_str(),
            "--sumdb-name",
            DB,
            "--sumdb-signer-key-file",
            key_file.as_str(),
            "--upstream-min-rate",
            "0",
        ];
        args.extend_from_slice(extra);
        let env: Vec<(&str, String)> = s3.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let replicas: Vec<Option<Modvault>> = (0..3)
            .map(|i| {
                Some(Modvault::start_in(
                    &modvault_bin(),
                    &dir.path().join(format!("replica{i}")),
                    upstream,
                    &args,
                    &env,
                ))
            })
            .collect();
        let backends: Vec<String> = replicas
            .iter()
            .map(|r| r.as_ref().unwrap().url.clone())
            .collect();
        let lb = LoadBalancer::start(&backends);
        Cluster {
            replicas,
            lb,
            database_url,
            vkey,
            _s3: s3,
            _pg: pg,
            _dir: dir,
        }
    }

    fn replica(&self, i: usize) -> &Modvault {
        self.replicas[i].as_ref().expect("replica running")
    }

    fn token(&self, args: &[&str]) -> std::process::Output {
        Command::new(modvault_bin())
            .arg("token")
            .args(args)
            .args(["--database-url", &self.database_url])
            .output()
            .unwrap()
    }
}

/// `go mod download -json HELLO@version` through `goproxy`, verified
/// against `gosumdb` (else no checksum database).
fn download(
    go: &Go,
    goproxy: &str,
    cache: &str,
    version: &str,
    gosumdb: Option<&str>,
) -> serde_json::Value {
    let mut command = go.command(goproxy, &go.mod_cache(cache));
    if let Some(key) = gosumdb {
        command.env("GOSUMDB", key);
    }
    command.args(["mod", "download", "-json", &format!("{HELLO}@{version}")]);
    serde_json::from_slice(&run_ok(&mut command).stdout).expect("go mod download -json")
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let response = reqwest::blocking::Client::new()
        .get(url)
        .timeout(Duration::from_secs(120))
        .send()
        .expect("request");
    let status = response.status().as_u16();
    (status, response.bytes().expect("whole body").to_vec())
}

#[test]
fn fifty_parallel_requests_over_three_replicas_make_one_upstream_fetch() {
    let go = Go::new();
    let tree = hello_tree(&go, &["v1.0.0"]);
    let zip_path = format!("/{HELLO}/@v/v1.0.0.zip");
    let upstream = recording_upstream(&tree, &[&zip_path], Duration::from_millis(1));
    let cluster = Cluster::start(Postgres::shared(), &upstream.url, &[]);
    let want = std::fs::read(tree.join(&zip_path[1..])).unwrap();

    let bodies: Vec<(u16, Vec<u8>)> = std::thread::scope(|scope| {
        let tasks: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| get(&format!("{}{zip_path}", cluster.lb.url))))
            .collect();
        tasks.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (status, body) in &bodies {
        assert_eq!(*status, 200);
        assert!(*body == want, "every body is the zip, byte for byte");
    }
    assert_eq!(
        upstream.requests_for(&zip_path),
        1,
        "one upstream fetch across three replicas"
    );
    let routed = cluster.lb.routed();
    let backends: std::collections::HashSet<&str> = routed
        .iter()
        .filter(|line| line.contains(".zip 200"))
        .filter_map(|line| line.split(' ').nth(3))
        .collect();
    assert_eq!(backends.len(), 3, "nginx spread the requests: {routed:?}");
}

#[test]
fn replicas_agree_on_a_not_found_and_ask_upstream_once() {
    let go = Go::new();
    let tree = hello_tree(&go, &["v1.0.0"]);
    let upstream = recording_upstream(&tree, &[], Duration::ZERO);
    let cluster = Cluster::start(Postgres::shared(), &upstream.url, &[]);
    // Not a version upstream has: 404, remembered for not_found_ttl (60s).
    let missing = format!("/{HELLO}/@v/v9.9.9.info");
    for i in 0..3 {
        let (status, _) = get(&format!("{}{missing}", cluster.replica(i).url));
        assert_eq!(status, 404, "replica {i}");
    }
    assert_eq!(
        upstream.requests_for(&missing),
        1,
        "one upstream request for three replicas"
    );
}

#[test]
fn a_replica_killed_mid_fetch_is_taken_over_by_another() {
    let go = Go::new();
    let tree = hello_tree(&go, &["v1.0.0"]);
    let zip_path = format!("/{HELLO}/@v/v1.0.0.zip");
    let upstream = recording_upstream(&tree, &[&zip_path], Duration::from_millis(5));
    let mut cluster = Cluster::start(Postgres::shared(), &upstream.url, &[]);
    let want = std::fs::read(tree.join(&zip_path[1..])).unwrap();

    // Replica 0 takes the fetch; its client reads as the zip arrives.
    let url = format!("{}{zip_path}", cluster.replica(0).url);
    let first = std::thread::spawn(move || {
        let response = reqwest::blocking::Client::new()
            .get(url)
            .timeout(Duration::from_secs(120))
            .send();
        response.and_then(|r| r.bytes()).map(|b| b.to_vec())
    });
    eventually("replica 0 fetches the zip", || {
        upstream.requests_for(&zip_path) == 1
    });
    let mut killed = cluster.replicas[0].take().unwrap();
    killed
        .signal_and_wait("KILL", Duration::from_secs(10))
        .expect("replica 0 ended");
    let cut = first.join().unwrap();
    assert!(
        cut.is_err(),
        "the killed replica's client saw an error, never a truncated success"
    );

    // Clients retry through nginx: the others wait for the lapsed lease,
    // one fetches again, all get the right bytes.
    let retries: Vec<(u16, Vec<u8>)> = std::thread::scope(|scope| {
        let tasks: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| get(&format!("{}{zip_path}", cluster.lb.url))))
            .collect();
        tasks.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (status, body) in &retries {
        assert_eq!(*status, 200);
        assert!(*body == want);
    }
    assert_eq!(
        upstream.requests_for(&zip_path),
        2,
        "one fetch by the dead replica, one takeover"
    );
    assert!(cluster
        .replica(1)
        .log()
        .iter()
        .chain(cluster.replica(2).log().iter())
        .any(|l| l.contains("zip stored")));
}

#[test]
fn tokens_from_the_cli_work_on_every_replica_and_revocation_reaches_all() {
    let go = Go::new();
    let tree = hello_tree(&go, &["v1.0.0"]);
    let cluster = Cluster::start(
        Postgres::shared(),
        &format!("file://{}", tree.display()),
        &["--auth-anonymous-read", ""],
    );
    let created = cluster.token(&["create", "--name", "ci", "--scope", "read"]);
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let listed = cluster.token(&["list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).starts_with("ci\tread\t*\t"));

    let info = format!("/{HELLO}/@v/v1.0.0.info");
    let status = |replica: &Modvault, token: Option<&str>| {
        let mut request = reqwest::blocking::Client::new().get(format!("{}{info}", replica.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap().status().as_u16()
    };
    for i in 0..3 {
        assert_eq!(status(cluster.replica(i), None), 401);
        eventually("the new token works on every replica", || {
            status(cluster.replica(i), Some(&token)) == 200
        });
    }
    let revoked = cluster.token(&["revoke", "ci"]);
    assert!(revoked.status.success(), "{revoked:?}");
    for i in 0..3 {
        eventually("every replica refuses the revoked token", || {
            status(cluster.replica(i), Some(&token)) == 401
        });
    }
    // The password in database_url never reaches a log.
    let password = cluster
        .database_url
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    for i in 0..3 {
        assert!(cluster
            .replica(i)
            .log()
            .iter()
            .all(|l| !l.contains(&password)));
    }
}

fn lib_zip(version: &str, content: &str) -> Vec<u8> {
    let prefix = format!("corp.example/lib@{version}/");
    let (go_mod, lib) = (format!("{prefix}go.mod"), format!("{prefix}lib.go"));
    let lib_go = format!("package lib\n\nconst Content = \"{content}\"\n");
    raw_zip(&[
        RawEntry::stored(&go_mod, b"module corp.example/lib\n\ngo 1.21\n"),
        RawEntry::stored(&lib, lib_go.as_bytes()),
    ])
}

#[test]
fn published_through_one_replica_served_by_all_and_a_conflict_is_one_409() {
    let dir = TempDir::new().unwrap();
    let config = dir.path().join("modvault.toml");
    std::fs::write(
        &config,
        "[[rule]]\nmatch = \"corp.example\"\nsource = \"published\"\n",
    )
    .unwrap();
    let cluster = Cluster::start(
        Postgres::shared(),
        "off",
        &["--config", config.to_str().unwrap()],
    );
    let created = cluster.token(&["create", "--name", "release", "--scope", "publish"]);
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let put = |replica: usize, version: &str, body: Vec<u8>| {
        reqwest::blocking::Client::new()
            .put(format!(
                "{}/corp.example/lib/@v/{version}.zip",
                cluster.replica(replica).url
            ))
            .bearer_auth(&token)
            .body(body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let first = lib_zip("v1.0.0", "first");
    assert_eq!(put(0, "v1.0.0", first.clone()), 201);
    for i in 1..3 {
        let (status, body) = get(&format!(
            "{}/corp.example/lib/@v/v1.0.0.zip",
            cluster.replica(i).url
        ));
        assert_eq!(status, 200);
        assert!(body == first, "replica {i} serves the published bytes");
    }

    // The same version, different bytes, through two replicas at once.
    let (a, b) = (lib_zip("v1.1.0", "a"), lib_zip("v1.1.0", "b"));
    let (status_a, status_b) = std::thread::scope(|scope| {
        let ta = scope.spawn(|| put(1, "v1.1.0", a.clone()));
        let tb = scope.spawn(|| put(2, "v1.1.0", b.clone()));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let mut statuses = [status_a, status_b];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "one version, one conflict");
    let winner = if status_a == 201 { &a } else { &b };
    for i in 0..3 {
        let (status, body) = get(&format!(
            "{}/corp.example/lib/@v/v1.1.0.zip",
            cluster.replica(i).url
        ));
        assert_eq!(status, 200);
        assert!(
            body == *winner,
            "every replica serves the one stored version"
        );
    }
}

#[test]
fn the_go_command_verifies_through_nginx_against_our_database_while_all_replicas_append() {
    let go = Go::new();
    let versions = ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0"];
    let tree = hello_tree(&go, &versions);
    let upstream = recording_upstream(&tree, &[], Duration::ZERO);
    let cluster = Cluster::start(Postgres::shared(), &upstream.url, &[]);

    // Each version is fetched (and so appended to the log) by whichever
    // replica nginx picks, several at once.
    std::thread::scope(|scope| {
        for version in versions {
            let url = format!("{}/{HELLO}/@v/{version}.zip", cluster.lb.url);
            scope.spawn(move || assert_eq!(get(&url).0, 200));
        }
    });
    // Every replica signs the same tree.
    let latest: Vec<Vec<u8>> = (0..3)
        .map(|i| get(&format!("{}/sumdb/{DB}/latest", cluster.replica(i).url)).1)
        .collect();
    assert!(latest.iter().all(|l| *l == latest[0]), "{latest:?}");
    assert!(String::from_utf8_lossy(&latest[0]).contains("\n6\n"));

    // The go command, through nginx (so lookups, tiles and files come from
    // any replica), verifies every version against our key, and its sums
    // are the ones the go command computes from the repository itself.
    for version in versions {
        let json = download(
            &go,
            &cluster.lb.url,
            "via-nginx",
            version,
            Some(&cluster.vkey),
        );
        let direct = download(
            &go,
            &format!("file://{}", tree.display()),
            "direct-check",
            version,
            None,
        );
        assert_eq!(json["Sum"], direct["Sum"], "{version}");
        assert_eq!(json["GoModSum"], direct["GoModSum"], "{version}");
    }
    // The build, through nginx, verified against our database.
    let project = go.mod_cache("project-src");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("go.mod"),
        format!("module example.com/app\n\ngo 1.21\n\nrequire {HELLO} v1.5.0\n"),
    )
    .unwrap();
    std::fs::write(
        project.join("main.go"),
        format!("package main\n\nimport hello \"{HELLO}\"\n\nfunc main() {{ println(hello.Version) }}\n"),
    )
    .unwrap();
    let mut tidy = go.command(&cluster.lb.url, &go.mod_cache("build"));
    tidy.env("GOSUMDB", &cluster.vkey)
        .current_dir(&project)
        .args(["mod", "tidy"]);
    run_ok(&mut tidy);
    let mut build = go.command(&cluster.lb.url, &go.mod_cache("build"));
    build
        .env("GOSUMDB", &cluster.vkey)
        .current_dir(&project)
        .args(["build", "-o", "app", "."]);
    run_ok(&mut build);
    let sums = std::fs::read_to_string(project.join("go.sum")).unwrap();
    let direct = download(
        &go,
        &format!("file://{}", tree.display()),
        "direct-check",
        "v1.5.0",
        None,
    );
    assert!(sums.contains(direct["Sum"].as_str().unwrap()), "{sums}");
}

#[test]
fn without_the_database_stored_versions_are_served_misses_are_503_and_it_recovers() {
    let go = Go::new();
    let tree = hello_tree(&go, &["v1.0.0", "v1.1.0"]);
    let upstream = recording_upstream(&tree, &[], Duration::ZERO);
    // A server of its own: this test stops it.
    let pg = Arc::new(Postgres::start());
    let cluster = Cluster::start(pg.clone(), &upstream.url, &[]);
    let stored = format!("/{HELLO}/@v/v1.0.0.zip");
    let want = std::fs::read(tree.join(&stored[1..])).unwrap();
    assert_eq!(get(&format!("{}{stored}", cluster.lb.url)).0, 200);

    pg.stop();
    for i in 0..3 {
        let (status, body) = get(&format!("{}{stored}", cluster.replica(i).url));
        assert_eq!(status, 200, "replica {i} serves what is stored");
        assert!(body == want);
    }
    let miss = format!("/{HELLO}/@v/v1.1.0.zip");
    let (status, body) = get(&format!("{}{miss}", cluster.replica(1).url));
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).starts_with("storage unavailable"));

    pg.restart();
    eventually("the miss is served once the database is back", || {
        get(&format!("{}{miss}", cluster.replica(1).url)).0 == 200
    });
    let (status, body) = get(&format!("{}{miss}", cluster.lb.url));
    assert_eq!(status, 200);
    assert!(body == std::fs::read(tree.join(&miss[1..])).unwrap());
}

#[test]
fn an_unreachable_database_stops_start_up_naming_the_setting_not_the_password() {
    let dir = TempDir::new().unwrap();
    let port = modvault_testkit::closed_port();
    let url = format!("postgres://modvault:hunter2-secret@127.0.0.1:{port}/modvault");
    let output = Command::new(modvault_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--upstream", "off"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("MODVAULT_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "database_url (from environment variable MODVAULT_DATABASE_URL) is not usable"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
}
