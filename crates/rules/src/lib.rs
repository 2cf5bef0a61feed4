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

use modvault_core::pattern::{match_prefix_patterns, parse_pattern_list};
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

/// How one module path is served: the outcome of [`RuleSet::route`],
/// decided once per request at the edge and carried with the request to
/// every place that needs it (access, sources, verification, the relay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub source: Source,
    /// Whether the module may be looked up in the public (upstream)
    /// checksum database. Always `false` unless `source` is
    /// [`Source::Upstream`]: direct, published and denied paths are
    /// private, and a private path must never reach a public database,
    /// whatever the rule's `sumdb` says (it defaults to `true`, so honouring
    /// it would leak every `source = "direct"` path to sum.golang.org, and
    /// fail closed there). Also `false` for paths matching
    /// `sumdb.nosumdb` (GONOSUMDB).
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

    /// ` (rule[3])`, or nothing for the default route: for messages.
    pub fn rule_label(&self) -> String {
        self.rule_index
            .map(|i| format!(" (rule[{i}])"))
            .unwrap_or_default()
    }
}

/// Validated routing rules, in configuration order, and the GONOSUMDB
/// patterns: together they decide a module's [`Route`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<RuleConfig>,
    /// `sumdb.nosumdb`: an implicit `sumdb = false` for matching paths,
    /// whatever rule routes them.
    nosumdb: Vec<String>,
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
        Ok(RuleSet {
            rules,
            nosumdb: Vec::new(),
        })
    }

    /// Adds GONOSUMDB patterns (each a comma-separated list, validated by
    /// the configuration): matching paths get `sumdb = false`, so the
    /// verifier and the checksum-database relay read the same answer.
    pub fn with_nosumdb(mut self, patterns: Vec<String>) -> RuleSet {
        self.nosumdb = patterns;
        self
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[RuleConfig] {
        &self.rules
    }

    /// How `module_path` is served: the first matching rule, else
    /// [`Route::DEFAULT`] (upstream, public checksum database).
    pub fn route(&self, module_path: &str) -> Route {
        let mut route = self
            .rules
            .iter()
            .position(|rule| match_prefix_patterns(&rule.r#match, module_path))
            .map_or(Route::DEFAULT, |index| {
                let rule = &self.rules[index];
                Route {
                    source: rule.source,
                    sumdb: rule.sumdb && rule.source == Source::Upstream,
                    rule_index: Some(index),
                }
            });
        if route.sumdb
            && self
                .nosumdb
                .iter()
                .any(|list| match_prefix_patterns(list, module_path))
        {
            route.sumdb = false;
        }
        route
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
    parse_pattern_list(list)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
