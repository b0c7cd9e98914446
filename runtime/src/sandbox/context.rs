use std::sync::Arc;

/// What every log line about one request carries: who, which route, which request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The id in `X-Request-Id`.
    pub request_id: String,
    /// The tenant that owns the endpoint.
    pub tenant: Arc<str>,
    /// The route pattern, e.g. `GET /api/v1/reports/{reportId}/export`.
    pub route: Arc<str>,
}
