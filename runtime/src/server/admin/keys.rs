//! `/admin/v1/keys`: create (the key is shown once), list, revoke.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::json;

use super::Admin;
use super::reply::{Body, Data, Refusal, Shape};
use crate::clock::unix_now;
use crate::config::parse_duration;
use crate::error::{ApiError, ErrorCode};
use crate::identity::api_key::{KeySpec, issue};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct CreateKey {
    tenant: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    name: Option<String>,
    expires: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    test: bool,
}

impl Shape for CreateKey {
    const SHAPE: &'static str = "a key request";
}

pub(super) async fn create(State(admin): State<Arc<Admin>>, Body(req): Body<CreateKey>) -> Result<Data, Refusal> {
    let expires_at = match req.expires.as_deref().map(parse_duration) {
        None => None,
        Some(Ok(d)) => Some(unix_now() + d.as_secs() as i64),
        Some(Err(e)) => return Err(ApiError::new(ErrorCode::BadRequest, format!("expires: {e}")).into()),
    };
    let spec = KeySpec {
        tenant: admin.tenant_or_default(req.tenant),
        name: req.name.unwrap_or_default(),
        scopes: req.scopes,
        user_id: req.user_id,
        expires_at,
        test: req.test,
    };
    let new = issue(admin.app.identity.keys.store(), spec)
        .await
        .map_err(|e| Refusal::from(ApiError::new(ErrorCode::BadRequest, e)))?;
    tracing::info!(target: "gatehouse::admin", key_id = %new.record.id, tenant = %new.record.tenant, "API key created");
    let mut data = serde_json::to_value(&new.record).unwrap_or_default();
    data["key"] = json!(new.key);
    Ok(Data::created(data))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    tenant: Option<String>,
}

pub(super) async fn list(State(admin): State<Arc<Admin>>, Query(q): Query<ListQuery>) -> Result<Data, Refusal> {
    Ok(Data::ok(admin.app.identity.keys.store().list_keys(q.tenant.as_deref()).await?))
}

pub(super) async fn revoke(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> Result<Data, Refusal> {
    if !admin.app.identity.keys.store().revoke_key(&id, unix_now()).await? {
        return Err(ApiError::new(ErrorCode::NotFound, format!("no API key with id {id}")).into());
    }
    tracing::info!(target: "gatehouse::admin", key_id = %id, "API key revoked");
    Ok(Data::ok(json!({ "id": id, "revoked": true })))
}
