//! Running the git CLI: every process waits for a permit of one global
//! semaphore, runs with a timeout, and is killed together with its helpers
//! (`git-remote-https`, `ssh`, ...) when the timeout expires or the caller
//! goes away.
//!
//! git inherits modvault's environment, so it behaves like the user's own
//! git (`url.<base>.insteadOf`, `GIT_CONFIG_GLOBAL`, credential helpers,
//! `~/.netrc`, `GIT_SSH_COMMAND`, `HTTP(S)_PROXY`/`NO_PROXY`), with three
//! changes: `GIT_TERMINAL_PROMPT=0` (nobody is there to answer), `LC_ALL=C`
//! (error messages are classified by their English text) and the extra
//! variables from [`crate::GitSourceOptions::git_env`].
//!
//! Commands that reach a remote (`fetch`, `ls-remote`) also get modvault's
//! own credentials (a helper scoped to their hosts, see
//! [`crate::credentials`]) and, when the ssh command is OpenSSH's `ssh`,
//! `-o BatchMode=yes -o ConnectTimeout=<connect timeout>` after the user's
//! own options (which win, as ssh takes the first value of an option): a
//! host that accepts a connection and never speaks fails after the connect
//! timeout instead of holding a request for the whole command timeout, and
//! ssh never waits for a password or a host-key question nobody can answer.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use modvault_error::redact_urls;

/// How much of git's stderr is kept for error messages.
const STDERR_LIMIT: usize = 64 << 10;

/// Why a git command did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    #[error("git {command} timed out after {timeout:?}")]
    Timeout { command: String, timeout: Duration },
    #[error("git {command}: output larger than {limit} bytes")]
    TooLarge { command: String, limit: u64 },
    #[error("git {command}: {source}")]
    Io {
        command: String,
        source: std::io::Error,
    },
    /// git ran and exited unsuccessfully; `stderr` has URLs redacted.
    #[error("git {command} failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: ExitStatus,
        stderr: String,
    },
}

impl GitError {
    /// The exit code of a git that ran and failed (`merge-base
    /// --is-ancestor` answers "no" with 1).
    pub(crate) fn exit_code(&self) -> Option<i32> {
        match self {
            GitError::Failed { status, .. } => status.code(),
            _ => None,
        }
    }

    /// git ran and said no, as opposed to not running properly.
    pub(crate) fn is_failed_run(&self) -> bool {
        matches!(self, GitError::Failed { .. })
    }

    pub(crate) fn stderr(&self) -> &str {
        match self {
            GitError::Failed { stderr, .. } => stderr,
            _ => "",
        }
    }
}

/// Where a command's standard output goes.
pub(crate) enum Sink<'a> {
    /// Collected in memory, at most `limit` bytes.
    Capture { limit: u64 },
    /// Written to a file, at most `limit` bytes (for archives).
    File {
        file: &'a mut tokio::fs::File,
        limit: u64,
    },
}

/// Runs git processes within the configured bounds.
pub(crate) struct GitRunner {
    permits: Arc<Semaphore>,
    timeout: Duration,
    env: Vec<(OsString, OsString)>,
    /// Where commands that need no repository run.
    neutral_dir: PathBuf,
    /// Leading arguments of commands that reach a remote (`-c` settings).
    remote_args: Vec<OsString>,
    /// Extra environment of those commands (`GIT_SSH_COMMAND`).
    remote_env: Vec<(OsString, OsString)>,
}

impl GitRunner {
    pub(crate) fn new(
        max_concurrent: usize,
        timeout: Duration,
        env: &[(String, String)],
        neutral_dir: PathBuf,
    ) -> GitRunner {
        GitRunner {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            timeout,
            env: env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .collect(),
            neutral_dir,
            remote_args: Vec::new(),
            remote_env: Vec::new(),
        }
    }

    /// Settings for commands that reach a remote: `args` go in front of
    /// theirs, and the ssh command gets a connect timeout and batch mode
    /// (see the module documentation).
    pub(crate) fn with_remote_settings(
        mut self,
        args: Vec<String>,
        connect_timeout: Duration,
    ) -> GitRunner {
        self.remote_args = args.into_iter().map(OsString::from).collect();
        let core_ssh_command = || {
            let out = std::process::Command::new("git")
                .args(["config", "--get", "core.sshCommand"])
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .env_remove("GIT_DIR")
                .current_dir(&self.neutral_dir)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .ok()?;
            let value = String::from_utf8(out.stdout).ok()?;
            Some(value.trim().to_owned()).filter(|v| out.status.success() && !v.is_empty())
        };
        let lookup = |name: &str| {
            self.env_var(name)
                .map(|v| v.to_string_lossy().into_owned())
                .filter(|v| !v.is_empty())
        };
        let ssh = effective_ssh_command(
            lookup("GIT_SSH_COMMAND"),
            lookup("GIT_SSH"),
            core_ssh_command,
        );
        if let Some(command) = ssh.filter(|c| is_openssh(c)) {
            let seconds = connect_timeout.as_secs_f64().ceil().max(1.0) as u64;
            let command = format!("{command} -o BatchMode=yes -o ConnectTimeout={seconds}");
            self.remote_env = vec![("GIT_SSH_COMMAND".into(), command.into())];
        }
        self
    }

    /// The value an environment variable has for git processes.
    pub(crate) fn env_var(&self, name: &str) -> Option<OsString> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var_os(name))
    }

    /// Runs `git <args>` in `git_dir` (a bare repository, also passed as
    /// `GIT_DIR` so that `safe.bareRepository=explicit` does not get in the
    /// way, as in Go's `gitRepo.runGit`), or outside any repository.
    /// Returns standard output for [`Sink::Capture`], nothing for
    /// [`Sink::File`].
    pub(crate) async fn run<S: AsRef<OsStr>>(
        &self,
        git_dir: Option<&Path>,
        args: &[S],
        sink: Sink<'_>,
    ) -> Result<Vec<u8>, GitError> {
        self.run_with(git_dir, args, sink, false, None).await
    }

    /// [`GitRunner::output`] for a command that reaches a remote, with
    /// modvault's credentials and ssh settings.
    pub(crate) async fn remote_output<S: AsRef<OsStr>>(
        &self,
        git_dir: Option<&Path>,
        args: &[S],
        limit: u64,
    ) -> Result<Vec<u8>, GitError> {
        self.run_with(git_dir, args, Sink::Capture { limit }, true, None)
            .await
    }

    /// [`GitRunner::output`] with `input` on standard input (for
    /// `update-ref --stdin`: one transaction, however many refs).
    pub(crate) async fn output_with_input<S: AsRef<OsStr>>(
        &self,
        git_dir: Option<&Path>,
        args: &[S],
        input: Vec<u8>,
        limit: u64,
    ) -> Result<Vec<u8>, GitError> {
        self.run_with(git_dir, args, Sink::Capture { limit }, false, Some(input))
            .await
    }

    /// Every git command timed and traced under its subcommand's name (a
    /// bounded label: never the repository).
    async fn run_with<S: AsRef<OsStr>>(
        &self,
        git_dir: Option<&Path>,
        args: &[S],
        sink: Sink<'_>,
        remote: bool,
        input: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, GitError> {
        use tracing::Instrument;
        let name = subcommand(args);
        let started = std::time::Instant::now();
        let span = tracing::info_span!("git", command = name, remote);
        let result = self
            .run_timed(git_dir, args, sink, remote, input)
            .instrument(span)
            .await;
        metrics::histogram!("modvault_git_command_duration_seconds", "command" => name)
            .record(started.elapsed().as_secs_f64());
        if result.is_err() {
            metrics::counter!("modvault_git_command_errors_total", "command" => name).increment(1);
        }
        result
    }

    async fn run_timed<S: AsRef<OsStr>>(
        &self,
        git_dir: Option<&Path>,
        args: &[S],
        sink: Sink<'_>,
        remote: bool,
        input: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, GitError> {
        let command_name = describe(args);
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| GitError::Spawn(std::io::Error::other("shutting down")))?;

        let mut command = Command::new("git");
        if remote {
            command.args(&self.remote_args);
        }
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if remote {
            // After `env`: derived from it, with the timeout added.
            command.envs(self.remote_env.iter().map(|(k, v)| (k, v)));
        }
        command
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match git_dir {
            Some(dir) => {
                command.env("GIT_DIR", dir).current_dir(dir);
            }
            None => {
                command.env_remove("GIT_DIR").current_dir(&self.neutral_dir);
            }
        }
        #[cfg(unix)]
        command.process_group(0);

        let mut child = command.spawn().map_err(GitError::Spawn)?;
        let mut group = ProcessGroup::of(&child);
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_reader = tokio::spawn(read_limited_discarding_rest(stderr, STDERR_LIMIT));
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // Written beside the reading of stdout (a full pipe either way
            // would stall git); closed at the end, which git reads as EOF.
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let _ = stdin.write_all(&input).await;
            });
        }

        let outcome = tokio::time::timeout(self.timeout, async {
            let output = match sink {
                Sink::Capture { limit } => copy_limited(stdout, Vec::new(), limit)
                    .await
                    .map(|(buf, _)| buf),
                Sink::File { file, limit } => {
                    copy_to_file(stdout, file, limit).await.map(|_| Vec::new())
                }
            };
            match output {
                Ok(output) => child
                    .wait()
                    .await
                    .map(|status| (output, status))
                    .map_err(Copy::Io),
                Err(e) => Err(e),
            }
        })
        .await;

        let (output, status) = match outcome {
            Ok(Ok(done)) => done,
            Ok(Err(failure)) => {
                group.kill();
                let _ = child.wait().await;
                return Err(match failure {
                    Copy::TooLarge(limit) => GitError::TooLarge {
                        command: command_name,
                        limit,
                    },
                    Copy::Io(source) => GitError::Io {
                        command: command_name,
                        source,
                    },
                });
            }
            Err(_elapsed) => {
                group.kill();
                let _ = child.wait().await;
                return Err(GitError::Timeout {
                    command: command_name,
                    timeout: self.timeout,
                });
            }
        };
        group.disarm();
        let stderr = stderr_reader.await.unwrap_or_default();
        if !status.success() {
            let stderr = redact_urls(String::from_utf8_lossy(&stderr).trim());
            return Err(GitError::Failed {
                command: command_name,
                status,
                stderr,
            });
        }
        Ok(output)
    }

    /// [`GitRunner::run`] with the output collected in memory.
    pub(crate) async fn output<S: AsRef<OsStr>>(
        &self,
        git_dir: Option<&Path>,
        args: &[S],
        limit: u64,
    ) -> Result<Vec<u8>, GitError> {
        self.run(git_dir, args, Sink::Capture { limit }).await
    }
}

/// The ssh command git would use: `GIT_SSH_COMMAND`, else `GIT_SSH` (a
/// program, quoted as a command), else `core.sshCommand`, else `ssh`.
fn effective_ssh_command(
    git_ssh_command: Option<String>,
    git_ssh: Option<String>,
    core_ssh_command: impl FnOnce() -> Option<String>,
) -> Option<String> {
    if let Some(command) = git_ssh_command {
        return Some(command);
    }
    if let Some(program) = git_ssh {
        return Some(format!("'{}'", program.replace('\'', "'\\''")));
    }
    Some(core_ssh_command().unwrap_or_else(|| "ssh".to_owned()))
}

/// Whether a command runs OpenSSH's `ssh` (by the name of its first word,
/// as git's own `ssh.variant` detection does), so `-o` options are safe.
fn is_openssh(command: &str) -> bool {
    let first = command
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_matches(['\'', '"']);
    let name = first.rsplit('/').next().unwrap_or(first);
    name == "ssh" || name == "ssh.exe"
}

/// The subcommand and its arguments, URLs redacted, for messages.
/// The git subcommand, as a metric label from a fixed set.
fn subcommand<S: AsRef<OsStr>>(args: &[S]) -> &'static str {
    const KNOWN: &[&str] = &[
        "clone",
        "fetch",
        "ls-remote",
        "archive",
        "cat-file",
        "rev-parse",
        "init",
        "tag",
        "show",
        "log",
        "for-each-ref",
        "config",
        "remote",
        "rev-list",
        "gc",
        "update-ref",
    ];
    args.iter()
        .map(|a| a.as_ref().to_string_lossy())
        .find(|a| a != "-c" && !a.contains('='))
        .and_then(|word| KNOWN.iter().find(|k| **k == word).copied())
        .unwrap_or("other")
}

fn describe<S: AsRef<OsStr>>(args: &[S]) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        // Skip the leading `-c key=value` settings: they are noise.
        .skip_while(|a| a == "-c" || a.contains('='))
        .collect();
    redact_urls(&words.join(" "))
}

enum Copy {
    TooLarge(u64),
    Io(std::io::Error),
}

async fn copy_limited<R: AsyncRead + Unpin>(
    mut from: R,
    mut into: Vec<u8>,
    limit: u64,
) -> Result<(Vec<u8>, u64), Copy> {
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = from.read(&mut chunk).await.map_err(Copy::Io)?;
        if n == 0 {
            let len = into.len() as u64;
            return Ok((into, len));
        }
        if into.len() as u64 + n as u64 > limit {
            return Err(Copy::TooLarge(limit));
        }
        into.extend_from_slice(&chunk[..n]);
    }
}

async fn copy_to_file<R: AsyncRead + Unpin>(
    mut from: R,
    file: &mut tokio::fs::File,
    limit: u64,
) -> Result<u64, Copy> {
    let mut chunk = vec![0u8; 256 << 10];
    let mut total: u64 = 0;
    loop {
        let n = from.read(&mut chunk).await.map_err(Copy::Io)?;
        if n == 0 {
            file.flush().await.map_err(Copy::Io)?;
            return Ok(total);
        }
        total += n as u64;
        if total > limit {
            return Err(Copy::TooLarge(limit));
        }
        file.write_all(&chunk[..n]).await.map_err(Copy::Io)?;
    }
}

/// Keeps the first `limit` bytes and reads (and drops) the rest, so that a
/// chatty git never blocks on a full pipe.
async fn read_limited_discarding_rest<R: AsyncRead + Unpin>(mut from: R, limit: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 8 << 10];
    loop {
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

/// The process group of a git we started (it leads its own group), killed
/// as a whole on timeout, on oversized output, or when the request that
/// waits for it is dropped. Killing happens only before the leader is
/// reaped, so the group id cannot have been reused.
struct ProcessGroup {
    leader: Option<u32>,
}

impl ProcessGroup {
    fn of(child: &Child) -> ProcessGroup {
        ProcessGroup { leader: child.id() }
    }

    fn kill(&mut self) {
        if let Some(pid) = self.leader.take() {
            kill_group(pid);
        }
    }

    fn disarm(&mut self) {
        self.leader = None;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(unix)]
fn kill_group(leader: u32) {
    let Ok(pid) = i32::try_from(leader) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid
    // addresses the process group that our child leads (process_group(0)).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_leader: u32) {
    // kill_on_drop(true) still stops git itself.
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(timeout: Duration) -> GitRunner {
        GitRunner::new(2, timeout, &[], std::env::temp_dir())
    }

    #[tokio::test]
    async fn captures_output_and_reports_failures() {
        let git = runner(Duration::from_secs(30));
        let out = git.output(None, &["version"], 1 << 10).await.unwrap();
        assert!(String::from_utf8_lossy(&out).starts_with("git version"));

        let err = git
            .output(None, &["no-such-subcommand-xyz"], 1 << 10)
            .await
            .unwrap_err();
        assert!(err.is_failed_run(), "{err}");
        assert!(err.stderr().contains("not a git command"), "{err}");
    }

    #[tokio::test]
    async fn limits_output() {
        let git = runner(Duration::from_secs(30));
        let err = git.output(None, &["help", "-a"], 16).await.unwrap_err();
        assert!(matches!(err, GitError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn kills_on_timeout() {
        // `git hash-object --stdin` would wait forever for input that never
        // comes if stdin were not /dev/null; use a config-driven pager-less
        // sleeping alias instead.
        let git = GitRunner::new(
            1,
            Duration::from_millis(300),
            &[(
                "GIT_CONFIG_PARAMETERS".into(),
                "'alias.snooze=!sleep 30'".into(),
            )],
            std::env::temp_dir(),
        );
        let started = std::time::Instant::now();
        let err = git.output(None, &["snooze"], 1 << 10).await.unwrap_err();
        assert!(matches!(err, GitError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn ssh_commands_get_a_connect_timeout_only_when_they_are_openssh() {
        let none = || None;
        assert_eq!(
            effective_ssh_command(Some("ssh -i k".into()), Some("/x".into()), none),
            Some("ssh -i k".into())
        );
        assert_eq!(
            effective_ssh_command(None, Some("/usr/bin/ssh".into()), none),
            Some("'/usr/bin/ssh'".into())
        );
        assert_eq!(
            effective_ssh_command(None, None, || Some("ssh -F c".into())),
            Some("ssh -F c".into())
        );
        assert_eq!(effective_ssh_command(None, None, none), Some("ssh".into()));
        assert!(is_openssh("ssh -i key"));
        assert!(is_openssh("'/usr/bin/ssh'"));
        assert!(!is_openssh("plink -batch"));
        assert!(!is_openssh("/opt/wrapper.sh ssh"));
    }

    #[test]
    fn describes_commands_without_credentials() {
        let text = describe(&[
            "-c",
            "protocol.version=2",
            "fetch",
            "https://user:secret@example.com/repo",
        ]);
        assert_eq!(text, "fetch https://example.com/repo");
    }
}
