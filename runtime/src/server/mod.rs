//! The HTTP side: listeners and the one dispatch function. Only this module knows axum.

pub mod admin;
mod admin_tenants;
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
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    // API answers are small and complete: send them at once rather than let
    // Nagle's algorithm hold the last segment for an ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
