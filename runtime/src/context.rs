//! The request a log line, a capability call or a guest failure is about.

use std::sync::Arc;

/// The longest `X-Request-Id` a client may choose (longer: a fresh id is used).
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// What every log line about one request carries (who, which route, which
/// request), and the request's query exactly as the client sent it.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The id in `X-Request-Id`.
    pub request_id: String,
    /// The tenant that owns the endpoint.
    pub tenant: Arc<str>,
    /// The route pattern, e.g. `GET /api/v1/reports/{reportId}/export`.
    pub route: Arc<str>,
    /// The query as the client sent it, undecoded: a `wasi:http` guest reads
    /// `path-with-query` verbatim, as it would under `wasmtime serve`.
    pub raw_query: Option<String>,
    /// What the request's capability calls took, for `Server-Timing`.
    pub timings: Arc<crate::timing::Timings>,
}
