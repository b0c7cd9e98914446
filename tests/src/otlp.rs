//! A small OpenTelemetry collector for the trace tests: it takes OTLP/HTTP
//! protobuf exports on a loopback port (`POST /v1/traces`), decodes them
//! with the protocol's own generated types, and keeps every span. Runs on its
//! own thread so it outlives any one test runtime.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;

/// One received span, its ids as lower-case hex.
#[derive(Debug, Clone)]
pub struct Span {
    /// Its name.
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, or empty for a root.
    pub parent_id: String,
    /// Its string attributes.
    pub attributes: Vec<(String, String)>,
    /// The `service.name` of its resource.
    pub service: String,
}

impl Span {
    /// A string attribute's value.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The collector: its address and what it received.
pub struct Collector {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    spans: Arc<Mutex<Vec<Span>>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

fn spans_of(request: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
            .map(|a| text(&a.value))
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                out.push(Span {
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_id: hex(&span.parent_span_id),
                    attributes: span.attributes.iter().map(|a| (a.key.clone(), text(&a.value))).collect(),
                    service: service.clone(),
                });
            }
        }
    }
    out
}

impl Collector {
    /// Starts listening.
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the collector");
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
        let kept = spans.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let receive = move |body: axum::body::Bytes| {
                    let kept = kept.clone();
                    async move {
                        match ExportTraceServiceRequest::decode(body) {
                            Ok(request) => {
                                kept.lock().unwrap().extend(spans_of(request));
                                axum::http::StatusCode::OK
                            }
                            Err(_) => axum::http::StatusCode::BAD_REQUEST,
                        }
                    }
                };
                let app = axum::Router::new().route("/v1/traces", axum::routing::post(receive));
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self { url, spans }
    }

    /// Waits (30 s at most: spans are sent in batches) until the spans of
    /// `trace_id` include one named each of `names`; returns that trace's spans.
    pub async fn trace(&self, trace_id: &str, names: &[&str]) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let trace: Vec<Span> =
                self.spans.lock().unwrap().iter().filter(|s| s.trace_id == trace_id).cloned().collect();
            if names.iter().all(|n| trace.iter().any(|s| s.name == *n)) {
                return trace;
            }
            assert!(
                Instant::now() < deadline,
                "trace {trace_id} lacks some of {names:?} after 30 s; it has {:?}",
                trace.iter().map(|s| &s.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every span received so far.
    pub fn all(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}
