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
    /// Where the client reached the tenant, for the signed URLs a guest
    /// makes; `None` outside a client's request.
    pub reached_at: Option<ReachedAt>,
}

/// The `Host` a request came to, and the tenant's path prefix if it came
/// through one (`/t/acme`): a signed URL must lead back the same way.
#[derive(Debug, Clone)]
pub struct ReachedAt {
    /// The `Host` header (or the HTTP/2 authority).
    pub host: http::HeaderValue,
    /// The tenant's path prefix, for path routing.
    pub prefix: Option<Arc<str>>,
}

impl std::fmt::Display for ReachedAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.host.to_str().unwrap_or(""))
    }
}
