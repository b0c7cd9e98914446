//! The one handler: look the route up, run the gate, run the guest, answer.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderValue, StatusCode};

use super::{convert, request_id};
use crate::app::App;
use crate::capabilities::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::gate;
use crate::registry::{Endpoint, Lookup};
use crate::sandbox::RequestContext;

pub(super) async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let request_id = request_id::assign(request.headers());
    let method = request.method().clone();
    let path = request.uri().path().to_string();

    let found = match app.routes.load().lookup(&method, &path) {
        Lookup::Found(endpoint, params) => Ok((endpoint.clone(), params)),
        Lookup::MethodNotAllowed(methods) => {
            let allow = methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
            Err(ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {path}; use {allow}"))
                .with_details(serde_json::json!({ "allowed": methods.iter().map(|m| m.as_str()).collect::<Vec<_>>() }))
                .with_header(
                    http::header::ALLOW,
                    HeaderValue::from_str(&allow).unwrap_or(HeaderValue::from_static("")),
                ))
        }
        Lookup::NotFound => Err(ApiError::new(ErrorCode::NotFound, format!("no endpoint at {method} {path}"))),
    };
    let (route, result) = match found {
        Ok((endpoint, params)) => {
            let route = endpoint.route_label.clone();
            (Some(route), serve(&app, endpoint, request, params, &request_id).await)
        }
        Err(e) => (None, Err(e)),
    };
    let mut response = match result {
        Ok(r) => r,
        Err(e) => e.into_response(&request_id).map(Body::from),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(request_id::HEADER, v);
    }
    access_log(&method, &path, route.as_deref(), response.status(), &request_id, started);
    response
}

async fn serve(
    app: &App,
    endpoint: Arc<Endpoint>,
    request: Request,
    params: Vec<(String, String)>,
    request_id: &str,
) -> Result<Response, ApiError> {
    let limit = endpoint.grants.limits.body_bytes;
    gate::body_limit::check_declared(request.headers(), limit)?;
    let (parts, body) = request.into_parts();
    let body = gate::body_limit::read(body, limit).await?;

    let context = Arc::new(RequestContext {
        request_id: request_id.to_string(),
        tenant: endpoint.tenant.clone(),
        route: endpoint.route_label.clone(),
    });
    let principal = Arc::new(Principal::anonymous(endpoint.tenant.clone()));
    let wit_request = convert::to_wit(&parts, params, body, request_id);
    let out = app.sandbox.invoke(&endpoint.prepared, &endpoint.grants, principal, context, wit_request).await?;

    let mut response = Response::new(Body::from(out.body));
    *response.status_mut() = out.status;
    *response.headers_mut() = out.headers;
    Ok(response)
}

fn access_log(
    method: &http::Method,
    path: &str,
    route: Option<&str>,
    status: StatusCode,
    request_id: &str,
    started: Instant,
) {
    let micros = started.elapsed().as_micros() as u64;
    tracing::info!(
        target: "gatehouse::access",
        %method, path, route = route.unwrap_or("-"), status = status.as_u16(), request_id, micros,
        "request"
    );
}
