//! The Prometheus recorder behind `/metrics`. It has no listener of its
//! own: the server renders it on its `/metrics` route, under `auth.metrics`.
//!
//! Every metric modvault emits is described here, so `/metrics` and
//! `ops/grafana/modvault.json` have one list to agree with. Labels stay
//! bounded: route kinds, statuses, file kinds, source kinds, git commands;
//! never a module path.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Counters: name and help.
pub const COUNTERS: &[(&str, &str)] = &[
    (
        "modvault_security_errors_total",
        "Fetched modules that did not match the checksum database.",
    ),
    (
        "modvault_zips_stored_total",
        "Module zips fetched, verified and stored.",
    ),
    (
        "modvault_zips_rejected_total",
        "Module zips refused after fetching.",
    ),
    (
        "modvault_http_requests_total",
        "Requests answered, by route kind and status.",
    ),
    (
        "modvault_cache_hits_total",
        "Files answered from the store without asking a source, by file kind.",
    ),
    (
        "modvault_cache_misses_total",
        "Files not in the store (or no longer fresh) when asked for, by file kind.",
    ),
    (
        "modvault_upstream_errors_total",
        "Failed upstream fetches, by source kind.",
    ),
    (
        "modvault_upstream_fetches_total",
        "Upstream fetches, by source kind.",
    ),
    (
        "modvault_git_command_errors_total",
        "Git commands that failed or timed out, by command.",
    ),
    (
        "modvault_checksum_verifications_total",
        "Checksum-database verifications, by file kind and result (ok, mismatch, error).",
    ),
    (
        "modvault_evicted_versions_total",
        "Module versions evicted from the store.",
    ),
    (
        "modvault_evicted_bytes_total",
        "Bytes of module zips evicted from the store.",
    ),
];

/// Histograms: name and help; all in seconds.
pub const HISTOGRAMS: &[(&str, &str)] = &[
    (
        "modvault_http_request_duration_seconds",
        "Time to a response's headers, by route kind.",
    ),
    (
        "modvault_upstream_fetch_duration_seconds",
        "Upstream fetches until their answer, by source kind.",
    ),
    (
        "modvault_git_command_duration_seconds",
        "Git commands, by command.",
    ),
];

/// Gauges: name and help.
pub const GAUGES: &[(&str, &str)] = &[
    (
        "modvault_store_objects",
        "Module versions stored (from the catalog, as of the scrape).",
    ),
    (
        "modvault_store_bytes",
        "Bytes of module zips stored (from the catalog, as of the scrape).",
    ),
    (
        "modvault_upstream_fetches_in_flight",
        "Upstream fetches under way.",
    ),
];

/// From a millisecond to ten minutes (`vcs_timeout`'s default).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder as the process's global one (once; later calls
/// return the same handle) and registers the unlabelled counters at 0, so
/// a scrape shows them before anything happened.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may be installed already (a test harness); this
        // handle then renders only what was described below.
        let _ = metrics::set_global_recorder(recorder);
        for (name, help) in COUNTERS {
            metrics::describe_counter!(*name, *help);
        }
        for (name, help) in HISTOGRAMS {
            metrics::describe_histogram!(*name, metrics::Unit::Seconds, *help);
        }
        for (name, help) in GAUGES {
            metrics::describe_gauge!(*name, *help);
        }
        for name in [
            "modvault_security_errors_total",
            "modvault_zips_stored_total",
            "modvault_zips_rejected_total",
            "modvault_evicted_versions_total",
            "modvault_evicted_bytes_total",
        ] {
            metrics::counter!(name).increment(0);
        }
        metrics::gauge!("modvault_upstream_fetches_in_flight").set(0.0);
        // Histogram samples wait in buckets until drained; without a scrape
        // for hours they would pile up, so drain them now and then.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            });
        handle
    })
}

/// The Prometheus text format of every metric.
pub fn render() -> String {
    install().render()
}
