//! The real go command (1.27.3) against the real modvault binary, with
//! upstreams made from git repositories the tests create.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::modvault_bin;
use modvault_testkit::{closed_port, field, file_url, run_ok, Go, Modvault};

/// Deterministic incompressible bytes, so zips are as large as we ask.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

const HELLO: &str = "github.com/mvtest/hello";
const UPPER: &str = "github.com/MVTest/Upper";
const BLOB: &str = "github.com/mvtest/blob";

/// Repositories for the tests, and the GOPROXY tree the go command makes
/// from them in direct mode.
struct Fixture {
    go: Go,
    tree: PathBuf,
}

fn fixture(with_blob: bool) -> Fixture {
    let go = Go::new();
    let mut hello = go.repo("mvtest/hello");
    hello
        .write("go.mod", format!("module {HELLO}\n\ngo 1.21\n"))
        .write(
            "hello.go",
            "package hello\n\nfunc Hi() string { return \"hi\" }\n",
        )
        .write(
            "cmd/hi/main.go",
            format!(
                "package main\n\nimport \"{HELLO}\"\n\nfunc main() {{ println(hello.Hi()) }}\n"
            ),
        )
        .write("README.md", "hello\n");
    hello.commit("v1.0.0").tag("v1.0.0");
    hello.write(
        "hello.go",
        "package hello\n\nfunc Hi() string { return \"hello\" }\n",
    );
    hello.commit("v1.1.0").tag("v1.1.0");

    let mut upper = go.repo("MVTest/Upper");
    upper
        .write("go.mod", format!("module {UPPER}\n\ngo 1.21\n"))
        .write("upper.go", "package upper\n\nconst Name = \"Upper\"\n");
    upper.commit("v1.0.0").tag("v1.0.0");

    let mut modules = vec![
        format!("{HELLO}@v1.0.0"),
        format!("{HELLO}@v1.1.0"),
        format!("{UPPER}@v1.0.0"),
    ];
    if with_blob {
        let mut blob = go.repo("mvtest/blob");
        blob.write("go.mod", format!("module {BLOB}\n\ngo 1.21\n"))
            .write("blob.bin", noise(4 << 20, 1));
        blob.commit("v1.0.0").tag("v1.0.0");
        blob.write("blob.bin", noise(16 << 20, 2));
        blob.commit("v1.1.0").tag("v1.1.0");
        modules.push(format!("{BLOB}@v1.0.0"));
        modules.push(format!("{BLOB}@v1.1.0"));
    }
    let refs: Vec<&str> = modules.iter().map(String::as_str).collect();
    let tree = go.direct_tree("direct", &refs);
    Fixture { go, tree }
}

#[test]
fn go_mod_download_through_modvault_matches_direct_mode() {
    let f = fixture(false);
    let modvault = Modvault::start(&modvault_bin(), &file_url(&f.tree), &[]);
    for module in [
        format!("{HELLO}@v1.0.0"),
        format!("{HELLO}@v1.1.0"),
        format!("{UPPER}@v1.0.0"),
    ] {
        let direct = f.go.download("direct", &f.go.mod_cache("direct"), &module);
        let proxied =
            f.go.download(&modvault.url, &f.go.mod_cache("through-modvault"), &module);
        assert_eq!(field(&proxied, "Sum"), field(&direct, "Sum"), "{module}");
        assert_eq!(
            field(&proxied, "GoModSum"),
            field(&direct, "GoModSum"),
            "{module}"
        );

        let direct_info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(field(&direct, "Info")).unwrap()).unwrap();
        let proxied_info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(field(&proxied, "Info")).unwrap()).unwrap();
        assert_eq!(proxied_info["Version"], direct_info["Version"], "{module}");
        assert_eq!(proxied_info["Time"], direct_info["Time"], "{module}");
    }

    // The store (the data dir, or the bucket) is itself a GOPROXY tree.
    let from_data_dir = f.go.download(
        &modvault.store_goproxy_url(),
        &f.go.mod_cache("from-data-dir"),
        &format!("{UPPER}@v1.0.0"),
    );
    let direct = f.go.download(
        "direct",
        &f.go.mod_cache("direct"),
        &format!("{UPPER}@v1.0.0"),
    );
    assert_eq!(field(&from_data_dir, "Sum"), field(&direct, "Sum"));
    assert!(modvault
        .stored("github.com/!m!v!test/!upper/@v/v1.0.0.zip")
        .is_some());
}

#[test]
fn go_get_list_and_install_through_modvault() {
    let f = fixture(false);
    let modvault = Modvault::start(&modvault_bin(), &file_url(&f.tree), &[]);
    let cache = f.go.mod_cache("client");
    let app = f.go.dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    std::fs::write(
        app.join("main.go"),
        format!("package main\n\nimport (\n\t\"{HELLO}\"\n\t\"{UPPER}\"\n)\n\nfunc main() {{ println(hello.Hi(), upper.Name) }}\n"),
    )
    .unwrap();
    let go = |args: &[&str]| {
        let output = run_ok(
            f.go.command(&modvault.url, &cache)
                .args(args)
                .current_dir(&app),
        );
        String::from_utf8(output.stdout).unwrap()
    };

    go(&[
        "get",
        &format!("{HELLO}@v1.0.0"),
        &format!("{UPPER}@v1.0.0"),
    ]);
    go(&["get", &format!("{HELLO}@latest")]);
    let go_mod = std::fs::read_to_string(app.join("go.mod")).unwrap();
    assert!(go_mod.contains(&format!("{HELLO} v1.1.0")), "{go_mod}");
    assert!(go_mod.contains(&format!("{UPPER} v1.0.0")), "{go_mod}");
    go(&["build", "./..."]);

    assert_eq!(
        go(&["list", "-m", "-versions", HELLO]).trim(),
        format!("{HELLO} v1.0.0 v1.1.0")
    );
    assert_eq!(
        go(&["list", "-m", &format!("{HELLO}@latest")]).trim(),
        format!("{HELLO} v1.1.0")
    );
    assert_eq!(
        go(&["list", "-m", &format!("{UPPER}@latest")]).trim(),
        format!("{UPPER} v1.0.0")
    );

    let gobin = f.go.dir.path().join("bin");
    run_ok(
        f.go.command(&modvault.url, &cache)
            .env("GOBIN", &gobin)
            .args(["install", &format!("{HELLO}/cmd/hi@v1.1.0")]),
    );
    let output = run_ok(&mut std::process::Command::new(gobin.join("hi")));
    assert_eq!(String::from_utf8_lossy(&output.stderr).trim(), "hello");
}

#[test]
fn upstream_chain_separators_behave_like_goproxy() {
    let f = fixture(false);
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let module = format!("{HELLO}@v1.0.0");

    let comma = Modvault::start(
        &modvault_bin(),
        &format!("{dead},{}", file_url(&f.tree)),
        &["--upstream-retries", "0"],
    );
    let output =
        f.go.command(&comma.url, &f.go.mod_cache("comma"))
            .args(["mod", "download", "-json", &module])
            .output()
            .unwrap();
    assert!(
        !output.status.success(),
        "a connection error must not fall through a `,`"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("404 Not Found")
            && stdout.contains("upstream error")
            && stdout.to_lowercase().contains("connection refused"),
        "{stdout}"
    );

    let pipe = Modvault::start(
        &modvault_bin(),
        &format!("{dead}|{}", file_url(&f.tree)),
        &["--upstream-retries", "0"],
    );
    let proxied = f.go.download(&pipe.url, &f.go.mod_cache("pipe"), &module);
    let direct = f.go.download("direct", &f.go.mod_cache("direct"), &module);
    assert_eq!(field(&proxied, "Sum"), field(&direct, "Sum"));
}

#[test]
fn unknown_modules_are_404_and_the_go_command_falls_through() {
    let f = fixture(false);
    let empty = f.go.dir.path().join("empty-tree");
    std::fs::create_dir_all(&empty).unwrap();
    let modvault = Modvault::start(&modvault_bin(), &file_url(&empty), &[]);

    for path in [
        "/github.com/mvtest/nope/@v/list",
        "/github.com/@v/list",
        "/github.com/mvtest/hello/@v/v1.0.0.info",
        "/Bad.Host/x/@v/list",
    ] {
        let response = modvault.get(path);
        assert_eq!(response.status().as_u16(), 404, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        assert!(
            response.text().unwrap().starts_with("not found: "),
            "{path}"
        );
    }

    let module = format!("{HELLO}@v1.0.0");
    let alone =
        f.go.command(&modvault.url, &f.go.mod_cache("alone"))
            .args(["mod", "download", "-json", &module])
            .output()
            .unwrap();
    assert!(!alone.status.success());
    assert!(String::from_utf8_lossy(&alone.stdout).contains("not found"));

    let chain = format!("{},{}", modvault.url, file_url(&f.tree));
    let through = f.go.download(&chain, &f.go.mod_cache("chain"), &module);
    let direct = f.go.download("direct", &f.go.mod_cache("direct"), &module);
    assert_eq!(field(&through, "Sum"), field(&direct, "Sum"));
}

#[test]
fn fifty_parallel_requests_for_an_uncached_zip_make_one_upstream_fetch() {
    let f = fixture(true);
    let upstream = Modvault::start(&modvault_bin(), &file_url(&f.tree), &[]);
    let front = Modvault::start(&modvault_bin(), &upstream.url, &[]);
    let zip_path = format!("/{BLOB}/@v/v1.0.0.zip");
    let expected = std::fs::read(f.tree.join(BLOB).join("@v/v1.0.0.zip")).unwrap();

    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let (front, zip_path) = (&front, &zip_path);
                scope.spawn(move || {
                    let response = front.get(zip_path);
                    assert_eq!(response.status().as_u16(), 200);
                    response.bytes().unwrap().to_vec()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for body in &bodies {
        assert!(
            body == &expected,
            "a client got a different body ({} bytes, want {})",
            body.len(),
            expected.len()
        );
    }
    assert_eq!(
        upstream.requests_for(&zip_path),
        1,
        "upstream log:\n{}",
        upstream.log().join("\n")
    );

    // And the go command accepts what was served.
    let proxied = f.go.download(
        &front.url,
        &f.go.mod_cache("front"),
        &format!("{BLOB}@v1.0.0"),
    );
    let direct = f.go.download(
        "direct",
        &f.go.mod_cache("direct"),
        &format!("{BLOB}@v1.0.0"),
    );
    assert_eq!(field(&proxied, "Sum"), field(&direct, "Sum"));
}

#[test]
fn sigterm_lets_an_in_flight_download_finish() {
    use std::io::Read;
    let f = fixture(true);
    let mut modvault = Modvault::start(&modvault_bin(), &file_url(&f.tree), &[]);
    let zip_path = format!("/{BLOB}/@v/v1.1.0.zip");
    let expected_len = std::fs::metadata(f.tree.join(BLOB).join("@v/v1.1.0.zip"))
        .unwrap()
        .len() as usize;
    assert_eq!(
        modvault.get(&zip_path).bytes().unwrap().len(),
        expected_len,
        "warm the cache"
    );

    let mut response = modvault.get(&zip_path);
    let mut body = vec![0u8; 64 * 1024];
    response.read_exact(&mut body).unwrap();
    let pid = modvault.pid().to_string();
    run_ok(std::process::Command::new("kill").args(["-TERM", &pid]));
    // Read the rest slowly: the server must keep the connection until done.
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        std::thread::sleep(Duration::from_millis(2));
        let n = response
            .read(&mut buf)
            .expect("the download must not be cut off by SIGTERM");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    assert_eq!(body.len(), expected_len);
    let status = modvault
        .signal_and_wait("TERM", Duration::from_secs(20))
        .expect("modvault exits after SIGTERM");
    assert!(status.success(), "{status}");
    assert!(modvault.log().iter().any(|l| l.contains("shutting down")));
}

#[test]
fn bad_settings_stop_start_up_naming_the_key() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let output = std::process::Command::new(modvault_bin())
            .arg("serve")
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?} {env:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let message = run(&["--list-ttl", "fast"], &[]);
    assert!(
        message.contains("for list_ttl (from flag --list-ttl)"),
        "{message}"
    );
    let message = run(&[], &[("MODVAULT_LISTN", "127.0.0.1:1")]);
    assert!(
        message.contains("unknown setting MODVAULT_LISTN"),
        "{message}"
    );
    let message = run(&[], &[("MODVAULT_UPSTREAM", "gopher://x.example")]);
    assert!(
        message.contains("for upstream (from environment variable MODVAULT_UPSTREAM)"),
        "{message}"
    );
    let dir = modvault_testkit::TempDir::new().unwrap();
    let config = dir.path().join("modvault.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlist_tll = \"1s\"\n").unwrap();
    let message = run(&["--config", config.to_str().unwrap()], &[]);
    assert!(
        message.contains("unknown setting list_tll (from config file"),
        "{message}"
    );
}

#[test]
fn a_second_server_on_one_data_dir_refuses_to_start_and_touches_nothing() {
    let dir = modvault_testkit::TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let first = Modvault::start_in(&modvault_bin(), &data_dir, "off", &[], &[]);
    // Stands for a download the first server is spooling.
    let spooled = data_dir.join(".modvault/spool/fetch-in-progress.zip");
    std::fs::write(&spooled, b"partial").unwrap();
    let output = std::process::Command::new(modvault_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "off",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        message.contains("is in use by another modvault process"),
        "{message}"
    );
    assert!(
        message.contains(&data_dir.display().to_string()),
        "{message}"
    );
    assert!(
        spooled.exists(),
        "the second server cleared the first one's spool"
    );
    assert_eq!(first.get("/healthz").status().as_u16(), 200);
}

/// A forward proxy that records request lines and answers every request
/// with a 404 that names it.
fn recording_forward_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            record.lock().unwrap().push(request_line.trim().to_owned());
            let body = "not found: answered by the forward proxy\n";
            let _ = write!(
                &stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

#[test]
fn upstream_requests_honour_http_proxy_and_no_proxy() {
    let (proxy_port, seen) = recording_forward_proxy();
    let origin = format!("http://127.0.0.1:{}", closed_port());
    let proxy_url = format!("http://127.0.0.1:{proxy_port}");
    let dir = modvault_testkit::TempDir::new().unwrap();

    let proxied = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("a"),
        &origin,
        &[],
        &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "")],
    );
    let response = proxied.get("/example.com/m/@v/list");
    assert_eq!(response.status().as_u16(), 404);
    assert!(response
        .text()
        .unwrap()
        .contains("answered by the forward proxy"));
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [format!("GET {origin}/example.com/m/@v/list HTTP/1.1")]
    );

    let bypassed = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("b"),
        &origin,
        &["--upstream-retries", "0"],
        &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "127.0.0.1")],
    );
    let text = bypassed.get("/example.com/m/@v/list").text().unwrap();
    assert!(
        text.contains("connection refused") || text.contains("Connection refused"),
        "{text}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "NO_PROXY must bypass the proxy"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = modvault_testkit::TempDir::new().unwrap();
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("data"),
        "off",
        &["--log-format", "json"],
        &[],
    );
    assert_eq!(modvault.get("/healthz").status().as_u16(), 200);
    assert_eq!(modvault.get("/readyz").status().as_u16(), 200);
    std::thread::sleep(Duration::from_millis(200));
    let log = modvault.log();
    let request = log
        .iter()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{line:?}: {e}"))
        })
        .find(|entry| entry["fields"]["path"] == "/readyz")
        .expect("a request log entry");
    assert_eq!(request["fields"]["status"], 200);
}
