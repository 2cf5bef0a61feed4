//! From a module path to a repository without asking the network: the
//! static table of the go command's `vcsPaths` (`cmd/go/internal/vcs`,
//! `repoRootFromVCSPaths`) for github.com, bitbucket.org, hub.jazz.net,
//! git.apache.org, git.openstack.org and chiselapp.com, and the general
//! VCS-qualified form `example.com/repo.git/sub`.
//!
//! Go matches these with regular expressions; the matchers below implement
//! the same languages (and the same leftmost-first captures) by hand.

/// What a static rule says about a module path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StaticRoot {
    /// The import path of the repository root (`github.com/user/repo`,
    /// `example.com/repo.git`).
    pub(crate) root: String,
    /// `git`, `hg`, `svn` or `fossil`.
    pub(crate) vcs: String,
    pub(crate) repo: RepoLocation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RepoLocation {
    /// A URL with its scheme.
    Url(String),
    /// `host/path` whose scheme must be found by trying them
    /// (VCS-qualified paths).
    Schemeless(String),
}

/// Go's `repoRootFromVCSPaths`: `Ok(None)` means no rule applies and
/// go-get discovery is needed (`errUnknownSite`); `Err` is a path a rule
/// claims but rejects.
pub(crate) fn from_vcs_paths(import_path: &str) -> Result<Option<StaticRoot>, String> {
    // Special cases the go command keeps for its own tests; kept so that
    // answers agree with it.
    if has_path_prefix(import_path, "example.net") {
        return Err("no modules on example.net".into());
    }
    if import_path == "rsc.io" {
        return Err("rsc.io is not a module".into());
    }
    for prefix in ["http:", "https:"] {
        if import_path.starts_with(prefix) {
            return Err(format!(
                "{:?} not allowed in import path",
                format!("{prefix}//")
            ));
        }
    }

    type Matcher = fn(&str) -> Option<usize>;
    let hosted: [(&str, Matcher, &str, bool); 6] = [
        ("github.com", match_user_repo, "git", true),
        ("bitbucket.org", match_user_repo, "git", true),
        ("hub.jazz.net/git", match_jazz, "git", true),
        ("git.apache.org", match_apache, "git", false),
        ("git.openstack.org", match_user_repo, "git", false),
        ("chiselapp.com", match_chisel, "fossil", false),
    ];
    for (prefix, matcher, vcs, no_vcs_suffix) in hosted {
        if !has_path_prefix(import_path, prefix) {
            continue;
        }
        let Some(root_len) = matcher(&import_path[prefix.len()..]) else {
            return Err(format!("invalid {prefix} import path {import_path:?}"));
        };
        let root = &import_path[..prefix.len() + root_len];
        let repo = format!("https://{root}");
        // Go's noVCSSuffix: the usual mistake is a ".git" on the repo name.
        if no_vcs_suffix
            && ["hg", "git", "svn", "fossil"]
                .iter()
                .any(|v| repo.ends_with(&format!(".{v}")))
        {
            return Err(format!("invalid version control suffix in {prefix}/ path"));
        }
        return Ok(Some(StaticRoot {
            root: root.to_owned(),
            vcs: vcs.to_owned(),
            repo: RepoLocation::Url(repo),
        }));
    }
    Ok(
        match_vcs_qualified(import_path).map(|(start, root_end, vcs)| {
            let root = &import_path[start..root_end];
            let repo = &root[..root.len() - vcs.len() - 1];
            StaticRoot {
                root: root.to_owned(),
                vcs: vcs.to_owned(),
                repo: RepoLocation::Schemeless(repo.to_owned()),
            }
        }),
    )
}

/// `[\w.\-]+`: Go's `\w` is ASCII `[0-9A-Za-z_]`.
fn is_element(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// `(/[\w.\-]+)*$` after a root.
fn all_elements(rest: &str) -> bool {
    rest.is_empty()
        || rest
            .strip_prefix('/')
            .is_some_and(|r| r.split('/').all(is_element))
}

/// `/<user>/<repo>(/[\w.\-]+)*$` after the host (github.com, bitbucket.org,
/// git.openstack.org, whose optional `.git` the greedy repo element
/// absorbs): the length of the root part.
fn match_user_repo(rest: &str) -> Option<usize> {
    let tail = rest.strip_prefix('/')?;
    let mut parts = tail.splitn(3, '/');
    let (user, repo) = (parts.next()?, parts.next()?);
    if !is_element(user) || !is_element(repo) {
        return None;
    }
    let root_len = 1 + user.len() + 1 + repo.len();
    all_elements(&rest[root_len..]).then_some(root_len)
}

/// `hub.jazz.net/git` + `/[a-z0-9]+/[\w.\-]+(/[\w.\-]+)*$`.
fn match_jazz(rest: &str) -> Option<usize> {
    let root_len = match_user_repo(rest)?;
    let user = rest[1..].split('/').next()?;
    user.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        .then_some(root_len)
}

/// `git.apache.org` + `/[a-z0-9_.\-]+\.git(/[\w.\-]+)*$`.
fn match_apache(rest: &str) -> Option<usize> {
    let tail = rest.strip_prefix('/')?;
    let name = tail.split('/').next()?;
    let stem = name.strip_suffix(".git")?;
    let ok = !stem.is_empty()
        && stem.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    let root_len = 1 + name.len();
    (ok && all_elements(&rest[root_len..])).then_some(root_len)
}

/// `chiselapp.com` + `/user/[A-Za-z0-9]+/repository/[\w.\-]+$`.
fn match_chisel(rest: &str) -> Option<usize> {
    let parts: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
    let [user_kw, user, repo_kw, repo] = parts.as_slice() else {
        return None;
    };
    let ok = *user_kw == "user"
        && !user.is_empty()
        && user.bytes().all(|b| b.is_ascii_alphanumeric())
        && *repo_kw == "repository"
        && is_element(repo);
    ok.then_some(rest.len())
}

/// The general rule, Go's unanchored
/// `(?P<root>(?P<repo>([a-z0-9.\-]+\.)+[a-z0-9.\-]+(:[0-9]+)?(/~?[\w.\-]+)+?)\.(?P<vcs>fossil|git|hg|svn))(/~?[\w.\-]+)*$`:
/// returns (start of the match, end of the root, vcs). Leftmost start
/// wins; from a start, the host is the longest run of host characters, and
/// the lazy path part stops at the first element ending in `.<vcs>`.
fn match_vcs_qualified(path: &str) -> Option<(usize, usize, &'static str)> {
    let bytes = path.as_bytes();
    let is_host_byte =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    for start in 0..bytes.len() {
        if !is_host_byte(bytes[start]) {
            continue;
        }
        let host_end = (start..bytes.len())
            .find(|&i| !is_host_byte(bytes[i]))
            .unwrap_or(bytes.len());
        let host = &path[start..host_end];
        // ([a-z0-9.\-]+\.)+[a-z0-9.\-]+ : a dot with something before and after.
        if !host
            .char_indices()
            .any(|(i, c)| c == '.' && i > 0 && i + 1 < host.len())
        {
            continue;
        }
        let mut pos = host_end;
        if bytes.get(pos) == Some(&b':') {
            let digits = bytes[pos + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == 0 {
                continue;
            }
            pos += 1 + digits;
        }
        if let Some(found) = match_qualified_elements(path, pos) {
            return Some((start, found.0, found.1));
        }
    }
    None
}

/// `(/~?[\w.\-]+)+?\.(vcs)(/~?[\w.\-]+)*$` from `pos`: the end of the root
/// and the vcs.
fn match_qualified_elements(path: &str, pos: usize) -> Option<(usize, &'static str)> {
    let rest = path.get(pos..)?.strip_prefix('/')?;
    let elements: Vec<&str> = rest.split('/').collect();
    let element_ok = |e: &str| is_element(e.strip_prefix('~').unwrap_or(e));
    if !elements.iter().all(|e| element_ok(e)) {
        return None;
    }
    let mut end = pos;
    for element in &elements {
        end += 1 + element.len();
        let name = element.strip_prefix('~').unwrap_or(element);
        for vcs in ["fossil", "git", "hg", "svn"] {
            if let Some(stem) = name.strip_suffix(vcs).and_then(|s| s.strip_suffix('.')) {
                if !stem.is_empty() {
                    return Some((end, vcs));
                }
            }
        }
    }
    None
}

fn has_path_prefix(s: &str, prefix: &str) -> bool {
    crate::paths::has_path_prefix(s, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(root: &str, vcs: &str, repo: &str) -> Option<StaticRoot> {
        Some(StaticRoot {
            root: root.into(),
            vcs: vcs.into(),
            repo: RepoLocation::Url(repo.into()),
        })
    }

    fn schemeless(root: &str, vcs: &str, repo: &str) -> Option<StaticRoot> {
        Some(StaticRoot {
            root: root.into(),
            vcs: vcs.into(),
            repo: RepoLocation::Schemeless(repo.into()),
        })
    }

    /// Cases from Go's vcs_test.go `TestRepoRootForImportPath` that need no
    /// network, plus the error forms.
    #[test]
    fn static_rules() {
        assert_eq!(
            from_vcs_paths("github.com/golang/groupcache"),
            Ok(url(
                "github.com/golang/groupcache",
                "git",
                "https://github.com/golang/groupcache"
            ))
        );
        assert_eq!(
            from_vcs_paths("github.com/golang/groupcache/lru/v2"),
            Ok(url(
                "github.com/golang/groupcache",
                "git",
                "https://github.com/golang/groupcache"
            ))
        );
        assert_eq!(
            from_vcs_paths("github.com/Azure/go-autorest"),
            Ok(url(
                "github.com/Azure/go-autorest",
                "git",
                "https://github.com/Azure/go-autorest"
            ))
        );
        assert!(from_vcs_paths("github.com/user/unicode/испытание")
            .unwrap_err()
            .starts_with("invalid github.com import path"));
        assert!(from_vcs_paths("github.com")
            .unwrap_err()
            .starts_with("invalid github.com import path"));
        assert!(from_vcs_paths("github.com/user")
            .unwrap_err()
            .starts_with("invalid github.com import path"));
        assert_eq!(
            from_vcs_paths("github.com/user/repo.git"),
            Err("invalid version control suffix in github.com/ path".into())
        );
        assert_eq!(
            from_vcs_paths("github.com/user/repo.git/sub"),
            Err("invalid version control suffix in github.com/ path".into())
        );
        assert_eq!(
            from_vcs_paths("bitbucket.org/user/repo/sub"),
            Ok(url(
                "bitbucket.org/user/repo",
                "git",
                "https://bitbucket.org/user/repo"
            ))
        );
        assert_eq!(
            from_vcs_paths("hub.jazz.net/git/user1/pkgname"),
            Ok(url(
                "hub.jazz.net/git/user1/pkgname",
                "git",
                "https://hub.jazz.net/git/user1/pkgname"
            ))
        );
        assert_eq!(
            from_vcs_paths("hub.jazz.net/git/user1/pkgname/submodule/submodule/submodule"),
            Ok(url(
                "hub.jazz.net/git/user1/pkgname",
                "git",
                "https://hub.jazz.net/git/user1/pkgname"
            ))
        );
        // Not under the hub.jazz.net/git prefix: left to discovery.
        assert_eq!(from_vcs_paths("hub.jazz.net"), Ok(None));
        assert!(from_vcs_paths("hub.jazz.net/git/User 1/pkgname").is_err());
        assert!(from_vcs_paths("hub.jazz.net/git/USER/pkgname").is_err());
        assert!(from_vcs_paths("hub.jazz.net/git/user/pkg.name").is_ok());
        assert_eq!(from_vcs_paths("hub.jazz.net/someotherprefix"), Ok(None));
        assert_eq!(
            from_vcs_paths("git.openstack.org/openstack/swift"),
            Ok(url(
                "git.openstack.org/openstack/swift",
                "git",
                "https://git.openstack.org/openstack/swift"
            ))
        );
        assert_eq!(
            from_vcs_paths("git.openstack.org/openstack/swift.git"),
            Ok(url(
                "git.openstack.org/openstack/swift.git",
                "git",
                "https://git.openstack.org/openstack/swift.git"
            ))
        );
        assert_eq!(
            from_vcs_paths("git.openstack.org/openstack/swift/go/hummingbird"),
            Ok(url(
                "git.openstack.org/openstack/swift",
                "git",
                "https://git.openstack.org/openstack/swift"
            ))
        );
        assert!(from_vcs_paths("git.openstack.org").is_err());
        assert!(from_vcs_paths("git.openstack.org/openstack").is_err());
        assert_eq!(
            from_vcs_paths("git.apache.org/package-name.git"),
            Ok(url(
                "git.apache.org/package-name.git",
                "git",
                "https://git.apache.org/package-name.git"
            ))
        );
        assert_eq!(
            from_vcs_paths("git.apache.org/package-name_2.x.git/path/to/lib"),
            Ok(url(
                "git.apache.org/package-name_2.x.git",
                "git",
                "https://git.apache.org/package-name_2.x.git"
            ))
        );
        assert!(from_vcs_paths("git.apache.org/package-name").is_err());
        assert_eq!(
            from_vcs_paths("chiselapp.com/user/kyle/repository/fossilgg"),
            Ok(url(
                "chiselapp.com/user/kyle/repository/fossilgg",
                "fossil",
                "https://chiselapp.com/user/kyle/repository/fossilgg"
            ))
        );
        assert!(from_vcs_paths("chiselapp.com/user/kyle/repository/fossilgg/sub").is_err());
        assert!(from_vcs_paths("example.net/x").is_err());
        assert!(from_vcs_paths("rsc.io").is_err());
        assert_eq!(from_vcs_paths("rsc.io/quote"), Ok(None));
        assert_eq!(from_vcs_paths("golang.org/x/mod"), Ok(None));
    }

    #[test]
    fn vcs_qualified_paths() {
        assert_eq!(
            from_vcs_paths("example.com/repo.git"),
            Ok(schemeless(
                "example.com/repo.git",
                "git",
                "example.com/repo"
            ))
        );
        assert_eq!(
            from_vcs_paths("example.com/repo.git/sub/v2"),
            Ok(schemeless(
                "example.com/repo.git",
                "git",
                "example.com/repo"
            ))
        );
        assert_eq!(
            from_vcs_paths("example.com:8080/a/b.git/c"),
            Ok(schemeless(
                "example.com:8080/a/b.git",
                "git",
                "example.com:8080/a/b"
            ))
        );
        assert_eq!(
            from_vcs_paths("example.com/~user/r.hg"),
            Ok(schemeless(
                "example.com/~user/r.hg",
                "hg",
                "example.com/~user/r"
            ))
        );
        assert_eq!(
            from_vcs_paths("example.com/a.git/b.git"),
            Ok(schemeless("example.com/a.git", "git", "example.com/a"))
        );
        assert_eq!(
            from_vcs_paths("example.com/a.git.git"),
            Ok(schemeless(
                "example.com/a.git.git",
                "git",
                "example.com/a.git"
            ))
        );
        assert_eq!(from_vcs_paths("example.com/.git"), Ok(None));
        assert_eq!(from_vcs_paths("example.com/repo.gitx"), Ok(None));
        assert_eq!(from_vcs_paths("example.com/r.svn/x~y"), Ok(None));
        // Unanchored: a later start can match when an earlier one cannot.
        assert_eq!(
            from_vcs_paths("example.com/a~b/c.d/repo.git"),
            Ok(schemeless("c.d/repo.git", "git", "c.d/repo"))
        );
    }
}
