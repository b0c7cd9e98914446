//! `/admin/v1/tenants/{tenant}/apps`: deploy a bundle (to every caller, or
//! to a share of them: `rollouts.rs`), list apps and their versions, roll
//! back, undeploy. Open to the admin token and to the tenant's
//! own deploy key (`access::admin_token_or_deploy_key`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::Admin;
use super::reply::{Body, Data, Refusal, Shape};
use crate::error::{ApiError, ErrorCode};
use crate::registry::ChangeError;

/// `?percent=N`: a gradual rollout, the new version for that share of callers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeployQuery {
    percent: Option<u8>,
}

pub(super) async fn deploy(
    State(admin): State<Arc<Admin>>,
    Path(tenant): Path<String>,
    query: Result<Query<DeployQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Data, Refusal> {
    let Query(query) = query.map_err(|e| {
        ApiError::new(ErrorCode::BadRequest, format!("{}; the one parameter is `percent`, 1 to 99", e.body_text()))
    })?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // Over the listener's bound (deploy.max_bundle_mb plus slack for the tar
            // headers): refused before it is read whole, in the envelope like every refusal.
            let mb = admin.app.config.deploy.max_bundle_bytes >> 20;
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the bundle is over {mb} MB (deploy.max_bundle_mb); make the app smaller or raise the limit"),
            )
        } else {
            ApiError::new(ErrorCode::BadRequest, format!("the bundle could not be read: {e}"))
        }
    })?;
    let result = match query.percent {
        Some(p) => admin.app.registry.deploy_canary(&tenant, &body, p).await,
        None => admin.app.registry.deploy(&tenant, &body).await,
    };
    admin.app.metrics.change(&tenant, "deploy", outcome(&result));
    let report = result.map_err(|e| {
        tracing::warn!(target: "gatehouse::deploy", %tenant, "deploy refused: {e}");
        Refusal::change(e, ErrorCode::DeployRejected)
    })?;
    Ok(Data::created(report))
}

pub(super) async fn list(State(admin): State<Arc<Admin>>, Path(tenant): Path<String>) -> Result<Data, Refusal> {
    Ok(Data::ok(admin.app.registry.store().list_apps(&tenant).await?))
}

pub(super) async fn versions(
    State(admin): State<Arc<Admin>>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<Data, Refusal> {
    let store = admin.app.registry.store();
    let Some(found) = store.list_apps(&tenant).await?.into_iter().find(|a| a.name == app) else {
        return Err(ApiError::new(ErrorCode::NotFound, format!("tenant {tenant} has no app {app}")).into());
    };
    let deployments = store.list_deployments(&tenant, &app).await?;
    Ok(Data::ok(
        deployments
            .iter()
            .map(|d| {
                json!({
                    "version": d.version,
                    "bundleHash": d.bundle_hash,
                    "files": d.files,
                    "createdAt": d.created_at,
                    "active": Some(d.version) == found.active_version,
                    "canary": Some(d.version) == found.canary_version,
                })
            })
            .collect::<Vec<_>>(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Rollback {
    version: i64,
}

impl Shape for Rollback {
    const SHAPE: &'static str = "{\"version\": N}";
}

pub(super) async fn rollback(
    State(admin): State<Arc<Admin>>,
    Path((tenant, app)): Path<(String, String)>,
    Body(req): Body<Rollback>,
) -> Result<Data, Refusal> {
    let result = admin.app.registry.rollback(&tenant, &app, req.version).await;
    admin.app.metrics.change(&tenant, "rollback", outcome(&result));
    result.map_err(|e| Refusal::change(e, ErrorCode::DeployRejected))?;
    Ok(Data::ok(json!({ "tenant": tenant, "app": app, "version": req.version })))
}

/// A change's outcome as the metrics label it.
pub(super) fn outcome<T>(result: &Result<T, ChangeError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(ChangeError::Unavailable(_)) => "unavailable",
        Err(ChangeError::NotFound(_)) => "not_found",
        Err(ChangeError::Rejected(_) | ChangeError::Conflict(_)) => "rejected",
    }
}

pub(super) async fn undeploy(
    State(admin): State<Arc<Admin>>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<Data, Refusal> {
    admin.app.registry.undeploy(&tenant, &app).await.map_err(|e| Refusal::change(e, ErrorCode::DeployRejected))?;
    Ok(Data::ok(json!({ "tenant": tenant, "app": app, "undeployed": true })))
}
