//! modvault keeping module files in an S3 bucket (SeaweedFS, started by the
//! tests): the go command's results, the bucket as a static GOPROXY, a
//! kill -9 during a zip upload, an unreachable bucket, start-up checks, and
//! the operations commands (mirror, verify, export) on a bucket.
//! (`scripts/test` also runs every test of e2e_proxy with the store on S3.)

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use modvault_testkit::seaweedfs::{ACCESS_KEY, SECRET_KEY};
use modvault_testkit::{closed_port, Go, Modvault, S3Location, SeaweedFs};

fn modvault_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modvault"))
}

const HELLO: &str = "github.com/mvtest/hello";
const BIG: &str = "github.com/mvtest/big";

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

/// Repositories, and the GOPROXY tree the go command makes from them.
fn fixture(big: bool) -> (Go, PathBuf) {
    let go = Go::new();
    let mut hello = go.repo("mvtest/hello");
    hello
        .write("go.mod", format!("module {HELLO}\n\ngo 1.21\n"))
        .write(
            "hello.go",
            "package hello\n\nfunc Hi() string { return \"hi\" }\n",
        );
    hello.commit("v1.0.0").tag("v1.0.0");
    hello.write(
        "hello.go",
        "package hello\n\nfunc Hi() string { return \"hello\" }\n",
    );
    hello.commit("v1.1.0").tag("v1.1.0");
    let mut modules = vec![format!("{HELLO}@v1.0.0"), format!("{HELLO}@v1.1.0")];
    if big {
        let mut repo = go.repo("mvtest/big");
        repo.write("go.mod", format!("module {BIG}\n\ngo 1.21\n"))
            .write("blob.bin", noise(20 << 20, 3));
        repo.commit("v1.0.0").tag("v1.0.0");
        modules.push(format!("{BIG}@v1.0.0"));
    }
    let refs: Vec<&str> = modules.iter().map(String::as_str).collect();
    let tree = go.direct_tree("direct", &refs);
    (go, tree)
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn field<'a>(json: &'a serde_json::Value, name: &str) -> &'a str {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {json}"))
}

fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ALLOW_HTTP", "true".into()),
    ]
}

fn start_on(location: &S3Location, endpoint: &str, upstream: &str, data_dir: &Path) -> Modvault {
    let env = aws_env(endpoint);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Modvault::start_in(
        &modvault_bin(),
        data_dir,
        upstream,
        &["--storage", &location.url()],
        &env,
    )
}

/// The issue's own words: `modvault serve --storage s3://modules` with
/// `AWS_ENDPOINT_URL` pointing at SeaweedFS serves the go command
/// byte-exact results, and the bucket itself is a GOPROXY tree.
#[test]
fn serve_storage_s3_modules_gives_the_go_command_byte_exact_results() {
    let (go, tree) = fixture(false);
    let weed = SeaweedFs::shared();
    weed.bucket("modules");
    let dir = modvault_testkit::TempDir::new().unwrap();
    let env = aws_env(&weed.endpoint);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("data"),
        &file_url(&tree),
        &["--storage", "s3://modules"],
        &env,
    );
    for module in [format!("{HELLO}@v1.0.0"), format!("{HELLO}@v1.1.0")] {
        let direct = go.download("direct", &go.mod_cache("direct"), &module);
        let proxied = go.download(&modvault.url, &go.mod_cache("through"), &module);
        assert_eq!(field(&proxied, "Sum"), field(&direct, "Sum"), "{module}");
        assert_eq!(
            field(&proxied, "GoModSum"),
            field(&direct, "GoModSum"),
            "{module}"
        );
    }
    assert!(
        modvault
            .log()
            .iter()
            .any(|l| l.contains("storage=s3://modules")),
        "{:?}",
        modvault.log()
    );
    // Nothing of the module files is in data_dir: only working state.
    assert!(!dir.path().join("data/github.com").exists());

    // The bucket, served by SeaweedFS alone (anonymous read), works as a
    // GOPROXY: the go command verifies the same sums from it.
    let from_bucket = go.download(
        &weed.public_url("modules", ""),
        &go.mod_cache("from-bucket"),
        &format!("{HELLO}@v1.1.0"),
    );
    let direct = go.download(
        "direct",
        &go.mod_cache("direct"),
        &format!("{HELLO}@v1.1.0"),
    );
    assert_eq!(field(&from_bucket, "Sum"), field(&direct, "Sum"));
    assert_eq!(
        modvault.get(&format!("/{HELLO}/@v/list")).status().as_u16(),
        200
    );
    let list = reqwest::blocking::get(format!(
        "{}/{HELLO}/@v/list",
        weed.public_url("modules", "")
    ))
    .unwrap()
    .text()
    .unwrap();
    assert!(
        list.contains("v1.0.0\n") && list.contains("v1.1.0\n"),
        "{list}"
    );
}

/// Forwards to `target`; once more than `hold_after` bytes have gone to it
/// in all, forwards nothing more and says so once on `held`.
fn holding_proxy(target: String, hold_after: usize) -> (String, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (tx, held) = mpsc::channel();
    let sent = Arc::new(AtomicUsize::new(0));
    let holding = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (sent, holding, tx) = (sent.clone(), holding.clone(), tx.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    if holding.load(Ordering::SeqCst) {
                        // Hold: swallow the rest, so the upload stays in
                        // flight until the client dies.
                        while c_read.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
                        break;
                    }
                    let n = match c_read.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if sent.fetch_add(n, Ordering::SeqCst) + n > hold_after
                        && !holding.swap(true, Ordering::SeqCst)
                    {
                        let _ = tx.send(());
                    }
                }
                let _ = s_write.shutdown(Shutdown::Both);
            });
            std::thread::spawn(move || {
                let (mut s_read, mut c_write) = (server, client);
                let _ = std::io::copy(&mut s_read, &mut c_write);
                let _ = c_write.shutdown(Shutdown::Both);
            });
        }
    });
    (address, held)
}

#[test]
fn kill_9_during_a_zip_upload_leaves_nothing_and_a_restart_serves_the_version() {
    let (go, tree) = fixture(true);
    let weed = SeaweedFs::shared();
    let location = S3Location::new(weed.clone(), "e2e-kill");
    let dir = modvault_testkit::TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let zip_key = format!("{BIG}/@v/v1.0.0.zip");
    let expected = std::fs::read(tree.join(&zip_key)).unwrap();
    assert!(expected.len() > 16 << 20, "the zip needs several parts");

    // The bucket's connection stalls once 12 MiB of the zip's upload are
    // through: the upload is then certainly under way.
    let target = weed.endpoint.trim_start_matches("http://").to_owned();
    let (proxy, held) = holding_proxy(target, 12 << 20);
    let mut modvault = start_on(&location, &proxy, &file_url(&tree), &data_dir);
    let url = format!("{}/{zip_key}", modvault.url);
    let client = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .get(url)
            .timeout(Duration::from_secs(120))
            .send()
            .and_then(|r| r.bytes())
            .map(|b| b.len())
    });
    held.recv_timeout(Duration::from_secs(120))
        .expect("the zip upload reached the bucket");
    modvault
        .signal_and_wait("KILL", Duration::from_secs(10))
        .expect("kill -9");
    let cut = client.join().unwrap();
    assert!(
        !matches!(cut, Ok(len) if len == expected.len()),
        "the client must not get a complete zip from a killed server"
    );
    assert!(
        location.get(&zip_key).is_none(),
        "a killed upload left an object under the final key"
    );

    // A restart (straight to the bucket) fetches, stores and serves it.
    let modvault = start_on(&location, &weed.endpoint, &file_url(&tree), &data_dir);
    let module = format!("{BIG}@v1.0.0");
    let proxied = go.download(&modvault.url, &go.mod_cache("after-restart"), &module);
    let direct = go.download("direct", &go.mod_cache("direct"), &module);
    assert_eq!(field(&proxied, "Sum"), field(&direct, "Sum"));
    assert!(
        location.get(&zip_key).as_deref() == Some(&expected[..]),
        "the stored zip is the upstream zip, whole"
    );
}

#[test]
fn an_unreachable_bucket_answers_503_for_misses() {
    let (_go, tree) = fixture(false);
    // A server of its own, to be killed.
    let weed = Arc::new(SeaweedFs::start());
    let location = S3Location::new(weed.clone(), "e2e-down");
    let dir = modvault_testkit::TempDir::new().unwrap();
    let modvault = start_on(
        &location,
        &weed.endpoint,
        &file_url(&tree),
        &dir.path().join("data"),
    );
    let stored = modvault.get(&format!("/{HELLO}/@v/v1.0.0.mod"));
    assert_eq!(stored.status().as_u16(), 200);
    assert_eq!(modvault.get("/readyz").status().as_u16(), 200);

    weed.kill();
    let miss = modvault.get(&format!("/{HELLO}/@v/v1.1.0.info"));
    assert_eq!(miss.status().as_u16(), 503);
    assert_eq!(miss.headers()["content-type"], "text/plain; charset=utf-8");
    let text = miss.text().unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("storage unavailable"), "{text}");
    assert!(!text.contains(SECRET_KEY), "{text}");
    let ready = modvault.get("/readyz");
    assert_eq!(ready.status().as_u16(), 503);
    assert!(ready.text().unwrap().contains("storage unavailable"));
    assert_eq!(modvault.get("/healthz").status().as_u16(), 200);
    assert!(modvault.log().iter().all(|l| !l.contains(SECRET_KEY)));
}

#[test]
fn start_up_stops_when_the_bucket_is_unusable_naming_the_setting() {
    let weed = SeaweedFs::shared();
    weed.bucket("modules");
    let dir = modvault_testkit::TempDir::new().unwrap();
    let run_with = |env: &[(&str, String)], code: i32| {
        let output = std::process::Command::new(modvault_bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--storage",
                "s3://modules",
            ])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(code), "{env:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let run = |env: &[(&str, String)]| run_with(env, 1);

    let unreachable = aws_env(&format!("http://127.0.0.1:{}", closed_port()));
    let message = run(&unreachable);
    assert!(
        message.contains("storage s3://modules (from flag --storage) is not usable")
            && message.contains("(from environment variable AWS_ENDPOINT_URL)")
            && message.contains("storage unavailable"),
        "{message}"
    );

    let wrong = "not-the-secret-but-still-secret";
    let mut bad_secret = aws_env(&weed.endpoint);
    bad_secret[2].1 = wrong.into();
    let message = run(&bad_secret);
    assert!(
        message.contains("storage s3://modules (from flag --storage) is not usable")
            && message.contains("SignatureDoesNotMatch"),
        "{message}"
    );
    assert!(!message.contains(wrong), "{message}");

    // A settings mistake is found before anything is sent.
    let message = run_with(&[("AWS_ENDPOINT_URL", weed.endpoint.clone())], 2);
    assert!(
        message.contains("s3.endpoint") && message.contains("s3.allow_http"),
        "{message}"
    );
}

/// `modvault OP` with every setting of a server on S3 and `env`: exit
/// status and stdout.
fn ops_command(args: &[&str], env: &[(&'static str, String)]) -> (i32, String) {
    let output = std::process::Command::new(modvault_bin())
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let code = output.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "modvault {args:?}: {code}\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (code, stdout)
}

/// The operations commands work on a bucket without a running server:
/// `mirror` fills it, `verify` re-hashes it, `export` reads it into a
/// bundle another store imports, and a server on the bucket with
/// `upstream = "off"` serves what was mirrored, byte-exact.
#[test]
fn mirror_verify_and_export_work_on_a_bucket_without_a_server() {
    let (go, tree) = fixture(false);
    let weed = SeaweedFs::shared();
    weed.bucket("ops");
    let dir = modvault_testkit::TempDir::new().unwrap();
    let data = dir.path().join("data");
    let env = aws_env(&weed.endpoint);
    let upstream = file_url(&tree);
    let on_bucket = |op: &[&str]| {
        let mut args = vec![op[0]];
        args.extend([
            "--data-dir",
            data.to_str().unwrap(),
            "--storage",
            "s3://ops",
            "--upstream",
            &upstream,
            "--sumdb-upstream",
            "off",
        ]);
        args.extend(&op[1..]);
        ops_command(&args, &env)
    };

    let (code, mirrored) = on_bucket(&["mirror", &format!("{HELLO}@v1.1.0")]);
    assert_eq!(code, 0, "{mirrored}");
    let (code, out) = on_bucket(&["verify"]);
    assert_eq!(code, 0, "{out}\nafter the mirror run: {mirrored}");
    assert!(
        !out.contains("corrupt\t") && !out.contains("missing\t"),
        "{out}"
    );

    let bundle = dir.path().join("hello.tar.gz");
    let (code, out) = on_bucket(&["export", "--output", bundle.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = ops_command(
        &[
            "import",
            "--data-dir",
            dir.path().join("air-gapped").to_str().unwrap(),
            "--upstream",
            "off",
            "--sumdb-upstream",
            "off",
            bundle.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 versions stored"), "{out}");

    // The server on the bucket, with nothing to fetch from.
    let server_env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &data,
        "off",
        &["--storage", "s3://ops"],
        &server_env,
    );
    let direct = go.download(
        "direct",
        &go.mod_cache("direct"),
        &format!("{HELLO}@v1.1.0"),
    );
    let proxied = go.download(
        &modvault.url,
        &go.mod_cache("through"),
        &format!("{HELLO}@v1.1.0"),
    );
    assert_eq!(field(&proxied, "Sum"), field(&direct, "Sum"));
    assert_eq!(field(&proxied, "GoModSum"), field(&direct, "GoModSum"));
}
