//! CORS preflights: an `OPTIONS` with `Access-Control-Request-Method` to a
//! path whose endpoint for that method allows cross-origin calls is answered
//! by the platform, before any gate step (a preflight carries no credential).

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, StatusCode};

use crate::error::{ApiError, ErrorCode};
use crate::gate;
use crate::registry::{Lookup, RouteTable};

/// Answers a preflight to a path whose endpoint for the asked method has a
/// CORS policy. `tables` are the tenant's route tables: the active one, then
/// a rollout's views. A preflight carries no credential, so it cannot be
/// put in the bucket its real request will be in: the first table that
/// routes the asked method answers.
pub(super) fn answer<'t>(
    tables: impl Iterator<Item = &'t RouteTable>,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let asked = gate::cors::requested_method(headers);
    let endpoint = asked.as_ref().and_then(|m| {
        let mut tables = tables;
        tables.find_map(|routes| match routes.lookup(m, path) {
            Lookup::Found(e, _) => Some(e.clone()),
            _ => None,
        })
    });
    let Some(endpoint) = endpoint else {
        return Err(ApiError::new(
            ErrorCode::CorsRejected,
            format!("CORS preflight refused: nothing at {path} for that method"),
        ));
    };
    let Some(policy) = &endpoint.policy.cors else {
        return Err(ApiError::new(
            ErrorCode::CorsRejected,
            format!("CORS preflight refused: {} allows no cross-origin calls", endpoint.route),
        ));
    };
    let allowed = gate::cors::preflight(policy, endpoint.route.method, headers)?;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    *response.headers_mut() = allowed;
    Ok(response)
}
