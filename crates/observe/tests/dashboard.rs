//! `ops/grafana/modvault.json` cannot drift from the code: it is a dashboard
//! Grafana imports (panels with Prometheus targets, the data source a
//! template variable), every metric its queries read is one
//! `crates/observe/src/prom.rs` describes, and every metric described there
//! is on a panel.

use std::collections::{BTreeSet, HashMap};

use modvault_observe::prom::{COUNTERS, GAUGES, HISTOGRAMS};
use serde_json::Value;

fn dashboard() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../ops/grafana/modvault.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every panel, rows' collapsed panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        all.push(panel);
        if let Some(inner) = panel["panels"].as_array() {
            all.extend(inner);
        }
    }
    all
}

/// The `modvault_…` names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("modvault_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(&tail[..end]);
        rest = &tail[end..];
    }
    names
}

/// The described metric an exposed series name belongs to: histograms are
/// read as `_bucket`, `_sum` and `_count`.
fn described_metric<'a>(name: &'a str, kinds: &HashMap<&str, &str>) -> Option<&'a str> {
    if kinds.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .find(|base| kinds.get(base) == Some(&"histogram"))
}

#[test]
fn the_dashboard_reads_only_described_metrics_and_shows_them_all() {
    let dashboard = dashboard();
    let kinds: HashMap<&str, &str> = COUNTERS
        .iter()
        .map(|(n, _)| (*n, "counter"))
        .chain(HISTOGRAMS.iter().map(|(n, _)| (*n, "histogram")))
        .chain(GAUGES.iter().map(|(n, _)| (*n, "gauge")))
        .collect();
    let mut used = BTreeSet::new();
    for panel in panels(&dashboard) {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().expect("every panel has a title");
        let targets = panel["targets"].as_array().filter(|t| !t.is_empty());
        let targets = targets.unwrap_or_else(|| panic!("{title}: no targets"));
        for target in targets {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{title}: no expr"));
            let names = metric_names(expr);
            assert!(
                !names.is_empty(),
                "{title}: {expr} reads no modvault metric"
            );
            for name in names {
                let metric = described_metric(name, &kinds).unwrap_or_else(|| {
                    panic!("{title}: {name} is not described in crates/observe/src/prom.rs")
                });
                if kinds[metric] == "counter" {
                    assert!(
                        expr.contains(&format!("rate({name}["))
                            || expr.contains(&format!("increase({name}[")),
                        "{title}: the counter {name} is read without rate() or increase()"
                    );
                }
                used.insert(metric);
            }
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{title}");
        }
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        assert_eq!(panel["datasource"]["type"], "prometheus", "{title}");
        for key in ["x", "y", "w", "h"] {
            assert!(panel["gridPos"][key].is_u64(), "{title}: gridPos.{key}");
        }
    }
    let missing: Vec<&str> = kinds
        .keys()
        .copied()
        .filter(|m| !used.contains(m))
        .collect();
    assert!(missing.is_empty(), "described but on no panel: {missing:?}");
}

#[test]
fn the_dashboard_is_importable() {
    let dashboard = dashboard();
    assert!(dashboard["title"].is_string());
    assert!(dashboard["schemaVersion"].is_u64());
    assert!(dashboard["uid"].is_string());
    // No fixed data source: the one chosen at import, or in the variable.
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let datasource = variables
        .iter()
        .find(|v| v["name"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");
    let panels = panels(&dashboard);
    assert!(panels.len() >= 10);
    let ids: BTreeSet<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    // Panels do not overlap on the 24-column grid.
    let boxes: Vec<(u64, u64, u64, u64)> = panels
        .iter()
        .map(|p| {
            let g = &p["gridPos"];
            let (x, y) = (g["x"].as_u64().unwrap(), g["y"].as_u64().unwrap());
            let (w, h) = (g["w"].as_u64().unwrap(), g["h"].as_u64().unwrap());
            assert!(x + w <= 24, "{}", p["title"]);
            (x, y, w, h)
        })
        .collect();
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let apart =
                a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
            assert!(apart, "overlapping panels at {a:?} and {b:?}");
        }
    }
}

#[test]
fn metric_names_are_found_in_expressions() {
    assert_eq!(
        metric_names("sum by (le) (rate(modvault_a_bucket[5m])) / modvault_b"),
        ["modvault_a_bucket", "modvault_b"]
    );
}
