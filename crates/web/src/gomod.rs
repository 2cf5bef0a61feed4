//! The parts of go.mod the pages show beyond `modvault_core::gomod`
//! (module, go, retract): requirements, replacements and the module's
//! deprecation notice. Display only: nothing here decides what is served.

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Require {
    pub path: String,
    pub version: String,
    pub indirect: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Replace {
    pub old: String,
    pub new: String,
}

#[derive(Clone, Debug, Default)]
pub struct Extra {
    pub requires: Vec<Require>,
    pub replaces: Vec<Replace>,
    pub deprecated: Option<String>,
}

fn unquote(token: &str) -> String {
    token.trim_matches(|c| c == '"' || c == '`').to_owned()
}

pub fn parse(text: &str) -> Extra {
    let mut extra = Extra::default();
    let mut block: Option<String> = None;
    let mut comments_before: Vec<String> = Vec::new();
    for raw in text.lines() {
        let (code, comment) = match raw.find("//") {
            Some(i) => (&raw[..i], Some(raw[i + 2..].trim())),
            None => (raw, None),
        };
        let tokens: Vec<&str> = code.split_whitespace().collect();
        if tokens.is_empty() {
            match comment {
                Some(c) => comments_before.push(c.to_owned()),
                None => comments_before.clear(),
            }
            continue;
        }
        let (verb, args): (String, Vec<&str>) = match &block {
            Some(_) if tokens == [")"] => {
                block = None;
                comments_before.clear();
                continue;
            }
            Some(verb) => (verb.clone(), tokens.clone()),
            None if tokens.len() == 2 && tokens[1] == "(" => {
                block = Some(tokens[0].to_owned());
                comments_before.clear();
                continue;
            }
            None => (tokens[0].to_owned(), tokens[1..].to_vec()),
        };
        match verb.as_str() {
            "module" => {
                let notes = comments_before.iter().map(String::as_str).chain(comment);
                for note in notes {
                    if let Some(rest) = note.strip_prefix("Deprecated:") {
                        extra.deprecated = Some(rest.trim().to_owned());
                    }
                }
            }
            "require" if args.len() >= 2 => extra.requires.push(Require {
                path: unquote(args[0]),
                version: unquote(args[1]),
                indirect: comment.is_some_and(|c| c.starts_with("indirect")),
            }),
            "replace" => {
                if let Some(arrow) = args.iter().position(|t| *t == "=>") {
                    extra.replaces.push(Replace {
                        old: args[..arrow]
                            .iter()
                            .map(|t| unquote(t))
                            .collect::<Vec<_>>()
                            .join(" "),
                        new: args[arrow + 1..]
                            .iter()
                            .map(|t| unquote(t))
                            .collect::<Vec<_>>()
                            .join(" "),
                    });
                }
            }
            _ => {}
        }
        comments_before.clear();
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_replaces_and_deprecation() {
        let extra = parse(
            "// Deprecated: use example.com/new.\nmodule example.com/old\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/mod v0.20.0\n\t\"example.com/q\" v1.0.0 // indirect\n)\nrequire example.com/r v2.0.0+incompatible\nreplace example.com/q v1.0.0 => ../q\n",
        );
        assert_eq!(extra.deprecated.as_deref(), Some("use example.com/new."));
        let requires: Vec<_> = extra
            .requires
            .iter()
            .map(|r| (r.path.as_str(), r.version.as_str(), r.indirect))
            .collect();
        assert_eq!(
            requires,
            [
                ("golang.org/x/mod", "v0.20.0", false),
                ("example.com/q", "v1.0.0", true),
                ("example.com/r", "v2.0.0+incompatible", false)
            ]
        );
        assert_eq!(extra.replaces[0].old, "example.com/q v1.0.0");
        assert_eq!(extra.replaces[0].new, "../q");
    }
}
