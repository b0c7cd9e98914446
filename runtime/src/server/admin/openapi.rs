//! `/admin/v1/tenants/{tenant}/openapi.json`: the tenant's OpenAPI document,
//! as its clients get it at `/openapi.json` (open to the admin token and to
//! the tenant's own deploy key).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use super::Admin;
use super::reply::Refusal;
use crate::error::{ApiError, ErrorCode};

pub(super) async fn get(State(admin): State<Arc<Admin>>, Path(tenant): Path<String>) -> Result<Json<Value>, Refusal> {
    let app = &admin.app;
    let live = match app.registry.wake(&tenant).await {
        Ok(live) => live,
        Err(crate::registry::ChangeError::NotFound(_)) => {
            return Err(ApiError::new(ErrorCode::NotFound, format!("no tenant {tenant}")).into());
        }
        Err(e) => return Err(ApiError::new(ErrorCode::ServiceUnavailable, e.to_string()).into()),
    };
    // Served where a client reaches it: the config tenant at the root, the
    // others under the path prefix (a host route serves the same document at /).
    let base = if tenant == app.config.platform.tenant {
        "/".to_string()
    } else {
        format!("{}/{tenant}", app.config.platform.tenant_path_prefix)
    };
    Ok(Json(crate::registry::openapi::document(&live, &base)))
}
