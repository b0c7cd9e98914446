//! The admin API, on its own listener (loopback by default), behind a bearer
//! token compared in constant time: API keys (create, list, revoke) and stats.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Path, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::admin_tenants as tenants;
use crate::app::App;
use crate::clock::unix_now;
use crate::config::parse_duration;
use crate::error::{ApiError, ErrorCode};
use crate::identity::api_key::{KeySpec, issue};

pub(super) struct Admin {
    pub(super) app: Arc<App>,
    token: String,
}

/// Serves the admin API on `listener` until `shutdown`.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    token: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let bundle_limit = app.config.deploy.max_bundle_bytes.saturating_add(1 << 20);
    let state = Arc::new(Admin { app, token });
    let router = Router::new()
        .route("/admin/v1/tenants", get(tenants::list_tenants).post(tenants::create_tenant))
        .route(
            "/admin/v1/tenants/{tenant}",
            get(tenants::get_tenant).put(tenants::update_tenant).delete(tenants::delete_tenant),
        )
        .route(
            "/admin/v1/tenants/{tenant}/apps",
            get(tenants::list_apps).post(tenants::deploy).layer(axum::extract::DefaultBodyLimit::max(bundle_limit)),
        )
        .route("/admin/v1/tenants/{tenant}/apps/{app}", delete(tenants::undeploy))
        .route("/admin/v1/tenants/{tenant}/logs", get(tenants::logs))
        .route("/admin/v1/tenants/{tenant}/apps/{app}/versions", get(tenants::versions))
        .route("/admin/v1/tenants/{tenant}/apps/{app}/rollback", axum::routing::post(tenants::rollback))
        .route("/admin/v1/keys", get(list_keys).post(create_key))
        .route("/admin/v1/keys/{id}", delete(revoke_key))
        .route("/admin/v1/stats", get(stats))
        .route("/admin/v1/secrets", get(list_secrets))
        .route("/admin/v1/secrets/{name}", axum::routing::put(set_secret).delete(delete_secret))
        .fallback(unknown_call)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_token))
        .with_state(state);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// A JSON body, or the 400 error saying what to send (`shape`) and what was wrong.
pub(super) fn json_body<T>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
    shape: &str,
) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("send {shape}: {}", e.body_text())))
}

/// A path the admin API does not have: the envelope, not an empty 404.
async fn unknown_call(uri: http::Uri) -> Response {
    envelope(ApiError::new(
        ErrorCode::NotFound,
        format!("the admin API has no {}; its calls are listed in the README", uri.path()),
    ))
}

/// A known path with a method it does not take.
async fn wrong_method(method: http::Method, uri: http::Uri) -> Response {
    envelope(ApiError::new(ErrorCode::MethodNotAllowed, format!("{} does not take {method}", uri.path())))
}

pub(super) fn envelope(e: ApiError) -> Response {
    e.into_response(&uuid::Uuid::new_v4().simple().to_string()).map(axum::body::Body::from).into_response()
}

async fn require_token(State(admin): State<Arc<Admin>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(presented.as_bytes().ct_eq(admin.token.as_bytes())) {
        return next.run(request).await;
    }
    // A tenant's deploy key opens that tenant's apps and logs, nothing else.
    if let Some(tenant) = apps_route_tenant(request.uri().path())
        && !presented.is_empty()
    {
        let tenant: Arc<str> = tenant.into();
        return match admin.app.identity.keys.authenticate(presented, &tenant).await {
            Ok(p) if p.scopes.iter().any(|s| s == "deploy") => next.run(request).await,
            Ok(_) => envelope(ApiError::new(
                ErrorCode::InsufficientScope,
                format!("this key lacks scope `deploy` for tenant {tenant}"),
            )),
            Err(why) => envelope(ApiError::new(ErrorCode::Unauthorized, why)),
        };
    }
    envelope(ApiError::new(ErrorCode::Unauthorized, "the admin API needs Authorization: Bearer <admin token>"))
}

/// `/admin/v1/tenants/{tenant}/apps…` or `…/logs` → the tenant.
fn apps_route_tenant(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/admin/v1/tenants/")?;
    let (tenant, tail) = rest.split_once('/')?;
    (tail == "apps" || tail.starts_with("apps/") || tail == "logs").then_some(tenant)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateKey {
    tenant: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    name: Option<String>,
    expires: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    test: bool,
}

async fn create_key(
    State(admin): State<Arc<Admin>>,
    body: Result<Json<CreateKey>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let req = match json_body(body, "a key request") {
        Ok(r) => r,
        Err(e) => return envelope(e),
    };
    let expires_at = match req.expires.as_deref().map(parse_duration) {
        None => None,
        Some(Ok(d)) => Some(unix_now() + d.as_secs() as i64),
        Some(Err(e)) => return envelope(ApiError::new(ErrorCode::BadRequest, format!("expires: {e}"))),
    };
    let spec = KeySpec {
        tenant: req.tenant.unwrap_or_else(|| admin.app.config.platform.tenant.clone()),
        name: req.name.unwrap_or_default(),
        scopes: req.scopes,
        user_id: req.user_id,
        expires_at,
        test: req.test,
    };
    match issue(admin.app.identity.keys.store(), spec).await {
        Ok(new) => {
            tracing::info!(target: "gatehouse::admin", key_id = %new.record.id, tenant = %new.record.tenant, "API key created");
            let mut data = serde_json::to_value(&new.record).unwrap_or_default();
            data["key"] = json!(new.key);
            (StatusCode::CREATED, Json(json!({ "success": true, "data": data }))).into_response()
        }
        Err(e) => envelope(ApiError::new(ErrorCode::BadRequest, e)),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    tenant: Option<String>,
}

async fn list_keys(State(admin): State<Arc<Admin>>, Query(q): Query<ListQuery>) -> Response {
    match admin.app.identity.keys.store().list_keys(q.tenant.as_deref()).await {
        Ok(keys) => Json(json!({ "success": true, "data": keys })).into_response(),
        Err(e) => envelope(ApiError::new(ErrorCode::ServiceUnavailable, e.to_string())),
    }
}

async fn revoke_key(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> Response {
    match admin.app.identity.keys.store().revoke_key(&id, unix_now()).await {
        Ok(true) => {
            tracing::info!(target: "gatehouse::admin", key_id = %id, "API key revoked");
            Json(json!({ "success": true, "data": { "id": id, "revoked": true } })).into_response()
        }
        Ok(false) => envelope(ApiError::new(ErrorCode::NotFound, format!("no API key with id {id}"))),
        Err(e) => envelope(ApiError::new(ErrorCode::ServiceUnavailable, e.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSecret {
    value: String,
    tenant: Option<String>,
}

fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

async fn set_secret(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    body: Result<Json<SetSecret>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let req = match json_body(body, "{\"value\": \"…\"}") {
        Ok(r) => r,
        Err(e) => return envelope(e),
    };
    if !valid_secret_name(&name) {
        return envelope(ApiError::new(
            ErrorCode::BadRequest,
            "a secret's name is letters, digits, _, - and ., up to 128",
        ));
    }
    let tenant = req.tenant.unwrap_or_else(|| admin.app.config.platform.tenant.clone());
    match admin.app.secrets.store().set_secret(&tenant, &name, &req.value, unix_now()).await {
        Ok(()) => {
            // The name, never the value.
            tracing::info!(target: "gatehouse::admin", %tenant, secret = %name, "secret set");
            Json(json!({ "success": true, "data": { "tenant": tenant, "name": name } })).into_response()
        }
        Err(e) => envelope(ApiError::new(ErrorCode::ServiceUnavailable, e.to_string())),
    }
}

#[derive(Deserialize)]
struct TenantQuery {
    tenant: Option<String>,
}

async fn list_secrets(State(admin): State<Arc<Admin>>, Query(q): Query<TenantQuery>) -> Response {
    let tenant = q.tenant.unwrap_or_else(|| admin.app.config.platform.tenant.clone());
    match admin.app.secrets.store().list_secrets(&tenant).await {
        Ok(list) => Json(json!({ "success": true, "data": list })).into_response(),
        Err(e) => envelope(ApiError::new(ErrorCode::ServiceUnavailable, e.to_string())),
    }
}

async fn delete_secret(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Response {
    let tenant = q.tenant.unwrap_or_else(|| admin.app.config.platform.tenant.clone());
    match admin.app.secrets.store().delete_secret(&tenant, &name).await {
        Ok(true) => Json(json!({ "success": true, "data": { "tenant": tenant, "name": name, "deleted": true } }))
            .into_response(),
        Ok(false) => envelope(ApiError::new(ErrorCode::NotFound, format!("no secret {name} is set for {tenant}"))),
        Err(e) => envelope(ApiError::new(ErrorCode::ServiceUnavailable, e.to_string())),
    }
}

async fn stats(State(admin): State<Arc<Admin>>) -> Response {
    let app = &admin.app;
    Json(json!({
        "success": true,
        "data": {
            "requests": app.stats.requests.load(Ordering::Relaxed),
            "refusedByGate": app.stats.refused_by_gate.load(Ordering::Relaxed),
            "instancesStarted": app.sandbox.instances_started(),
            "openConnections": app.stats.connections.load(Ordering::Relaxed),
            "rateLimitBackend": app.limiter.backend_name(),
            "storeBackend": app.registry.store().backend_name(),
            "componentsCompiled": app.registry.compiled.load(Ordering::Relaxed),
            "componentsFromCache": app.registry.cached.load(Ordering::Relaxed),
            "tenants": app.registry.directory().tenants.len(),
        }
    }))
    .into_response()
}
