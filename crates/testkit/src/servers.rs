//! Real git servers for transport tests, each on a free loopback port and
//! stopped when dropped: smart HTTP over TLS with Basic authentication
//! (nginx, fcgiwrap and `git http-backend`, as a company would run it), an
//! SSH server (Debian's OpenSSH `sshd` with throw-away keys), a listener
//! that accepts and never speaks, and an HTTP `CONNECT` proxy that routes
//! host names to loopback ports (so module paths can name real-looking
//! hosts such as `git.corp.example`).
//!
//! `scripts/test` installs nginx, fcgiwrap and openssh-server when missing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{closed_port, make_test_ca_for, run_ok};

/// A program the transport tests need, or a failure saying how to get it.
pub fn require_program(path: &str, package: &str) -> PathBuf {
    let path = PathBuf::from(path);
    assert!(
        path.exists(),
        "{} is needed: run the suite with scripts/test (it installs the Debian package {package}), or apt-get install {package}",
        path.display()
    );
    path
}

/// The user the test process runs as (sshd logs it in).
pub fn current_user() -> String {
    let out = run_ok(Command::new("id").arg("-un"));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn is_root() -> bool {
    let out = run_ok(Command::new("id").arg("-u"));
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool, child: &mut Child, log: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!(
        "{what} did not start; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// nginx with `conf` (prefix `dir`), once it listens on `port`; `None` when
/// it exited first (the port was taken meanwhile: the caller tries another).
fn start_nginx(
    nginx_bin: &Path,
    dir: &Path,
    conf: &Path,
    error_log: &Path,
    port: u16,
) -> Option<Child> {
    let mut nginx = Command::new(nginx_bin)
        .arg("-e")
        .arg(error_log)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("nginx.out")).unwrap())
        .spawn()
        .expect("start nginx");
    let listening = wait_for(
        "nginx",
        || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        &mut nginx,
        error_log,
    );
    listening.then_some(nginx)
}

/// Smart HTTP over TLS, every request (go-get pages included) behind
/// `auth_basic`: nginx in front of `git http-backend` through fcgiwrap,
/// serving the repositories under `repos` at `https://127.0.0.1:<port>/<path>`
/// (non-bare repositories are served as they are). `?go-get=1` on
/// `/<owner>/<project>...` answers a go-import tag for
/// `<host>/<owner>/<project>` with the repository
/// `https://<host>/<owner>/<project>`, as GitLab and Gitea do for
/// authenticated clients.
pub struct GitHttpsServer {
    pub port: u16,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The CA that signed the server's certificate (for `http.sslCAInfo`,
    /// `GIT_SSL_CAINFO`, `SSL_CERT_FILE`).
    pub ca: PathBuf,
    htpasswd: PathBuf,
    access_log: PathBuf,
    nginx: Child,
    fcgiwrap: Child,
    _dir: TempDir,
}

impl GitHttpsServer {
    /// `hostnames`: extra DNS names for the certificate (reached through a
    /// [`ConnectProxy`]); 127.0.0.1 is always in it.
    pub fn start(repos: &Path, user: &str, password: &str, hostnames: &[&str]) -> GitHttpsServer {
        let nginx_bin = require_program("/usr/sbin/nginx", "nginx");
        let fcgiwrap_bin = require_program("/usr/sbin/fcgiwrap", "fcgiwrap");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ca, cert, key) = make_test_ca_for(d, "git", hostnames);
        let htpasswd = d.join("htpasswd");
        let access_log = d.join("access.log");
        let socket = d.join("fcgiwrap.sock");
        let fcgi_log = d.join("fcgiwrap.log");
        let log_file = std::fs::File::create(&fcgi_log).unwrap();
        let mut fcgiwrap = Command::new(fcgiwrap_bin)
            .arg("-s")
            .arg(format!("unix:{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start fcgiwrap");
        assert!(
            wait_for("fcgiwrap", || socket.exists(), &mut fcgiwrap, &fcgi_log),
            "fcgiwrap exited: {}",
            std::fs::read_to_string(&fcgi_log).unwrap_or_default()
        );
        let backend = PathBuf::from(
            String::from_utf8(run_ok(Command::new("git").arg("--exec-path")).stdout)
                .unwrap()
                .trim(),
        )
        .join("git-http-backend");
        let goget = d.join("go-get.cgi");
        std::fs::write(
            &goget,
            "#!/bin/sh\nprintf 'Content-Type: text/html\\r\\n\\r\\n'\n\
             printf '<!DOCTYPE html><html><head><meta name=\"go-import\" content=\"%s git https://%s\"></head><body></body></html>\\n' \"$GO_IMPORT_ROOT\" \"$GO_IMPORT_ROOT\"\n",
        )
        .unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&goget, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let error_log = d.join("error.log");
        for _attempt in 0..5 {
            let port = closed_port();
            let conf = d.join("nginx.conf");
            std::fs::write(
                &conf,
                nginx_conf(NginxConf {
                    dir: d,
                    port,
                    cert: &cert,
                    key: &key,
                    htpasswd: &htpasswd,
                    access_log: &access_log,
                    socket: &socket,
                    backend: &backend,
                    goget: &goget,
                    repos,
                }),
            )
            .unwrap();
            if let Some(nginx) = start_nginx(&nginx_bin, d, &conf, &error_log, port) {
                let server = GitHttpsServer {
                    port,
                    url: format!("https://127.0.0.1:{port}"),
                    ca,
                    htpasswd,
                    access_log,
                    nginx,
                    fcgiwrap,
                    _dir: dir,
                };
                server.set_password(user, password);
                return server;
            }
            // The port was taken in the meantime: another one.
        }
        stop(&mut fcgiwrap);
        panic!(
            "nginx did not start; log:\n{}",
            std::fs::read_to_string(&error_log).unwrap_or_default()
        );
    }

    /// Replaces the accepted user and password (nginx reads the file at
    /// every request).
    pub fn set_password(&self, user: &str, password: &str) {
        std::fs::write(&self.htpasswd, format!("{user}:{{PLAIN}}{password}\n")).unwrap();
    }

    /// Requests served so far (authenticated or not).
    pub fn requests(&self) -> usize {
        std::fs::read_to_string(&self.access_log)
            .map(|log| log.lines().count())
            .unwrap_or(0)
    }

    /// `127.0.0.1:<port>`.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for GitHttpsServer {
    fn drop(&mut self) {
        stop(&mut self.nginx);
        stop(&mut self.fcgiwrap);
    }
}

struct NginxConf<'a> {
    dir: &'a Path,
    port: u16,
    cert: &'a Path,
    key: &'a Path,
    htpasswd: &'a Path,
    access_log: &'a Path,
    socket: &'a Path,
    backend: &'a Path,
    goget: &'a Path,
    repos: &'a Path,
}

fn nginx_conf(c: NginxConf) -> String {
    let d = c.dir.display();
    // One process (no master), so that killing it stops the server.
    let user = if is_root() { "user root;\n" } else { "" };
    format!(
        r#"daemon off;
master_process off;
{user}pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log {access};
  client_body_temp_path {d}/body;
  fastcgi_temp_path {d}/fastcgi;
  proxy_temp_path {d}/proxy;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    auth_basic "git";
    auth_basic_user_file {htpasswd};
    default_type text/html;
    location ~ "^/(?<owner>[^/]+)/(?<project>[^/.?]+)" {{
      # go-get pages come from a CGI script too: a `return` here would
      # answer before auth_basic runs.
      set $script {backend};
      if ($args ~ "(^|&)go-get=1(&|$)") {{
        set $script {goget};
      }}
      fastcgi_pass unix:{socket};
      fastcgi_param SCRIPT_FILENAME $script;
      fastcgi_param GO_IMPORT_ROOT $host/$owner/$project;
      fastcgi_param GIT_PROJECT_ROOT {repos};
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param PATH_INFO $uri;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param QUERY_STRING $query_string;
      fastcgi_param CONTENT_TYPE $content_type;
      fastcgi_param CONTENT_LENGTH $content_length;
      fastcgi_param REMOTE_USER $remote_user;
      fastcgi_param REMOTE_ADDR $remote_addr;
      fastcgi_param SERVER_PROTOCOL $server_protocol;
    }}
  }}
}}
"#,
        access = c.access_log.display(),
        port = c.port,
        cert = c.cert.display(),
        key = c.key.display(),
        htpasswd = c.htpasswd.display(),
        socket = c.socket.display(),
        backend = c.backend.display(),
        goget = c.goget.display(),
        repos = c.repos.display(),
    )
}

/// OpenSSH's sshd with a throw-away host key, accepting one client key for
/// the current user (repositories are addressed by absolute path).
pub struct SshServer {
    pub port: u16,
    pub user: String,
    /// The authorized client key (private half).
    pub client_key: PathBuf,
    /// A known-hosts file with the server's key for `[127.0.0.1]:<port>`.
    pub known_hosts: PathBuf,
    /// An ssh config mapping the aliases given to `start` to this server.
    pub ssh_config: PathBuf,
    log: PathBuf,
    child: Child,
    dir: TempDir,
}

impl SshServer {
    pub fn start(aliases: &[&str]) -> SshServer {
        let sshd = require_program("/usr/sbin/sshd", "openssh-server");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let keygen = |name: &str| {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
                    .arg(d.join(name)),
            );
            d.join(name)
        };
        let host_key = keygen("host_key");
        let client_key = keygen("client_key");
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        if is_root() {
            // sshd's privilege separation directory (Debian creates it in
            // its service unit, which does not run here).
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let user = current_user();
        let log = d.join("sshd.log");
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {keys}\nPidFile {d}/sshd.pid\n\
                 StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nAllowUsers {user}\nLogLevel VERBOSE\n",
                host = host_key.display(),
                keys = d.join("authorized_keys").display(),
                d = d.display(),
            ),
        )
        .unwrap();
        let host_public = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let host_public: Vec<&str> = host_public.split_whitespace().take(2).collect();
        for _attempt in 0..5 {
            let port = closed_port();
            let _ = std::fs::remove_file(&log);
            let mut child = Command::new(&sshd)
                .arg("-D")
                .arg("-f")
                .arg(&config)
                .arg("-p")
                .arg(port.to_string())
                .arg("-E")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start sshd");
            let listening = wait_for(
                "sshd",
                || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Server listening on")),
                &mut child,
                &log,
            );
            if !listening {
                continue;
            }
            let known_hosts = d.join("known_hosts");
            std::fs::write(
                &known_hosts,
                format!("[127.0.0.1]:{port} {}\n", host_public.join(" ")),
            )
            .unwrap();
            let ssh_config = d.join("ssh_config");
            let mut text = String::new();
            for alias in aliases {
                text.push_str(&format!(
                    "Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n"
                ));
            }
            std::fs::write(&ssh_config, text).unwrap();
            return SshServer {
                port,
                user,
                client_key,
                known_hosts,
                ssh_config,
                log,
                child,
                dir,
            };
        }
        panic!(
            "sshd did not start; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// A `GIT_SSH_COMMAND` that logs in with `key`, trusting the host keys
    /// in `known_hosts` only.
    pub fn ssh_command_with(&self, key: &Path, known_hosts: &Path) -> String {
        format!(
            "ssh -F {} -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
            self.ssh_config.display(),
            key.display(),
            known_hosts.display()
        )
    }

    /// The `GIT_SSH_COMMAND` of a correctly set-up client.
    pub fn ssh_command(&self) -> String {
        self.ssh_command_with(&self.client_key, &self.known_hosts)
    }

    /// A key the server does not accept.
    pub fn other_key(&self) -> PathBuf {
        let path = self.dir.path().join("other_key");
        if !path.exists() {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f"])
                    .arg(&path),
            );
        }
        path
    }

    /// An empty known-hosts file.
    pub fn empty_known_hosts(&self) -> PathBuf {
        let path = self.dir.path().join("empty_known_hosts");
        std::fs::write(&path, "").unwrap();
        path
    }

    /// `ssh://<user>@127.0.0.1:<port><absolute path>`.
    pub fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|log| log.matches("Connection from ").count())
            .unwrap_or(0)
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A TCP listener that accepts connections and never says anything: a host
/// that hangs during the SSH (or TLS) handshake.
pub struct SilentListener {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    stopping: Arc<AtomicBool>,
}

impl SilentListener {
    pub fn start() -> SilentListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stopping = Arc::new(AtomicBool::new(false));
        let (count, stop) = (accepted.clone(), stopping.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    count.fetch_add(1, Ordering::SeqCst);
                    held.push(stream);
                }
            }
        });
        SilentListener {
            port,
            accepted,
            stopping,
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then ends and drops every connection.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// An HTTP proxy that only tunnels (`CONNECT host:port`), to the loopback
/// port configured for that `host:port`; anything else is refused. Used as
/// `HTTPS_PROXY`, it lets clients reach `https://git.corp.example/` here.
pub struct ConnectProxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    port: u16,
    tunnels: Arc<AtomicUsize>,
    stopping: Arc<AtomicBool>,
}

impl ConnectProxy {
    /// `routes`: (`host:port` as clients name it, loopback port).
    pub fn start(routes: &[(&str, u16)]) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes: Arc<HashMap<String, u16>> = Arc::new(
            routes
                .iter()
                .map(|(from, to)| (from.to_ascii_lowercase(), *to))
                .collect(),
        );
        let tunnels = Arc::new(AtomicUsize::new(0));
        let stopping = Arc::new(AtomicBool::new(false));
        let (count, stop) = (tunnels.clone(), stopping.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (routes, count) = (routes.clone(), count.clone());
                std::thread::spawn(move || {
                    let _ = tunnel(stream, &routes, &count);
                });
            }
        });
        ConnectProxy {
            url: format!("http://127.0.0.1:{port}"),
            port,
            tunnels,
            stopping,
        }
    }

    /// Tunnels opened so far.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn tunnel(
    client: TcpStream,
    routes: &HashMap<String, u16>,
    count: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let mut client = client;
    let mut parts = request.split_whitespace();
    let target = match (parts.next(), parts.next()) {
        (Some("CONNECT"), Some(target)) => target.to_ascii_lowercase(),
        _ => {
            client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        }
    };
    let Some(port) = routes.get(&target) else {
        client.write_all(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    };
    let upstream = TcpStream::connect(("127.0.0.1", *port))?;
    count.fetch_add(1, Ordering::SeqCst);
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    // Whatever the client sent after the request head is already buffered.
    let buffered = reader.buffer().to_vec();
    let mut to_upstream = upstream.try_clone()?;
    to_upstream.write_all(&buffered)?;
    let mut from_client = reader.into_inner();
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    let mut from_upstream = upstream;
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = from_upstream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        client.write_all(&buf[..n])?;
    }
    let _ = client.shutdown(Shutdown::Write);
    let _ = forward.join();
    Ok(())
}

/// nginx as a round-robin load balancer in front of several HTTP backends
/// (modvault replicas), streaming answers as they come (no buffering), as a
/// company would put replicas behind one address. A backend that refuses
/// connections is skipped for the next (nginx's default for errors before
/// a byte of the answer was sent).
pub struct LoadBalancer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    access_log: PathBuf,
    nginx: Child,
    _dir: TempDir,
}

impl LoadBalancer {
    /// `backends`: `http://host:port` URLs.
    pub fn start(backends: &[String]) -> LoadBalancer {
        let nginx_bin = require_program("/usr/sbin/nginx", "nginx");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let access_log = d.join("access.log");
        let error_log = d.join("error.log");
        let servers: String = backends
            .iter()
            .map(|b| format!("    server {};\n", b.trim_start_matches("http://")))
            .collect();
        let user = if is_root() { "user root;\n" } else { "" };
        for _attempt in 0..5 {
            let port = closed_port();
            let conf = d.join("nginx.conf");
            std::fs::write(
                &conf,
                format!(
                    r#"daemon off;
master_process off;
{user}pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  log_format upstream '$request_method $uri $status $upstream_addr';
  access_log {access} upstream;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  client_max_body_size 0;
  upstream replicas {{
{servers}    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 120s;
      # PUT is not idempotent for nginx: it is never retried elsewhere.
      proxy_next_upstream error timeout;
    }}
  }}
}}
"#,
                    d = d.display(),
                    access = access_log.display(),
                ),
            )
            .unwrap();
            if let Some(nginx) = start_nginx(&nginx_bin, d, &conf, &error_log, port) {
                return LoadBalancer {
                    url: format!("http://127.0.0.1:{port}"),
                    access_log,
                    nginx,
                    _dir: dir,
                };
            }
        }
        panic!(
            "nginx did not start; log:\n{}",
            std::fs::read_to_string(&error_log).unwrap_or_default()
        );
    }

    /// Which backend (`127.0.0.1:<port>`) answered each request so far, in
    /// order, with its method, path and status.
    pub fn routed(&self) -> Vec<String> {
        std::fs::read_to_string(&self.access_log)
            .map(|log| log.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        stop(&mut self.nginx);
    }
}
