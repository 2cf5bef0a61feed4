//! GOPRIVATE-style pattern lists, shared by token `matches` and the
//! anonymous-read policy.

use modvault_core::pattern::{is_valid_glob, match_prefix_patterns};

use crate::AccessError;

/// Whether any entry (itself possibly a comma-separated list) covers
/// `module_path`, with `module.MatchPrefixPatterns` semantics.
pub(crate) fn any_matches(patterns: &[String], module_path: &str) -> bool {
    patterns
        .iter()
        .any(|list| match_prefix_patterns(list, module_path))
}

/// Splits comma-separated entries into single globs and validates each:
/// non-empty, no surrounding whitespace, well-formed `path.Match` syntax.
/// Go silently ignores bad GOPRIVATE globs; for access rules a typo would
/// silently grant or deny access, so here it is an error.
pub(crate) fn normalize(patterns: Vec<String>) -> Result<Vec<String>, AccessError> {
    let mut globs = Vec::with_capacity(patterns.len());
    for list in &patterns {
        for glob in list.split(',') {
            check_glob(glob).map_err(|reason| AccessError::InvalidPattern {
                pattern: glob.to_owned(),
                reason: reason.to_owned(),
            })?;
            globs.push(glob.to_owned());
        }
    }
    Ok(globs)
}

fn check_glob(glob: &str) -> Result<(), &'static str> {
    // match_glob ignores one trailing slash.
    let trimmed = glob.strip_suffix('/').unwrap_or(glob);
    if trimmed.is_empty() {
        return Err("empty pattern");
    }
    if glob.trim() != glob {
        return Err("surrounding whitespace");
    }
    if !is_valid_glob(trimmed) {
        return Err("malformed glob");
    }
    Ok(())
}
