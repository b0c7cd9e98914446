//! `/admin/v1/secrets`: set, list (names only) and delete a tenant's secrets.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::json;

use super::Admin;
use super::reply::{Body, Data, Refusal, Shape};
use crate::clock::unix_now;
use crate::error::{ApiError, ErrorCode};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SetSecret {
    value: String,
    tenant: Option<String>,
}

impl Shape for SetSecret {
    const SHAPE: &'static str = "{\"value\": \"…\"}";
}

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

pub(super) async fn set(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    Body(req): Body<SetSecret>,
) -> Result<Data, Refusal> {
    if !valid_name(&name) {
        return Err(
            ApiError::new(ErrorCode::BadRequest, "a secret's name is letters, digits, _, - and ., up to 128").into()
        );
    }
    let tenant = admin.tenant_or_default(req.tenant);
    admin.app.secrets.store().set_secret(&tenant, &name, &req.value, unix_now()).await?;
    // The name, never the value.
    tracing::info!(target: "gatehouse::admin", %tenant, secret = %name, "secret set");
    Ok(Data::ok(json!({ "tenant": tenant, "name": name })))
}

#[derive(Deserialize)]
pub(super) struct TenantQuery {
    tenant: Option<String>,
}

pub(super) async fn list(State(admin): State<Arc<Admin>>, Query(q): Query<TenantQuery>) -> Result<Data, Refusal> {
    let tenant = admin.tenant_or_default(q.tenant);
    Ok(Data::ok(admin.app.secrets.store().list_secrets(&tenant).await?))
}

pub(super) async fn delete(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Result<Data, Refusal> {
    let tenant = admin.tenant_or_default(q.tenant);
    if !admin.app.secrets.store().delete_secret(&tenant, &name).await? {
        return Err(ApiError::new(ErrorCode::NotFound, format!("no secret {name} is set for {tenant}")).into());
    }
    Ok(Data::ok(json!({ "tenant": tenant, "name": name, "deleted": true })))
}
