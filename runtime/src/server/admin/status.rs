//! `/admin/v1/status` (the node's health, for `gatehouse status`) and
//! `/admin/v1/limits` (every limit as this node runs it).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use serde_json::json;

use super::Admin;
use super::reply::Data;

/// Readiness, what the node serves, how busy it is, and when it last caught
/// up with the store.
pub(super) async fn get(State(admin): State<Arc<Admin>>) -> Data {
    let app = &admin.app;
    let readiness = app.probe.readiness(&app.registry, &app.limiter).await;
    let directory = app.registry.directory();
    let (tenants, loaded) = (directory.len(), directory.tenants.len());
    let in_use: usize = directory.tenants.values().map(|t| t.share.in_use()).sum();
    let waiting: usize = directory.tenants.values().map(|t| t.share.waiting()).sum();
    drop(directory);
    // Counted in the store: an asleep tenant's apps are not loaded here.
    let apps = app.registry.store().count_active_apps().await.ok();
    let last_sync = app.registry.last_sync.load(Ordering::Relaxed);
    Data::ok(json!({
        "ready": readiness.ready,
        "checks": readiness.checks,
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": app.started.elapsed().as_secs(),
        "storeBackend": app.registry.store().backend_name(),
        "rateLimitBackend": app.limiter.backend_name(),
        "tenants": tenants,
        "tenantsLoaded": loaded,
        "apps": apps,
        "instancesInUse": in_use,
        "instancesWaiting": waiting,
        "lastSync": last_sync,
        "lastSyncSecondsAgo": crate::clock::unix_now().saturating_sub(last_sync).max(0),
    }))
}

pub(super) async fn limits(State(admin): State<Arc<Admin>>) -> Data {
    Data::ok(crate::limit_table::limits(&admin.app.config))
}
