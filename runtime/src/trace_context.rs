//! W3C Trace Context (`traceparent`, `tracestate`): a client's trace is
//! continued by the request's span, and a guest's outbound calls carry the
//! trace on, so the upstream's spans join it. Both do nothing when traces are
//! off (no exporter: the span has no OpenTelemetry context to give or take).

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header that names the caller's trace and span.
pub const TRACEPARENT: &str = "traceparent";

/// Makes `span` (not yet entered) a child of the client's `traceparent`, if
/// it sent a valid one. An invalid one starts a new trace, like none.
pub fn continue_from(span: &tracing::Span, headers: &http::HeaderMap) {
    if !headers.contains_key(TRACEPARENT) {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Fails only when traces are off or the span is disabled: nothing to continue then.
    let _ = span.set_parent(parent);
}

/// Writes the current span's `traceparent` (and `tracestate`) into an
/// outbound call's headers, replacing any the guest set: the trace is the
/// platform's to carry. Writes nothing when traces are off.
pub fn inject_current(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}
