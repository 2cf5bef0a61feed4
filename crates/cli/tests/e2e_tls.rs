//! Built-in TLS: the go command over HTTPS with a test CA, and a certificate
//! reload on SIGHUP that keeps established connections.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::modvault_bin;
use modvault_testkit::{file_url, make_test_ca, run_ok, Go, Modvault, TempDir};

const BLOB: &str = "github.com/mvtest/tlsblob";

fn client_trusting(ca: &Path) -> reqwest::blocking::Client {
    let pem = std::fs::read(ca).unwrap();
    reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

#[test]
fn https_with_a_test_ca_and_certificate_reload_on_sighup() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    let mut blob = go.repo("mvtest/tlsblob");
    let noise: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    blob.write("go.mod", format!("module {BLOB}\n\ngo 1.21\n"))
        .write("blob.bin", noise);
    blob.commit("v1.0.0").tag("v1.0.0");
    let tree = go.direct_tree("direct", &[&format!("{BLOB}@v1.0.0")]);

    let (ca1, cert1, key1) = make_test_ca(dir.path(), "one");
    let (ca2, cert2, key2) = make_test_ca(dir.path(), "two");
    let (cert, key) = (dir.path().join("active.crt"), dir.path().join("active.key"));
    std::fs::copy(&cert1, &cert).unwrap();
    std::fs::copy(&key1, &key).unwrap();
    let tls_args = [
        "--tls-cert-file",
        cert.to_str().unwrap(),
        "--tls-key-file",
        key.to_str().unwrap(),
    ];
    let mut modvault = Modvault::start(&modvault_bin(), &file_url(&tree), &tls_args);
    assert!(
        modvault.url.starts_with("https://127.0.0.1:"),
        "{}",
        modvault.url
    );

    // The go command over HTTPS, trusting the test CA through SSL_CERT_FILE.
    let module = format!("{BLOB}@v1.0.0");
    let output = go
        .command(&modvault.url, &go.mod_cache("https"))
        .env("SSL_CERT_FILE", &ca1)
        .args(["mod", "download", "-json", &module])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let through: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let direct = go.download("direct", &go.mod_cache("direct"), &module);
    assert_eq!(through["Sum"], direct["Sum"]);
    let untrusted = go
        .command(&modvault.url, &go.mod_cache("untrusted"))
        .args(["mod", "download", "-json", &module])
        .output()
        .unwrap();
    assert!(
        !untrusted.status.success(),
        "a client that does not trust the CA must fail"
    );

    // A download in progress when the certificate changes.
    let zip_url = format!("{}/{BLOB}/@v/v1.0.0.zip", modvault.url);
    let mut in_flight = client_trusting(&ca1).get(&zip_url).send().unwrap();
    let mut body = vec![0u8; 64 * 1024];
    in_flight.read_exact(&mut body).unwrap();

    std::fs::copy(&cert2, &cert).unwrap();
    std::fs::copy(&key2, &key).unwrap();
    run_ok(Command::new("kill").args(["-HUP", &modvault.pid().to_string()]));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !modvault
        .log()
        .iter()
        .any(|line| line.contains("TLS certificate reloaded"))
    {
        assert!(
            Instant::now() < deadline,
            "no reload in the log:\n{}",
            modvault.log().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        client_trusting(&ca2)
            .get(format!("{}/healthz", modvault.url))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert!(
        client_trusting(&ca1)
            .get(format!("{}/healthz", modvault.url))
            .send()
            .is_err(),
        "new connections use the new certificate"
    );

    in_flight.read_to_end(&mut body).unwrap();
    let expected = std::fs::read(tree.join(BLOB).join("@v/v1.0.0.zip")).unwrap();
    assert!(
        body == expected,
        "the download across the reload was cut or changed"
    );
    assert!(modvault
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap()
        .success());
}

/// A self-signed certificate as `openssl req -x509` makes it (marked as a
/// CA), trusted through SSL_CERT_FILE: the go command accepts it, and so
/// must `modvault publish`.
#[test]
fn publish_trusts_a_self_signed_certificate_as_the_go_command_does() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    let (cert, key) = (dir.path().join("self.crt"), dir.path().join("self.key"));
    run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args([
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ]),
    );
    let data_dir = dir.path().join("data");
    let token = common::create_token(&data_dir, "publisher", "publish");
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &data_dir,
        "off",
        &[
            "--tls-cert-file",
            cert.to_str().unwrap(),
            "--tls-key-file",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let module = dir.path().join("selfsigned");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("go.mod"),
        "module example.com/selfsigned\n\ngo 1.21\n",
    )
    .unwrap();
    std::fs::write(module.join("s.go"), "package selfsigned\n").unwrap();
    let publish = |trust: Option<&Path>| {
        let mut command = Command::new(modvault_bin());
        command
            .args(["publish", "--server", &modvault.url, "--token", &token])
            .arg(&module)
            .arg("v1.0.0");
        command
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        if let Some(trust) = trust {
            command.env("SSL_CERT_FILE", trust);
        }
        command.output().unwrap()
    };
    let untrusted = publish(None);
    assert!(
        !untrusted.status.success(),
        "a certificate nobody trusts is refused"
    );
    let trusted = publish(Some(&cert));
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    // The go command, trusting the same file, agrees.
    let output = go
        .command(&modvault.url, &go.mod_cache("selfsigned"))
        .env("SSL_CERT_FILE", &cert)
        .args(["mod", "download", "-json", "example.com/selfsigned@v1.0.0"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
