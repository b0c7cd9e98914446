//! `/admin/v1/tenants/{tenant}/logs`: the tenant's own log lines on this node.

use axum::extract::{Path, Query};
use serde::Deserialize;

use super::reply::Data;

#[derive(Deserialize)]
pub(super) struct LogsQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// Lines after `after` (a `seq`), oldest first, at most `limit` (200; up to 1000).
pub(super) async fn tail(Path(tenant): Path<String>, Query(q): Query<LogsQuery>) -> Data {
    Data::ok(crate::tenant_logs::lines(&tenant, q.after, q.limit.unwrap_or(200).min(1000)))
}
