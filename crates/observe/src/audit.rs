//! The audit log: every event with target [`AUDIT_TARGET`] as one JSON line
//! (`time`, `event`, then the event's fields) appended to a file.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterFn};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// The target of audit events.
pub const AUDIT_TARGET: &str = "modvault::audit";

/// Only audit events, whatever the log level.
pub fn filter() -> FilterFn<fn(&tracing::Metadata<'_>) -> bool> {
    filter_fn(|meta| meta.target() == AUDIT_TARGET)
}

/// Writes audit events to a file opened for appending (mode 0600: the log
/// names who did what).
pub struct AuditLayer {
    file: Mutex<File>,
}

impl AuditLayer {
    /// Opens (creating) the file; its directory too, since the default
    /// is inside a data directory that a first start has not made yet.
    pub fn open(path: &Path) -> std::io::Result<AuditLayer> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        Ok(AuditLayer {
            file: Mutex::new(file),
        })
    }
}

/// One event as a JSON line: `time`, `event`, then the other fields in the
/// order they were given.
pub fn line(event: &Event<'_>, now: time::OffsetDateTime) -> String {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let time = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut out = String::with_capacity(128);
    out.push_str("{\"time\":");
    out.push_str(&Value::String(time).to_string());
    out.push_str(",\"event\":");
    out.push_str(&fields.event.unwrap_or(Value::Null).to_string());
    for (name, value) in fields.rest {
        out.push(',');
        out.push_str(&Value::String(name.to_owned()).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push_str("}\n");
    out
}

impl<S: Subscriber> Layer<S> for AuditLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != AUDIT_TARGET {
            return;
        }
        let line = line(event, time::OffsetDateTime::now_utc());
        // One write of the whole line on an O_APPEND file: lines from the
        // server and from `modvault token` never interleave. Unbuffered,
        // so each line is on disk (in the page cache) as soon as it happened.
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            eprintln!("modvault: cannot write the audit log: {e}");
        }
    }
}

#[derive(Default)]
struct Fields {
    event: Option<Value>,
    rest: Vec<(&'static str, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "event" {
            self.event = Some(value);
        } else {
            self.rest.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn audit_events_are_json_lines_and_other_events_are_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let layer = AuditLayer::open(&path).unwrap().with_filter(filter());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "modvault::audit", event = "token_create", token_name = "ci", scope = %"publish", count = 3u64);
            tracing::error!(event = "not_audit", "an ordinary log line");
            tracing::info!(target: "modvault::audit", module = "example.com/m", event = "publish", "published");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("{\"time\":\""), "{text}");
        assert!(lines[0].contains(",\"event\":\"token_create\",\"token_name\":\"ci\",\"scope\":\"publish\",\"count\":3}"), "{text}");
        let second: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["event"], "publish");
        assert_eq!(second["module"], "example.com/m");
        assert_eq!(second["message"], "published");
        let time = second["time"].as_str().unwrap();
        time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
