//! Observability: the Prometheus recorder behind `/metrics`, OpenTelemetry
//! traces over OTLP, and the audit log, all set up once by [`init`].
//!
//! Everyone else only emits: `metrics::counter!`/`gauge!`/`histogram!`,
//! `tracing` spans, and audit events
//! (`tracing::info!(target: "modvault::audit", event = "…", …)`).

pub mod audit;
pub mod prom;
pub mod trace;

use std::path::PathBuf;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

pub use audit::{AuditLayer, AUDIT_TARGET};

/// What [`init`] sets up.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The log filter (`RUST_LOG` syntax) for stderr.
    pub log_filter: String,
    /// JSON log lines on stderr rather than text.
    pub json: bool,
    /// Where audit events go; `None`: nowhere.
    pub audit_log: Option<PathBuf>,
    /// Export spans over OTLP/HTTP: `Some("")` asks the SDK to take the
    /// endpoint from `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`.
    pub otlp_endpoint: Option<String>,
}

/// Keeps the span exporter alive; dropping it flushes what is still queued.
#[must_use]
pub struct Guard {
    traces: Option<trace::Exporter>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(traces) = self.traces.take() {
            traces.shutdown();
        }
    }
}

/// Installs the global `tracing` subscriber (stderr logs, the audit file,
/// OTLP spans) and the Prometheus recorder. Call once, outside any async
/// runtime (the OTLP client runs on a thread of its own).
pub fn init(options: &Options) -> Result<Guard, String> {
    prom::install();
    let filter = tracing_subscriber::EnvFilter::try_new(&options.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal; logs read by machines stay plain.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let fmt = if options.json {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    let audit = match &options.audit_log {
        Some(path) => Some(
            AuditLayer::open(path)
                .map_err(|e| format!("audit_log: cannot open {}: {e}", path.display()))?
                .with_filter(audit::filter()),
        ),
        None => None,
    };
    let (traces, otel) = match &options.otlp_endpoint {
        Some(endpoint) => {
            let exporter = trace::Exporter::new(endpoint)?;
            // modvault's own spans only: a dependency's would add nothing
            // a person reading a trace needs, and cost export volume. No
            // log events either: a log line may name a private module,
            // while span attributes are chosen not to (see the README).
            let layer = tracing_opentelemetry::layer()
                .with_tracer(exporter.tracer())
                .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                    meta.is_span()
                        && meta.target().starts_with("modvault")
                        && meta.target() != AUDIT_TARGET
                        && *meta.level() <= tracing::Level::INFO
                }));
            (Some(exporter), Some(layer))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(fmt)
        .with(audit)
        .with(otel)
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    Ok(Guard { traces })
}

/// For commands that do not serve (`modvault token …`): only the audit
/// file, so their changes are recorded beside the server's.
pub fn init_audit_only(audit_log: Option<&std::path::Path>) -> Result<(), String> {
    let Some(path) = audit_log else {
        return Ok(());
    };
    let layer = AuditLayer::open(path)
        .map_err(|e| format!("audit_log: cannot open {}: {e}", path.display()))?
        .with_filter(audit::filter());
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))
}
