//! The edge under hostile or unlucky clients: idle and slow connections are
//! closed, connections past `max_connections` are refused at once, refused
//! uploads are answered (not reset), stalled uploads time out, and
//! `/metrics` is not public by default.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{create_token, modvault_bin};
use modvault_testkit::{make_test_ca, Modvault, TempDir};

fn address(modvault: &Modvault) -> String {
    modvault.url.rsplit("//").next().unwrap().to_owned()
}

/// Reads until the server closes the connection (or `limit` passes); true
/// if it closed.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn idle_and_slow_clients_are_closed_and_excess_connections_refused_at_once() {
    let modvault = Modvault::start(
        &modvault_bin(),
        "off",
        &[
            "--header-timeout",
            "1s",
            "--idle-timeout",
            "2s",
            "--max-connections",
            "6",
        ],
    );
    let addr = address(&modvault);
    // Six idle connections take every permit (one is a slowloris).
    let mut idle: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    // The next one is refused with a 503 at once, not left hanging.
    let mut refused = TcpStream::connect(&addr).unwrap();
    refused
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = refused.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");

    // The slowloris keeps sending a byte at a time and is still closed
    // once its headers take longer than header_timeout.
    let started = Instant::now();
    let mut slow_closed = false;
    while started.elapsed() < Duration::from_secs(10) {
        if slow.write_all(b"X").is_err() {
            slow_closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        slow_closed || closed_within(&mut slow, Duration::from_secs(5)),
        "a slowloris kept its connection"
    );
    for stream in &mut idle {
        assert!(
            closed_within(stream, Duration::from_secs(10)),
            "an idle connection was kept"
        );
    }
    // Permits came back: the server serves again.
    assert_eq!(modvault.get("/healthz").status().as_u16(), 200);
}

#[test]
fn refused_and_stalled_uploads_get_their_answer() {
    let dir = TempDir::new().unwrap();
    let (ca, cert, key) = make_test_ca(dir.path(), "limits");
    let data_dir = dir.path().join("data");
    let token = create_token(&data_dir, "publisher", "publish");
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &data_dir,
        "off",
        &[
            "--tls-cert-file",
            cert.to_str().unwrap(),
            "--tls-key-file",
            key.to_str().unwrap(),
            "--body-timeout",
            "1s",
        ],
        &[],
    );
    let pem = std::fs::read(&ca).unwrap();
    // A 20 MB upload refused for want of a token, with curl as people use
    // it (HTTP/2 over TLS): every try must see the 401, never a reset
    // while the body is still arriving.
    let upload = dir.path().join("upload.zip");
    std::fs::write(&upload, vec![b'x'; 20 << 20]).unwrap();
    let url = format!("{}/example.com/m/@v/v1.0.0.zip", modvault.url);
    for _ in 0..4 {
        let output = std::process::Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&ca)
            .arg("-T")
            .arg(&upload)
            .arg(&url)
            .output()
            .expect("curl");
        let code = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            code,
            "401",
            "curl: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // An upload that stops arriving is answered once body_timeout passes.
    let connector = {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile_certs(&pem) {
            roots.add(cert).unwrap();
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        std::sync::Arc::new(config)
    };
    let tcp = TcpStream::connect(address(&modvault)).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(connector, name).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let head = format!(
        "PUT /example.com/m/@v/v1.0.0.zip HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n"
    );
    tls.write_all(head.as_bytes()).unwrap();
    tls.write_all(b"PK").unwrap();
    tls.flush().unwrap();
    tls.sock
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.unwrap())
        .collect()
}

#[test]
fn metrics_are_for_loopback_or_tokens() {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let token = create_token(&data_dir, "prometheus", "read");
    let local = Modvault::start_in(
        &modvault_bin(),
        &data_dir,
        "off",
        &["--auth-anonymous-read", ""],
        &[],
    );
    // The default (loopback): a local scraper needs nothing, even when
    // every module needs a token.
    assert_eq!(local.get("/metrics").status().as_u16(), 200);
    drop(local);
    let strict = Modvault::start_in(
        &modvault_bin(),
        &data_dir,
        "off",
        &["--auth-metrics", "token"],
        &[],
    );
    assert_eq!(strict.get("/metrics").status().as_u16(), 401);
    let with_token = reqwest::blocking::Client::new()
        .get(format!("{}/metrics", strict.url))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(with_token.status().as_u16(), 200);
    assert!(with_token
        .text()
        .unwrap()
        .contains("modvault_zips_stored_total"));
}

#[test]
fn credentials_and_internal_addresses_stay_out_of_logs_and_answers() {
    let dir = TempDir::new().unwrap();
    let (_, vkey) = common::keygen(dir.path(), "db.key", "sum.secret.example");
    let dead = modvault_testkit::closed_port();
    let tree = dir.path().join("tree");
    let versions = tree.join("example.com/m/@v");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(versions.join("v1.0.0.info"), r#"{"Version":"v1.0.0"}"#).unwrap();
    std::fs::write(versions.join("v1.0.0.mod"), "module example.com/m\n").unwrap();
    // A dead proxy with credentials, then a file tree `|` after it, and a
    // checksum database behind credentials, also dead.
    let upstream = format!(
        "http://alice:SECRET-A@127.0.0.1:{dead}|{}",
        modvault_testkit::file_url(&tree)
    );
    let sumdb = format!("{vkey} http://bob:SECRET-B@127.0.0.1:{dead}");
    let modvault = Modvault::start(
        &modvault_bin(),
        &upstream,
        &["--sumdb-upstream", &sumdb, "--upstream-retries", "0"],
    );
    let mut bodies = Vec::new();
    for path in [
        "/example.com/m/@v/list",
        "/example.com/m/@v/v1.0.0.mod",
        "/example.com/m/@v/v2.0.0.zip",
        "/sumdb/sum.secret.example/lookup/example.com/m@v1.0.0",
        "/sumdb/sum.secret.example/latest",
    ] {
        let response = modvault.get(path);
        bodies.push(format!(
            "{path}: {} {}",
            response.status(),
            response.text().unwrap()
        ));
    }
    let everything = format!("{}\n{}", bodies.join("\n"), modvault.log().join("\n"));
    for secret in ["SECRET-A", "SECRET-B", "alice", "bob"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
    for body in &bodies {
        assert!(
            !body.contains(&format!(":{dead}")),
            "an upstream address reached a client: {body}"
        );
        assert!(
            !body.contains(tree.to_str().unwrap()),
            "a local path reached a client: {body}"
        );
    }
    assert!(
        bodies[1].contains("checksum database sum.secret.example unavailable"),
        "{}",
        bodies[1]
    );
    // The log keeps the address, for the operator.
    assert!(modvault
        .log()
        .iter()
        .any(|line| line.contains(&format!("127.0.0.1:{dead}"))));
}

#[test]
fn an_upload_cut_off_mid_body_leaves_no_spool_file() {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let token = create_token(&data_dir, "publisher", "publish");
    let modvault = Modvault::start_in(&modvault_bin(), &data_dir, "off", &[], &[]);
    let mut stream = TcpStream::connect(address(&modvault)).unwrap();
    let head = format!(
        "PUT /example.com/m/@v/v1.0.0.zip HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 10000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&vec![b'x'; 1 << 20]).unwrap();
    let spool = data_dir.join(".modvault/spool");
    let spooling = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("upload-"))
    };
    let started = Instant::now();
    while !spooling(&spool) && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(spooling(&spool), "the upload was being spooled");
    drop(stream); // the client goes away mid-body
    let started = Instant::now();
    while spooling(&spool) && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !spooling(&spool),
        "the spool file of an aborted upload was left behind"
    );
    assert_eq!(modvault.get("/readyz").status().as_u16(), 200);
}

#[test]
fn a_bad_certificate_stops_start_up_before_it_says_listening() {
    let dir = TempDir::new().unwrap();
    let (cert, key) = (dir.path().join("bad.crt"), dir.path().join("bad.key"));
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::write(&key, "not a key").unwrap();
    let output = std::process::Command::new(modvault_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "off",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .args([
            "--tls-cert-file",
            cert.to_str().unwrap(),
            "--tls-key-file",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(log.contains("cannot load TLS certificate"), "{log}");
    assert!(!log.contains("listening on"), "{log}");
}
