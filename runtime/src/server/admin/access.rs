//! Who may make a call: the operator's calls take the admin token; the calls
//! nested under `/tenants/{tenant}` (its apps and logs) also take that
//! tenant's deploy key (an API key of the tenant with scope `deploy`), valid
//! for that tenant only.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::reply::Refusal;
use super::{Admin, bearer};
use crate::error::{ApiError, ErrorCode};

/// 401 for a call without the admin token.
pub(super) fn needs_token() -> Refusal {
    ApiError::new(ErrorCode::Unauthorized, "the admin API needs Authorization: Bearer <admin token>").into()
}

pub(super) async fn admin_token(
    State(admin): State<Arc<Admin>>,
    request: Request,
    next: Next,
) -> Result<Response, Refusal> {
    if admin.holds_token(request.headers()) { Ok(next.run(request).await) } else { Err(needs_token()) }
}

pub(super) async fn admin_token_or_deploy_key(
    State(admin): State<Arc<Admin>>,
    Path(params): Path<Vec<(String, String)>>,
    request: Request,
    next: Next,
) -> Result<Response, Refusal> {
    let tenant = params.into_iter().find(|(k, _)| k == "tenant").map(|(_, v)| v).unwrap_or_default();
    if admin.holds_token(request.headers()) {
        return Ok(next.run(request).await);
    }
    let presented = bearer(request.headers());
    if presented.is_empty() {
        return Err(needs_token());
    }
    let tenant: Arc<str> = tenant.into();
    match admin.app.identity.keys.authenticate(presented, &tenant).await {
        Ok(p) if p.scopes.iter().any(|s| s == "deploy") => Ok(next.run(request).await),
        Ok(_) => Err(ApiError::new(
            ErrorCode::InsufficientScope,
            format!("this key lacks scope `deploy` for tenant {tenant}"),
        )
        .into()),
        Err(why) => Err(ApiError::new(ErrorCode::Unauthorized, why).into()),
    }
}
