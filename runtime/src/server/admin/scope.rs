//! The layer around every admin call: it assigns the request id, opens the
//! one tracing span the call's log lines sit in (method, path, request id;
//! not a `tenant` field, which would file every admin call, log polls
//! included, into that tenant's own log), renders a handler's `Refusal` into
//! the envelope with that id, and writes the access line.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use tracing::Instrument;

use super::super::request_id;
use crate::error::ApiError;

pub(super) async fn scope(request: Request, next: Next) -> Response {
    let id = request_id::assign(request.headers());
    let span = tracing::info_span!(
        target: "gatehouse::admin",
        "admin",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    );
    // An open dashboard page polls its log every second and its charts and
    // assets now and then: those reads are debug lines, not the access log.
    let quiet = request.method() == http::Method::GET && request.uri().path().starts_with("/ui/");
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Some(refusal) = response.extensions_mut().remove::<ApiError>() {
        response = refusal.into_response(&id).map(Body::from).into_response();
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(request_id::HEADER, value);
    }
    let (status, ms) = (response.status().as_u16(), started.elapsed().as_millis() as u64);
    span.in_scope(|| {
        if quiet {
            tracing::debug!(target: "gatehouse::admin", status, ms, "admin call");
        } else {
            tracing::info!(target: "gatehouse::admin", status, ms, "admin call");
        }
    });
    response
}
