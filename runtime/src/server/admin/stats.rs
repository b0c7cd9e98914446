//! `/admin/v1/stats`: this node's counters.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use serde_json::json;

use super::Admin;
use super::reply::Data;

pub(super) async fn get(State(admin): State<Arc<Admin>>) -> Data {
    let app = &admin.app;
    let directory = app.registry.directory();
    Data::ok(json!({
        "requests": app.stats.requests.load(Ordering::Relaxed),
        "refusedByGate": app.stats.refused_by_gate.load(Ordering::Relaxed),
        "instancesStarted": app.sandbox.instances_started(),
        "instancesReady": app.sandbox.instances_ready(),
        "readyInstancesMade": app.sandbox.ready_instances_made(),
        "readyInstancesTaken": app.sandbox.ready_instances_taken(),
        "openConnections": app.stats.connections.load(Ordering::Relaxed),
        "rateLimitBackend": app.limiter.backend_name(),
        "storeBackend": app.registry.store().backend_name(),
        "componentsCompiled": app.registry.compiled.load(Ordering::Relaxed),
        "componentsFromCache": app.registry.cached.load(Ordering::Relaxed),
        "tenants": directory.len(),
        "tenantsLoaded": directory.tenants.len(),
        "tenantLoads": app.registry.loads.load(Ordering::Relaxed),
        "tenantSleeps": app.registry.sleeps.load(Ordering::Relaxed),
    }))
}
