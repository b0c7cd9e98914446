//! The public listener's accept loop. Each anonymous client gets a connection
//! before anything else is known about it, so every connection is bounded:
//! at most `server.max_connections` open at once (past that, accepting waits
//! and the kernel's backlog holds the rest), a request head must arrive
//! within `server.header_read_timeout` (hyper's timer, which starts as soon
//! as the connection waits for a head, so on a kept-alive connection it
//! bounds the wait for the next request too), and a connection with no
//! request in flight for `server.idle_timeout` is closed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::config::ServerSection;

/// Accepts on `listener` and serves each connection with `router` until
/// `shutdown` resolves; then stops accepting and lets open requests finish.
pub(super) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ServerSection,
    open: Arc<AtomicUsize>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the connection semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: pause rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // API answers are small and complete: send them at once rather than let
        // Nagle's algorithm hold the last segment for an ACK.
        let _ = tcp.set_nodelay(true);
        let (router, builder, open, mut stop) = (router.clone(), builder.clone(), open.clone(), stop_rx.clone());
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let _permit = permit;
            let activity = Arc::new(Activity::new());
            let counted = activity.clone();
            let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                let mut router = router.clone();
                request.extensions_mut().insert(ConnectInfo(peer));
                let in_flight = InFlight::start(counted.clone());
                async move {
                    let response = tower_service::Service::call(&mut router, request.map(axum::body::Body::new)).await;
                    drop(in_flight);
                    response
                }
            });
            let conn = builder.serve_connection(TokioIo::new(tcp), service);
            tokio::pin!(conn);
            let mut closing = false;
            loop {
                let wait = activity.idle_left(limits.idle_timeout).unwrap_or(limits.idle_timeout);
                tokio::select! {
                    _ = conn.as_mut() => break,
                    () = tokio::time::sleep(wait), if !closing => {
                        if activity.idle_left(limits.idle_timeout) == Some(Duration::ZERO) {
                            closing = true;
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                    _ = stop.changed(), if !closing => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends: taking them all waits for the last.
    let _ = slots.acquire_many(u32::try_from(limits.max_connections).unwrap_or(u32::MAX)).await;
    Ok(())
}

/// When a connection last started or finished a request, and how many are in flight.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self { start: Instant::now(), last_ms: AtomicU64::new(0), in_flight: AtomicUsize::new(0) }
    }

    fn touch(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// `None` while a request is in flight; else how long until the connection counts as idle.
    fn idle_left(&self, idle: Duration) -> Option<Duration> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let since = self.start.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)));
        Some(idle.saturating_sub(since))
    }
}

/// One request in flight on a connection, from its head to its answer's head.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}
