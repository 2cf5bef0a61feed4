//! Hostile go-get discovery servers and git servers: a discovery page that
//! redirects for ever or runs to megabytes, and a git server that accepts
//! and then stalls. Each ends in a clear not-found reason within the
//! configured timeouts, never a hang. The hostile server is reached as the
//! HTTP proxy of discovery and of git, as the go command's tests do (with
//! the hosts insecure, so plain HTTP is allowed).

use std::path::Path;
use std::time::Duration;

use modvault_git::{GitSource, GitSourceOptions};
use modvault_testkit::hostile::{Behaviour, HostileUpstream};
use modvault_testkit::TempDir;
use modvault_upstream::Fetcher;

fn source(upstream: &HostileUpstream, work: &Path) -> GitSource {
    let mut options = GitSourceOptions::new(work.join("mirrors"), work.join("scratch"));
    options.insecure = "mvtest.example,*.mvtest.example".into();
    options.http.request_timeout = Duration::from_secs(3);
    options.http.idle_timeout = Duration::from_secs(3);
    options.http.retries = 0;
    options.command_timeout = Duration::from_secs(3);
    options.git_env = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"]
        .iter()
        .map(|k| (k.to_string(), upstream.url.clone()))
        .collect();
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(&upstream.url).unwrap())
        .build()
        .unwrap();
    GitSource::with_http_client(options, client).unwrap()
}

/// The list answer's error, with a guard against a hang (not a timing
/// claim: the configured timeouts are seconds, the guard is minutes).
async fn list_error(source: &GitSource, module: &str) -> String {
    let answer = tokio::time::timeout(Duration::from_secs(120), source.list(module))
        .await
        .unwrap_or_else(|_| panic!("{module}: list hung"));
    match answer {
        Ok(list) => panic!("{module}: a hostile server gave a list: {list:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_discovery_page_that_redirects_for_ever_is_a_clear_not_found() {
    let upstream = HostileUpstream::start();
    upstream.on(
        "http://mvtest.example/loop?go-get=1",
        Behaviour::RedirectLoop,
    );
    let work = TempDir::new().unwrap();
    let source = source(&upstream, work.path());
    let reason = list_error(&source, "mvtest.example/loop").await;
    assert!(reason.contains("redirect"), "{reason}");
    assert_eq!(reason.lines().count(), 1, "{reason}");
}

#[tokio::test]
async fn a_discovery_page_of_megabytes_is_read_only_so_far() {
    let upstream = HostileUpstream::start();
    // 32 MiB of text, then the tag: past the page limit, so never seen.
    let mut page = vec![b'x'; 32 << 20];
    page.extend_from_slice(
        br#"<meta name="go-import" content="mvtest.example/huge git http://git.mvtest.example/huge">"#,
    );
    upstream.on("http://mvtest.example/huge?go-get=1", Behaviour::Ok(page));
    let work = TempDir::new().unwrap();
    let source = source(&upstream, work.path());
    let reason = list_error(&source, "mvtest.example/huge").await;
    assert!(
        !reason.contains("git.mvtest.example"),
        "the tag past the limit was read: {reason}"
    );
    assert_eq!(
        upstream.requests_for("http://git.mvtest.example/huge/info/refs?service=git-upload-pack"),
        0
    );
}

#[tokio::test]
async fn a_git_server_that_stalls_is_cut_off_at_the_command_timeout() {
    let upstream = HostileUpstream::start();
    upstream.on(
        "http://mvtest.example/stall?go-get=1",
        Behaviour::Ok(
            br#"<html><head><meta name="go-import" content="mvtest.example/stall git http://git.mvtest.example/stall"></head></html>"#
                .to_vec(),
        ),
    );
    let refs = "http://git.mvtest.example/stall/info/refs?service=git-upload-pack";
    upstream.on(
        refs,
        Behaviour::Stall {
            body: b"001e# service=git-upload-pack\n0000".to_vec(),
            sent: 10,
        },
    );
    let work = TempDir::new().unwrap();
    let source = source(&upstream, work.path());
    let reason = list_error(&source, "mvtest.example/stall").await;
    assert!(
        upstream.requests_for(refs) >= 1,
        "git never reached the server"
    );
    assert!(
        reason.contains("no answer from the repository within 3s"),
        "{reason}"
    );
    assert!(
        !reason.contains(&work.path().display().to_string()),
        "a local path reached the reason: {reason}"
    );
    // Nothing half-made is left for the next request to trip over.
    let mirrors: Vec<_> = std::fs::read_dir(work.path().join("mirrors"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(mirrors.is_empty(), "mirrors left behind: {mirrors:?}");
}
