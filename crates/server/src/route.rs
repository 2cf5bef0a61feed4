//! From a request path to what it asks for (spec §1.1). Which source
//! serves a module is decided after this, from the rules (`modvault_rules`).

use modvault_core::escape::{unescape_path, unescape_version};
use modvault_proxy::{FetchPolicy, FileRequest, Module};
use percent_encoding::percent_decode_str;

/// The base path under which every answer comes from the store alone, as at
/// proxy.golang.org.
pub const CACHED_ONLY_PREFIX: &str = "/cached-only/";

#[derive(Debug)]
pub enum Endpoint {
    Health,
    Ready,
    Metrics,
    /// `/sumdb/<name>/<rest>`, still joined: a database name may contain
    /// slashes, so only the configured names can split it.
    Sumdb(String),
    Module {
        module: Module,
        file: FileRequest,
        policy: FetchPolicy,
    },
    /// `/index`: the index feed (index.golang.org's format).
    Index,
    /// `/admin/refresh/<escaped module path>` (POST).
    AdminRefresh(Module),
    /// `/hooks/<provider>` (POST): a repository's push or tag event.
    Hook(crate::admin::Provider),
}

/// Why a path is not a route; always answered 404.
#[derive(Debug, PartialEq, Eq)]
pub struct NoRoute(pub String);

pub fn parse(raw_path: &str) -> Result<Endpoint, NoRoute> {
    // Percent-decode first (the go command sends `!` as `%21`); `+` stays a
    // plus, as in `+incompatible`.
    let decoded = percent_decode_str(raw_path)
        .decode_utf8()
        .map_err(|_| NoRoute(format!("path {raw_path:?} is not valid UTF-8")))?;
    match decoded.as_ref() {
        "/healthz" => return Ok(Endpoint::Health),
        "/readyz" => return Ok(Endpoint::Ready),
        "/metrics" => return Ok(Endpoint::Metrics),
        "/index" => return Ok(Endpoint::Index),
        _ => {}
    }
    // None of these is a module path: a module's first element has a dot.
    if let Some(escaped) = decoded.strip_prefix("/admin/refresh/") {
        let path = unescape_path(escaped).map_err(|e| NoRoute(e.to_string()))?;
        let module = Module::new(&path).map_err(|e| NoRoute(e.to_string()))?;
        return Ok(Endpoint::AdminRefresh(module));
    }
    if let Some(name) = decoded.strip_prefix("/hooks/") {
        return crate::admin::Provider::parse(name)
            .map(Endpoint::Hook)
            .ok_or_else(|| {
                NoRoute(format!(
                    "{name}: unknown webhook provider (github, gitlab, gitea, forgejo)"
                ))
            });
    }
    if let Some(rest) = decoded.strip_prefix("/sumdb/") {
        return Ok(Endpoint::Sumdb(rest.to_owned()));
    }
    let (rest, policy) = match decoded.strip_prefix(CACHED_ONLY_PREFIX) {
        Some(rest) => (rest, FetchPolicy::CachedOnly),
        None => (
            decoded.strip_prefix('/').unwrap_or(&decoded),
            FetchPolicy::FetchOnMiss,
        ),
    };
    let (escaped_module, file) = if let Some(module) = rest.strip_suffix("/@latest") {
        (module, FileRequest::Latest)
    } else if let Some((module, name)) = rest.split_once("/@v/") {
        (module, version_file(name)?)
    } else {
        return Err(NoRoute(format!("{rest}: not a module proxy path")));
    };
    let path = unescape_path(escaped_module).map_err(|e| NoRoute(e.to_string()))?;
    let module = Module::new(&path).map_err(|e| NoRoute(e.to_string()))?;
    Ok(Endpoint::Module {
        module,
        file,
        policy,
    })
}

fn version_file(name: &str) -> Result<FileRequest, NoRoute> {
    if name == "list" {
        return Ok(FileRequest::List);
    }
    // Versions contain dots: strip a known suffix, never split at a dot.
    let (escaped, make): (&str, fn(String) -> FileRequest) =
        if let Some(v) = name.strip_suffix(".info") {
            (v, FileRequest::Info)
        } else if let Some(v) = name.strip_suffix(".mod") {
            (v, FileRequest::GoMod)
        } else if let Some(v) = name.strip_suffix(".zip") {
            (v, FileRequest::Zip)
        } else {
            return Err(NoRoute(format!("{name}: unknown file type")));
        };
    let version = unescape_version(escaped).map_err(|e| NoRoute(e.to_string()))?;
    Ok(make(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module_route(path: &str) -> (String, FileRequest, FetchPolicy) {
        match parse(path).unwrap() {
            Endpoint::Module {
                module,
                file,
                policy,
            } => (module.path, file, policy),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn escaped_paths_and_versions() {
        for path in [
            "/github.com/%21azure/go-autorest/@v/list",
            "/github.com/!azure/go-autorest/@v/list",
        ] {
            assert_eq!(
                module_route(path),
                (
                    "github.com/Azure/go-autorest".into(),
                    FileRequest::List,
                    FetchPolicy::FetchOnMiss
                )
            );
        }
        assert_eq!(
            module_route("/github.com/%21azure/go-autorest/@v/v14.2.0+incompatible.info").1,
            FileRequest::Info("v14.2.0+incompatible".into())
        );
        assert_eq!(
            module_route("/example.com/m/@v/!master.info").1,
            FileRequest::Info("Master".into())
        );
        assert_eq!(
            module_route("/example.com/m/@v/v1.2.3.zip").1,
            FileRequest::Zip("v1.2.3".into())
        );
        assert_eq!(
            module_route("/example.com/m/@v/v1.2.3.mod").1,
            FileRequest::GoMod("v1.2.3".into())
        );
        assert_eq!(
            module_route("/example.com/m/@latest").1,
            FileRequest::Latest
        );
        assert_eq!(
            module_route("/cached-only/example.com/m/@latest").2,
            FetchPolicy::CachedOnly
        );
    }

    #[test]
    fn invalid_paths_are_no_route() {
        for path in [
            "/github.com/Azure/go-autorest/@v/list",
            "/Example.com/x/@v/v1.0.0.info",
            "/example.com/x/v1/@v/v1.0.0.info",
            "/gopkg.in/foo/@v/list",
            "/example.com/m/@v/v1.0.0.tar",
            "/example.com/m/@v/V1.0.0.info",
            "/example.com/m",
            "/",
            "/example.com/m/@v/%ff.info",
        ] {
            assert!(parse(path).is_err(), "{path} accepted");
        }
    }

    #[test]
    fn health_routes() {
        assert!(matches!(parse("/healthz"), Ok(Endpoint::Health)));
        assert!(matches!(parse("/readyz"), Ok(Endpoint::Ready)));
    }

    #[test]
    fn operations_routes() {
        assert!(matches!(parse("/index"), Ok(Endpoint::Index)));
        match parse("/admin/refresh/github.com/!azure/x").unwrap() {
            Endpoint::AdminRefresh(m) => assert_eq!(m.path, "github.com/Azure/x"),
            other => panic!("{other:?}"),
        }
        assert!(parse("/admin/refresh/Bad/path").is_err());
        assert!(matches!(
            parse("/hooks/forgejo"),
            Ok(Endpoint::Hook(crate::admin::Provider::Gitea))
        ));
        assert!(parse("/hooks/bitbucket").is_err());
    }
}
