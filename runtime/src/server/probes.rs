//! `GET /healthz` and `GET /readyz` on the serving listener, for load
//! balancers and Kubernetes probes. Both paths are the platform's on every
//! host (no endpoint may route them), and both are answered before any
//! tenant lookup. `/healthz` is liveness: the process answers, whatever its
//! backing services do. `/readyz` is readiness: the store and (when
//! configured) Redis answered within their deadline and every endpoint of
//! platform.toml compiled; it asks them at most once a second however many
//! probes arrive (`health::Probe`), and tells an anonymous prober only which
//! checks passed, never why one failed.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};

use crate::app::App;
use crate::config::{HEALTHZ_PATH, READYZ_PATH};
use crate::error::{ApiError, ErrorCode};

/// Which probe a request is, if it is one.
pub(super) fn which(method: &http::Method, path: &str) -> Option<&'static str> {
    if method != http::Method::GET && method != http::Method::HEAD {
        return None;
    }
    match path {
        HEALTHZ_PATH => Some(HEALTHZ_PATH),
        READYZ_PATH => Some(READYZ_PATH),
        _ => None,
    }
}

/// The answer to `probe` (one of `which`'s).
pub(super) async fn answer(app: &App, probe: &'static str, request_id: &str) -> Response {
    if probe == HEALTHZ_PATH {
        return json(StatusCode::OK, serde_json::json!({"status": "ok"}));
    }
    let readiness = app.probe.readiness(&app.registry, &app.limiter).await;
    // Anyone may probe: names and verdicts only. What failed and why (hosts,
    // error messages) is the operator's, at `GET /admin/v1/status`.
    let checks: Vec<serde_json::Value> =
        readiness.checks.iter().map(|c| serde_json::json!({"name": c.name, "ok": c.ok})).collect();
    if readiness.ready {
        return json(StatusCode::OK, serde_json::json!({"ready": true, "checks": checks}));
    }
    let down: Vec<&str> = readiness.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    let error = ApiError::new(
        ErrorCode::ServiceUnavailable,
        format!(
            "this node is not ready ({} down); `gatehouse status` or GET /admin/v1/status says why",
            down.join(", ")
        ),
    )
    .with_details(serde_json::json!({"checks": checks}));
    error.into_response(request_id).map(Body::from)
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
