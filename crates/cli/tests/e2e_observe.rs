//! Observability end to end with real parts: the go command fetching through
//! modvault from each kind of source (another modvault over HTTP, a
//! `file://` tree, a git repository made here), a 404, a failed
//! authentication, a publish, token changes, an admin refresh and an
//! eviction; then `/metrics` read with a Prometheus text-format parser, the
//! spans a small OTLP/HTTP receiver here was sent, decoded with the
//! OpenTelemetry protobuf definitions, and the audit log.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prometheus_parse::{Scrape, Value};
use prost::Message;

use common::{create_token, modvault_bin};
use modvault_observe::prom::{COUNTERS, GAUGES, HISTOGRAMS};
use modvault_testkit::{file_url, run_ok, Go, Modvault, TempDir};

const HELLO: &str = "github.com/mvtest/hello";
const FILEMOD: &str = "github.com/mvtest/filemod";
const PRIVATE: &str = "github.com/mvtest/private";
const PUBLISHED: &str = "corp.example/lib";

/// One received span, its attributes as text.
#[derive(Clone, Debug)]
struct Span {
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent: Vec<u8>,
    attributes: BTreeMap<String, String>,
}

impl Span {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(list: &[KeyValue]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

/// What the receiver was sent: spans, resource attributes, and anything it
/// could not decode.
#[derive(Default)]
struct Received {
    spans: Vec<Span>,
    resources: Vec<BTreeMap<String, String>>,
    /// Span events, as their attributes: none are expected.
    events: Vec<BTreeMap<String, String>>,
    bad: Vec<String>,
}

/// An OTLP/HTTP receiver on a free loopback port: `POST /v1/traces` with a
/// protobuf `ExportTraceServiceRequest`, as a collector takes it.
fn start_receiver() -> (String, Arc<Mutex<Received>>) {
    let received = Arc::new(Mutex::new(Received::default()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sink = received.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let handler = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let mut received = sink.lock().unwrap();
                    let content_type = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    if content_type != "application/x-protobuf" {
                        received.bad.push(format!("content-type {content_type:?}"));
                    }
                    match ExportTraceServiceRequest::decode(body) {
                        Ok(request) => {
                            for resource in request.resource_spans {
                                if let Some(r) = &resource.resource {
                                    received.resources.push(attributes(&r.attributes));
                                }
                                for scope in resource.scope_spans {
                                    for span in scope.spans {
                                        for event in &span.events {
                                            received.events.push(attributes(&event.attributes));
                                        }
                                        received.spans.push(Span {
                                            name: span.name.clone(),
                                            trace_id: span.trace_id.clone(),
                                            span_id: span.span_id.clone(),
                                            parent: span.parent_span_id.clone(),
                                            attributes: attributes(&span.attributes),
                                        });
                                    }
                                }
                            }
                        }
                        Err(e) => received.bad.push(format!("undecodable export: {e}")),
                    }
                    (
                        [("content-type", "application/x-protobuf")],
                        ExportTraceServiceResponse::default().encode_to_vec(),
                    )
                }
            };
            let app = axum::Router::new().route("/v1/traces", axum::routing::post(handler));
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, received)
}

fn git_env(go: &Go) -> Vec<(&'static str, String)> {
    vec![
        (
            "GIT_CONFIG_GLOBAL",
            go.gitconfig().to_str().unwrap().to_owned(),
        ),
        ("GIT_CONFIG_NOSYSTEM", "1".to_owned()),
    ]
}

fn module_repo(go: &Go, name: &str, module: &str) {
    let mut repo = go.repo(name);
    repo.write("go.mod", format!("module {module}\n\ngo 1.21\n"))
        .write("x.go", "package x\n");
    repo.commit("v1.0.0").tag("v1.0.0");
}

fn scrape(modvault: &Modvault) -> (String, Scrape) {
    let response = modvault.get("/metrics");
    assert_eq!(response.status(), 200);
    let body = response.text().unwrap();
    let parsed = Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    (body, parsed)
}

/// The value of a counter or gauge with exactly these labels (0 if absent).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => panic!("{metric} is not a counter or gauge"),
        })
        .sum()
}

/// The observation count (the `+Inf` bucket) of a histogram's series with
/// these labels.
fn observations(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Histogram(buckets) => {
                let inf = buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .unwrap_or_else(|| panic!("{metric}: no +Inf bucket"));
                // Cumulative buckets never decrease.
                for pair in buckets.windows(2) {
                    assert!(pair[0].count <= pair[1].count, "{metric}: {buckets:?}");
                }
                inf.count
            }
            _ => panic!("{metric} is not a histogram"),
        })
        .sum()
}

#[test]
fn metrics_traces_and_the_audit_log_of_real_traffic() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    module_repo(&go, "mvtest/hello", HELLO);
    module_repo(&go, "mvtest/private", PRIVATE);
    // A module only the file:// tree has (the upstream modvault, reading
    // `go`'s repositories, never sees it).
    let scratch = Go::new();
    module_repo(&scratch, "mvtest/filemod", FILEMOD);
    let tree = scratch.direct_tree("tree", &[&format!("{FILEMOD}@v1.0.0")]);

    let env = git_env(&go);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let upstream = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("upstream-data"),
        "direct",
        &["--storage", ""],
        &env,
    );

    let config = dir.path().join("modvault.toml");
    std::fs::write(
        &config,
        format!(
            "[[rule]]\nmatch = \"{PRIVATE}\"\nsource = \"direct\"\n\n[[rule]]\nmatch = \"corp.example\"\nsource = \"published\"\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let admin = create_token(&data, "ops", "admin");
    let publisher = create_token(&data, "release", "publish");
    let temporary = create_token(&data, "temporary", "read");
    run_ok(
        Command::new(modvault_bin())
            .args(["token", "revoke", "temporary", "--data-dir"])
            .arg(&data),
    );
    let secrets = [admin.as_str(), publisher.as_str(), temporary.as_str()];

    let (collector, received) = start_receiver();
    let chain = format!("{},{}", file_url(&tree), upstream.url);
    let mut env_with_otel = env.clone();
    env_with_otel.push(("OTEL_BSP_SCHEDULE_DELAY", "100"));
    let mut modvault = Modvault::start_in(
        &modvault_bin(),
        &data,
        &chain,
        &[
            "--storage",
            "",
            "--config",
            config.to_str().unwrap(),
            "--list-ttl",
            "1h",
            "--otlp-endpoint",
            &collector,
        ],
        &env_with_otel,
    );

    // Before any traffic: the unlabelled counters are there at 0, described.
    let (_, before) = scrape(&modvault);
    assert_eq!(value(&before, "modvault_zips_stored_total", &[]), 0.0);
    assert_eq!(value(&before, "modvault_store_objects", &[]), 0.0);

    // Misses from each source, then hits from a fresh module cache.
    let goproxy = modvault.url.clone();
    for module in [HELLO, FILEMOD, PRIVATE] {
        let json = go.download(
            &goproxy,
            &go.mod_cache("first"),
            &format!("{module}@v1.0.0"),
        );
        assert_eq!(json["Version"], "v1.0.0", "{json}");
    }
    let list = |cache: &str| {
        let output = run_ok(go.command(&goproxy, &go.mod_cache(cache)).args([
            "list",
            "-m",
            "-versions",
            HELLO,
        ]));
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(list("first").trim(), format!("{HELLO} v1.0.0"));
    assert_eq!(list("second").trim(), format!("{HELLO} v1.0.0"));
    // The zip of the first download streamed to the client while it was
    // being stored; a hit needs it stored.
    wait_for(|| data.join(format!("{HELLO}/@v/v1.0.0.zip")).is_file());
    go.download(
        &goproxy,
        &go.mod_cache("second"),
        &format!("{HELLO}@v1.0.0"),
    );

    // A module nobody has: the go command fails on modvault's 404.
    let missing = go
        .command(&goproxy, &go.mod_cache("first"))
        .args(["mod", "download", "corp.example/nosuch@v1.0.0"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    // A failed authentication.
    let client = reqwest::blocking::Client::new();
    let refused = client
        .get(format!("{}/{HELLO}/@v/v1.0.0.info", modvault.url))
        .bearer_auth(&temporary)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401, "a revoked token is refused");

    // A publish with `modvault publish`.
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(
        lib.join("go.mod"),
        format!("module {PUBLISHED}\n\ngo 1.21\n"),
    )
    .unwrap();
    std::fs::write(lib.join("lib.go"), "package lib\n").unwrap();
    run_ok(
        Command::new(modvault_bin())
            .args(["publish", "--server", &modvault.url, "--token", &publisher])
            .arg(&lib)
            .arg("v1.0.0"),
    );

    // An admin refresh of the git module.
    let refreshed = client
        .post(format!("{}/admin/refresh/{PRIVATE}", modvault.url))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(refreshed.status(), 200);

    // The store gauges are read from the catalog at each scrape; the
    // catalog hears of a zip just after it is stored.
    let zips =
        [HELLO, FILEMOD, PRIVATE, PUBLISHED].map(|m| data.join(format!("{m}/@v/v1.0.0.zip")));
    wait_for(|| zips.iter().all(|z| z.is_file()));
    let mut metrics = scrape(&modvault);
    let deadline = Instant::now() + Duration::from_secs(60);
    while value(&metrics.1, "modvault_store_objects", &[]) < 4.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        metrics = scrape(&modvault);
    }
    let (body, metrics) = metrics;
    assert_eq!(
        value(&metrics, "modvault_store_objects", &[]),
        4.0,
        "{body}"
    );
    let stored_bytes: u64 = zips
        .iter()
        .map(|z| std::fs::metadata(z).unwrap().len())
        .sum();
    assert_eq!(
        value(&metrics, "modvault_store_bytes", &[]),
        stored_bytes as f64,
        "{body}"
    );
    check_metrics(&body, &metrics);

    // Stopping flushes the spans still queued.
    let status = modvault
        .signal_and_wait("TERM", Duration::from_secs(60))
        .expect("modvault stops on SIGTERM");
    assert!(status.success(), "{status}");
    let log = modvault.log().join("\n");
    drop(modvault);
    for secret in secrets {
        assert!(!log.contains(secret), "a token in the log");
    }
    check_spans(&received.lock().unwrap(), &secrets);

    // An eviction: everything that can be fetched again goes (the private
    // and the published versions stay).
    let gc = run_ok(
        Command::new(modvault_bin())
            .args(["gc", "--config", config.to_str().unwrap(), "--data-dir"])
            .arg(&data)
            .args(["--storage", "", "--upstream", &chain])
            .args(["--gc-max-size", "1", "--gc-min-idle", "0s"]),
    );
    let gc = String::from_utf8(gc.stdout).unwrap();
    assert!(gc.contains(&format!("evicted\t{HELLO}@v1.0.0")), "{gc}");

    check_audit_log(&data.join("audit.log"), &secrets);
}

/// Waits for something the server does just after answering; a bounded wait
/// that fails the test, not a measurement.
fn wait_for(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_metrics(body: &str, metrics: &Scrape) {
    // Every metric shown is described in crates/observe, with that help and
    // type; every name is modvault's.
    let described: HashMap<&str, (&str, &str)> = COUNTERS
        .iter()
        .map(|(n, h)| (*n, (*h, "counter")))
        .chain(HISTOGRAMS.iter().map(|(n, h)| (*n, (*h, "histogram"))))
        .chain(GAUGES.iter().map(|(n, h)| (*n, (*h, "gauge"))))
        .collect();
    let mut types = HashMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_owned(), kind.to_owned());
        }
    }
    let mut shown = 0;
    for sample in &metrics.samples {
        let name = sample
            .metric
            .strip_suffix("_sum")
            .or_else(|| sample.metric.strip_suffix("_count"))
            .filter(|base| described.get(base).is_some_and(|d| d.1 == "histogram"))
            .unwrap_or(&sample.metric);
        let Some((help, kind)) = described.get(name) else {
            panic!("{name} is shown but not described in crates/observe/src/prom.rs");
        };
        assert_eq!(
            metrics.docs.get(name).map(String::as_str),
            Some(*help),
            "HELP of {name}"
        );
        assert_eq!(
            types.get(name).map(String::as_str),
            Some(*kind),
            "TYPE of {name}"
        );
        shown += 1;
    }
    assert!(shown > 20, "{body}");

    // Requests by route kind and status, and their latency histograms.
    for (kind, status) in [
        ("info", "200"),
        ("mod", "200"),
        ("zip", "200"),
        ("list", "200"),
        ("info", "404"),
        ("info", "401"),
        ("publish", "201"),
        ("admin", "200"),
        ("metrics", "200"),
    ] {
        let n = value(
            metrics,
            "modvault_http_requests_total",
            &[("kind", kind), ("status", status)],
        );
        assert!(n >= 1.0, "no {kind} request answered {status}:\n{body}");
    }
    for kind in ["info", "mod", "zip", "list", "publish", "admin"] {
        let answered = value(metrics, "modvault_http_requests_total", &[("kind", kind)]);
        let timed = observations(
            metrics,
            "modvault_http_request_duration_seconds",
            &[("kind", kind)],
        );
        assert_eq!(timed, answered, "every {kind} request is timed:\n{body}");
    }
    assert!(value(metrics, "modvault_http_requests_total", &[("kind", "info")]) >= 6.0);

    // Cache hits and misses: a version's first .info is a miss, the second
    // client's a hit; the first list a miss, the second (fresh) a hit.
    assert!(
        value(metrics, "modvault_cache_misses_total", &[("kind", "info")]) >= 3.0,
        "{body}"
    );
    for kind in ["info", "mod", "zip", "list"] {
        assert!(
            value(metrics, "modvault_cache_hits_total", &[("kind", kind)]) >= 1.0,
            "no {kind} cache hit:\n{body}"
        );
    }
    // The first `go list` missed; the admin refresh asked the source for
    // the list and @latest whatever was stored: misses too.
    assert_eq!(
        value(metrics, "modvault_cache_misses_total", &[("kind", "list")]),
        2.0,
        "{body}"
    );
    assert_eq!(
        value(
            metrics,
            "modvault_cache_misses_total",
            &[("kind", "latest")]
        ),
        1.0,
        "{body}"
    );

    // Upstream fetches by source, timed.
    for source in ["proxy", "file", "direct"] {
        let fetches = value(
            metrics,
            "modvault_upstream_fetches_total",
            &[("source", source)],
        );
        assert!(fetches >= 1.0, "no {source} fetch:\n{body}");
        let timed = observations(
            metrics,
            "modvault_upstream_fetch_duration_seconds",
            &[("source", source)],
        );
        assert!(timed >= 1.0, "no {source} fetch timed:\n{body}");
    }
    assert_eq!(
        value(metrics, "modvault_upstream_errors_total", &[]),
        0.0,
        "{body}"
    );
    assert_eq!(
        value(metrics, "modvault_upstream_fetches_in_flight", &[]),
        0.0,
        "{body}"
    );
    // Git commands, by command.
    let git: f64 = metrics
        .samples
        .iter()
        .filter(|s| s.metric == "modvault_git_command_duration_seconds")
        .inspect(|s| assert!(s.labels.get("command").is_some()))
        .map(|_| 1.0)
        .sum();
    assert!(git >= 1.0, "{body}");
    assert!(
        value(metrics, "modvault_zips_stored_total", &[]) >= 3.0,
        "{body}"
    );
    assert!(!body.contains("mvtest/private"), "a module path as a label");
}

fn check_spans(received: &Received, secrets: &[&str]) {
    assert!(received.bad.is_empty(), "{:?}", received.bad);
    assert!(
        received
            .resources
            .iter()
            .all(|r| r.get("service.name").map(String::as_str) == Some("modvault")),
        "{:?}",
        received.resources
    );
    let spans = &received.spans;
    let by_id: HashMap<(&[u8], &[u8]), &Span> = spans
        .iter()
        .map(|s| ((s.trace_id.as_slice(), s.span_id.as_slice()), s))
        .collect();
    let parent = |s: &Span| {
        by_id
            .get(&(s.trace_id.as_slice(), s.parent.as_slice()))
            .copied()
    };
    let ancestor = |s: &Span, name: &str| {
        let mut at = parent(s);
        while let Some(p) = at {
            if p.name == name {
                return Some(p);
            }
            at = parent(p);
        }
        None
    };
    let named = |name: &'static str| spans.iter().filter(move |s| s.name == name);

    // Requests, with method, route kind and status; never a path.
    let requests: Vec<&Span> = named("request").collect();
    assert!(requests.len() >= 10, "{spans:#?}");
    for kind in ["info", "mod", "zip", "list", "publish", "admin"] {
        assert!(
            requests.iter().any(|r| r.attr("route") == Some(kind)
                && r.attr("http.method").is_some()
                && r.attr("http.status").is_some_and(|s| s.starts_with('2'))),
            "no {kind} request span: {requests:#?}"
        );
    }
    assert!(requests
        .iter()
        .any(|r| r.attr("http.status") == Some("404")));
    assert!(
        requests.iter().all(|r| r.parent.is_empty()),
        "requests are roots"
    );

    // The rules decision, inside its request.
    let decisions: Vec<&Span> = named("rules.route").collect();
    assert!(!decisions.is_empty());
    for decision in &decisions {
        assert_eq!(parent(decision).map(|p| p.name.as_str()), Some("request"));
    }

    // Store reads and writes by key kind, inside requests.
    for (name, kind) in [
        ("store.read", "info"),
        ("store.read", "zip"),
        ("store.write", "info"),
        ("store.write", "zip"),
        ("store.write", "list"),
    ] {
        assert!(
            named(name).any(|s| s.attr("key_kind") == Some(kind)
                && s.attr("op").is_some()
                && ancestor(s, "request").is_some()),
            "no {name} of a {kind} inside a request"
        );
    }

    // Upstream fetches of each source, inside the request that missed.
    for source in ["proxy", "file", "direct"] {
        assert!(
            named("upstream")
                .any(|s| s.attr("source") == Some(source) && ancestor(s, "request").is_some()),
            "no {source} upstream span inside a request"
        );
    }
    // Git commands, inside the direct fetch that needed them.
    let git: Vec<&Span> = named("git").collect();
    assert!(
        git.iter().any(|g| g.attr("command").is_some()
            && ancestor(g, "upstream").is_some_and(|u| u.attr("source") == Some("direct"))),
        "no git span inside a direct fetch: {git:#?}"
    );

    // Nothing names the private module or carries a token.
    assert!(
        received.events.is_empty(),
        "log events exported: {:?}",
        received.events
    );
    for span in spans {
        for value in span.attributes.values() {
            assert!(!value.contains("mvtest/private"), "{span:?}");
            for secret in secrets {
                assert!(!value.contains(secret), "a token in {span:?}");
            }
        }
    }
}

fn check_audit_log(path: &Path, secrets: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(path).unwrap();
    for secret in secrets {
        assert!(!text.contains(secret), "a token in the audit log");
    }
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    fn events<'a>(lines: &'a [serde_json::Value], event: &str) -> Vec<&'a serde_json::Value> {
        lines.iter().filter(|l| l["event"] == event).collect()
    }
    let of = |event: &str| events(&lines, event);
    for line in &lines {
        assert!(line["time"].is_string(), "{line}");
    }
    let created: Vec<&str> = of("token_create")
        .iter()
        .map(|l| l["token_name"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["ops", "release", "temporary"], "{text}");
    let revoked = of("token_revoke");
    assert_eq!(revoked.len(), 1, "{text}");
    assert_eq!(revoked[0]["token_name"], "temporary");
    let published = of("publish");
    assert_eq!(published.len(), 1, "{text}");
    assert_eq!(published[0]["module"], PUBLISHED);
    assert_eq!(published[0]["version"], "v1.0.0");
    let failures = of("auth_failure");
    assert_eq!(failures.len(), 1, "{text}");
    assert_eq!(failures[0]["peer"], "127.0.0.1");
    let refreshes = of("admin_refresh");
    assert_eq!(refreshes.len(), 1, "{text}");
    assert!(refreshes[0].to_string().contains(PRIVATE), "{text}");
    let evicted: Vec<&str> = of("eviction")
        .iter()
        .map(|l| l["module"].as_str().unwrap())
        .collect();
    assert!(
        evicted.contains(&HELLO) && evicted.contains(&FILEMOD),
        "{text}"
    );
    assert!(
        !evicted.contains(&PRIVATE) && !evicted.contains(&PUBLISHED),
        "{text}"
    );
}
