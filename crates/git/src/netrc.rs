//! `~/.netrc` credentials for go-get discovery requests, as the go
//! command's default `GOAUTH=netrc` sends them (git reads the same file
//! itself for its own HTTPS requests).

use std::path::PathBuf;

/// One complete `machine`/`login`/`password` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetrcEntry {
    pub(crate) machine: String,
    pub(crate) login: String,
    pub(crate) password: String,
}

/// Go's `parseNetrc` (cmd/go/internal/auth/netrc.go), quirks included:
/// only complete triples count, `macdef` bodies are skipped, and a
/// `default` token ends parsing only when it is the last field of a line.
pub(crate) fn parse_netrc(data: &str) -> Vec<NetrcEntry> {
    let mut entries = Vec::new();
    let (mut machine, mut login, mut password) = (String::new(), String::new(), String::new());
    let mut in_macro = false;
    for line in data.split('\n') {
        if in_macro {
            if line.is_empty() {
                in_macro = false;
            }
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let mut i = 0;
        while i + 1 < fields.len() {
            match fields[i] {
                "machine" => {
                    machine = fields[i + 1].to_owned();
                    login.clear();
                    password.clear();
                }
                "login" => login = fields[i + 1].to_owned(),
                "password" => password = fields[i + 1].to_owned(),
                "macdef" => in_macro = true,
                _ => {}
            }
            if !machine.is_empty() && !login.is_empty() && !password.is_empty() {
                entries.push(NetrcEntry {
                    machine: std::mem::take(&mut machine),
                    login: std::mem::take(&mut login),
                    password: std::mem::take(&mut password),
                });
            }
            i += 2;
        }
        if fields.get(i) == Some(&"default") {
            break;
        }
    }
    entries
}

/// Go's `netrcPath`: `$NETRC`, else `~/.netrc`.
fn netrc_path() -> Option<PathBuf> {
    match std::env::var_os("NETRC") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".netrc")),
    }
}

/// The user's netrc entries; none if there is no readable file.
pub(crate) fn load() -> Vec<NetrcEntry> {
    netrc_path()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map(|data| parse_netrc(&data))
        .unwrap_or_default()
}

/// The credentials for `host` (with `:port` if the URL has one); the last
/// entry wins, as Go stores them in a map keyed by machine.
pub(crate) fn lookup<'a>(entries: &'a [NetrcEntry], host: &str) -> Option<&'a NetrcEntry> {
    entries.iter().rev().find(|e| e.machine == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go() {
        // Go's netrc_test.go.
        let data = "
machine incomplete
password none

machine api.github.com
  login user
  password pwd

machine incomlete.host
  login justlogin

machine test.host
login user2
password pwd2

machine oneline login user3 password pwd3

machine ignore.host macdef ignore
  login nobody
  password nothing

machine hasmacro.too macdef ignore-next-lines login user4 password pwd4
  login nobody
  password nothing

default
login anonymous
password gopher@golang.org

machine after.default
login oops
password too-late-in-file
";
        let got: Vec<(String, String, String)> = parse_netrc(data)
            .into_iter()
            .map(|e| (e.machine, e.login, e.password))
            .collect();
        let want = [
            ("api.github.com", "user", "pwd"),
            ("test.host", "user2", "pwd2"),
            ("oneline", "user3", "pwd3"),
            ("hasmacro.too", "user4", "pwd4"),
        ];
        assert_eq!(
            got,
            want.map(|(m, l, p)| (m.to_owned(), l.to_owned(), p.to_owned()))
        );
    }

    #[test]
    fn lookup_prefers_the_last_entry() {
        let entries = parse_netrc("machine h login a password 1\nmachine h login b password 2\n");
        assert_eq!(lookup(&entries, "h").map(|e| e.login.as_str()), Some("b"));
        assert!(lookup(&entries, "other").is_none());
    }
}
