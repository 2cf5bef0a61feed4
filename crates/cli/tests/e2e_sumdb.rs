//! Checksum databases end to end: modvault's own database verified by the
//! real go command, one modvault verifying against another's database, and
//! tampering caught before anything is stored.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{keygen, modvault_bin};
use modvault_testkit::{field, file_url, run_ok, Go, Modvault, TempDir};

const HELLO: &str = "github.com/mvtest/hello";
const DB: &str = "sum.test.example";

/// A repository with `versions` tags; `flavor` changes every file, so two
/// flavors give different hashes for the same versions.
fn hello_tree(go: &Go, versions: &[&str], flavor: &str) -> PathBuf {
    let mut repo = go.repo("mvtest/hello");
    for version in versions {
        repo.write(
            "go.mod",
            format!("module {HELLO}\n\ngo 1.21\n// {flavor}\n"),
        )
        .write(
            "hello.go",
            format!("package hello\n\nconst Version = \"{version} {flavor}\"\n"),
        );
        repo.commit(version).tag(version);
    }
    let modules: Vec<String> = versions.iter().map(|v| format!("{HELLO}@{v}")).collect();
    let refs: Vec<&str> = modules.iter().map(String::as_str).collect();
    go.direct_tree("direct", &refs)
}

fn own_db_args(key_file: &Path) -> Vec<String> {
    vec![
        "--sumdb-name".into(),
        DB.into(),
        "--sumdb-signer-key-file".into(),
        key_file.display().to_string(),
    ]
}

fn start(upstream: &str, data_dir: &Path, args: &[String]) -> Modvault {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Modvault::start_in(&modvault_bin(), data_dir, upstream, &args, &[])
}

#[test]
fn the_go_command_verifies_modules_against_our_own_database() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    let tree = hello_tree(&go, &["v1.0.0", "v1.1.0"], "a");
    let (key_file, vkey) = keygen(dir.path(), "sumdb.key", DB);
    let modvault = start(
        &file_url(&tree),
        &dir.path().join("data"),
        &own_db_args(&key_file),
    );

    // GOSUMDB is our key and nothing is exempt: every module is verified
    // against our log, through the proxy (`/sumdb/<name>/supported`).
    let cache = go.mod_cache("client");
    let app = go.dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    std::fs::write(
        app.join("main.go"),
        format!("package main\n\nimport \"{HELLO}\"\n\nfunc main() {{ println(hello.Version) }}\n"),
    )
    .unwrap();
    run_ok(
        go.command(&modvault.url, &cache)
            .env("GOSUMDB", &vkey)
            .args(["get", &format!("{HELLO}@v1.1.0")])
            .current_dir(&app),
    );
    run_ok(
        go.command(&modvault.url, &cache)
            .env("GOSUMDB", &vkey)
            .args(["build", "./..."])
            .current_dir(&app),
    );

    // The go.sum lines the go command wrote are the lines of our log.
    let go_sum = std::fs::read_to_string(app.join("go.sum")).unwrap();
    let lookup = modvault
        .get(&format!("/sumdb/{DB}/lookup/{HELLO}@v1.1.0"))
        .text()
        .unwrap();
    for line in go_sum.lines() {
        assert!(
            lookup.contains(line),
            "go.sum line {line:?} not in lookup:\n{lookup}"
        );
    }
    assert_eq!(go_sum.lines().count(), 2);

    // The go command's own verification of a fresh download.
    let json = go.download(
        &modvault.url,
        &go.mod_cache("fresh"),
        &format!("{HELLO}@v1.0.0"),
    );
    let fresh = go
        .command(&modvault.url, &go.mod_cache("fresh2"))
        .env("GOSUMDB", &vkey)
        .args(["mod", "download", "-json", &format!("{HELLO}@v1.0.0")])
        .output()
        .unwrap();
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stdout)
    );
    let lookup = modvault
        .get(&format!("/sumdb/{DB}/lookup/{HELLO}@v1.0.0"))
        .text()
        .unwrap();
    assert!(
        lookup.contains(&field(&json, "Sum")) && lookup.contains(&field(&json, "GoModSum")),
        "{lookup}"
    );

    // A client that trusts another key for the same name refuses the log.
    let (_, other_vkey) = keygen(dir.path(), "other.key", DB);
    let refused = go
        .command(&modvault.url, &go.mod_cache("other-key"))
        .env("GOSUMDB", &other_vkey)
        .args(["mod", "download", "-json", &format!("{HELLO}@v1.0.0")])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("verifying"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
}

#[test]
fn a_second_modvault_verifies_everything_against_the_first_ones_database() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    let tree = hello_tree(&go, &["v1.0.0"], "a");
    let (key_file, vkey) = keygen(dir.path(), "sumdb.key", DB);
    let first = start(
        &file_url(&tree),
        &dir.path().join("first"),
        &own_db_args(&key_file),
    );
    let sumdb = format!("{vkey} {}/sumdb/{DB}", first.url);
    let second = start(
        &first.url,
        &dir.path().join("second"),
        &["--sumdb-upstream".into(), sumdb.clone()],
    );

    let direct = go.download(
        "direct",
        &go.mod_cache("direct"),
        &format!("{HELLO}@v1.0.0"),
    );
    let through = go
        .command(&second.url, &go.mod_cache("second"))
        .env("GOSUMDB", &vkey)
        .args(["mod", "download", "-json", &format!("{HELLO}@v1.0.0")])
        .output()
        .unwrap();
    assert!(
        through.status.success(),
        "{}",
        String::from_utf8_lossy(&through.stdout)
    );
    let through: serde_json::Value = serde_json::from_slice(&through.stdout).unwrap();
    assert_eq!(field(&through, "Sum"), field(&direct, "Sum"));
    // The second one looked the version up in the first one's database,
    // and relays that database to its own clients.
    assert!(first.requests_for(&format!("/sumdb/{DB}/lookup/{HELLO}@v1.0.0")) >= 1);
    assert!(second.requests_for(&format!("/sumdb/{DB}/supported")) >= 1);
    let metrics = second.get("/metrics").text().unwrap();
    assert!(
        metrics.contains("modvault_security_errors_total 0"),
        "{metrics}"
    );
    // Relayed tiles are cached in the store, and nothing else is relayed.
    assert!(second
        .data_dir
        .join(format!("sumdb/{DB}/tile/8/0"))
        .exists());
    for path in [
        "/sumdb/sum.golang.org/supported",
        "/sumdb/evil.example/lookup/x.example/m@v1.0.0",
        "/sumdb/supported",
    ] {
        assert_eq!(second.get(path).status().as_u16(), 404, "{path}");
    }
}

/// Tampered data must be refused with a SECURITY ERROR and never stored.
#[test]
fn tampering_is_caught_and_nothing_is_stored() {
    let honest_go = Go::new();
    let evil_go = Go::new();
    let dir = TempDir::new().unwrap();
    let honest_tree = hello_tree(&honest_go, &["v1.0.0"], "honest");
    let evil_tree = hello_tree(&evil_go, &["v1.0.0"], "evil");
    let (key_file, vkey) = keygen(dir.path(), "sumdb.key", DB);
    let honest = start(
        &file_url(&honest_tree),
        &dir.path().join("honest"),
        &own_db_args(&key_file),
    );
    let sumdb = format!("{vkey} {}/sumdb/{DB}", honest.url);

    // Changed go.mod and zip: a mirror whose upstream serves other bytes.
    let victim_dir = dir.path().join("victim");
    let victim = start(
        &file_url(&evil_tree),
        &victim_dir,
        &["--sumdb-upstream".into(), sumdb.clone()],
    );
    for file in ["v1.0.0.mod", "v1.0.0.zip"] {
        let response = victim.get(&format!("/{HELLO}/@v/{file}"));
        let status = response.status().as_u16();
        let body = response.text().unwrap_or_default();
        assert_eq!(status, 403, "{file}: {body}");
        assert!(body.starts_with("SECURITY ERROR"), "{file}: {body}");
    }
    let stored: Vec<_> = walk(&victim_dir.join("github.com"));
    assert!(
        stored
            .iter()
            .all(|p| !p.ends_with(".mod") && !p.ends_with(".zip")),
        "stored: {stored:?}"
    );
    let metrics = victim.get("/metrics").text().unwrap();
    assert!(
        !metrics.contains("modvault_security_errors_total 0"),
        "{metrics}"
    );
    let go_output = evil_go
        .command(&victim.url, &evil_go.mod_cache("victim"))
        .args(["mod", "download", "-json", &format!("{HELLO}@v1.0.0")])
        .output()
        .unwrap();
    assert!(!go_output.status.success());
    assert!(String::from_utf8_lossy(&go_output.stdout).contains("SECURITY ERROR"));
    drop(victim);

    // A tree note signed by another key for the same name.
    let (_, impostor_vkey) = keygen(dir.path(), "impostor.key", DB);
    let impostor = format!("{impostor_vkey} {}/sumdb/{DB}", honest.url);
    let fooled = start(
        &file_url(&honest_tree),
        &dir.path().join("fooled"),
        &["--sumdb-upstream".into(), impostor],
    );
    let response = fooled.get(&format!("/{HELLO}/@v/v1.0.0.mod"));
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.text().unwrap().starts_with("SECURITY ERROR"));
    drop(fooled);

    // A forked log: the same key signs a second, different history. A
    // verifier that saw the first tree (and remembers it across a restart)
    // refuses the second.
    let forked_go = Go::new();
    let forked_tree = hello_tree(&forked_go, &["v1.0.0", "v1.1.0"], "forked");
    let forked = start(
        &file_url(&forked_tree),
        &dir.path().join("forked"),
        &own_db_args(&key_file),
    );
    assert_eq!(
        forked
            .get(&format!("/sumdb/{DB}/lookup/{HELLO}@v1.1.0"))
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        forked
            .get(&format!("/sumdb/{DB}/lookup/{HELLO}@v1.0.0"))
            .status()
            .as_u16(),
        200
    );

    let watcher_dir = dir.path().join("watcher");
    let watcher = start(
        &file_url(&honest_tree),
        &watcher_dir,
        &["--sumdb-upstream".into(), sumdb],
    );
    assert_eq!(
        watcher
            .get(&format!("/{HELLO}/@v/v1.0.0.mod"))
            .status()
            .as_u16(),
        200
    );
    drop(watcher);
    let forked_sumdb = format!("{vkey} {}/sumdb/{DB}", forked.url);
    let watcher = start(
        &file_url(&forked_tree),
        &watcher_dir,
        &["--sumdb-upstream".into(), forked_sumdb],
    );
    let response = watcher.get(&format!("/{HELLO}/@v/v1.1.0.mod"));
    let status = response.status().as_u16();
    let body = response.text().unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(
        body.starts_with("SECURITY ERROR") && body.contains("misbehavior"),
        "{body}"
    );
}

/// Every file under `dir`, as strings.
fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                files.push(entry.path().display().to_string());
            }
        }
    }
    files
}

#[test]
fn the_log_survives_restarts_and_kill_9_during_appends() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    let versions: Vec<String> = (0..40).map(|i| format!("v1.{i}.0")).collect();
    let refs: Vec<&str> = versions.iter().map(String::as_str).collect();
    let tree = hello_tree(&go, &refs, "a");
    let (key_file, vkey) = keygen(dir.path(), "sumdb.key", DB);
    let data = dir.path().join("data");

    // Append from many clients at once and kill -9 in the middle: as soon
    // as a few lookups are acknowledged, while the rest are being appended.
    let mut modvault = start(&file_url(&tree), &data, &own_db_args(&key_file));
    let (tx, rx) = std::sync::mpsc::channel::<(String, String)>();
    let url = modvault.url.clone();
    // Four clients work through the versions, so that when the kill comes
    // most lookups (and their appends) are still ahead or under way.
    let queue = std::sync::Arc::new(std::sync::Mutex::new(versions.clone()));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (tx, url, queue) = (tx.clone(), url.clone(), queue.clone());
            std::thread::spawn(move || loop {
                let Some(version) = queue.lock().unwrap().pop() else {
                    return;
                };
                let response = reqwest::blocking::Client::new()
                    .get(format!("{url}/sumdb/{DB}/lookup/{HELLO}@{version}"))
                    .timeout(Duration::from_secs(30))
                    .send();
                match response {
                    Ok(response) if response.status().as_u16() == 200 => {
                        if let Ok(body) = response.text() {
                            let _ = tx.send((version, body));
                        }
                    }
                    _ => return,
                }
            })
        })
        .collect();
    drop(tx);
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 3 {
        acknowledged.push(
            rx.recv_timeout(Duration::from_secs(60))
                .expect("lookups are answered"),
        );
    }
    modvault
        .signal_and_wait("KILL", Duration::from_secs(10))
        .expect("killed");
    for client in clients {
        client.join().unwrap();
    }
    acknowledged.extend(rx.try_iter());
    assert!(
        acknowledged.len() < versions.len(),
        "the kill came too late to interrupt anything"
    );
    drop(modvault);

    // Every acknowledged record is still there, with the same id and text.
    let modvault = start(&file_url(&tree), &data, &own_db_args(&key_file));
    for (version, before) in &acknowledged {
        let after = modvault
            .get(&format!("/sumdb/{DB}/lookup/{HELLO}@{version}"))
            .text()
            .unwrap();
        let record = |body: &str| body.split("\n\n").next().unwrap_or_default().to_owned();
        assert_eq!(record(&after), record(before), "{version}");
    }
    // Finish the rest, and let the go command check the whole tree.
    for version in &versions {
        assert_eq!(
            modvault
                .get(&format!("/sumdb/{DB}/lookup/{HELLO}@{version}"))
                .status()
                .as_u16(),
            200
        );
    }
    let latest_before = modvault.get(&format!("/sumdb/{DB}/latest")).text().unwrap();
    let tile_before = modvault
        .get(&format!("/sumdb/{DB}/tile/8/0/000.p/{}", versions.len()))
        .bytes()
        .unwrap();
    drop(modvault);
    let modvault = start(&file_url(&tree), &data, &own_db_args(&key_file));
    assert_eq!(
        modvault.get(&format!("/sumdb/{DB}/latest")).text().unwrap(),
        latest_before
    );
    assert_eq!(
        modvault
            .get(&format!("/sumdb/{DB}/tile/8/0/000.p/{}", versions.len()))
            .bytes()
            .unwrap(),
        tile_before
    );
    for version in versions.iter().step_by(5) {
        let output = go
            .command(&modvault.url, &go.mod_cache(&format!("check-{version}")))
            .env("GOSUMDB", &vkey)
            .args(["mod", "download", "-json", &format!("{HELLO}@{version}")])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{version}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
