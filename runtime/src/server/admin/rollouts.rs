//! `/admin/v1/tenants/{tenant}/apps/{app}/…`: a gradual rollout, started by
//! a deploy with `?percent=N`. `promote` gives the canary another share or
//! every caller, `rollout` shows where it stands (the stored state and this
//! node's counts) and `DELETE rollout` ends it by hand. Open to the admin
//! token and to the tenant's own deploy key, like the rest of `apps`.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::json;

use super::Admin;
use super::apps::outcome;
use super::reply::{Body, Data, Refusal, Shape};
use crate::error::{ApiError, ErrorCode};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Promote {
    /// A new share, 1 to 99; none: every caller.
    #[serde(default)]
    percent: Option<u8>,
}

impl Shape for Promote {
    const SHAPE: &'static str = "{} (every caller) or {\"percent\": N} (N of 1 to 99 percent)";
}

pub(super) async fn promote(
    State(admin): State<Arc<Admin>>,
    Path((tenant, app)): Path<(String, String)>,
    Body(req): Body<Promote>,
) -> Result<Data, Refusal> {
    let result = admin.app.registry.promote(&tenant, &app, req.percent).await;
    admin.app.metrics.change(&tenant, "promote", outcome(&result));
    Ok(Data::ok(result.map_err(|e| Refusal::change(e, ErrorCode::DeployRejected))?))
}

pub(super) async fn end(
    State(admin): State<Arc<Admin>>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<Data, Refusal> {
    let result = admin.app.registry.end_rollout(&tenant, &app).await;
    admin.app.metrics.change(&tenant, "end_rollout", outcome(&result));
    Ok(Data::ok(result.map_err(|e| Refusal::change(e, ErrorCode::DeployRejected))?))
}

pub(super) async fn get(
    State(admin): State<Arc<Admin>>,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<Data, Refusal> {
    let store = admin.app.registry.store();
    let Some(found) = store.list_apps(&tenant).await?.into_iter().find(|a| a.name == app) else {
        return Err(ApiError::new(ErrorCode::NotFound, format!("tenant {tenant} has no app {app}")).into());
    };
    let this_node = admin
        .app
        .registry
        .rollout_counts(&tenant, &app)
        .filter(|(version, _, _)| Some(*version) == found.canary_version)
        .map(|(_, _, counts)| counts);
    let deploy = &admin.app.config.deploy;
    Ok(Data::ok(json!({
        "tenant": tenant,
        "app": app,
        "activeVersion": found.active_version,
        "canaryVersion": found.canary_version,
        "percent": found.canary_percent,
        "note": found.rollout_note,
        "thisNode": this_node,
        "rollbackMinRequests": deploy.rollback_min_requests,
        "rollbackErrorMargin": deploy.rollback_error_margin,
    })))
}
