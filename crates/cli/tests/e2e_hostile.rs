//! Hostile upstreams: every way an upstream proxy can lie, stall or
//! overwhelm. Each gets a clear one-line error for the client and leaves
//! nothing in the store, and the server goes on serving other modules
//! while a stalled fetch is still open.

mod common;

use std::time::Duration;

use common::modvault_bin;
use modvault_testkit::hostile::{raw_zip, Behaviour, HostileUpstream, RawEntry};
use modvault_testkit::Modvault;

const GO_MOD: &[u8] = b"module example.com/m\n";

fn info(version: &str) -> Vec<u8> {
    format!(r#"{{"Version":"{version}","Time":"2024-01-01T00:00:00Z"}}"#).into_bytes()
}

/// A module `example.com/<name>` whose `v1.0.0` files behave as given.
fn module(upstream: &HostileUpstream, name: &str, zip: Behaviour) {
    let base = format!("/example.com/{name}/@v/v1.0.0");
    upstream
        .on(&format!("{base}.info"), Behaviour::Ok(info("v1.0.0")))
        .on(
            &format!("{base}.mod"),
            Behaviour::Ok(format!("module example.com/{name}\n").into_bytes()),
        )
        .on(&format!("{base}.zip"), zip);
}

fn good_zip(name: &str) -> Vec<u8> {
    let (go_mod, code) = (
        format!("example.com/{name}@v1.0.0/go.mod"),
        format!("example.com/{name}@v1.0.0/m.go"),
    );
    let module_line = format!("module example.com/{name}\n");
    raw_zip(&[
        RawEntry::stored(&go_mod, module_line.as_bytes()),
        RawEntry::stored(&code, b"package m\n"),
    ])
}

fn start(upstream: &HostileUpstream) -> Modvault {
    Modvault::start(
        &modvault_bin(),
        &upstream.url,
        &[
            "--upstream-retries",
            "0",
            "--upstream-timeout",
            "2s",
            "--upstream-idle-timeout",
            "2s",
            "--not-found-ttl",
            "0",
        ],
    )
}

fn assert_refused(modvault: &Modvault, path: &str, reason: &str) {
    let response = modvault.get(path);
    let status = response.status().as_u16();
    let body = response.text().unwrap();
    assert_eq!(status, 404, "{path}: {body}");
    assert!(
        body.starts_with("not found: upstream error: ") && body.lines().count() == 1,
        "{path}: {body:?}"
    );
    assert!(
        body.contains(reason),
        "{path}: {body:?} should say {reason:?}"
    );
    let stored = modvault.data_dir.join(path.trim_start_matches('/'));
    assert!(!stored.exists(), "{path} was stored");
}

#[test]
fn lying_metadata_is_refused_and_nothing_is_stored() {
    let upstream = HostileUpstream::start();
    let cases: [(&str, Behaviour, &str); 6] = [
        (
            "status500",
            Behaviour::Status(500, b"boom\n".to_vec()),
            "500",
        ),
        (
            "teapot",
            Behaviour::Status(418, b"short and stout\n".to_vec()),
            "418",
        ),
        (
            "notjson",
            Behaviour::Ok(b"<html>v1.0.0</html>".to_vec()),
            "invalid",
        ),
        (
            "otherversion",
            Behaviour::Ok(info("v1.0.1")),
            "instead of requested version",
        ),
        ("redirects", Behaviour::RedirectLoop, "redirect"),
        ("huge", Behaviour::Ok(vec![b' '; 5 << 20]), "larger than"),
    ];
    for (name, behaviour, _) in &cases {
        upstream.on(
            &format!("/example.com/{name}/@v/v1.0.0.info"),
            behaviour.clone(),
        );
    }
    let modvault = start(&upstream);
    for (name, _, reason) in &cases {
        assert_refused(
            &modvault,
            &format!("/example.com/{name}/@v/v1.0.0.info"),
            reason,
        );
    }
}

#[test]
fn hostile_zips_are_refused_and_nothing_is_stored() {
    let upstream = HostileUpstream::start();
    let bomb_data = vec![0u8; 10 << 20];
    let prefix = |name: &str, file: &str| format!("example.com/{name}@v1.0.0/{file}");
    let bomb = raw_zip(&[
        RawEntry::stored(&prefix("bomb", "go.mod"), b"module example.com/bomb\n"),
        RawEntry {
            name: &prefix("bomb", "zeros.bin"),
            data: &bomb_data,
            deflate: true,
            declared_size: Some(100),
        },
    ]);
    let escape = raw_zip(&[
        RawEntry::stored(&prefix("escape", "go.mod"), b"module example.com/escape\n"),
        RawEntry::stored("example.com/escape@v1.0.0/../../../etc/evil", b"x"),
    ]);
    let duplicate = raw_zip(&[
        RawEntry::stored(
            &prefix("duplicate", "go.mod"),
            b"module example.com/duplicate\n",
        ),
        RawEntry::stored(&prefix("duplicate", "m.go"), b"package m\n"),
        RawEntry::stored(&prefix("duplicate", "m.go"), b"package m // twice\n"),
    ]);
    let whole = good_zip("truncated");
    let half = whole[..whole.len() / 2].to_vec();
    let cases: Vec<(&str, Behaviour, &str)> = vec![
        ("bomb", Behaviour::Ok(bomb), "declared"),
        ("escape", Behaviour::Ok(escape), "upstream zip rejected"),
        (
            "duplicate",
            Behaviour::Ok(duplicate),
            "multiple entries for file",
        ),
        (
            "truncated",
            Behaviour::LyingLength {
                body: half,
                declared: whole.len(),
            },
            "reading zip from upstream",
        ),
        (
            "notazip",
            Behaviour::Ok(b"PK\x03\x04 not really".to_vec()),
            "not a valid zip file",
        ),
    ];
    for (name, behaviour, _) in &cases {
        module(&upstream, name, behaviour.clone());
    }
    let modvault = start(&upstream);
    for (name, _, reason) in &cases {
        let path = format!("/example.com/{name}/@v/v1.0.0.zip");
        // A zip miss streams as it arrives: the failure is either the
        // status, or an aborted answer (before or after its head reached
        // the client); never a complete, successful one.
        let outcome = match reqwest::blocking::get(format!("{}{path}", modvault.url)) {
            Err(e) => format!("{e:?}"),
            Ok(response) => match response.status().as_u16() {
                200 => response
                    .bytes()
                    .err()
                    .map(|e| format!("{e:?}"))
                    .unwrap_or_else(|| "a complete body".into()),
                status => format!("{status}: {}", response.text().unwrap()),
            },
        };
        assert_ne!(outcome, "a complete body", "{name}");
        assert!(
            !modvault
                .data_dir
                .join(path.trim_start_matches('/'))
                .exists(),
            "{name} was stored"
        );
        assert!(
            modvault.logged_soon(
                |line| line.contains(&format!("example.com/{name}")) && line.contains(reason)
            ),
            "{name}: the log should say {reason:?}:\n{}",
            modvault.log().join("\n")
        );
    }
}

#[test]
fn a_stalled_upstream_holds_up_nothing_else_and_times_out() {
    let upstream = HostileUpstream::start();
    let stalled = good_zip("stalled");
    module(
        &upstream,
        "stalled",
        Behaviour::Stall {
            sent: stalled.len() / 2,
            body: stalled,
        },
    );
    module(&upstream, "fine", Behaviour::Ok(good_zip("fine")));
    upstream.on(
        "/example.com/stalledinfo/@v/v1.0.0.info",
        Behaviour::Stall {
            body: info("v1.0.0"),
            sent: 5,
        },
    );
    let modvault = start(&upstream);
    let url = modvault.url.clone();
    let stalls: Vec<_> = [
        "/example.com/stalled/@v/v1.0.0.zip",
        "/example.com/stalledinfo/@v/v1.0.0.info",
    ]
    .into_iter()
    .map(|path| {
        let url = format!("{url}{path}");
        std::thread::spawn(move || {
            let response = reqwest::blocking::Client::new()
                .get(&url)
                .timeout(Duration::from_secs(30))
                .send();
            match response {
                Ok(response) if response.status().is_success() => response.bytes().is_ok(),
                _ => false,
            }
        })
    })
    .collect();
    std::thread::sleep(Duration::from_millis(300));
    // While both stall, another module is fetched and served whole.
    let fine = modvault.get("/example.com/fine/@v/v1.0.0.zip");
    assert_eq!(fine.status().as_u16(), 200);
    assert_eq!(fine.bytes().unwrap().to_vec(), good_zip("fine"));
    assert!(
        stalls.iter().all(|s| !s.is_finished()),
        "the stalled fetches were still open"
    );
    // And the stalls end in a failure (upstream_idle_timeout), not a
    // success and not a hang.
    for stall in stalls {
        assert!(
            !stall.join().unwrap(),
            "a stalled upstream produced a successful answer"
        );
    }
    assert!(!modvault
        .data_dir
        .join("example.com/stalled/@v/v1.0.0.zip")
        .exists());
}

#[test]
fn a_garbage_list_keeps_only_versions() {
    let upstream = HostileUpstream::start();
    upstream.on(
        "/example.com/garbage/@v/list",
        Behaviour::Ok(
            b"v1.0.0\n<html>\nnot-a-version\nv1.1.0 2024-01-01T00:00:00Z\n\xff\xfe\n".to_vec(),
        ),
    );
    upstream.on(
        "/example.com/binary/@v/list",
        Behaviour::Ok(b"v1.0.0\n\xff\xfe\n".to_vec()),
    );
    let modvault = start(&upstream);
    let list = modvault.get("/example.com/garbage/@v/list");
    assert_eq!(list.status().as_u16(), 404, "not UTF-8: an invalid answer");
    upstream.on(
        "/example.com/garbage2/@v/list",
        Behaviour::Ok(b"v1.0.0\n<html>\nnot-a-version\nv1.1.0 2024-01-01T00:00:00Z\n".to_vec()),
    );
    let list = modvault
        .get("/example.com/garbage2/@v/list")
        .text()
        .unwrap();
    assert_eq!(list, "v1.0.0\nv1.1.0 2024-01-01T00:00:00Z\n");
    let _ = GO_MOD;
}

/// Every file under `dir`, relative, sorted (empty when `dir` is missing).
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                let path = entry.path();
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn kill_9_mid_download_leaves_nothing_half_written_and_a_restart_serves_it_whole() {
    let upstream = HostileUpstream::start();
    let zip = good_zip("killed");
    module(
        &upstream,
        "killed",
        Behaviour::Stall {
            sent: zip.len() / 2,
            body: zip.clone(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let args = ["--upstream-retries", "0", "--not-found-ttl", "0"];
    let mut modvault = Modvault::start_in(&modvault_bin(), &data_dir, &upstream.url, &args, &[]);
    let url = format!("{}/example.com/killed/@v/v1.0.0.zip", modvault.url);
    let client = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(30))
            .send()
            .and_then(|response| response.error_for_status()?.bytes())
            .map(|body| body.to_vec())
    });
    // Half the zip has reached modvault (and is being spooled) when it dies.
    let path = "/example.com/killed/@v/v1.0.0.zip";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while upstream.requests_for(path) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the zip was never fetched"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(modvault
        .signal_and_wait("KILL", Duration::from_secs(10))
        .is_some());
    // The client got an error or a short body, never the zip passed off as whole.
    if let Ok(body) = client.join().unwrap() {
        assert_ne!(body, zip, "a killed server cannot have sent the whole zip");
    }
    let module_files: Vec<String> = files_under(&data_dir)
        .into_iter()
        .filter(|f| !f.starts_with(".modvault"))
        .collect();
    assert!(
        !module_files.iter().any(|f| f.ends_with(".zip")),
        "a zip is visible after kill -9 mid-download: {module_files:?}"
    );
    drop(modvault);

    // The upstream recovers; a restart clears what the killed process left
    // and serves the version whole.
    module(&upstream, "killed", Behaviour::Ok(zip.clone()));
    let modvault = Modvault::start_in(&modvault_bin(), &data_dir, &upstream.url, &args, &[]);
    for private in [".modvault/spool", ".modvault/tmp"] {
        let left = files_under(&data_dir.join(private));
        assert!(left.is_empty(), "{private} after restart: {left:?}");
    }
    let served = modvault.get(path);
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(served.bytes().unwrap().to_vec(), zip);
    assert_eq!(
        std::fs::read(data_dir.join(path.trim_start_matches('/'))).unwrap(),
        zip
    );
}

#[test]
fn sigterm_waits_for_a_zip_fetched_in_the_background() {
    let upstream = HostileUpstream::start();
    let zip = good_zip("late");
    // A .mod answer starts the version's zip fetch in the background; this
    // one takes about a second to arrive.
    let every = Duration::from_millis(1000 / zip.len() as u64 + 1);
    module(
        &upstream,
        "late",
        Behaviour::Drip {
            body: zip.clone(),
            every,
        },
    );
    let mut modvault = start(&upstream);
    let response = modvault.get("/example.com/late/@v/v1.0.0.mod");
    assert_eq!(response.status().as_u16(), 200);
    let zip_path = "/example.com/late/@v/v1.0.0.zip";
    let begun = std::time::Instant::now();
    while upstream.requests_for(zip_path) == 0 {
        assert!(
            begun.elapsed() < Duration::from_secs(10),
            "no zip fetch began"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    let status = modvault
        .signal_and_wait("TERM", Duration::from_secs(20))
        .expect("modvault exits after SIGTERM");
    assert!(status.success(), "{status}");
    let stored = modvault.data_dir.join(zip_path.trim_start_matches('/'));
    assert_eq!(
        std::fs::read(&stored).ok(),
        Some(zip),
        "the zip fetched in the background was stored before the process ended"
    );
    // And catalogued: nothing for verify to find.
    let output = std::process::Command::new(modvault_bin())
        .arg("verify")
        .arg("--data-dir")
        .arg(&modvault.data_dir)
        .args(["--upstream", "off"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("0 corrupt, 0 missing, 0 unrecorded"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
