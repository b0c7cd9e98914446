//! The process's log and traces: text or JSON lines on stderr, filtered by
//! `RUST_LOG` (when serving, written by a thread of their own from a bounded
//! buffer, so a slow or stalled reader of stderr never blocks a request: past
//! `LOG_BUFFER_LINES` waiting lines, new ones are dropped and counted in
//! `gatehouse_log_lines_dropped_total`), each tenant's own ring of lines
//! (`tenant_logs`), and, when
//! `telemetry.otlp_endpoint` is set, OpenTelemetry traces sent over OTLP
//! (HTTP/protobuf): one span per request, with a child for each gate step,
//! the guest, and each database or outbound call (see `trace_context` for
//! the W3C `traceparent` in and out).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetrySection};

/// Default filter: our own info lines, quiet dependencies.
const DEFAULT_FILTER: &str = "info,wasmtime=warn,cranelift=warn,wasmtime_cranelift=warn";

/// The spans traces carry: the request's (info) and its children (debug,
/// which the log lines never show, so they cost nothing without traces).
const TRACED: &str = "gatehouse";

/// Log lines waiting for stderr, at most, before new ones are dropped (about
/// 200 bytes each: ~13 MB at worst).
pub const LOG_BUFFER_LINES: usize = 65_536;

/// The serving process's count of log lines dropped because stderr's reader fell behind.
static DROPPED: std::sync::OnceLock<tracing_appender::non_blocking::ErrorCounter> = std::sync::OnceLock::new();

/// Log lines dropped so far because stderr's reader fell behind (0 when not serving).
pub fn dropped_log_lines() -> u64 {
    DROPPED.get().map_or(0, |c| c.dropped_lines() as u64)
}

/// What `init` started; `shutdown` writes the lines and sends the spans still buffered.
#[must_use = "keep it, and call shutdown before the process exits, or the last lines and spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
    lines: Option<tracing_appender::non_blocking::WorkerGuard>,
}

impl Telemetry {
    /// Sends every finished span still buffered and stops the exporter (at
    /// most a few seconds: the exporter has its own deadline). Blocking: call
    /// it from a blocking thread.
    pub fn shutdown(self) {
        // Dropping the guard writes out the lines still buffered.
        drop(self.lines);
        if let Some(provider) = self.traces
            && let Err(e) = provider.shutdown()
        {
            eprintln!("sending the last traces failed: {e}");
        }
    }
}

/// Installs the global subscriber (once; later calls are ignored) without
/// traces: the log lines and the tenants' rings.
pub fn init(format: LogFormat) {
    install(format, &TelemetrySection::default(), false).shutdown();
}

/// Installs the global subscriber (once; later calls do nothing and return
/// no exporter): the log lines, the tenants' rings and, with
/// `telemetry.otlp_endpoint`, the trace exporter.
pub fn init_with_traces(format: LogFormat, telemetry: &TelemetrySection) -> Telemetry {
    install(format, telemetry, true)
}

/// `buffered`: the lines go through the writer thread (a server), or
/// straight to stderr (a command that prints and exits).
fn install(format: LogFormat, telemetry: &TelemetrySection, buffered: bool) -> Telemetry {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = if buffered {
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(LOG_BUFFER_LINES)
            .thread_name("gatehouse-log")
            .finish(std::io::stderr());
        let _ = DROPPED.set(writer.error_counter());
        (tracing_subscriber::fmt::writer::BoxMakeWriter::new(writer), Some(guard))
    } else {
        (tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr), None)
    };
    let lines = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(writer).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer().json().flatten_event(true).with_writer(writer).boxed(),
    };
    let (provider, problem) = match telemetry.otlp_endpoint.as_deref().map(|url| exporter(url, telemetry)) {
        Some(Ok(p)) => (Some(p), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(TRACED))
            .with_filter(Targets::new().with_target(TRACED, Level::DEBUG))
    });
    let installed = tracing_subscriber::registry()
        .with(crate::tenant_logs::TenantLogLayer.with_filter(filter()))
        .with(lines.with_filter(filter()))
        .with(traces)
        .try_init()
        .is_ok();
    if let Some(problem) = problem {
        tracing::error!("traces are off: {problem}");
    }
    if let (true, Some(url)) = (installed, &telemetry.otlp_endpoint) {
        tracing::info!(endpoint = %url, "sending traces over OTLP");
    }
    Telemetry { traces: provider.filter(|_| installed), lines: guard.filter(|_| installed) }
}

/// The OTLP/HTTP exporter and a batching provider: finished spans are sent
/// every `export_every` from a thread of the exporter's own, never from a
/// request's task.
fn exporter(url: &str, telemetry: &TelemetrySection) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| format!("cannot build the OTLP exporter for {url}: {e}"))?;
    let batches = BatchConfigBuilder::default().with_scheduled_delay(telemetry.export_every).build();
    let processor = BatchSpanProcessor::builder(exporter).with_batch_config(batches).build();
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(telemetry.service_name.clone()).build();
    Ok(SdkTracerProvider::builder().with_span_processor(processor).with_resource(resource).build())
}
