//! Credentials modvault holds itself (`[[git_credential]]`), handed to git
//! and used for go-get discovery, and the user's `~/.netrc` for discovery.
//!
//! **How git gets them.** Each network git command (`fetch`, `ls-remote`)
//! gets, on its command line, a credential helper scoped to the hosts that
//! have entries:
//!
//! ```text
//! -c credential.https://host.helper=            (the user's helpers are not asked for this host)
//! -c credential.https://host.helper=!f() { … }; f
//! -c credential.https://host.useHttpPath=true    (so the helper sees the path)
//! ```
//!
//! The helper is a shell function that picks the entry whose URL prefix
//! matches what git asks for (longest first, whole path segments, https
//! only) and prints `username=` and the first line of the secret file,
//! read with the shell's own `read` and printed with its own `printf`, so
//! the secret is never in any process's arguments or environment, and never
//! in modvault's memory for git's sake. The command line holds only URL
//! prefixes, user names and file paths. Reading the file at each use makes
//! token rotation free: replace the file, and the next git command uses the
//! new token. Git matches the helper against the URL it actually connects
//! to, after `url.<base>.insteadOf` and redirects, so a credential never
//! goes to a host it was not configured for.
//!
//! Why not a `modvault git-credential` subcommand: the library has no
//! binary of its own (tests and other embedders run it too), and the shell
//! helper needs no second copy of the secret's location logic at run time.

use std::path::PathBuf;

use crate::netrc::{self, NetrcEntry};

/// One `[[git_credential]]` entry, validated by the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitCredential {
    /// `https://host[:port]` or `https://host[:port]/path` without a trailing
    /// slash; matches that URL and everything below it (whole segments).
    pub url_prefix: String,
    pub username: String,
    /// The password or access token: the file's first line. Read at each
    /// use, never cached.
    pub secret_file: PathBuf,
}

/// What discovery requests and repository probes authenticate with.
pub(crate) struct Credentials {
    /// Longest prefix first.
    entries: Vec<GitCredential>,
    netrc: Vec<NetrcEntry>,
}

impl Credentials {
    pub(crate) fn new(entries: &[GitCredential]) -> Credentials {
        let mut entries: Vec<GitCredential> = entries
            .iter()
            .map(|e| GitCredential {
                url_prefix: e.url_prefix.trim_end_matches('/').to_owned(),
                ..e.clone()
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.url_prefix.len()));
        Credentials {
            entries,
            netrc: netrc::load(),
        }
    }

    /// The user name and secret for an https URL: a configured entry
    /// first, then `~/.netrc` (or `$NETRC`) by host, as the go command's
    /// `GOAUTH=netrc`. Nothing for other schemes.
    pub(crate) fn basic_auth(&self, url: &reqwest::Url) -> Option<(String, String)> {
        if url.scheme() != "https" {
            return None;
        }
        let host = url.host_str()?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let target = format!("https://{authority}{}", url.path());
        if let Some(entry) = self
            .entries
            .iter()
            .find(|e| prefix_matches(&e.url_prefix, &target))
        {
            match read_secret(&entry.secret_file) {
                Ok(secret) => return Some((entry.username.clone(), secret)),
                Err(e) => {
                    // The path, never the contents.
                    tracing::warn!(file = %entry.secret_file.display(), error = %e, "cannot read git credential file");
                    return None;
                }
            }
        }
        netrc::lookup(&self.netrc, &authority).map(|e| (e.login.clone(), e.password.clone()))
    }

    /// `-c` settings that hand the configured entries to one git command.
    pub(crate) fn git_args(&self) -> Vec<String> {
        let mut origins: Vec<&str> = self.entries.iter().map(|e| origin(&e.url_prefix)).collect();
        origins.sort_unstable();
        origins.dedup();
        let mut args = Vec::new();
        for origin in origins {
            let script = helper_script(
                self.entries
                    .iter()
                    .filter(|e| self::origin(&e.url_prefix) == origin),
            );
            for setting in [
                format!("credential.{origin}.helper="),
                format!("credential.{origin}.helper={script}"),
                format!("credential.{origin}.useHttpPath=true"),
            ] {
                args.push("-c".to_owned());
                args.push(setting);
            }
        }
        args
    }
}

/// `https://host[:port]` of a prefix.
fn origin(prefix: &str) -> &str {
    let after_scheme = prefix.find("://").map_or(0, |i| i + 3);
    match prefix[after_scheme..].find('/') {
        Some(slash) => &prefix[..after_scheme + slash],
        None => prefix,
    }
}

/// `url` is `prefix` or below it, at a path-segment boundary.
fn prefix_matches(prefix: &str, url: &str) -> bool {
    url.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The first line of a secret file.
pub(crate) fn read_secret(path: &std::path::Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.split('\n').next().unwrap_or_default().to_owned())
}

/// A git credential helper (`!`-form, run by `sh`) answering `get` for the
/// given entries, longest prefix first. Every value is single-quoted, so
/// in a `case` pattern it is a literal string, never a glob or code.
fn helper_script<'a>(entries: impl Iterator<Item = &'a GitCredential>) -> String {
    let mut arms = String::new();
    for entry in entries {
        let prefix = shell_quote(&entry.url_prefix);
        let below = shell_quote(&format!("{}/", entry.url_prefix));
        arms.push_str(&format!(
            "{prefix}|{below}*) u={}; s={};; ",
            shell_quote(&entry.username),
            shell_quote(&entry.secret_file.to_string_lossy())
        ));
    }
    // git sends protocol=, host= (with :port) and, with useHttpPath, path=
    // (without the leading slash), then a blank line or end of input.
    format!(
        "!f() {{ test \"$1\" = get || exit 0; p=; h=; q=; \
         while IFS= read -r l; do case \"$l\" in protocol=*) p=${{l#protocol=}};; host=*) h=${{l#host=}};; path=*) q=${{l#path=}};; esac; done; \
         test \"$p\" = https || exit 0; \
         case \"$p://$h/$q\" in {arms}*) exit 0;; esac; \
         x=; IFS= read -r x < \"$s\" || test -n \"$x\" || exit 0; \
         printf 'username=%s\\npassword=%s\\n' \"$u\" \"$x\"; }}; f"
    )
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn entry(prefix: &str, user: &str, file: &std::path::Path) -> GitCredential {
        GitCredential {
            url_prefix: prefix.into(),
            username: user.into(),
            secret_file: file.to_owned(),
        }
    }

    /// Runs the helper as git would and returns what it printed.
    fn ask(credentials: &Credentials, origin_arg: &str, request: &str) -> String {
        let args = credentials.git_args();
        let helper = args
            .iter()
            .filter_map(|a| a.strip_prefix(&format!("credential.{origin_arg}.helper=!")))
            .next()
            .expect("a helper for the origin");
        let mut child = Command::new("sh")
            .args(["-c", &format!("{helper} \"$@\""), "helper", "get"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn the_helper_picks_the_longest_prefix_and_reads_the_file_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let (group, host) = (dir.path().join("group"), dir.path().join("it's host"));
        std::fs::write(&group, "group-token\nignored second line\n").unwrap();
        std::fs::write(&host, "host $(secret) `x` 'q'").unwrap();
        let credentials = Credentials::new(&[
            entry("https://git.example:8443", "o'neil", &host),
            entry("https://git.example:8443/group/", "grouper", &group),
        ]);
        let origin = "https://git.example:8443";
        assert_eq!(
            ask(
                &credentials,
                origin,
                "protocol=https\nhost=git.example:8443\npath=group/proj.git\n\n"
            ),
            "username=grouper\npassword=group-token\n"
        );
        assert_eq!(
            ask(
                &credentials,
                origin,
                "protocol=https\nhost=git.example:8443\npath=groupie/proj.git\n"
            ),
            "username=o'neil\npassword=host $(secret) `x` 'q'\n"
        );
        // Rotation: the next question reads the new contents.
        std::fs::write(&group, "rotated\n").unwrap();
        assert_eq!(
            ask(
                &credentials,
                origin,
                "protocol=https\nhost=git.example:8443\npath=group\n"
            ),
            "username=grouper\npassword=rotated\n"
        );
        // Never over plain http, never for another host.
        assert_eq!(
            ask(
                &credentials,
                origin,
                "protocol=http\nhost=git.example:8443\npath=group/x\n"
            ),
            ""
        );
        assert_eq!(
            ask(
                &credentials,
                origin,
                "protocol=https\nhost=other.example\npath=group/x\n"
            ),
            ""
        );
        // The command line names files, never secrets.
        let args = credentials.git_args().join(" ");
        assert!(
            !args.contains("group-token") && args.contains("useHttpPath=true"),
            "{args}"
        );
    }

    #[test]
    fn discovery_uses_configured_entries_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "tok\n").unwrap();
        let credentials = Credentials::new(&[entry("https://git.example/corp", "ci", &file)]);
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert_eq!(
            credentials.basic_auth(&url("https://git.example/corp/lib?go-get=1")),
            Some(("ci".into(), "tok".into()))
        );
        assert_eq!(
            credentials.basic_auth(&url("https://git.example/corporate/lib")),
            None
        );
        assert_eq!(
            credentials.basic_auth(&url("http://git.example/corp/lib")),
            None
        );
    }

    #[test]
    fn origins_and_prefixes() {
        assert_eq!(origin("https://h:1/a/b"), "https://h:1");
        assert_eq!(origin("https://h"), "https://h");
        assert!(prefix_matches("https://h/a", "https://h/a/b"));
        assert!(prefix_matches("https://h/a", "https://h/a"));
        assert!(!prefix_matches("https://h/a", "https://h/ab"));
    }
}
