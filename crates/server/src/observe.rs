//! Request metrics: by route kind (a bounded label, never the module path)
//! and status.

use std::time::Duration;

use axum::http::Method;
use modvault_proxy::FileRequest;

use crate::route::{self, Endpoint};

/// What a request asks for, as a label: list, info, mod, zip, latest,
/// query, sumdb, index, publish, hook, health, metrics, admin, ui or
/// other.
pub fn route_kind(method: &Method, path: &str) -> &'static str {
    if path.starts_with("/admin/") || path == "/admin" {
        return "admin";
    }
    if path == "/" || path.starts_with("/ui") || path.starts_with("/api/") {
        return "ui";
    }
    match route::parse(path) {
        Ok(Endpoint::Health | Endpoint::Ready) => "health",
        Ok(Endpoint::Metrics) => "metrics",
        Ok(Endpoint::Sumdb(_)) => "sumdb",
        Ok(Endpoint::Index) => "index",
        Ok(Endpoint::AdminRefresh(_)) => "admin",
        Ok(Endpoint::Hook(_)) => "hook",
        Ok(Endpoint::Module { .. }) if method == Method::PUT => "publish",
        Ok(Endpoint::Module { file, .. }) => match file {
            FileRequest::List => "list",
            FileRequest::Latest => "latest",
            FileRequest::GoMod(_) => "mod",
            FileRequest::Zip(_) => "zip",
            // A version query (`@v/master.info`, `@v/v1.info`) rather than a
            // version's own file.
            FileRequest::Info(v)
                if modvault_core::semver::canonical(&v) != v.trim_end_matches("+incompatible") =>
            {
                "query"
            }
            FileRequest::Info(_) => "info",
        },
        Err(_) => "other",
    }
}

pub fn record_request(kind: &'static str, status: u16, took: Duration) {
    metrics::counter!("modvault_http_requests_total", "kind" => kind, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("modvault_http_request_duration_seconds", "kind" => kind)
        .record(took.as_secs_f64());
}

/// The store gauges from the catalog, as of this scrape (a count and a sum
/// over one narrow table). One refresh at a time, bounded: a scrape during
/// another's refresh, or a slow catalog, shows the last values.
pub async fn refresh_store_gauges(catalog: &dyn modvault_state::Catalog) {
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let Ok(_one) = ONE.try_lock() else {
        return;
    };
    let refresh = async {
        if let Ok(n) = catalog.count().await {
            metrics::gauge!("modvault_store_objects").set(n as f64);
        }
        if let Ok(bytes) = catalog.total_size().await {
            metrics::gauge!("modvault_store_bytes").set(bytes as f64);
        }
    };
    if tokio::time::timeout(Duration::from_secs(2), refresh)
        .await
        .is_err()
    {
        tracing::warn!("the catalog did not answer in time: store gauges not refreshed");
    }
}
