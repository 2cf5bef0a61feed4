//! OpenTelemetry traces over OTLP/HTTP (protobuf). Off unless an endpoint
//! is configured (`otlp_endpoint`, or the SDK's own
//! `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`); the SDK also reads
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`
//! and `OTEL_BSP_*`.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// The path OTLP/HTTP receivers take traces at.
const TRACES_PATH: &str = "/v1/traces";

/// The tracer provider and its batch exporter (a thread of its own).
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// `endpoint` is the collector's base URL (`http://collector:4318`), as
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; empty: the SDK reads the environment.
    pub fn new(endpoint: &str) -> Result<Exporter, String> {
        let client = BlockingClient::new()?;
        let mut builder = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client);
        if !endpoint.is_empty() {
            let url = format!("{}{TRACES_PATH}", endpoint.trim_end_matches('/'));
            builder = builder.with_endpoint(url);
        }
        let exporter = builder.build().map_err(|e| {
            format!(
                "otlp_endpoint: {}",
                modvault_error::redact_urls(&e.to_string())
            )
        })?;
        let resource = if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
            Resource::builder().build()
        } else {
            Resource::builder().with_service_name("modvault").build()
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        Ok(Exporter { provider })
    }

    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer("modvault")
    }

    /// Sends what is queued, then stops the exporter's thread.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown_with_timeout(Duration::from_secs(5)) {
            eprintln!(
                "modvault: traces not all exported: {}",
                modvault_error::redact_urls(&e.to_string())
            );
        }
    }
}

/// The exporter's HTTP client: the batch processor runs on a thread of its
/// own, with no async runtime, so a blocking client (the workspace's
/// reqwest, rustls) rather than the SDK's default, which would bring a
/// second reqwest.
#[derive(Debug)]
struct BlockingClient(reqwest::blocking::Client);

impl BlockingClient {
    fn new() -> Result<BlockingClient, String> {
        // reqwest's blocking client must not be built on an async runtime's
        // thread; a thread of its own is safe wherever `init` is called.
        std::thread::spawn(|| {
            reqwest::blocking::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(10))
                .build()
        })
        .join()
        .map_err(|_| "otlp_endpoint: the HTTP client could not be built".to_owned())?
        .map(BlockingClient)
        .map_err(|e| format!("otlp_endpoint: cannot build the HTTP client: {e}"))
    }
}

#[async_trait::async_trait]
impl HttpClient for BlockingClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let mut out = self
            .0
            .request(parts.method, parts.uri.to_string())
            .body(body.to_vec());
        for (name, value) in &parts.headers {
            out = out.header(name, value);
        }
        let answer = out.send()?;
        let status = answer.status();
        let bytes = answer.bytes()?;
        Ok(Response::builder().status(status).body(bytes)?)
    }
}
