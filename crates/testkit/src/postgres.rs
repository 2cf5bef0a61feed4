//! A real PostgreSQL for tests: Debian's `postgresql` package (binaries
//! under `/usr/lib/postgresql/<version>/bin`, installed by `scripts/test`),
//! a throw-away cluster made by `initdb` and run as the `postgres` user
//! (PostgreSQL refuses to run as root) on a free loopback port, with
//! password authentication over TCP.
//!
//! [`Postgres::shared`] gives every test of a test binary the same server;
//! [`Postgres::database`] a fresh database and role of its own, so tests
//! never see each other's state. A watchdog shell stops the server when the
//! test process dies without cleaning up (kill -9), as for SeaweedFS.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::closed_port;

/// The superuser's password (TCP connections need one).
const SUPERUSER_PASSWORD: &str = "mvtest-superuser-password";

/// Where the PostgreSQL binaries are: `MVTEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`. Tests that need it fail without it.
pub fn pg_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MVTEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL is needed: run the test suite with scripts/test (it installs the Debian package postgresql), or set MVTEST_PG_BIN",
    )
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// The command line that runs `program` as the `postgres` user when we are
/// root (PostgreSQL will not run as root), else as ourselves. `setpriv`
/// execs, so the pid is the program's own.
fn pg_user_argv(program: &Path) -> Vec<String> {
    let mut argv = Vec::new();
    if is_root() {
        argv.extend(
            [
                "setpriv",
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--reset-env",
                "--",
            ]
            .map(String::from),
        );
    }
    argv.push(program.to_string_lossy().into_owned());
    argv
}

fn as_pg_user(program: &Path) -> Command {
    let argv = pg_user_argv(program);
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

fn chown_to_pg_user(path: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown");
        assert!(status.success(), "chown postgres {}", path.display());
    }
}

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    dir: TempDir,
}

impl Postgres {
    /// The server every test of this process shares while any holds it.
    pub fn shared() -> Arc<Postgres> {
        static SHARED: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(Postgres::start());
        *shared = Arc::downgrade(&server);
        server
    }

    /// A cluster of its own, stopped (and removed) when dropped.
    pub fn start() -> Postgres {
        let bin = pg_bin_dir();
        // Under /tmp with a mode the postgres user can enter (a test's own
        // temporary directory may sit under a private home).
        let dir = tempfile::Builder::new()
            .prefix("mvtest-pg-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (data, socket_dir) = (dir.path().join("data"), dir.path().join("socket"));
        std::fs::create_dir_all(&socket_dir).unwrap();
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).unwrap();
        chown_to_pg_user(dir.path());
        let out = as_pg_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let server = Postgres {
            port: 0,
            bin,
            data,
            socket_dir,
            watchdog: Mutex::new(None),
            dir,
        };
        let mut server = server;
        for _attempt in 0..5 {
            server.port = closed_port();
            if server.run() {
                return server;
            }
            // The port was taken in the meantime: another one.
        }
        panic!("PostgreSQL did not start; log:\n{}", server.log());
    }

    /// Starts the server on its port; `false` if it exited at once.
    fn run(&self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("postgres.log"))
            .unwrap();
        let mut args = pg_user_argv(&self.bin.join("postgres"));
        args.extend([
            "-D".to_owned(),
            self.data.to_string_lossy().into_owned(),
            "-p".to_owned(),
            self.port.to_string(),
            "-c".to_owned(),
            "listen_addresses=127.0.0.1".to_owned(),
            "-c".to_owned(),
            format!("unix_socket_directories={}", self.socket_dir.display()),
            "-c".to_owned(),
            "max_connections=200".to_owned(),
        ]);
        // The watchdog: runs postgres, prints its pid, and stops it (fast
        // shutdown) when its standard input closes: our stop, or our death.
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" & pid=$!; echo "$pid"; read _; kill -INT "$pid"; wait "$pid""#)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        let stdin = watchdog.stdin.take().unwrap();
        let mut pid_line = String::new();
        BufReader::new(watchdog.stdout.take().unwrap())
            .read_line(&mut pid_line)
            .unwrap();
        *self.watchdog.lock().unwrap() = Some((watchdog, stdin));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return true;
            }
            let exited = match self.watchdog.lock().unwrap().as_mut() {
                Some((watchdog, _)) => watchdog.try_wait().ok().flatten().is_some(),
                None => true,
            };
            if exited {
                self.watchdog.lock().unwrap().take();
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// Runs SQL as the superuser (over the Unix socket) in `database`.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = as_pg_user(&self.bin.join("psql"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", &self.socket_dir.to_string_lossy()])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .args(["-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A fresh, empty database owned by a role of its own with a password;
    /// its `postgres://user:password@127.0.0.1:port/db` URL.
    pub fn database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("mvtest_{}_{n}", std::process::id());
        let password = format!("pw-{name}-secret");
        self.psql(
            "postgres",
            &format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"),
        );
        self.psql("postgres", &format!("CREATE DATABASE {name} OWNER {name}"));
        format!(
            "postgres://{name}:{password}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// Stops the server (fast shutdown: sessions are cut, nothing committed
    /// is lost); [`Postgres::restart`] brings it back on the same port.
    pub fn stop(&self) {
        let Some((mut watchdog, stdin)) = self.watchdog.lock().unwrap().take() else {
            return;
        };
        drop(stdin);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = watchdog.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = as_pg_user(&self.bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&self.data)
            .status();
        let _ = watchdog.wait();
    }

    /// Starts the stopped server again, on the same port.
    pub fn restart(&self) {
        assert!(
            self.run(),
            "PostgreSQL did not restart; log:\n{}",
            self.log()
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
