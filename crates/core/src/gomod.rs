//! Just enough of go.mod parsing for a proxy: the module path, the `go`
//! version and the `retract` directives, as `modfile.ParseLax` (the
//! dependency-file parser the go command uses for all of them) sees them.
//!
//! The lexer and parser are a port of `golang.org/x/mod/modfile/read.go`,
//! including how comments attach to lines (a retraction's rationale is its
//! comment), and the directive handling a port of `parseToFile` in lax mode
//! from rule.go. Go's `ParseLax` fails on some inputs; [`parse_lax`] never
//! fails but reports those failures in [`GoModSummary::errors`].

use std::fmt;

use crate::gounicode::{decode_rune, is_print, is_space};
use crate::path::{canonical_version, check_path_major, split_path_version};
use crate::quote::unquote;
use crate::semver;

/// What a proxy needs to know about a go.mod file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoModSummary {
    /// The `module` directive's path (unquoted), if one was parsed.
    pub module: Option<String>,
    /// The `go` directive's version (`"1.21"`, `"1.24.1"`), if any, after
    /// lax-mode repair (`1.21.x` and `v1.21-foo` become `"1.21"`).
    pub go: Option<String>,
    /// The `retract` directives in file order.
    pub retract: Vec<Retraction>,
    /// Why Go's `modfile.ParseLax(file, data, nil)` would reject this file;
    /// empty if it accepts it. The other fields are filled in as far as the
    /// file could be read.
    pub errors: Vec<GoModError>,
}

/// One retracted version or closed interval of versions.
///
/// As in Go's lax parser, the bounds are kept as written (unquoted but not
/// canonicalized), so `retract v1.0` has `low == high == "v1.0"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retraction {
    pub low: String,
    pub high: String,
    /// The comment on the directive (or on its block), without `//`.
    pub rationale: String,
}

/// A problem that makes Go's `ParseLax` fail, with Go's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("go.mod:{}{message}", position(*.line, *.column))]
pub struct GoModError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column in runes; Go prints it only when it is not 1.
    pub column: usize,
    pub message: String,
}

fn position(line: usize, column: usize) -> String {
    if column > 1 {
        format!("{line}:{column}: ")
    } else {
        format!("{line}: ")
    }
}

impl GoModSummary {
    /// Whether Go's `ParseLax` accepts the file.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether `version` lies in one of the retracted intervals (compared
    /// with [`semver::compare`], as the go command does).
    pub fn is_retracted(&self, version: &str) -> bool {
        self.retract.iter().any(|r| {
            semver::compare(&r.low, version).is_le() && semver::compare(version, &r.high).is_le()
        })
    }

    /// The `go` version as x/mod/zip's `parseGoVers` sees it when choosing
    /// the vendor rules of a module zip: `None` if there is no `go` line or
    /// if Go's `ParseLax` rejects the file.
    pub fn go_version_for_zip(&self) -> Option<&str> {
        if self.is_valid() {
            self.go.as_deref()
        } else {
            None
        }
    }
}

/// Parses a go.mod file leniently, like Go's `modfile.ParseLax`: unknown
/// directives, blocks and main-module-only directives (`replace`,
/// `exclude`, `toolchain`, ...) are ignored. Never fails; see
/// [`GoModSummary::errors`].
pub fn parse_lax(data: &[u8]) -> GoModSummary {
    let mut summary = GoModSummary::default();
    let syntax = match Parser::new(data).parse_file() {
        Ok(syntax) => syntax,
        Err(e) => {
            summary.errors.push(e);
            return summary;
        }
    };
    for stmt in &syntax.stmts {
        match stmt {
            Stmt::Line(line) => {
                let (verb, args) = line.tokens.split_first().map_or(("", &[][..]), |(v, a)| (v.as_str(), a));
                apply_directive(&mut summary, &syntax, None, line, verb, args);
            }
            Stmt::Block(block) => {
                // Lax mode skips unknown and multi-token block headers.
                let [verb] = block.tokens.as_slice() else { continue };
                if matches!(
                    verb.as_str(),
                    "module" | "godebug" | "require" | "exclude" | "replace" | "retract" | "tool" | "ignore"
                ) {
                    for line in &block.lines {
                        apply_directive(&mut summary, &syntax, Some(block), line, verb, &line.tokens);
                    }
                }
            }
            Stmt::Comments(_) => {}
        }
    }
    summary
}

/// Go `(*File).add` with `strict == false` and a nil version fixer,
/// keeping only what [`GoModSummary`] needs but reporting every error Go
/// would report.
fn apply_directive(
    summary: &mut GoModSummary,
    syntax: &FileSyntax,
    block: Option<&LineBlock>,
    line: &Line,
    verb: &str,
    args: &[String],
) {
    let mut error = |message: String| {
        summary_error(line, message)
    };
    let result: Result<(), String> = (|| match verb {
        "go" => {
            if summary.go.is_some() {
                return Err("repeated go statement".into());
            }
            let [version] = args else {
                return Err("go directive expects exactly one argument".into());
            };
            let version = if is_go_version(version) {
                version.clone()
            } else if let Some(fixed) = lax_go_version(version) {
                fixed.to_owned()
            } else {
                return Err(format!("invalid go version '{version}': must match format 1.23.0"));
            };
            summary.go = Some(version);
            Ok(())
        }
        "module" => {
            // Go records the statement before validating it, so a second
            // `module` line is "repeated" even if the first was malformed.
            if summary_module_seen(summary) {
                return Err("repeated module statement".into());
            }
            summary.module = Some(String::new());
            let [path] = args else {
                summary.module = None;
                summary.errors.push(GoModError { line: 0, column: 0, message: String::new() });
                summary.errors.pop();
                return Err("usage: module module/path".into());
            };
            match parse_string(path) {
                Ok(path) => {
                    summary.module = Some(path);
                    Ok(())
                }
                Err(e) => {
                    summary.module = None;
                    Err(format!("invalid quoted string: {e}"))
                }
            }
        }
        "require" => {
            let [path, version] = args else {
                return Err("usage: require module/path v1.2.3".into());
            };
            let path = parse_string(path).map_err(|e| format!("invalid quoted string: {e}"))?;
            let version = parse_version(verb, &path, version)?;
            let Some((_, path_major)) = split_path_version(&path) else {
                return Err("invalid module path".into());
            };
            check_path_major(&version, path_major).map_err(|e| format!("{verb} {path}: {e}"))
        }
        "retract" => {
            // Malformed intervals and trailing tokens are ignored in lax
            // mode (future syntax); there is nothing else to reject.
            if let Some((low, high)) = parse_version_interval(args) {
                let rationale = directive_comment(syntax, block, line);
                summary.retract.push(Retraction { low, high, rationale });
            }
            Ok(())
        }
        "ignore" => {
            let [path] = args else {
                return Err("ignore directive expects exactly one argument".into());
            };
            parse_string(path).map(|_| ()).map_err(|e| format!("invalid quoted string: {e}"))
        }
        // Everything else is ignored in lax mode.
        _ => Ok(()),
    })();
    if let Err(message) = result {
        let e = error(message);
        summary.errors.push(e);
    }
}

fn summary_error(line: &Line, message: String) -> GoModError {
    GoModError { line: line.start.line, column: line.start.column, message }
}

fn summary_module_seen(summary: &GoModSummary) -> bool {
    summary.module.is_some()
}
