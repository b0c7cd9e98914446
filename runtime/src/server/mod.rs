//! The HTTP side: listeners and the one dispatch function. Only this module knows axum.

mod convert;
mod dispatch;
mod request_id;

use std::future::Future;
use std::sync::Arc;

use crate::app::App;

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = axum::Router::new().fallback(dispatch::handle).with_state(app);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
