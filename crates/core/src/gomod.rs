//! Just enough of go.mod parsing for a proxy: the module path, the `go`
//! version and the `retract` directives, as `modfile.ParseLax` (the parser
//! the go command uses for dependencies' go.mod files and for module zips)
//! sees them.
//!
//! The lexer and parser port `golang.org/x/mod/modfile/read.go`, including
//! how comments attach to lines (a retraction's rationale is its comment);
//! the directive handling ports `parseToFile` and `(*File).add` from
//! rule.go in lax mode with a nil version fixer. Go's `ParseLax` fails on
//! some inputs; [`parse_lax`] never fails but reports those failures in
//! [`GoModSummary::errors`].

use crate::gounicode::{decode_rune, is_print, is_space};
use crate::gover;
use crate::path::{canonical_version, check_path_major, split_path_version};
use crate::quote::{quote, quote_rune, unquote};
use crate::semver;

/// What a proxy needs to know about a go.mod file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoModSummary {
    /// The `module` directive's path (unquoted), if one was parsed.
    pub module: Option<String>,
    /// The `go` directive's version (`"1.21"`, `"1.24.1"`), if any, after
    /// lax-mode repair (`1.21.x` and `v1.21-foo` become `"1.21"`).
    pub go: Option<String>,
    /// The `retract` directives, in file order.
    pub retract: Vec<Retraction>,
    /// Why Go's `modfile.ParseLax("go.mod", data, nil)` rejects this file;
    /// empty if it accepts it. The other fields hold what could be read.
    pub errors: Vec<GoModError>,
}

/// One retracted version or closed interval of versions.
///
/// As in Go's lax parser, the bounds are kept as written (unquoted but not
/// canonicalized): `retract v1.0` has `low == high == "v1.0"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retraction {
    pub low: String,
    pub high: String,
    /// The comments on the directive (or, failing that, on its block),
    /// without `//`, one line each.
    pub rationale: String,
}

/// A reason Go's `ParseLax` fails, displayed as Go displays it
/// (`go.mod:3: repeated go statement`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("go.mod:{line}:{}{message}", column_suffix(*.column))]
pub struct GoModError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column in runes; Go prints it only when it is not 1.
    pub column: usize,
    pub message: String,
}

fn column_suffix(column: usize) -> String {
    if column > 1 {
        format!("{column}: ")
    } else {
        " ".to_owned()
    }
}

impl GoModSummary {
    /// Whether Go's `ParseLax` accepts the file.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether `version` lies in a retracted interval, compared with
    /// [`semver::compare`] exactly as the go command does (so a bound that
    /// is not valid semver sorts below every version).
    pub fn is_retracted(&self, version: &str) -> bool {
        self.retract.iter().any(|r| {
            semver::compare(&r.low, version).is_le() && semver::compare(version, &r.high).is_le()
        })
    }

    /// The `go` version as x/mod/zip's `parseGoVers` sees it when choosing
    /// the vendor rules of a module zip: `None` if there is no `go` line or
    /// if Go's `ParseLax` rejects the file. Pass this to
    /// [`crate::modzip::plan_files`].
    pub fn go_version_for_zip(&self) -> Option<&str> {
        if self.is_valid() {
            self.go.as_deref()
        } else {
            None
        }
    }
}

/// Parses a go.mod file leniently, like Go's `modfile.ParseLax`: unknown
/// directives and blocks, and main-module-only directives (`replace`,
/// `exclude`, `toolchain`, `godebug`, `tool`), are ignored. Never fails;
/// see [`GoModSummary::errors`].
pub fn parse_lax(data: &[u8]) -> GoModSummary {
    let mut file = LaxFile::default();
    match Parser::new(data).and_then(Parser::parse_file) {
        Ok(syntax) => {
            for stmt in &syntax.stmts {
                match stmt {
                    Stmt::Line(line) => {
                        if let Some((verb, args)) = line.tokens.split_first() {
                            file.add(None, line, verb, args);
                        }
                    }
                    Stmt::Block(block) => {
                        // Lax mode skips unknown and multi-token block headers.
                        let [verb] = block.tokens.as_slice() else {
                            continue;
                        };
                        if matches!(
                            verb.as_str(),
                            "module"
                                | "godebug"
                                | "require"
                                | "exclude"
                                | "replace"
                                | "retract"
                                | "tool"
                                | "ignore"
                        ) {
                            for line in &block.lines {
                                file.add(Some(block), line, verb, &line.tokens);
                            }
                        }
                    }
                    Stmt::Comments(_) => {}
                }
            }
        }
        Err(e) => file.summary.errors.push(e),
    }
    file.summary
}

/// Go `modfile.ModulePath`: the module path from go.mod text, tolerant of
/// any other problem in the file. Accepts `"..."` and `` `...` `` quoting.
/// `None` if there is no (non-empty) module path.
pub fn module_path(data: &[u8]) -> Option<String> {
    for line in data.split(|&b| b == b'\n') {
        let line = match find(line, b"//") {
            Some(i) => &line[..i],
            None => line,
        };
        let Some(rest) = trim_space(line).strip_prefix(b"module") else {
            continue;
        };
        let path = trim_space(rest);
        if path.len() == rest.len() || path.is_empty() {
            continue; // "modulex", or no path at all
        }
        let path = if path[0] == b'"' || path[0] == b'`' {
            // A malformed quoted string ends the search, as in Go.
            unquote(path)?
        } else {
            path.to_vec()
        };
        let path = String::from_utf8_lossy(&path).into_owned();
        return (!path.is_empty()).then_some(path);
    }
    None
}

/// Whether a go.mod `go` version (`"1.24.1"`) is at least language version
/// `lang` (`"1.24"`): Go's `version.Compare(version.Lang("go"+v), "go"+lang) >= 0`.
/// A missing, empty or malformed `go_version` is never at least anything.
pub fn lang_at_least(go_version: &str, lang: &str) -> bool {
    let go_lang = gover::lang(gover::strip_custom(go_version));
    !go_lang.is_empty() && gover::compare(&go_lang, gover::strip_custom(lang)).is_ge()
}

// ---------------------------------------------------------------------------
// Directives (rule.go)

#[derive(Default)]
struct LaxFile {
    summary: GoModSummary,
    /// Go sets `f.Module` before validating the directive, so a second
    /// `module` line is "repeated" even when the first was malformed.
    module_seen: bool,
}

impl LaxFile {
    /// Go `(*File).add` with `strict == false` and a nil version fixer: keeps
    /// what [`GoModSummary`] needs and reports every error Go reports.
    fn add(&mut self, block: Option<&LineBlock>, line: &Line, verb: &str, args: &[String]) {
        if let Err(message) = self.apply(block, line, verb, args) {
            self.summary.errors.push(GoModError {
                line: line.start.line,
                column: line.start.column,
                message,
            });
        }
    }

    fn apply(
        &mut self,
        block: Option<&LineBlock>,
        line: &Line,
        verb: &str,
        args: &[String],
    ) -> Result<(), String> {
        match verb {
            "go" => {
                if self.summary.go.is_some() {
                    return Err("repeated go statement".into());
                }
                let [version] = args else {
                    return Err("go directive expects exactly one argument".into());
                };
                let version = if is_go_version(version) {
                    version.as_str()
                } else {
                    lax_go_version(version).ok_or_else(|| {
                        format!("invalid go version '{version}': must match format 1.23.0")
                    })?
                };
                self.summary.go = Some(version.to_owned());
            }
            "module" => {
                if self.module_seen {
                    return Err("repeated module statement".into());
                }
                self.module_seen = true;
                let [path] = args else {
                    return Err("usage: module module/path".into());
                };
                let path = parse_string(path).map_err(|e| format!("invalid quoted string: {e}"))?;
                self.summary.module = Some(path);
            }
            "require" => {
                let [path, version] = args else {
                    return Err(format!("usage: {verb} module/path v1.2.3"));
                };
                let path = parse_string(path).map_err(|e| format!("invalid quoted string: {e}"))?;
                let version = parse_version(verb, &path, version)?;
                let (_, path_major) = split_path_version(&path).ok_or("invalid module path")?;
                check_path_major(&version, path_major)
                    .map_err(|e| format!("{verb} {path}: {e}"))?;
            }
            "retract" => {
                // Malformed intervals and trailing tokens are ignored in lax
                // mode (room for future syntax), so this never fails.
                if let Some((low, high)) = parse_version_interval(args) {
                    let rationale = directive_comment(block, line);
                    self.summary.retract.push(Retraction {
                        low,
                        high,
                        rationale,
                    });
                }
            }
            "ignore" => {
                let [path] = args else {
                    return Err("ignore directive expects exactly one argument".into());
                };
                parse_string(path).map_err(|e| format!("invalid quoted string: {e}"))?;
            }
            // Everything else is ignored in lax mode.
            _ => {}
        }
        Ok(())
    }
}

/// Go `parseString`: unquotes `"..."`; any other token must not contain a
/// quote character (so a `` `...` `` token is an error here).
fn parse_string(s: &str) -> Result<String, &'static str> {
    if s.starts_with('"') {
        let bytes = unquote(s.as_bytes()).ok_or("invalid syntax")?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    } else if s.contains(['"', '\'', '`']) {
        Err("unquoted string cannot contain quote")
    } else {
        Ok(s.to_owned())
    }
}

/// Go `parseVersion` with a nil fixer: the version must canonicalize.
fn parse_version(verb: &str, path: &str, s: &str) -> Result<String, String> {
    let invalid = |version: &str, why: &str| {
        format!("{verb} {path}: version {} invalid: {why}", quote(version))
    };
    let t = parse_string(s).map_err(|e| invalid(s, e))?;
    let cv = canonical_version(&t);
    if cv.is_empty() {
        return Err(invalid(&t, "must be of the form v1.2.3"));
    }
    Ok(cv)
}

/// Go `parseVersionInterval` as `retract` calls it in lax mode (with a
/// fixer that leaves versions as written): `v` or `[low, high]`.
fn parse_version_interval(args: &[String]) -> Option<(String, String)> {
    match args {
        [first, ..] if first == "(" => None,
        [open, low, comma, high, close, ..] if open == "[" && comma == "," && close == "]" => {
            Some((parse_string(low).ok()?, parse_string(high).ok()?))
        }
        [open, ..] if open == "[" => None,
        [v, ..] => {
            let v = parse_string(v).ok()?;
            Some((v.clone(), v))
        }
        [] => None,
    }
}

/// Go `parseDirectiveComment`: the comments on a line, or on its block if
/// the line has none, one trimmed line each.
fn directive_comment(block: Option<&LineBlock>, line: &Line) -> String {
    let comments = match block {
        Some(block) if line.comments.before.is_empty() && line.comments.suffix.is_empty() => {
            &block.comments
        }
        _ => &line.comments,
    };
    comments
        .before
        .iter()
        .chain(&comments.suffix)
        .filter_map(|c| c.text.strip_prefix("//")) // blank-line markers have no "//"
        .map(|text| text.trim_matches(is_space))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Go's `GoVersionRE`: `^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$`
fn is_go_version(v: &str) -> bool {
    let Some(rest) = strip_go_number(v, false) else {
        return false;
    };
    let Some(rest) = rest
        .strip_prefix('.')
        .and_then(|r| strip_go_number(r, true))
    else {
        return false;
    };
    let rest = match rest.strip_prefix('.') {
        Some(r) => match strip_go_number(r, true) {
            Some(r) => r,
            None => return false,
        },
        None => rest,
    };
    if rest.is_empty() {
        return true;
    }
    let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    let digits = rest.len() - letters;
    letters > 0 && digits > 0 && rest[letters..].bytes().all(|b| b.is_ascii_digit())
}

/// `[1-9][0-9]*`, or with `zero_ok` also a lone `0`; returns the rest.
fn strip_go_number(s: &str, zero_ok: bool) -> Option<&str> {
    if zero_ok && s.starts_with('0') {
        return Some(&s[1..]);
    }
    if !s.starts_with(|c: char| ('1'..='9').contains(&c)) {
        return None;
    }
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    Some(&s[n..])
}

/// Go's `laxGoVersionRE` repair: `^v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)$`
/// keeps the `major.minor` of versions like `1.21.x` or `v1.21-foo`.
fn lax_go_version(v: &str) -> Option<&str> {
    let body = v.strip_prefix('v').unwrap_or(v);
    let rest = strip_go_number(body, false)?;
    let rest = strip_go_number(rest.strip_prefix('.')?, true)?;
    let mut chars = rest.chars();
    // `[^0-9]` also matches a newline (Go's ClassNL); `.` does not.
    let first = chars.next()?;
    if first.is_ascii_digit() || chars.as_str().contains('\n') {
        return None;
    }
    Some(&body[..body.len() - rest.len()])
}

// ---------------------------------------------------------------------------
// Syntax (read.go)

/// A position in the input (Go's `Position`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Pos {
    line: usize,
    /// Go's `LineRune`: 1-based rune column.
    column: usize,
    byte: usize,
}

impl Pos {
    /// Go `Position.add(")")`: the position after a one-byte token.
    fn after_one_byte(self) -> Pos {
        Pos {
            column: self.column + 1,
            byte: self.byte + 1,
            ..self
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Comment {
    start: Pos,
    /// Starts with `//`; empty for the blank-line markers inside blocks.
    text: String,
}

#[derive(Debug, Clone, Default)]
struct Comments {
    /// Whole-line comments before the expression.
    before: Vec<Comment>,
    /// End-of-line comments after it.
    suffix: Vec<Comment>,
}

#[derive(Debug)]
struct Line {
    comments: Comments,
    start: Pos,
    tokens: Vec<String>,
    end: Pos,
}

#[derive(Debug)]
struct LineBlock {
    comments: Comments,
    start: Pos,
    lparen: Pos,
    tokens: Vec<String>,
    lines: Vec<Line>,
    rparen: Pos,
}

#[derive(Debug)]
enum Stmt {
    /// A top-level block of comments separate from any rule (Go's `CommentBlock`).
    Comments(Pos),
    Line(Line),
    Block(LineBlock),
}

struct FileSyntax {
    stmts: Vec<Stmt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Eof,
    EolComment,
    Comment,
    Ident,
    String,
    /// `\n` and the punctuation `( ) [ ] { } ,`.
    Punct(u8),
}

impl Kind {
    /// Go `isEOL`: whether the token ends a line.
    fn is_eol(self) -> bool {
        matches!(self, Kind::Eof | Kind::EolComment | Kind::Punct(b'\n'))
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    pos: Pos,
    end: Pos,
    text: String,
}

/// Go's `input`: lexer and parser state. Go reports syntax errors by
/// panicking and recovering; here every step returns `Result`.
struct Parser<'a> {
    complete: &'a [u8],
    /// Byte offset of the unread input.
    offset: usize,
    pos: Pos,
    /// The lookahead token (Go's `in.token`).
    token: Token,
    /// End-of-line comments, attached to syntax after parsing.
    suffix_comments: Vec<Comment>,
}

type ParseResult<T> = Result<T, GoModError>;

impl<'a> Parser<'a> {
    fn new(data: &'a [u8]) -> ParseResult<Self> {
        let start = Pos {
            line: 1,
            column: 1,
            byte: 0,
        };
        let mut parser = Parser {
            complete: data,
            offset: 0,
            pos: start,
            token: Token {
                kind: Kind::Eof,
                pos: start,
                end: start,
                text: String::new(),
            },
            suffix_comments: Vec::new(),
        };
        parser.read_token()?; // prime the lookahead
        Ok(parser)
    }

    fn error(&self, message: impl Into<String>) -> GoModError {
        GoModError {
            line: self.pos.line,
            column: self.pos.column,
            message: message.into(),
        }
    }

    fn remaining(&self) -> &'a [u8] {
        &self.complete[self.offset..]
    }

    fn eof(&self) -> bool {
        self.offset >= self.complete.len()
    }

    /// Go `peekRune`: the next rune, or NUL at end of input.
    fn peek_rune(&self) -> char {
        if self.eof() {
            return '\0';
        }
        decode_rune(self.remaining()).0
    }

    fn peek_prefix(&self, prefix: &[u8]) -> bool {
        self.remaining().starts_with(prefix)
    }

    /// Go `readRune`: consumes one rune, tracking the position.
    fn read_rune(&mut self) -> char {
        let (c, width) = decode_rune(self.remaining());
        let width = width.max(1).min(self.complete.len() - self.offset);
        self.offset += width;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        self.pos.byte += width;
        c
    }

    /// Go `lex`: returns the lookahead token and reads the next one.
    fn lex(&mut self) -> ParseResult<Token> {
        let next = self.token.clone();
        self.read_token()?;
        Ok(next)
    }

    fn peek(&self) -> Kind {
        self.token.kind
    }

    fn end_token(&mut self, kind: Kind, start: Pos, start_offset: usize) {
        let raw = &self.complete[start_offset..self.offset];
        let mut text = String::from_utf8_lossy(raw).into_owned();
        if matches!(kind, Kind::Comment | Kind::EolComment) {
            // Drop a single trailing newline (LF or CRLF) from comments.
            if text.ends_with("\r\n") {
                text.truncate(text.len() - 2);
            } else if text.ends_with('\n') {
                text.pop();
            }
        }
        self.token = Token {
            kind,
            pos: start,
            end: self.pos,
            text,
        };
    }

    /// Go `readToken`: lexes the next token into the lookahead.
    fn read_token(&mut self) -> ParseResult<()> {
        // Skip spaces; a comment is a token of its own.
        while !self.eof() {
            let c = self.peek_rune();
            if c == ' ' || c == '\t' || c == '\r' {
                self.read_rune();
                continue;
            }
            if self.peek_prefix(b"//") {
                let (start, start_offset) = (self.pos, self.offset);
                // A comment is a suffix comment if something other than
                // white space precedes it on its line.
                let line_start = self.complete[..self.offset]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let is_suffix = !trim_space(&self.complete[line_start..self.offset]).is_empty();
                self.read_rune();
                self.read_rune();
                while !self.eof() && self.read_rune() != '\n' {}
                if is_suffix {
                    self.end_token(Kind::EolComment, start, start_offset);
                    self.suffix_comments.push(Comment {
                        start,
                        text: self.token.text.clone(),
                    });
                } else {
                    self.end_token(Kind::Comment, start, start_offset);
                }
                return Ok(());
            }
            if self.peek_prefix(b"/*") {
                return Err(self.error("mod files must use // comments (not /* */ comments)"));
            }
            break;
        }

        let (start, start_offset) = (self.pos, self.offset);
        if self.eof() {
            self.end_token(Kind::Eof, start, start_offset);
            return Ok(());
        }

        let c = self.peek_rune();
        match c {
            '\n' | '(' | ')' | '[' | ']' | '{' | '}' | ',' => {
                self.read_rune();
                self.end_token(Kind::Punct(c as u8), start, start_offset);
                return Ok(());
            }
            '"' | '`' => {
                let quote_char = c;
                self.read_rune();
                loop {
                    if self.eof() {
                        self.pos = start;
                        return Err(self.error("unexpected EOF in string"));
                    }
                    if self.peek_rune() == '\n' {
                        return Err(self.error("unexpected newline in string"));
                    }
                    let c = self.read_rune();
                    if c == quote_char {
                        break;
                    }
                    if c == '\\' && quote_char != '`' {
                        if self.eof() {
                            self.pos = start;
                            return Err(self.error("unexpected EOF in string"));
                        }
                        self.read_rune(); // may even be a newline, as in Go
                    }
                }
                self.end_token(Kind::String, start, start_offset);
                return Ok(());
            }
            _ => {}
        }

        if !is_ident(c) {
            return Err(self.error(format!("unexpected input character {}", quote_rune(c))));
        }
        while is_ident(self.peek_rune()) {
            if self.peek_prefix(b"//") {
                break;
            }
            if self.peek_prefix(b"/*") {
                return Err(self.error("mod files must use // comments (not /* */ comments)"));
            }
            self.read_rune();
        }
        self.end_token(Kind::Ident, start, start_offset);
        Ok(())
    }

    /// Go `parseFile` followed by `assignComments`.
    fn parse_file(mut self) -> ParseResult<FileSyntax> {
        let mut stmts: Vec<Stmt> = Vec::new();
        let mut comment_block: Option<(Pos, Vec<Comment>)> = None;
        loop {
            match self.peek() {
                Kind::Punct(b'\n') => {
                    self.lex()?;
                    if let Some((start, _)) = comment_block.take() {
                        stmts.push(Stmt::Comments(start));
                    }
                }
                Kind::Comment => {
                    let tok = self.lex()?;
                    let (_, comments) = comment_block.get_or_insert_with(|| (tok.pos, Vec::new()));
                    comments.push(Comment {
                        start: tok.pos,
                        text: tok.text,
                    });
                }
                Kind::Eof => {
                    if let Some((start, _)) = comment_block.take() {
                        stmts.push(Stmt::Comments(start));
                    }
                    break;
                }
                _ => {
                    let mut stmt = self.parse_stmt()?;
                    if let Some((_, before)) = comment_block.take() {
                        match &mut stmt {
                            Stmt::Line(line) => line.comments.before = before,
                            Stmt::Block(block) => block.comments.before = before,
                            Stmt::Comments(_) => {}
                        }
                    }
                    stmts.push(stmt);
                }
            }
        }
        let mut syntax = FileSyntax { stmts };
        assign_suffix_comments(&mut syntax, std::mem::take(&mut self.suffix_comments));
        Ok(syntax)
    }

    /// Go `parseStmt`: a line, or the header of a `verb (` block.
    fn parse_stmt(&mut self) -> ParseResult<Stmt> {
        let tok = self.lex()?;
        let start = tok.pos;
        let mut end = tok.end;
        let mut tokens = vec![tok.text];
        loop {
            let tok = self.lex()?;
            if tok.kind.is_eol() {
                return Ok(Stmt::Line(Line {
                    comments: Comments::default(),
                    start,
                    tokens,
                    end,
                }));
            }
            if tok.kind == Kind::Punct(b'(') {
                let next = self.peek();
                if next.is_eol() {
                    // Start of block: no more tokens on this line.
                    return Ok(Stmt::Block(self.parse_line_block(start, tokens, tok.pos)?));
                } else if next == Kind::Punct(b')') {
                    let rparen = self.lex()?;
                    if self.peek().is_eol() {
                        // Empty block.
                        self.lex()?;
                        return Ok(Stmt::Block(LineBlock {
                            comments: Comments::default(),
                            start,
                            lparen: tok.pos,
                            tokens,
                            lines: Vec::new(),
                            rparen: rparen.pos,
                        }));
                    }
                    // '( )' in the middle of the line, not a block (and, as
                    // in Go, not moving the line's end).
                    tokens.push(tok.text);
                    tokens.push(rparen.text);
                } else {
                    // '(' in the middle of the line, not a block.
                    tokens.push(tok.text);
                }
                continue;
            }
            tokens.push(tok.text);
            end = tok.end;
        }
    }

    /// Go `parseLineBlock`: the lines of a block up to its `)`.
    fn parse_line_block(
        &mut self,
        start: Pos,
        tokens: Vec<String>,
        lparen: Pos,
    ) -> ParseResult<LineBlock> {
        let mut block = LineBlock {
            comments: Comments::default(),
            start,
            lparen,
            tokens,
            lines: Vec::new(),
            rparen: lparen,
        };
        let mut comments: Vec<Comment> = Vec::new();
        loop {
            match self.peek() {
                Kind::EolComment => {
                    // Attached later by assign_suffix_comments.
                    self.lex()?;
                }
                Kind::Punct(b'\n') => {
                    // A blank line: remembered as an empty comment.
                    self.lex()?;
                    let last_is_text = comments.last().is_some_and(|c| !c.text.is_empty());
                    if (comments.is_empty() && !block.lines.is_empty()) || last_is_text {
                        comments.push(Comment::default());
                    }
                }
                Kind::Comment => {
                    let tok = self.lex()?;
                    comments.push(Comment {
                        start: tok.pos,
                        text: tok.text,
                    });
                }
                Kind::Eof => {
                    return Err(self.error(format!(
                        "syntax error (unterminated block started at go.mod:{}:{})",
                        block.start.line, block.start.column
                    )));
                }
                Kind::Punct(b')') => {
                    let rparen = self.lex()?;
                    block.rparen = rparen.pos;
                    if !self.peek().is_eol() {
                        return Err(
                            self.error("syntax error (expected newline after closing paren)")
                        );
                    }
                    self.lex()?;
                    return Ok(block);
                }
                _ => {
                    let mut line = self.parse_line()?;
                    line.comments.before = std::mem::take(&mut comments);
                    block.lines.push(line);
                }
            }
        }
    }

    /// Go `parseLine`: one line inside a block.
    fn parse_line(&mut self) -> ParseResult<Line> {
        let tok = self.lex()?;
        if tok.kind.is_eol() {
            return Err(self.error("internal parse error: parseLine at end of line"));
        }
        let start = tok.pos;
        let mut end = tok.end;
        let mut tokens = vec![tok.text];
        loop {
            let tok = self.lex()?;
            if tok.kind.is_eol() {
                return Ok(Line {
                    comments: Comments::default(),
                    start,
                    tokens,
                    end,
                });
            }
            tokens.push(tok.text);
            end = tok.end;
        }
    }
}

/// The suffix-comment half of Go's `assignComments`: each end-of-line
/// comment goes to the last-ending single-line expression that ends before
/// it, walking expressions in reverse post-order. (Whole-line comments were
/// attached by the parser.)
fn assign_suffix_comments(syntax: &mut FileSyntax, mut suffix: Vec<Comment>) {
    /// Where an expression lives, so comments can be attached to it.
    #[derive(Clone, Copy)]
    enum Target {
        /// Receives no comments we care about (parens, comment blocks).
        Other,
        Line(usize),
        BlockLine(usize, usize),
        Block(usize),
    }
    // Post-order list of (target, start, end), as Go's `order`.
    let mut post: Vec<(Target, Pos, Pos)> = Vec::new();
    for (i, stmt) in syntax.stmts.iter().enumerate() {
        match stmt {
            Stmt::Comments(start) => post.push((Target::Other, *start, *start)),
            Stmt::Line(line) => post.push((Target::Line(i), line.start, line.end)),
            Stmt::Block(block) => {
                post.push((Target::Other, block.lparen, block.lparen.after_one_byte()));
                for (j, line) in block.lines.iter().enumerate() {
                    post.push((Target::BlockLine(i, j), line.start, line.end));
                }
                post.push((Target::Other, block.rparen, block.rparen.after_one_byte()));
                post.push((Target::Block(i), block.start, block.rparen.after_one_byte()));
            }
        }
    }
    for &(target, start, end) in post.iter().rev() {
        // Never attach to something spanning lines (e.g. a whole block).
        if start.line != end.line {
            continue;
        }
        while let Some(last) = suffix.last() {
            if end.byte > last.start.byte {
                break;
            }
            let comment = suffix.pop().unwrap_or_default();
            let comments = match (target, &mut syntax.stmts) {
                (Target::Line(i), stmts) => match &mut stmts[i] {
                    Stmt::Line(line) => Some(&mut line.comments),
                    _ => None,
                },
                (Target::BlockLine(i, j), stmts) => match &mut stmts[i] {
                    Stmt::Block(block) => Some(&mut block.lines[j].comments),
                    _ => None,
                },
                (Target::Block(i), stmts) => match &mut stmts[i] {
                    Stmt::Block(block) => Some(&mut block.comments),
                    _ => None,
                },
                (Target::Other, _) => None,
            };
            if let Some(comments) = comments {
                // Collected in reverse; put back in source order below.
                comments.suffix.insert(0, comment);
            }
        }
    }
}

/// Go `isIdent`: most printable runes, except space and `()[]{},`.
fn is_ident(c: char) -> bool {
    !matches!(c, ' ' | '(' | ')' | '[' | ']' | '{' | '}' | ',') && !is_space(c) && is_print(c)
}

/// Go `bytes.TrimSpace` (Unicode white space; invalid UTF-8 is not space).
fn trim_space(mut b: &[u8]) -> &[u8] {
    loop {
        let (c, n) = decode_rune(b);
        if n == 0 || !is_space(c) {
            break;
        }
        b = &b[n..];
    }
    while let Some(n) = last_space_width(b) {
        b = &b[..b.len() - n];
    }
    b
}

/// The byte width of a white-space rune ending `b`, if there is one.
fn last_space_width(b: &[u8]) -> Option<usize> {
    (1..=4.min(b.len())).find(|&w| {
        let (c, n) = decode_rune(&b[b.len() - w..]);
        n == w && is_space(c)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retracts(data: &str) -> Vec<(String, String, String)> {
        let s = parse_lax(data.as_bytes());
        assert!(s.is_valid(), "{:?}", s.errors);
        s.retract
            .into_iter()
            .map(|r| (r.low, r.high, r.rationale))
            .collect()
    }

    fn owned(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        v.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    }

    #[test]
    fn module_go_and_unknown_directives() {
        let s = parse_lax(
            b"// leading comment\nmodule \"example.com/m\" // trailing\n\ngo 1.24.1\ntoolchain go1.25.0\nfuture directive (x)\nreplace a => b\nrequire (\n\texample.com/x v1.0.0\n\texample.com/y/v2 v2.3.4 // indirect\n)\nsomething (\n  anything goes\n)\n",
        );
        assert!(s.is_valid(), "{:?}", s.errors);
        assert_eq!(s.module.as_deref(), Some("example.com/m"));
        assert_eq!(s.go.as_deref(), Some("1.24.1"));
        assert_eq!(s.go_version_for_zip(), Some("1.24.1"));
        assert!(s.retract.is_empty());
    }

    #[test]
    fn retract_forms_and_rationale() {
        let data = "module example.com/m

go 1.16

// Published too early.
retract v1.0.0

retract [v1.1.0, v1.2.0] // Bugs in the 1.1 series.

retract \"v1.3.0\"

// Block comment.
retract (
\tv2.0.0 // Line comment.
\tv2.1.0
\t// Before comment.

\t[v2.2.0, v2.3.0]
)
";
        let want = owned(&[
            ("v1.0.0", "v1.0.0", "Published too early."),
            ("v1.1.0", "v1.2.0", "Bugs in the 1.1 series."),
            ("v1.3.0", "v1.3.0", ""),
            ("v2.0.0", "v2.0.0", "Line comment."),
            ("v2.1.0", "v2.1.0", "Block comment."),
            ("v2.2.0", "v2.3.0", "Before comment."),
        ]);
        assert_eq!(retracts(data), want);

        let s = parse_lax(data.as_bytes());
        for (v, want) in [
            ("v1.0.0", true),
            ("v1.0.1", false),
            ("v1.1.0", true),
            ("v1.1.5-pre", true),
            ("v1.2.0", true),
            ("v1.2.0+meta", true),
            ("v1.2.1", false),
            ("v2.2.5", true),
            ("v3.0.0", false),
            ("bad", false),
        ] {
            assert_eq!(s.is_retracted(v), want, "is_retracted({v:?})");
        }
    }

    #[test]
    fn retract_bounds_are_not_canonicalized() {
        // Verified with go 1.27.3: ParseLax keeps retract versions as written.
        let s = parse_lax(b"module example.com/m\nretract v1.0\nretract [v1.0.0, master]\nretract (\n)\nretract [v1\nretract ( v1 )\n");
        assert!(s.is_valid(), "{:?}", s.errors);
        let got: Vec<_> = s
            .retract
            .iter()
            .map(|r| (r.low.as_str(), r.high.as_str()))
            .collect();
        assert_eq!(got, [("v1.0", "v1.0"), ("v1.0.0", "master")]);
        // Go compares with semver, where "master" sorts below everything.
        assert!(!s.is_retracted("v1.0.5"));
        assert!(s.is_retracted("v1.0.0"));
    }

    #[test]
    fn lax_go_versions() {
        for (line, want) in [
            ("go 1.21", Some("1.21")),
            ("go 1.21.0", Some("1.21.0")),
            ("go 1.21rc1", Some("1.21rc1")),
            ("go 1.21.x", Some("1.21")),
            ("go v1.21-foo", Some("1.21")),
            ("go 1.2.3.4", Some("1.2")),
            ("go 1.21rc", Some("1.21")),
        ] {
            let s = parse_lax(line.as_bytes());
            assert!(s.is_valid(), "{line:?}: {:?}", s.errors);
            assert_eq!(s.go.as_deref(), want, "{line:?}");
        }
        for line in ["go 1.05", "go 01.2", "go x", "go 1", "go 1.21 1.22", "go"] {
            let s = parse_lax(line.as_bytes());
            assert!(!s.is_valid(), "{line:?} should be rejected");
            assert_eq!(s.go_version_for_zip(), None);
        }
    }

    #[test]
    fn errors_like_go() {
        let first_error = |data: &str| {
            parse_lax(data.as_bytes())
                .errors
                .first()
                .map(|e| e.to_string())
        };
        assert_eq!(
            first_error("go 1.20\ngo 1.21\n").as_deref(),
            Some("go.mod:2: repeated go statement")
        );
        assert_eq!(
            first_error("module a\nmodule b\n").as_deref(),
            Some("go.mod:2: repeated module statement")
        );
        assert_eq!(
            first_error("module\nmodule b\n").as_deref(),
            Some("go.mod:1: usage: module module/path")
        );
        assert_eq!(
            first_error("module `example.com/m`\n").as_deref(),
            Some("go.mod:1: invalid quoted string: unquoted string cannot contain quote")
        );
        assert_eq!(
            first_error("require example.com/x master\n").as_deref(),
            Some(
                r#"go.mod:1: require example.com/x: version "master" invalid: must be of the form v1.2.3"#
            )
        );
        assert_eq!(
            first_error("require example.com/x v2.0.0\n").as_deref(),
            Some(
                r#"go.mod:1: require example.com/x: version "v2.0.0" invalid: should be v0 or v1, not v2"#
            )
        );
        assert_eq!(
            first_error("module m /* x */\n").as_deref(),
            Some("go.mod:1:10: mod files must use // comments (not /* */ comments)")
        );
        assert_eq!(
            first_error("module \"m\n").as_deref(),
            Some("go.mod:1:10: unexpected newline in string")
        );
        assert_eq!(
            first_error("require (\n\tx v1.0.0\n").as_deref(),
            Some("go.mod:3: syntax error (unterminated block started at go.mod:1:1)")
        );
        assert_eq!(
            first_error("x\u{0}\n").as_deref(),
            Some(r"go.mod:1:2: unexpected input character '\x00'")
        );
        // Module path is still known when a later line fails.
        let s = parse_lax(b"module example.com/m\ngo 1.20\ngo 1.21\n");
        assert_eq!(s.module.as_deref(), Some("example.com/m"));
        assert_eq!(s.go.as_deref(), Some("1.20"));
        assert_eq!(s.go_version_for_zip(), None);
    }

    #[test]
    fn module_path_like_go() {
        for (data, want) in [
            ("module example.com/m\n", Some("example.com/m")),
            (
                "  module   example.com/m  // comment\n",
                Some("example.com/m"),
            ),
            (
                "// module x\nmodule \"example.com/q\"\n",
                Some("example.com/q"),
            ),
            ("module `example.com/b`\n", Some("example.com/b")),
            ("modulex example.com/m\nmodule y.z\n", Some("y.z")),
            ("module \"bad\n", None),
            ("module\n", None),
            ("go 1.21\n", None),
            ("", None),
            ("module \"\"\n", None),
            ("module example.com/crlf\r\n", Some("example.com/crlf")),
        ] {
            assert_eq!(module_path(data.as_bytes()).as_deref(), want, "{data:?}");
        }
    }

    #[test]
    fn lang_comparisons() {
        assert!(lang_at_least("1.24.1", "1.24"));
        assert!(lang_at_least("1.24", "1.24"));
        assert!(lang_at_least("1.24rc1", "1.24"));
        assert!(lang_at_least("1.25", "1.24"));
        assert!(lang_at_least("2", "1.24"));
        assert!(!lang_at_least("1.23.9", "1.24"));
        assert!(!lang_at_least("1.9", "1.24"));
        assert!(!lang_at_least("", "1.24"));
        assert!(!lang_at_least("bad", "1.24"));
        assert!(!lang_at_least("", ""));
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        for data in [
            &b"\xff\xfe module"[..],
            b"module \"\\",
            b"module \"\\\n\"",
            b"(",
            b")",
            b"retract (\n)",
            b"retract ( ) x\n",
            b"// only a comment",
            b"x //\r\n",
            b"\xe2\x80",
            b"retract [",
            b"go 1.21\xff",
        ] {
            let _ = parse_lax(data);
            let _ = module_path(data);
        }
    }
}
