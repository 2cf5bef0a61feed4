//! go-get discovery: `https://<path>?go-get=1` and its
//! `<meta name="go-import" content="prefix vcs repo [subdir]">` tags, ported
//! from `cmd/go/internal/vcs` (`repoRootForImportDynamic`,
//! `metaImportsForPrefix`, `matchGoImport`, `validateRepoRoot`,
//! `validateRepoSubDir`) and `discovery.go` (`parseMetaGoImports`, which
//! reads HTML with `encoding/xml` in non-strict mode; the tokenizer below
//! follows that decoder's rules for the constructs that matter).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::credentials::Credentials;
use crate::paths::has_path_prefix;

/// Upper bound for a discovery page; the tags are in `<head>`.
const MAX_PAGE_BYTES: usize = 4 << 20;

/// One `go-import` meta tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaImport {
    pub(crate) prefix: String,
    pub(crate) vcs: String,
    pub(crate) repo_root: String,
    pub(crate) subdir: String,
}

/// The repository a discovery page points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiscoveredRoot {
    pub(crate) root: String,
    pub(crate) vcs: String,
    pub(crate) repo: String,
    pub(crate) subdir: String,
}

/// Fetches and checks discovery pages.
pub(crate) struct Discovery {
    client: reqwest::Client,
    timeout: Duration,
    credentials: Arc<Credentials>,
}

impl Discovery {
    pub(crate) fn new(
        client: reqwest::Client,
        timeout: Duration,
        credentials: Arc<Credentials>,
    ) -> Discovery {
        Discovery {
            client,
            timeout,
            credentials,
        }
    }

    /// Go's `repoRootForImportDynamic` in module mode. `insecure` (the path
    /// matches the GOINSECURE-style patterns) allows plain HTTP after
    /// HTTPS fails.
    pub(crate) async fn discover(
        &self,
        import_path: &str,
        insecure: bool,
    ) -> Result<DiscoveredRoot, String> {
        let (shown, imports) = self.fetch_imports(import_path, insecure).await?;
        let chosen = match match_go_import(&imports, import_path) {
            Ok(chosen) => chosen.clone(),
            Err(MatchError::NoMatch(mismatches)) => {
                return Err(format!(
                    "parse {shown}: no go-import meta tags ({mismatches})"
                ))
            }
            Err(e @ MatchError::Multiple(_)) => return Err(format!("parse {shown}: {e}")),
        };
        // A page for uni.edu/bob/project claiming the prefix uni.edu must be
        // confirmed by uni.edu's own page.
        if chosen.prefix != import_path {
            let (prefix_shown, prefix_imports) =
                self.fetch_imports(&chosen.prefix, insecure).await?;
            if prefix_imports.is_empty() {
                return Err(format!(
                    "fetching {}: no go-import meta tag found in {prefix_shown}",
                    chosen.prefix
                ));
            }
            match match_go_import(&prefix_imports, import_path) {
                Ok(confirmed) if *confirmed == chosen => {}
                _ => {
                    return Err(format!(
                        "{shown} and {prefix_shown} disagree about go-import for {}",
                        chosen.prefix
                    ))
                }
            }
        }
        validate_repo_subdir(&chosen.subdir)
            .map_err(|e| format!("{shown}: invalid subdirectory {:?}: {e}", chosen.subdir))?;
        validate_repo_root(&chosen.repo_root)
            .map_err(|e| format!("{shown}: invalid repo root {:?}: {e}", chosen.repo_root))?;
        Ok(DiscoveredRoot {
            root: chosen.prefix,
            vcs: chosen.vcs,
            repo: chosen.repo_root,
            subdir: chosen.subdir,
        })
    }

    /// GETs the discovery page for `import_path` and parses it.
    async fn fetch_imports(
        &self,
        import_path: &str,
        insecure: bool,
    ) -> Result<(String, Vec<MetaImport>), String> {
        let (host, path) = match import_path.find('/') {
            Some(slash) => (&import_path[..slash], &import_path[slash..]),
            None => (import_path, "/"),
        };
        if !host.contains('.') {
            return Err("import path does not begin with hostname".into());
        }
        let secure = format!("https://{host}{path}?go-get=1");
        let (shown, status, body) = match self.get(&secure, true).await {
            Ok((status, body)) => (secure, status, body),
            Err(e) if !insecure => return Err(format!("https fetch: {e}")),
            Err(_) => {
                let plain = format!("http://{host}{path}?go-get=1");
                let (status, body) = self
                    .get(&plain, false)
                    .await
                    .map_err(|e| format!("http/https fetch: {e}"))?;
                (plain, status, body)
            }
        };
        let imports = parse_meta_go_imports(&body);
        // Any status is fine if the page has the tags (some serve them on
        // their 404 page).
        if imports.is_empty() && status != 200 {
            return Err(format!("reading {shown}: {status}"));
        }
        Ok((shown, imports))
    }

    async fn get(&self, url: &str, authenticate: bool) -> Result<(u16, Vec<u8>), String> {
        let url = Url::parse(url).map_err(|e| e.to_string())?;
        // Private GitLab and Gitea projects answer discovery only to an
        // authenticated client. Credentials go only over HTTPS, as with the
        // go command (`basic_auth` answers nothing for other schemes).
        let auth = if authenticate {
            self.credentials.basic_auth(&url)
        } else {
            None
        };
        let mut request = self
            .client
            .get(url)
            .timeout(self.timeout)
            .header("User-Agent", "GoCommand/1 (+https://go.dev/cmd/go)");
        if let Some((user, secret)) = auth {
            request = request.basic_auth(user, Some(secret));
        }
        let mut response = request.send().await.map_err(|e| error_chain(&e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
            let room = MAX_PAGE_BYTES.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        Ok((status, body))
    }
}

/// A request error with its causes, without credentials in any URL.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    modvault_error::redact_urls(&modvault_error::chain(e))
}

/// Why no tag applies to an import path.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MatchError {
    /// Go's `ImportMismatchError`: the tags that did not match.
    #[error("{0}")]
    NoMatch(String),
    #[error("multiple meta tags match import path {0:?}")]
    Multiple(String),
}

/// Go's `matchGoImport`: the one tag whose prefix is a path prefix of
/// `import_path` (a leading `mod` tag wins over non-`mod` ones).
pub(crate) fn match_go_import<'a>(
    imports: &'a [MetaImport],
    import_path: &str,
) -> Result<&'a MetaImport, MatchError> {
    let mut found: Option<&MetaImport> = None;
    let mut mismatches = Vec::new();
    for import in imports {
        if !has_path_prefix(import_path, &import.prefix) {
            mismatches.push(format!(
                "meta tag {} did not match import path {import_path}",
                import.prefix
            ));
            continue;
        }
        if let Some(first) = found {
            if first.vcs == "mod" && import.vcs != "mod" {
                break;
            }
            return Err(MatchError::Multiple(import_path.to_owned()));
        }
        found = Some(import);
    }
    found.ok_or_else(|| MatchError::NoMatch(mismatches.join(", ")))
}

/// Go's `validateRepoSubDir`.
fn validate_repo_subdir(subdir: &str) -> Result<(), &'static str> {
    match subdir.as_bytes().first() {
        Some(b'/') => Err("leading slash"),
        Some(b'-') => Err("leading hyphen"),
        _ => Ok(()),
    }
}

/// Go's `validateRepoRoot`: a URL with a scheme other than `file`.
fn validate_repo_root(repo_root: &str) -> Result<(), String> {
    if repo_root.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let scheme = url_scheme(repo_root)?;
    if scheme.is_empty() {
        return Err("no scheme".into());
    }
    if scheme.eq_ignore_ascii_case("file") {
        return Err("file scheme disallowed".into());
    }
    Ok(())
}

/// Go's `url.getScheme`: a letter, then letters, digits, `+`, `-` or `.`,
/// then `:`; anything else means there is no scheme.
fn url_scheme(raw: &str) -> Result<&str, String> {
    for (i, b) in raw.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok(&raw[..i]),
            _ => return Ok(""),
        }
    }
    Ok("")
}

// ---------------------------------------------------------------------
// parseMetaGoImports

/// Go's `parseMetaGoImports` in module mode: the `go-import` tags up to
/// `<body>` or `</head>`, `mod` tags first, and non-`mod` tags whose prefix
/// has a `mod` tag dropped. Parsing stops quietly at the first markup the
/// non-strict XML decoder would reject, keeping the tags before it.
pub(crate) fn parse_meta_go_imports(html: &[u8]) -> Vec<MetaImport> {
    let mut imports = Vec::new();
    let mut tokens = Tokenizer {
        input: html,
        pos: 0,
    };
    while let Some(token) = tokens.next_token() {
        match token {
            Token::Start { name, attrs } => {
                if name.eq_ignore_ascii_case("body") {
                    break;
                }
                if !name.eq_ignore_ascii_case("meta") || attr_value(&attrs, "name") != "go-import" {
                    continue;
                }
                let content = attr_value(&attrs, "content");
                let fields: Vec<&str> = content.split_whitespace().collect();
                if fields.len() == 3 || fields.len() == 4 {
                    imports.push(MetaImport {
                        prefix: fields[0].to_owned(),
                        vcs: fields[1].to_owned(),
                        repo_root: fields[2].to_owned(),
                        subdir: fields.get(3).copied().unwrap_or_default().to_owned(),
                    });
                }
            }
            Token::End { name } if name.eq_ignore_ascii_case("head") => break,
            Token::End { .. } | Token::Other => {}
        }
    }
    let mod_prefixes: Vec<String> = imports
        .iter()
        .filter(|m| m.vcs == "mod")
        .map(|m| m.prefix.clone())
        .collect();
    let (mut list, rest): (Vec<MetaImport>, Vec<MetaImport>) =
        imports.into_iter().partition(|m| m.vcs == "mod");
    list.extend(
        rest.into_iter()
            .filter(|m| !mod_prefixes.contains(&m.prefix)),
    );
    list
}

/// Go's `attrValue`: the first attribute whose local name matches,
/// ignoring case; `""` if none.
fn attr_value<'a>(attrs: &'a [(String, String)], name: &str) -> &'a str {
    attrs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or("", |(_, v)| v.as_str())
}

enum Token {
    /// Element and attribute names are local names (namespace prefix
    /// dropped).
    Start {
        name: String,
        attrs: Vec<(String, String)>,
    },
    End {
        name: String,
    },
    Other,
}

struct Tokenizer<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Tokenizer<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\r' | b'\n' | b'\t')) {
            self.pos += 1;
        }
    }

    fn find(&mut self, terminator: &[u8]) -> Option<()> {
        let rest = &self.input[self.pos..];
        let at = rest
            .windows(terminator.len())
            .position(|w| w == terminator)?;
        self.pos += at + terminator.len();
        Some(())
    }

    /// The next token; `None` at the end or at a syntax error.
    fn next_token(&mut self) -> Option<Token> {
        if self.peek()? != b'<' {
            // Character data: up to the next '<'. (encoding/xml would also
            // reject "]]>" and some control characters here; such pages do
            // not carry go-import tags in practice.)
            while self.peek().is_some_and(|b| b != b'<') {
                self.pos += 1;
            }
            return Some(Token::Other);
        }
        self.pos += 1;
        match self.bump()? {
            b'/' => {
                let name = self.name()?;
                self.skip_space();
                (self.bump()? == b'>').then_some(Token::End { name })
            }
            b'?' => {
                let target = self.name()?;
                let start = self.pos;
                self.find(b"?>")?;
                let content =
                    String::from_utf8_lossy(&self.input[start..self.pos - 2]).into_owned();
                if target == "xml" {
                    // Only UTF-8 (and ASCII, read as UTF-8) can be decoded.
                    let encoding = proc_inst_param("encoding", &content);
                    if !encoding.is_empty()
                        && !encoding.eq_ignore_ascii_case("utf-8")
                        && !encoding.eq_ignore_ascii_case("ascii")
                    {
                        return None;
                    }
                }
                Some(Token::Other)
            }
            b'!' => {
                if self.input[self.pos..].starts_with(b"--") {
                    self.pos += 2;
                    self.find(b"-->")?;
                } else if self.input[self.pos..].starts_with(b"[CDATA[") {
                    self.find(b"]]>")?;
                } else {
                    self.directive()?;
                }
                Some(Token::Other)
            }
            _ => {
                self.pos -= 1;
                self.start_element()
            }
        }
    }

    /// `<!DOCTYPE ...>` and friends: up to the matching '>', with quoted
    /// text and nested '<...>' skipped.
    fn directive(&mut self) -> Option<()> {
        let mut quote = 0u8;
        let mut depth = 0usize;
        loop {
            let b = self.bump()?;
            if quote != 0 {
                if b == quote {
                    quote = 0;
                }
                continue;
            }
            match b {
                b'\'' | b'"' => quote = b,
                b'>' if depth == 0 => return Some(()),
                b'>' => depth -= 1,
                b'<' if self.input[self.pos..].starts_with(b"!--") => {
                    self.find(b"-->")?;
                }
                b'<' => depth += 1,
                _ => {}
            }
        }
    }

    fn start_element(&mut self) -> Option<Token> {
        let name = self.name()?;
        let mut attrs = Vec::new();
        loop {
            self.skip_space();
            match self.peek()? {
                b'/' => {
                    self.pos += 1;
                    return (self.bump()? == b'>').then_some(Token::Start { name, attrs });
                }
                b'>' => {
                    self.pos += 1;
                    return Some(Token::Start { name, attrs });
                }
                _ => {}
            }
            let attr = self.name()?;
            self.skip_space();
            if self.peek()? != b'=' {
                // Non-strict: an attribute without a value has its name as
                // its value.
                attrs.push((attr.clone(), attr));
                continue;
            }
            self.pos += 1;
            self.skip_space();
            let value = match self.peek()? {
                quote @ (b'"' | b'\'') => {
                    self.pos += 1;
                    let start = self.pos;
                    while self.peek()? != quote {
                        self.pos += 1;
                    }
                    let raw = &self.input[start..self.pos];
                    self.pos += 1;
                    decode_entities(&String::from_utf8_lossy(raw))
                }
                _ => {
                    // Non-strict: an unquoted value of name-like characters.
                    let start = self.pos;
                    while self.peek().is_some_and(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-')
                    }) {
                        self.pos += 1;
                    }
                    String::from_utf8_lossy(&self.input[start..self.pos]).into_owned()
                }
            };
            attrs.push((attr, value));
        }
    }

    /// An XML name, reduced to its local part as `nsname` does.
    fn name(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(|b| {
            b >= 0x80 || b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-')
        }) {
            self.pos += 1;
        }
        let name = String::from_utf8_lossy(&self.input[start..self.pos]).into_owned();
        let first = name.chars().next()?;
        if !(first.is_alphabetic() || first == '_' || first == ':') {
            return None;
        }
        match name.matches(':').count() {
            0 => Some(name),
            1 => match name.split_once(':') {
                Some((space, local)) if !space.is_empty() && !local.is_empty() => {
                    Some(local.to_owned())
                }
                _ => Some(name),
            },
            _ => None,
        }
    }
}

/// Go's `procInst`: the value of `param="..."` in a processing instruction.
fn proc_inst_param(param: &str, content: &str) -> String {
    let needle = format!("{param}=");
    let Some(at) = content.find(&needle) else {
        return String::new();
    };
    let rest = &content[at + needle.len()..];
    let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return String::new();
    };
    rest[1..].split(quote).next().unwrap_or_default().to_owned()
}

/// XML's predefined and numeric character references; anything else is
/// kept as written (non-strict mode).
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "apos" => Some('\''),
                "quot" => Some('"'),
                _ => entity
                    .strip_prefix("#x")
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            }?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mi(prefix: &str, vcs: &str, repo: &str, subdir: &str) -> MetaImport {
        MetaImport {
            prefix: prefix.into(),
            vcs: vcs.into(),
            repo_root: repo.into(),
            subdir: subdir.into(),
        }
    }

    /// Go's discovery_test.go `parseMetaGoImportsTests` (the PreferMod
    /// expectations, which is the module-mode behavior), plus a few more.
    #[test]
    fn parses_meta_tags_like_go() {
        let cases: &[(&str, Vec<MetaImport>)] = &[
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">"#,
                vec![mi("foo/bar", "git", "https://github.com/rsc/foo/bar", "")],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">
		<meta name="go-import" content="baz/quux git http://github.com/rsc/baz/quux">"#,
                vec![
                    mi("foo/bar", "git", "https://github.com/rsc/foo/bar", ""),
                    mi("baz/quux", "git", "http://github.com/rsc/baz/quux", ""),
                ],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">
		<meta name="go-import" content="foo/bar mod http://github.com/rsc/baz/quux">"#,
                vec![mi("foo/bar", "mod", "http://github.com/rsc/baz/quux", "")],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">
		</head>
		<meta name="go-import" content="baz/quux git http://github.com/rsc/baz/quux">"#,
                vec![mi("foo/bar", "git", "https://github.com/rsc/foo/bar", "")],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">
		<body>"#,
                vec![mi("foo/bar", "git", "https://github.com/rsc/foo/bar", "")],
            ),
            (
                r#"<!doctype html><meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar">"#,
                vec![mi("foo/bar", "git", "https://github.com/rsc/foo/bar", "")],
            ),
            // XML doesn't like <div style=position:relative>.
            (
                r#"<!doctype html><title>Page Not Found</title><meta name=go-import content="chitin.io/chitin git https://github.com/chitin-io/chitin"><div style=position:relative>DRAFT</div>"#,
                vec![mi(
                    "chitin.io/chitin",
                    "git",
                    "https://github.com/chitin-io/chitin",
                    "",
                )],
            ),
            (
                r#"<meta name="go-import" content="myitcv.io git https://github.com/myitcv/x">
	        <meta name="go-import" content="myitcv.io/blah2 mod https://raw.githubusercontent.com/myitcv/pubx/master">
	        "#,
                vec![
                    mi(
                        "myitcv.io/blah2",
                        "mod",
                        "https://raw.githubusercontent.com/myitcv/pubx/master",
                        "",
                    ),
                    mi("myitcv.io", "git", "https://github.com/myitcv/x", ""),
                ],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar subdir">"#,
                vec![mi(
                    "foo/bar",
                    "git",
                    "https://github.com/rsc/foo/bar",
                    "subdir",
                )],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar subdir/path">"#,
                vec![mi(
                    "foo/bar",
                    "git",
                    "https://github.com/rsc/foo/bar",
                    "subdir/path",
                )],
            ),
            (
                r#"<meta name="go-import" content="foo/bar git https://github.com/rsc/foo/bar subdir extra">"#,
                vec![],
            ),
            (
                r#"<META NAME="go-import" Content="a.b/c git https://h/c">"#,
                vec![mi("a.b/c", "git", "https://h/c", "")],
            ),
            (
                r#"<meta name="GO-IMPORT" content="a.b/c git https://h/c">"#,
                vec![],
            ),
            (
                r#"<?xml version="1.0" encoding="latin1"?><meta name="go-import" content="a.b/c git https://h/c">"#,
                vec![],
            ),
            (
                r#"<!-- <meta name="go-import" content="x.y/z git https://h/z"> --><meta name="go-import" content="a.b/c git https://h/c?x=1&amp;y=2">"#,
                vec![mi("a.b/c", "git", "https://h/c?x=1&y=2", "")],
            ),
        ];
        for (html, want) in cases {
            assert_eq!(&parse_meta_go_imports(html.as_bytes()), want, "{html}");
        }
    }

    /// Go's vcs_test.go `TestMatchGoImport`.
    #[test]
    fn matches_imports_like_go() {
        let ok = |imports: &[MetaImport], path: &str, want: &MetaImport| {
            assert_eq!(match_go_import(imports, path).unwrap(), want, "{path}");
        };
        let err = |imports: &[MetaImport], path: &str| {
            assert!(match_go_import(imports, path).is_err(), "{path}")
        };
        let a = mi(
            "example.com/user/foo",
            "git",
            "https://example.com/repo/target",
            "",
        );
        ok(std::slice::from_ref(&a), "example.com/user/foo", &a);
        ok(std::slice::from_ref(&a), "example.com/user/foo/", &a);
        let both = [
            a.clone(),
            mi(
                "example.com/user/fooa",
                "git",
                "https://example.com/repo/target",
                "",
            ),
        ];
        ok(&both, "example.com/user/foo", &a);
        ok(&both, "example.com/user/fooa", &both[1]);
        let nested = [
            a.clone(),
            mi(
                "example.com/user/foo/bar",
                "git",
                "https://example.com/repo/target",
                "",
            ),
        ];
        err(&nested, "example.com/user/foo/bar");
        ok(&nested, "example.com/user/foo/baz", &a);
        err(std::slice::from_ref(&a), "example.com");
        err(std::slice::from_ref(&a), "different.example.com/user/foo");
        err(&nested, "example.com/user/foo/bar/baz");
        let modded = [
            mi(
                "myitcv.io/blah2",
                "mod",
                "https://raw.githubusercontent.com/myitcv/pubx/master",
                "",
            ),
            mi("myitcv.io", "git", "https://github.com/myitcv/x", ""),
        ];
        ok(&modded, "myitcv.io/blah2/foo", &modded[0]);
        ok(&modded, "myitcv.io/other", &modded[1]);
        let sub = [mi(
            "example.com/user/foo",
            "git",
            "https://example.com/repo/target",
            "foo/subdir",
        )];
        ok(&sub, "example.com/user/foo", &sub[0]);
    }

    #[test]
    fn validates_roots_and_subdirs() {
        assert!(validate_repo_root("https://github.com/a/b").is_ok());
        assert!(validate_repo_root("ssh://git@host/x").is_ok());
        assert_eq!(
            validate_repo_root("github.com/a/b").unwrap_err(),
            "no scheme"
        );
        assert!(validate_repo_root("file:///tmp/x").is_err());
        assert!(validate_repo_subdir("sub/dir").is_ok());
        assert!(validate_repo_subdir("/sub").is_err());
        assert!(validate_repo_subdir("-sub").is_err());
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(decode_entities("a&lt;b&#62;&#x26;&nbsp;&"), "a<b>&&nbsp;&");
    }
}
