//! `/admin/v1/tenants`: create, list, read, update and delete tenants (the
//! operator's calls; a tenant's own apps and logs are in `apps` and `logs`).

use std::sync::Arc;

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::json;

use super::Admin;
use super::reply::{Body, Data, Refusal, Shape};
use crate::error::{ApiError, ErrorCode};
use crate::registry::TenantSettings;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateTenant {
    name: String,
    #[serde(default)]
    settings: TenantSettings,
}

impl Shape for CreateTenant {
    const SHAPE: &'static str = "{\"name\": \"acme\", \"settings\": {…}}";
}

impl Shape for TenantSettings {
    const SHAPE: &'static str = "the tenant's settings";
}

pub(super) async fn create(State(admin): State<Arc<Admin>>, Body(req): Body<CreateTenant>) -> Result<Data, Refusal> {
    admin
        .app
        .registry
        .create_tenant(&req.name, &req.settings)
        .await
        .map_err(|e| Refusal::change(e, ErrorCode::BadRequest))?;
    tracing::info!(target: "gatehouse::admin", tenant = %req.name, "tenant created");
    Ok(Data::created(json!({ "name": req.name, "settings": req.settings })))
}

pub(super) async fn list(State(admin): State<Arc<Admin>>) -> Result<Data, Refusal> {
    let tenants = admin.app.registry.store().list_tenants().await?;
    Ok(Data::ok(
        tenants
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "settings": TenantSettings::parse(&t.settings).unwrap_or_default(),
                    "createdAt": t.created_at,
                    "updatedAt": t.updated_at,
                })
            })
            .collect::<Vec<_>>(),
    ))
}

pub(super) async fn get(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Result<Data, Refusal> {
    let store = admin.app.registry.store();
    let Some(t) = store.get_tenant(&name).await? else {
        return Err(ApiError::new(ErrorCode::NotFound, format!("no tenant {name}")).into());
    };
    let apps = store.list_apps(&name).await?;
    Ok(Data::ok(json!({
        "name": t.name,
        "settings": TenantSettings::parse(&t.settings).unwrap_or_default(),
        "apps": apps,
        "createdAt": t.created_at,
        "updatedAt": t.updated_at,
    })))
}

pub(super) async fn update(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    Body(settings): Body<TenantSettings>,
) -> Result<Data, Refusal> {
    admin.app.registry.update_tenant(&name, &settings).await.map_err(|e| Refusal::change(e, ErrorCode::BadRequest))?;
    Ok(Data::ok(json!({ "name": name, "settings": settings })))
}

pub(super) async fn delete(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Result<Data, Refusal> {
    admin.app.registry.delete_tenant(&name).await.map_err(|e| Refusal::change(e, ErrorCode::BadRequest))?;
    tracing::info!(target: "gatehouse::admin", tenant = %name, "tenant deleted");
    Ok(Data::ok(json!({ "name": name, "deleted": true })))
}
