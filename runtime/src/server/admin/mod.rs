//! The admin API, on its own listener (loopback by default), in axum's idiom:
//! one module per resource, handlers that return `Result<Data, Refusal>`, and
//! the cross-cutting parts as layers: `scope` (request id, one tracing span,
//! the access line, the envelope of every refusal) around everything,
//! `access::admin_token` on the operator's calls, and
//! `access::admin_token_or_deploy_key` on the routes nested under
//! `/tenants/{tenant}` that a tenant's own deploy key also opens. The
//! dashboard (`dashboard/`) is served at `/` beside them.

mod access;
mod apps;
mod dashboard;
mod keys;
mod logs;
mod openapi;
mod reply;
mod rollouts;
mod scope;
mod secrets;
mod stats;
mod status;
mod tenants;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{delete, get, post, put};
use http::{HeaderMap, Method, Uri};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::error::{ApiError, ErrorCode};
use reply::Refusal;

/// What every handler shares.
pub(super) struct Admin {
    app: Arc<App>,
    token: String,
    /// The dashboard's sessions and chart history.
    ui: dashboard::Ui,
}

impl Admin {
    /// Whether the request carries the admin token (compared in constant time).
    fn holds_token(&self, headers: &HeaderMap) -> bool {
        bool::from(bearer(headers).as_bytes().ct_eq(self.token.as_bytes()))
    }

    /// The tenant a call names, or the config tenant when it names none.
    fn tenant_or_default(&self, tenant: Option<String>) -> String {
        tenant.unwrap_or_else(|| self.app.config.platform.tenant.clone())
    }
}

/// The `Authorization: Bearer …` credential, or `""`.
fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
}

type AdminRouter = Router<Arc<Admin>>;

/// Serves the admin API on `listener` until `shutdown`.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    token: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let bundle_limit = app.config.deploy.max_bundle_bytes.saturating_add(1 << 20);
    let state = Arc::new(Admin { app, token, ui: dashboard::Ui::default() });
    let sampler = dashboard::spawn_sampler(state.clone());
    let operator: AdminRouter = Router::new()
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/tenants/{tenant}", get(tenants::get).put(tenants::update).delete(tenants::delete))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}", delete(keys::revoke))
        .route("/secrets", get(secrets::list))
        .route("/secrets/{name}", put(secrets::set).delete(secrets::delete))
        .route("/stats", get(stats::get))
        .route("/status", get(status::get))
        .route("/limits", get(status::limits))
        .route_layer(from_fn_with_state(state.clone(), access::admin_token));
    let tenant_scoped: AdminRouter = Router::new()
        .route("/apps", get(apps::list).post(apps::deploy).layer(DefaultBodyLimit::max(bundle_limit)))
        .route("/apps/{app}", delete(apps::undeploy))
        .route("/apps/{app}/versions", get(apps::versions))
        .route("/apps/{app}/rollback", post(apps::rollback))
        .route("/apps/{app}/promote", post(rollouts::promote))
        .route("/apps/{app}/rollout", get(rollouts::get).delete(rollouts::end))
        .route("/logs", get(logs::tail))
        .route("/openapi.json", get(openapi::get))
        .route_layer(from_fn_with_state(state.clone(), access::admin_token_or_deploy_key));
    let scrape: AdminRouter = Router::new()
        .route("/metrics", get(metrics))
        .route_layer(from_fn_with_state(state.clone(), access::admin_token));
    let router = Router::new()
        .nest("/admin/v1", operator.nest("/tenants/{tenant}", tenant_scoped))
        .merge(scrape)
        .merge(dashboard::router())
        .fallback(unknown_call)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn(scope::scope))
        .with_state(state);
    let served = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
    sampler.abort();
    served
}

/// `GET /metrics`: Prometheus metrics, behind the admin token.
async fn metrics(State(admin): State<Arc<Admin>>) -> axum::response::Response {
    crate::server::metrics::scrape(&admin.app)
}

/// A path the admin API does not have (to a caller holding the token; others
/// learn only that they need it).
async fn unknown_call(State(admin): State<Arc<Admin>>, headers: HeaderMap, uri: Uri) -> Refusal {
    if !admin.holds_token(&headers) {
        return access::needs_token();
    }
    ApiError::new(
        ErrorCode::NotFound,
        format!("the admin API has no {}; its calls are listed in the README", uri.path()),
    )
    .into()
}

/// A known path with a method it does not take. The paths are documented, so
/// this tells nobody anything new.
async fn wrong_method(method: Method, uri: Uri) -> Refusal {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("{} does not take {method}", uri.path())).into()
}
