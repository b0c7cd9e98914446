//! The HTTP side: listeners and the one dispatch function. Only this module knows axum.

pub mod admin;
mod blob_url;
mod convert;
mod credentials;
mod dispatch;
mod entity;
mod listener;
pub mod metrics;
mod preflight;
mod probes;
mod request_id;
mod rollout;

use std::future::Future;
use std::sync::Arc;

use crate::app::App;

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = app.config.server;
    let open = app.stats.connections.clone();
    let router = axum::Router::new().fallback(dispatch::handle).with_state(app);
    listener::serve(listener, router, limits, open, shutdown).await
}
