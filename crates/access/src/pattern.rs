//! GOPRIVATE-style pattern lists, shared by token `matches` and the
//! anonymous-read policy.

use modvault_core::pattern::{match_prefix_patterns, parse_pattern_list};

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
        let parsed = parse_pattern_list(list).map_err(|e| AccessError::InvalidPattern {
            pattern: e.glob().to_owned(),
            reason: e.reason().to_owned(),
        })?;
        globs.extend(parsed.into_iter().map(str::to_owned));
    }
    Ok(globs)
}
