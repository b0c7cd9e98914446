//! The admin API's tenants and apps: create, list, update and delete
//! tenants; deploy an app bundle, list its versions, roll back, undeploy.
//! The apps routes also take a tenant's deploy key (an API key of that
//! tenant with scope `deploy`), valid for that tenant only.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::admin::{Admin, envelope, json_body};
use crate::error::{ApiError, ErrorCode};
use crate::registry::{ChangeError, TenantSettings};

fn refused(e: ChangeError) -> Response {
    let code = match &e {
        ChangeError::Rejected(_) => ErrorCode::DeployRejected,
        ChangeError::NotFound(_) => ErrorCode::NotFound,
        ChangeError::Conflict(_) => ErrorCode::Conflict,
        ChangeError::Unavailable(_) => ErrorCode::ServiceUnavailable,
    };
    envelope(ApiError::new(code, e.to_string()))
}

fn ok(status: StatusCode, data: serde_json::Value) -> Response {
    (status, Json(json!({ "success": true, "data": data }))).into_response()
}

fn store_down(e: crate::store::StoreError) -> Response {
    envelope(ApiError::new(ErrorCode::ServiceUnavailable, e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateTenant {
    name: String,
    #[serde(default)]
    settings: TenantSettings,
}

pub(super) async fn create_tenant(
    State(admin): State<Arc<Admin>>,
    body: Result<Json<CreateTenant>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let req = match json_body(body, "{\"name\": \"acme\", \"settings\": {…}}") {
        Ok(r) => r,
        Err(e) => return envelope(e),
    };
    match admin.app.registry.create_tenant(&req.name, &req.settings).await {
        Ok(()) => {
            tracing::info!(target: "gatehouse::admin", tenant = %req.name, "tenant created");
            ok(StatusCode::CREATED, json!({ "name": req.name, "settings": req.settings }))
        }
        Err(ChangeError::Rejected(m)) => envelope(ApiError::new(ErrorCode::BadRequest, m)),
        Err(e) => refused(e),
    }
}

pub(super) async fn list_tenants(State(admin): State<Arc<Admin>>) -> Response {
    match admin.app.registry.store().list_tenants().await {
        Ok(list) => {
            let data: Vec<_> = list
                .iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "settings": TenantSettings::parse(&t.settings).unwrap_or_default(),
                        "createdAt": t.created_at,
                        "updatedAt": t.updated_at,
                    })
                })
                .collect();
            ok(StatusCode::OK, json!(data))
        }
        Err(e) => store_down(e),
    }
}

pub(super) async fn get_tenant(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Response {
    let store = admin.app.registry.store();
    match (store.get_tenant(&name).await, store.list_apps(&name).await) {
        (Ok(Some(t)), Ok(apps)) => ok(
            StatusCode::OK,
            json!({
                "name": t.name,
                "settings": TenantSettings::parse(&t.settings).unwrap_or_default(),
                "apps": apps,
                "createdAt": t.created_at,
                "updatedAt": t.updated_at,
            }),
        ),
        (Ok(None), _) => envelope(ApiError::new(ErrorCode::NotFound, format!("no tenant {name}"))),
        (Err(e), _) | (_, Err(e)) => store_down(e),
    }
}

pub(super) async fn update_tenant(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    body: Result<Json<TenantSettings>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let settings = match json_body(body, "the tenant's settings") {
        Ok(s) => s,
        Err(e) => return envelope(e),
    };
    match admin.app.registry.update_tenant(&name, &settings).await {
        Ok(()) => ok(StatusCode::OK, json!({ "name": name, "settings": settings })),
        Err(ChangeError::Rejected(m)) => envelope(ApiError::new(ErrorCode::BadRequest, m)),
        Err(e) => refused(e),
    }
}

pub(super) async fn delete_tenant(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Response {
    match admin.app.registry.delete_tenant(&name).await {
        Ok(()) => {
            tracing::info!(target: "gatehouse::admin", tenant = %name, "tenant deleted");
            ok(StatusCode::OK, json!({ "name": name, "deleted": true }))
        }
        Err(ChangeError::Rejected(m)) => envelope(ApiError::new(ErrorCode::BadRequest, m)),
        Err(e) => refused(e),
    }
}

pub(super) async fn deploy(
    State(admin): State<Arc<Admin>>,
    Path(tenant): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        // Over the listener's bound (deploy.max_bundle_mb plus slack for the tar
        // headers): refused before it is read whole, in the envelope like every refusal.
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let mb = admin.app.config.deploy.max_bundle_bytes >> 20;
            return envelope(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the bundle is over {mb} MB (deploy.max_bundle_mb); make the app smaller or raise the limit"),
            ));
        }
        Err(e) => return envelope(ApiError::new(ErrorCode::BadRequest, format!("the bundle could not be read: {e}"))),
    };
    match admin.app.registry.deploy(&tenant, &body).await {
        Ok(report) => ok(StatusCode::CREATED, serde_json::to_value(report).unwrap_or_default()),
        Err(e) => {
            tracing::warn!(target: "gatehouse::deploy", %tenant, "deploy refused: {e}");
            refused(e)
        }
    }
}

pub(super) async fn list_apps(State(admin): State<Arc<Admin>>, Path(tenant): Path<String>) -> Response {
    match admin.app.registry.store().list_apps(&tenant).await {
        Ok(apps) => ok(StatusCode::OK, json!(apps)),
        Err(e) => store_down(e),
    }
}

pub(super) async fn versions(State(admin): State<Arc<Admin>>, Path((tenant, app)): Path<(String, String)>) -> Response {
    let store = admin.app.registry.store();
    let active = match store.list_apps(&tenant).await {
        Ok(apps) => match apps.into_iter().find(|a| a.name == app) {
            Some(a) => a.active_version,
            None => return envelope(ApiError::new(ErrorCode::NotFound, format!("tenant {tenant} has no app {app}"))),
        },
        Err(e) => return store_down(e),
    };
    match store.list_deployments(&tenant, &app).await {
        Ok(list) => {
            let data: Vec<_> = list
                .iter()
                .map(|d| {
                    json!({
                        "version": d.version,
                        "bundleHash": d.bundle_hash,
                        "files": d.files,
                        "createdAt": d.created_at,
                        "active": Some(d.version) == active,
                    })
                })
                .collect();
            ok(StatusCode::OK, json!(data))
        }
        Err(e) => store_down(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Rollback {
    version: i64,
}

pub(super) async fn rollback(
    State(admin): State<Arc<Admin>>,
    Path((tenant, app)): Path<(String, String)>,
    body: Result<Json<Rollback>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let req = match json_body(body, "{\"version\": N}") {
        Ok(r) => r,
        Err(e) => return envelope(e),
    };
    match admin.app.registry.rollback(&tenant, &app, req.version).await {
        Ok(()) => ok(StatusCode::OK, json!({ "tenant": tenant, "app": app, "version": req.version })),
        Err(e) => refused(e),
    }
}

pub(super) async fn undeploy(State(admin): State<Arc<Admin>>, Path((tenant, app)): Path<(String, String)>) -> Response {
    match admin.app.registry.undeploy(&tenant, &app).await {
        Ok(()) => ok(StatusCode::OK, json!({ "tenant": tenant, "app": app, "undeployed": true })),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
pub(super) struct LogsQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// The tenant's own log lines on this node, after `after` (a `seq`), oldest first.
pub(super) async fn logs(Path(tenant): Path<String>, Query(q): Query<LogsQuery>) -> Response {
    let lines = crate::tenant_logs::lines(&tenant, q.after, q.limit.unwrap_or(200).min(1000));
    ok(StatusCode::OK, json!(lines))
}
