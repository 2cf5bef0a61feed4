use super::*;

fn rule(pattern: &str, source: Source, sumdb: bool) -> RuleConfig {
    RuleConfig {
        r#match: pattern.to_owned(),
        source,
        sumdb,
    }
}

#[derive(Deserialize)]
struct File {
    rule: Vec<RuleConfig>,
}

fn parse(text: &str) -> Result<Vec<RuleConfig>, toml::de::Error> {
    toml::from_str::<File>(text).map(|f| f.rule)
}

#[test]
fn toml_shape_and_defaults() {
    let rules = parse(
        r#"
        [[rule]]
        match = "git.corp.example/*"
        source = "direct"
        sumdb = false

        [[rule]]
        match = "example.com/published"
        source = "published"

        [[rule]]
        match = "evil.example"
        source = "deny"

        [[rule]]
        match = "internal.example"
        sumdb = false
        "#,
    )
    .unwrap();
    assert_eq!(
        rules,
        vec![
            rule("git.corp.example/*", Source::Direct, false),
            rule("example.com/published", Source::Published, true),
            rule("evil.example", Source::Deny, true),
            rule("internal.example", Source::Upstream, false),
        ]
    );
}

#[test]
fn toml_rejects_unknown_keys_and_sources() {
    let unknown_key = parse("[[rule]]\nmatch = \"a.example\"\nsumbd = false\n").unwrap_err();
    assert!(unknown_key.to_string().contains("sumbd"), "{unknown_key}");
    let bad_source = parse("[[rule]]\nmatch = \"a.example\"\nsource = \"git\"\n").unwrap_err();
    assert!(bad_source.to_string().contains("git"), "{bad_source}");
    let capitalised = parse("[[rule]]\nmatch = \"a.example\"\nsource = \"Direct\"\n");
    assert!(capitalised.is_err());
    let missing_match = parse("[[rule]]\nsource = \"direct\"\n").unwrap_err();
    assert!(
        missing_match.to_string().contains("match"),
        "{missing_match}"
    );
}

#[test]
fn source_round_trips_through_its_spelling() {
    for source in [
        Source::Upstream,
        Source::Direct,
        Source::Published,
        Source::Deny,
    ] {
        let text = toml::to_string(&rule("a.example", source, true)).unwrap();
        assert!(text.contains(&format!("source = \"{source}\"")), "{text}");
        assert_eq!(
            parse(&format!("[[rule]]\n{text}")).unwrap()[0].source,
            source
        );
    }
}

#[test]
fn invalid_patterns_name_the_rule_and_field() {
    let cases = [
        ("", "rule[1].match: empty pattern list"),
        (
            "a.example,,b.example",
            "rule[1].match: empty pattern in \"a.example,,b.example\"",
        ),
        (
            "a.example,",
            "rule[1].match: empty pattern in \"a.example,\"",
        ),
        ("/", "rule[1].match: empty pattern in \"/\""),
        (
            "a.example, b.example",
            "rule[1].match: pattern \" b.example\" has surrounding whitespace",
        ),
        (
            "git.corp.example/[",
            "rule[1].match: malformed pattern \"git.corp.example/[\"",
        ),
        ("x\\", "rule[1].match: malformed pattern \"x\\\\\""),
        ("[a-]", "rule[1].match: malformed pattern \"[a-]\""),
    ];
    for (pattern, message) in cases {
        let err = RuleSet::new(vec![
            rule("ok.example", Source::Direct, true),
            rule(pattern, Source::Direct, true),
        ])
        .unwrap_err();
        assert_eq!((err.index, err.field), (1, "match"));
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn valid_patterns_are_accepted() {
    for pattern in [
        "*",
        "*/*",
        "git.corp.example/",
        "*.corp.example,rsc.io/private",
        "example.com/[a-c]*",
        "example.com/\\*",
    ] {
        RuleSet::new(vec![rule(pattern, Source::Direct, true)]).unwrap();
    }
}

#[test]
fn no_rules_means_upstream_with_public_sumdb() {
    let rules = RuleSet::new(vec![]).unwrap();
    assert_eq!(rules.route("golang.org/x/mod"), Route::DEFAULT);
    assert_eq!(
        Route::DEFAULT,
        Route {
            source: Source::Upstream,
            sumdb: true,
            rule_index: None
        }
    );
    assert!(!rules.is_private("golang.org/x/mod"));
}

#[test]
fn first_matching_rule_wins() {
    let rules = RuleSet::new(vec![
        rule("git.corp.example/public", Source::Upstream, true),
        rule("git.corp.example", Source::Direct, false),
        rule("*.corp.example", Source::Deny, true),
        rule("*", Source::Published, true),
    ])
    .unwrap();
    let route = |p| {
        let r = rules.route(p);
        (r.source, r.rule_index)
    };
    assert_eq!(
        route("git.corp.example/public"),
        (Source::Upstream, Some(0))
    );
    assert_eq!(
        route("git.corp.example/public/v2"),
        (Source::Upstream, Some(0))
    );
    assert_eq!(
        route("git.corp.example/publicity"),
        (Source::Direct, Some(1))
    );
    assert_eq!(route("git.corp.example/team/x"), (Source::Direct, Some(1)));
    assert_eq!(route("other.corp.example/x"), (Source::Deny, Some(2)));
    assert_eq!(route("golang.org/x/mod"), (Source::Published, Some(3)));
}

/// GOPRIVATE semantics, as `module.MatchPrefixPatterns`: a glob with k
/// slashes is matched against the first k+1 elements of the path.
#[test]
fn match_uses_goprivate_prefix_semantics() {
    let covers = |pattern: &str, path: &str| {
        RuleSet::new(vec![rule(pattern, Source::Direct, true)])
            .unwrap()
            .route(path)
            .rule_index
            .is_some()
    };
    // `*` has no slash, so it is matched against the first element only,
    // which every path has: it covers everything.
    assert!(covers("*", "example.com"));
    assert!(covers("*", "example.com/a/b/c"));
    // `*/*` needs at least two elements.
    assert!(!covers("*/*", "example.com"));
    assert!(covers("*/*", "example.com/a"));
    assert!(covers("*/*", "example.com/a/b"));
    // Whole elements only.
    assert!(covers("rsc.io/private", "rsc.io/private/quux"));
    assert!(!covers("rsc.io/private", "rsc.io/privateer"));
    assert!(!covers("corp.example", "corp.example.com/x"));
    assert!(covers("*.corp.example", "git.corp.example/x/y"));
    assert!(!covers("*.corp.example", "corp.example/x"));
    // A trailing slash is ignored; matching is case-sensitive.
    assert!(covers("git.corp.example/", "git.corp.example/x"));
    assert!(!covers("git.corp.example", "Git.corp.example/x"));
    // Comma-separated lists.
    assert!(covers("a.example,b.example", "b.example/x"));
    assert!(!covers("a.example,b.example", "c.example/x"));
    // Character classes and escapes.
    assert!(covers("example.com/[a-c]*", "example.com/bee/x"));
    assert!(!covers("example.com/[a-c]*", "example.com/dee"));
}

#[test]
fn only_upstream_routes_reach_the_public_sumdb() {
    let rules = RuleSet::new(vec![
        rule("up.example", Source::Upstream, true),
        rule("upnosum.example", Source::Upstream, false),
        rule("direct.example", Source::Direct, true),
        rule("directnosum.example", Source::Direct, false),
        rule("pub.example", Source::Published, true),
        rule("deny.example", Source::Deny, true),
    ])
    .unwrap();
    let cases = [
        ("up.example/m", true, false),
        ("upnosum.example/m", false, true),
        ("direct.example/m", false, true),
        ("directnosum.example/m", false, true),
        ("pub.example/m", false, true),
        ("deny.example/m", false, true),
        ("unmatched.example/m", true, false),
    ];
    for (path, sumdb, private) in cases {
        let route = rules.route(path);
        assert_eq!(route.sumdb, sumdb, "{path}");
        assert_eq!(rules.is_private(path), private, "{path}");
        // A private path never reaches a public checksum database.
        assert!(!(route.sumdb && rules.is_private(path)), "{path}");
    }
}

#[test]
fn hostile_paths_do_not_panic() {
    let rules = RuleSet::new(vec![
        rule("*", Source::Upstream, false),
        rule("[^a]/*/?", Source::Direct, true),
    ])
    .unwrap();
    for path in [
        "",
        "/",
        "//",
        "\u{0}",
        "a/\u{10ffff}/é",
        "\u{fffd}",
        &"a/".repeat(10_000),
    ] {
        let _ = rules.route(path);
        let _ = rules.is_private(path);
    }
}

#[test]
fn nosumdb_patterns_turn_off_public_lookups_for_any_route() {
    let rules = RuleSet::new(vec![rule("corp.example/direct", Source::Direct, true)])
        .unwrap()
        .with_nosumdb(vec!["corp.example/*".into(), "other.example".into()]);
    let nosumdb = rules.route("corp.example/secret");
    assert_eq!(
        (nosumdb.source, nosumdb.sumdb, nosumdb.rule_index),
        (Source::Upstream, false, None)
    );
    assert!(nosumdb.is_private());
    assert!(!rules.route("other.example/x/y").sumdb);
    assert!(rules.route("public.example/x").sumdb);
    assert!(!rules.route("public.example/x").is_private());
    assert_eq!(rules.route("corp.example/direct").source, Source::Direct);
}
