//! Routing rules: for each module path, where modvault gets it from and
//! whether it may be looked up in a public checksum database.
//!
//! Rules are tried in order and the first whose `match` covers the path
//! wins; a path no rule covers is fetched from the upstream chain and
//! verified against the public checksum database.
//!
//! ```toml
//! [[rule]]
//! match = "git.corp.example/*"   # GOPRIVATE syntax: comma-separated globs
//! source = "direct"              # upstream (default) | direct | published | deny
//! sumdb = false                  # default true; see Route::sumdb
//! ```
//!
//! `match` uses the go command's GOPRIVATE semantics
//! ([`modvault_core::pattern::match_prefix_patterns`]): a glob with `k`
//! slashes is matched against the first `k + 1` path elements, so
//! `git.corp.example` covers `git.corp.example/team/x`, `*.corp.example`
//! covers `git.corp.example/x`, and `*` covers every path.

use modvault_core::pattern::{is_valid_glob, match_prefix_patterns};
use serde::{Deserialize, Serialize};

/// Where the modules a rule covers come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The configured upstream chain (the default).
    #[default]
    Upstream,
    /// Straight from version control (git), never through an upstream proxy.
    Direct,
    /// Only versions that were published to this modvault.
    Published,
    /// Never served: every request answers as if the module did not exist.
    Deny,
}

impl Source {
    /// The configuration spelling (`"upstream"`, `"direct"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Upstream => "upstream",
            Source::Direct => "direct",
            Source::Published => "published",
            Source::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[rule]]` table as written in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Comma-separated GOPRIVATE-style globs (TOML key `match`).
    pub r#match: String,
    #[serde(default)]
    pub source: Source,
    /// `false`: never look these modules up in a public checksum database
    /// (modvault's own database still records them).
    #[serde(default = "yes")]
    pub sumdb: bool,
}

fn yes() -> bool {
    true
}

/// A configuration rule that cannot be used. `index` is the rule's
/// 0-based position in the `[[rule]]` list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule[{index}].{field}: {reason}")]
pub struct RuleError {
    pub index: usize,
    /// The offending key, e.g. `"match"`.
    pub field: &'static str,
    pub reason: String,
}

/// How one module path is served: the outcome of [`RuleSet::route`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub source: Source,
    /// Whether to verify the module against the public (upstream) checksum
    /// database. Always `false` unless `source` is [`Source::Upstream`]:
    /// direct, published and denied paths are private, and a private path
    /// must never reach a public database, whatever the rule's `sumdb` says
    /// (it defaults to `true`, so honouring it would leak every
    /// `source = "direct"` path to sum.golang.org, and fail closed there).
    pub sumdb: bool,
    /// The 0-based index of the rule that matched; `None` for the default.
    pub rule_index: Option<usize>,
}

impl Route {
    /// The route of a path that no rule covers.
    pub const DEFAULT: Route = Route {
        source: Source::Upstream,
        sumdb: true,
        rule_index: None,
    };

    /// Whether the path is private; see [`RuleSet::is_private`].
    pub fn is_private(&self) -> bool {
        self.source != Source::Upstream || !self.sumdb
    }
}

/// Validated routing rules, in configuration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<RuleConfig>,
}

impl RuleSet {
    /// Validates the rules: every `match` must be a non-empty,
    /// comma-separated list of non-empty, well-formed globs (Go's
    /// `path.Match` syntax). Go silently ignores empty and malformed globs
    /// in GOPRIVATE; here they are configuration mistakes.
    pub fn new(rules: Vec<RuleConfig>) -> Result<RuleSet, RuleError> {
        for (index, rule) in rules.iter().enumerate() {
            check_pattern_list(&rule.r#match).map_err(|reason| RuleError {
                index,
                field: "match",
                reason,
            })?;
        }
        Ok(RuleSet { rules })
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[RuleConfig] {
        &self.rules
    }

    /// How `module_path` is served: the first matching rule, else
    /// [`Route::DEFAULT`] (upstream, public checksum database).
    pub fn route(&self, module_path: &str) -> Route {
        self.rules
            .iter()
            .position(|rule| match_prefix_patterns(&rule.r#match, module_path))
            .map_or(Route::DEFAULT, |index| {
                let rule = &self.rules[index];
                Route {
                    source: rule.source,
                    sumdb: rule.sumdb && rule.source == Source::Upstream,
                    rule_index: Some(index),
                }
            })
    }

    /// Whether `module_path` is private: the first rule matching it has a
    /// source other than `upstream`, or `sumdb = false`. A private path is
    /// never looked up in a public checksum database and never sent to any
    /// place but the one its route names (an `upstream` rule with
    /// `sumdb = false`, e.g. for an internal proxy, still fetches from the
    /// upstream chain; it is only kept away from public databases).
    pub fn is_private(&self, module_path: &str) -> bool {
        self.route(module_path).is_private()
    }
}

/// Checks a GOPRIVATE-style list; the error is the reason, for [`RuleError`].
fn check_pattern_list(list: &str) -> Result<(), String> {
    if list.is_empty() {
        return Err("empty pattern list".to_owned());
    }
    for glob in list.split(',') {
        // match_glob ignores one trailing slash, so validate without it.
        let trimmed = glob.strip_suffix('/').unwrap_or(glob);
        if trimmed.is_empty() {
            return Err(format!("empty pattern in {list:?}"));
        }
        // "a, b" is a classic mistake: Go would look for a path starting
        // with " b", which no module path can.
        if glob.trim() != glob {
            return Err(format!("pattern {glob:?} has surrounding whitespace"));
        }
        if !is_valid_glob(trimmed) {
            return Err(format!("malformed pattern {glob:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
