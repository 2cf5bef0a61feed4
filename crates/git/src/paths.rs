//! Slash-separated path helpers with Go's semantics (`str.HasPathPrefix`,
//! `path.Join`, `path.Clean`).

/// Go's `hasPathPrefix` (coderepo.go) / `str.HasPathPrefix`: `s` is
/// `prefix` or starts with `prefix` followed by a slash.
pub(crate) fn has_path_prefix(s: &str, prefix: &str) -> bool {
    if s.len() == prefix.len() {
        return s == prefix;
    }
    if s.len() < prefix.len() {
        return false;
    }
    if prefix.ends_with('/') {
        return s.starts_with(prefix);
    }
    s.as_bytes()[prefix.len()] == b'/' && s.starts_with(prefix)
}

/// Go's `path.Join`: joins the non-empty elements with slashes and cleans
/// the result; `""` if all are empty.
pub(crate) fn join(elements: &[&str]) -> String {
    let joined = elements
        .iter()
        .filter(|e| !e.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        String::new()
    } else {
        clean(&joined)
    }
}

/// Go's `path.Clean`.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefixes() {
        assert!(has_path_prefix("github.com/a/b", "github.com/a/b"));
        assert!(has_path_prefix("github.com/a/b/c", "github.com/a/b"));
        assert!(!has_path_prefix("github.com/a/bc", "github.com/a/b"));
        // As in Go, an empty prefix is not a path prefix of a longer path.
        assert!(!has_path_prefix("github.com/a/b", ""));
        assert!(!has_path_prefix("x", "xy"));
    }

    #[test]
    fn joins_like_go() {
        assert_eq!(join(&["", "go.mod"]), "go.mod");
        assert_eq!(join(&["sub", "go.mod"]), "sub/go.mod");
        assert_eq!(join(&["sub", "v2"]), "sub/v2");
        assert_eq!(join(&["a/b", "../c"]), "a/c");
        assert_eq!(join(&["", ""]), "");
        assert_eq!(clean("a//b/./c/"), "a/b/c");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean("/../a"), "/a");
    }
}
