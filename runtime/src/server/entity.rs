//! The last step of an entity's request: once the gate admitted it and
//! checked its body, the platform's own handler (`entities::handler`) runs
//! its statement on the tenant's database, timed as the request's `db`
//! time, and its answer becomes the response.

use axum::body::Body;
use axum::response::Response;
use tracing::Instrument;

use crate::context::RequestContext;
use crate::entities::{Entity, Op, handler};
use crate::error::{ApiError, ErrorCode};
use crate::identity::Principal;
use crate::registry::Endpoint;

/// What of the request the handler reads.
pub(super) struct Call<'a> {
    /// The route's parameters (`id`).
    pub(super) params: &'a [(String, String)],
    /// The query string's pairs.
    pub(super) query: &'a [(String, String)],
    /// The checked body, defaults filled in.
    pub(super) body: &'a bytes::Bytes,
}

pub(super) async fn serve(
    entity: &Entity,
    op: Op,
    endpoint: &Endpoint,
    principal: &Principal,
    call: Call<'_>,
    context: &RequestContext,
) -> Result<Response, ApiError> {
    let Some(db) = endpoint.grants.db.as_deref() else {
        return Err(ApiError::new(ErrorCode::ServiceUnavailable, "this tenant has no database for its entities"));
    };
    let _timed = context.timings.time_db();
    let answer = handler::serve(entity, op, db, principal, call.params, call.query, call.body)
        .instrument(tracing::debug_span!("entity", operation = ?op))
        .await?;
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    headers.extend(answer.headers);
    Ok(response)
}
