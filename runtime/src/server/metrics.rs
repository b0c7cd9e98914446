//! `GET /metrics`: the node's Prometheus metrics. On the admin listener it
//! sits behind the admin token; `metrics.listen` gives it a listener of its
//! own, without a token, for a Prometheus on a private network.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;

/// The scrape's answer.
pub(crate) fn scrape(app: &App) -> Response {
    ([(http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], app.render_metrics()).into_response()
}

async fn handler(State(app): State<Arc<App>>) -> Response {
    scrape(&app)
}

/// Serves `GET /metrics` (and nothing else) on `listener` until `shutdown`.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = axum::Router::new().route("/metrics", get(handler)).with_state(app);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
