//! Every limit the platform enforces, as data: its name, value and unit as
//! this node runs it, where it is set, and what happens when something hits
//! it. `GET /admin/v1/limits` and `gatehouse limits` print it, and the
//! README's limits table is this table rendered on the defaults (a test
//! compares them), so the three cannot drift. The fixed limits are read from
//! the constants the code enforces, never restated here.

// Over 600 lines: one row per limit, and the table reads best whole.

use serde::Serialize;

use crate::config::PlatformConfig;

/// One limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limit {
    /// A stable identifier, like the config key's last part (`cpu_ms`).
    pub name: &'static str,
    /// What is limited, in words.
    pub what: &'static str,
    /// Its value on this node.
    pub value: u64,
    /// `ms`, `KiB`, `MiB`, `bytes`, `chars` or `count`.
    pub unit: &'static str,
    /// The config keys or quotas that set it, or `fixed`.
    pub set_in: &'static str,
    /// What happens when something hits it.
    pub when_hit: &'static str,
}

/// Where a fixed limit is set.
const FIXED: &str = "fixed";

fn ms(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

fn kib(bytes: u64) -> u64 {
    bytes >> 10
}

fn mib(bytes: u64) -> u64 {
    bytes >> 20
}

/// Every limit, with `config`'s values, in the order the README shows them:
/// a request's budgets, the pool, connections, the gate, the database,
/// outbound calls, the guest's output, the component, deploys.
pub fn limits(config: &PlatformConfig) -> Vec<Limit> {
    let l = &config.limits;
    let s = &config.sandbox;
    let srv = &config.server;
    let db = &config.database.limits;
    let out = &config.outbound;
    let row = |name, what, value, unit, set_in, when_hit| Limit { name, what, value, unit, set_in, when_hit };
    vec![
        row(
            "cpu_ms",
            "guest CPU time per request",
            ms(l.cpu),
            "ms",
            "`limits.cpu_ms`, `endpoint[].limits`; at most the tenant's `cpuMs` quota",
            "504 `GUEST_TIMEOUT`, `details.limit = \"cpu_ms\"`. Counted in 1 ms ticks, only while guest code runs: a guest waiting on the host or sleeping uses none",
        ),
        row(
            "wall_ms",
            "wall-clock time per request",
            ms(l.wall),
            "ms",
            "`limits.wall_ms`, `endpoint[].limits`; at most the tenant's `wallMs` quota",
            "504 `GUEST_TIMEOUT`, `details.limit = \"wall_ms\"`",
        ),
        row(
            "memory_mb",
            "linear memory per instance",
            mib(l.memory_bytes as u64),
            "MiB",
            "`limits.memory_mb`, `endpoint[].limits`; at most the tenant's `memoryMb` and `sandbox.max_memory_mb`",
            "500 `GUEST_MEMORY_EXCEEDED`: the growth is refused and the instance stopped",
        ),
        row(
            "body_kb",
            "request body",
            kib(l.body_bytes as u64),
            "KiB",
            "`limits.body_kb`, `endpoint[].limits`; at most the tenant's `bodyKb`",
            "413 `PAYLOAD_TOO_LARGE`, decided from `Content-Length` before reading, or when a chunked body passes it",
        ),
        row(
            "stream_idle_ms",
            "time a streaming guest may go without writing",
            ms(l.stream_idle),
            "ms",
            "`limits.stream_idle_ms`, `endpoint[].limits`",
            "the guest is stopped and the stream ends; logged like any budget",
        ),
        row(
            "max_instances",
            "instances alive at once",
            u64::from(s.max_instances),
            "count",
            "`sandbox.max_instances`",
            "requests wait for a slot; 503 `OVERLOADED` after `queue_timeout`",
        ),
        row(
            "queue_timeout",
            "wait for a pool slot",
            ms(s.queue_timeout),
            "ms",
            "`sandbox.queue_timeout`",
            "503 `OVERLOADED` (or `TENANT_OVERLOADED` for a tenant's own share)",
        ),
        row(
            "max_instances_per_tenant",
            "instances of one tenant at once",
            u64::from(s.max_instances_per_tenant),
            "count",
            "`sandbox.max_instances_per_tenant`; the tenant's `maxConcurrent` quota",
            "at most as many requests wait; 503 `TENANT_OVERLOADED` after `queue_timeout` or when that many wait already; other tenants keep the rest of the pool",
        ),
        row(
            "ready_instances",
            "instances made ahead in idle time for endpoints slow to instantiate (such as Python ones), never called before their request",
            u64::from(s.ready_instances),
            "count",
            "`sandbox.ready_instances` (0 turns it off; at most a quarter of `max_instances`)",
            "the least recently made (of another endpoint) is dropped for a new one; a request that finds no free slot drops them before kept ones",
        ),
        row(
            "reuse_requests",
            "requests one instance serves, for an endpoint with `reuse` (off by default: one each)",
            u64::from(crate::config::MAX_REUSE_REQUESTS),
            "count",
            "`endpoint[].reuse.requests` (default 1000, at most this)",
            "the instance is dropped after its last request; the next one is fresh",
        ),
        row(
            "reuse_idle",
            "how long an instance kept by `reuse` waits for its next request",
            crate::config::MAX_REUSE_IDLE.as_secs(),
            "s",
            "`endpoint[].reuse.idle` (default 30 s, at most this)",
            "the instance is dropped; a request that finds no free slot drops the least recently used kept one first",
        ),
        row(
            "max_memory_mb",
            "memory any instance may have (a pool slot's size)",
            mib(s.max_memory_bytes as u64),
            "MiB",
            "`sandbox.max_memory_mb`",
            "a larger `memory_mb` is refused at load or deploy",
        ),
        row(
            "max_connections",
            "connections open at once",
            srv.max_connections as u64,
            "count",
            "`server.max_connections`",
            "the listener stops accepting until one closes",
        ),
        row(
            "header_read_timeout",
            "time for a request head to arrive whole",
            ms(srv.header_read_timeout),
            "ms",
            "`server.header_read_timeout`",
            "the connection is closed",
        ),
        row(
            "idle_timeout",
            "time a connection may sit with no request in flight",
            ms(srv.idle_timeout),
            "ms",
            "`server.idle_timeout`",
            "the connection is closed",
        ),
        row(
            "body_read_timeout",
            "time for an admitted body to arrive whole",
            ms(srv.body_read_timeout),
            "ms",
            "`server.body_read_timeout`",
            "408 `REQUEST_TIMEOUT`",
        ),
        row(
            "request_id_chars",
            "a client's `X-Request-Id`",
            crate::context::MAX_REQUEST_ID_CHARS as u64,
            "chars",
            FIXED,
            "a fresh id is used instead (also for characters outside `[A-Za-z0-9-_.:]`)",
        ),
        row(
            "log_buffer_lines",
            "log lines waiting for stderr's reader",
            crate::telemetry::LOG_BUFFER_LINES as u64,
            "lines",
            FIXED,
            "new lines are dropped and counted (`gatehouse_log_lines_dropped_total`); requests never wait for the log",
        ),
        row(
            "signature_header_bytes",
            "a webhook signature header",
            crate::gate::signature::MAX_SIGNATURE_HEADER_BYTES as u64,
            "bytes",
            FIXED,
            "401 `INVALID_SIGNATURE` before any HMAC is computed",
        ),
        row(
            "signature_candidates",
            "signatures in one webhook header",
            crate::gate::signature::MAX_SIGNATURE_CANDIDATES as u64,
            "count",
            FIXED,
            "401 `INVALID_SIGNATURE`; the body's HMAC is computed once whatever the count",
        ),
        row(
            "statement_timeout",
            "one database statement",
            ms(db.statement_timeout),
            "ms",
            "`database.statement_timeout`",
            "the statement is interrupted: `Timeout`",
        ),
        row("max_rows", "rows one query may return", db.max_rows as u64, "count", "`database.max_rows`", "`TooLarge`"),
        row(
            "max_result_kb",
            "bytes one query may return",
            kib(db.max_result_bytes as u64),
            "KiB",
            "`database.max_result_kb`",
            "`TooLarge`; on SQLite also the longest value a statement may make",
        ),
        row(
            "open_transactions",
            "database transactions open in one request",
            crate::capabilities::db::MAX_OPEN_TRANSACTIONS as u64,
            "count",
            FIXED,
            "`TooLarge`",
        ),
        row(
            "storage_mb",
            "a tenant's database and kept bundles",
            crate::registry::DEFAULT_STORAGE_MB,
            "MiB",
            "the tenant's `storageMb` quota",
            "a deploy past it is refused with 422 `DEPLOY_REJECTED`; on SQLite a write past it fails with `TooLarge`",
        ),
        row(
            "blob_object_mb",
            "one object in object storage",
            mib(config.blobs.max_object_bytes),
            "MiB",
            "`blobs.max_object_mb` (and the endpoint's `memory_mb`, which the object passes through)",
            "413 `BLOB_TOO_LARGE` through the SDKs; nothing is stored",
        ),
        row(
            "blobs_mb",
            "a tenant's objects in object storage",
            mib(config.blobs.quota_bytes),
            "MiB",
            "`blobs.quota_mb`; the tenant's `blobsMb` quota",
            "413 `BLOB_QUOTA_EXCEEDED` through the SDKs; a put that replaces an object needs room only for what it adds",
        ),
        row(
            "blob_objects",
            "a tenant's objects, counted",
            config.blobs.max_objects,
            "count",
            "`blobs.max_objects`",
            "413 `BLOB_QUOTA_EXCEEDED`",
        ),
        row(
            "blob_list_limit",
            "objects one listing page returns",
            u64::from(crate::capabilities::blobs::MAX_LIST_LIMIT),
            "count",
            FIXED,
            "`Invalid` (500 `BLOB_INVALID`); page with `after`",
        ),
        row(
            "blob_url_expiry",
            "how long a signed object URL is valid",
            ms(config.blobs.max_url_expiry),
            "ms",
            "`blobs.max_url_expiry`",
            "`Invalid` (500 `BLOB_INVALID`) when asked for longer; an expired URL answers 403 `FORBIDDEN`",
        ),
        row(
            "migration_timeout",
            "one tenant migration file",
            ms(db.migration_timeout),
            "ms",
            "`database.migration_timeout`",
            "the file is cancelled and the deploy refused, 422 `DEPLOY_REJECTED` naming it; the old version keeps serving",
        ),
        row(
            "migration_file_kb",
            "one tenant migration file's size",
            kib(crate::capabilities::db::MAX_MIGRATION_BYTES),
            "KiB",
            FIXED,
            "422 `DEPLOY_REJECTED` naming the file",
        ),
        row(
            "outbound_calls",
            "outbound calls per request",
            u64::from(out.max_calls),
            "count",
            "`outbound.max_calls`",
            "`TooManyCalls` (500 `OUTBOUND_LIMIT` through the SDKs' `?`)",
        ),
        row(
            "outbound_response_kb",
            "an upstream response read",
            kib(out.max_response_bytes),
            "KiB",
            "`outbound.max_response_kb`",
            "`ResponseTooLarge`, checked from `Content-Length` and while reading",
        ),
        row(
            "outbound_timeout",
            "one outbound call",
            ms(out.timeout),
            "ms",
            "`outbound.timeout` (a guest may ask for less)",
            "`Timeout`",
        ),
        row(
            "outbound_redirects",
            "redirects followed per outbound call",
            out.max_redirects as u64,
            "count",
            FIXED,
            "`NotAllowed`; each hop's destination is checked again",
        ),
        row(
            "guest_output_kb",
            "guest stdout and stderr, each, per request",
            kib(crate::sandbox::MAX_GUEST_OUTPUT_BYTES as u64),
            "KiB",
            FIXED,
            "the rest is dropped, with one warning",
        ),
        row(
            "log_lines",
            "guest log lines per request",
            u64::from(crate::capabilities::log::MAX_LOG_LINES_PER_REQUEST),
            "count",
            FIXED,
            "further lines are dropped, with one warning",
        ),
        row(
            "log_line_bytes",
            "one guest log line",
            crate::capabilities::log::MAX_LOG_MESSAGE_BYTES as u64,
            "bytes",
            FIXED,
            "the line is cut",
        ),
        row(
            "stream_buffered_chunks",
            "chunks a stream buffers for a slow client",
            crate::capabilities::stream::BUFFERED_CHUNKS as u64,
            "count",
            FIXED,
            "the guest's `write` waits; a client that leaves ends the guest at once",
        ),
        row(
            "stream_chunk_kb",
            "one streamed chunk",
            kib(crate::capabilities::stream::MAX_CHUNK_BYTES as u64),
            "KiB",
            FIXED,
            "a larger write is split",
        ),
        row(
            "stream_total_mb",
            "one streamed response",
            mib(crate::capabilities::stream::MAX_STREAM_BYTES),
            "MiB",
            FIXED,
            "`TooLarge`; the stream ends",
        ),
        row(
            "table_elements",
            "elements of one guest table",
            crate::sandbox::MAX_TABLE_ELEMENTS as u64,
            "count",
            FIXED,
            "the growth is refused",
        ),
        row(
            "core_instances",
            "core instances in one component",
            u64::from(crate::sandbox::CORE_INSTANCES_PER_COMPONENT),
            "count",
            FIXED,
            "instantiation is refused",
        ),
        row(
            "memories",
            "linear memories in one component",
            u64::from(crate::sandbox::MEMORIES_PER_COMPONENT),
            "count",
            FIXED,
            "instantiation is refused",
        ),
        row(
            "tables",
            "tables in one component",
            u64::from(crate::sandbox::TABLES_PER_COMPONENT),
            "count",
            FIXED,
            "instantiation is refused",
        ),
        row(
            "max_component_mb",
            "a component file",
            mib(s.max_component_bytes as u64),
            "MiB",
            "`sandbox.max_component_mb`",
            "refused at startup, or the deploy with 422 `DEPLOY_REJECTED`",
        ),
        row(
            "compile_timeout",
            "compiling an uploaded component",
            ms(s.compile_timeout),
            "ms",
            "`sandbox.compile_timeout`",
            "the compiling child process is killed and the deploy refused with 422 `DEPLOY_REJECTED`",
        ),
        row(
            "max_bundle_mb",
            "an app bundle",
            mib(config.deploy.max_bundle_bytes as u64),
            "MiB",
            "`deploy.max_bundle_mb`",
            "413 `PAYLOAD_TOO_LARGE` before it is read whole",
        ),
        row(
            "bundle_files",
            "files in an app bundle",
            crate::registry::MAX_BUNDLE_FILES as u64,
            "count",
            FIXED,
            "422 `DEPLOY_REJECTED`",
        ),
        row(
            "max_components",
            "endpoints over all of a tenant's apps",
            u64::from(crate::registry::DEFAULT_MAX_COMPONENTS),
            "count",
            "the tenant's `maxComponents` quota",
            "the deploy is refused with 422 `DEPLOY_REJECTED`",
        ),
        row(
            "keep_versions",
            "versions kept per app for rollback",
            config.deploy.keep_versions as u64,
            "count",
            "`deploy.keep_versions`",
            "the oldest is pruned (the live one is always kept)",
        ),
        row(
            "entities",
            "entities one app declares (`[[entity]]`)",
            crate::config::MAX_ENTITIES as u64,
            "count",
            FIXED,
            "422 `DEPLOY_REJECTED`",
        ),
        row(
            "entity_fields",
            "fields of one entity",
            crate::config::MAX_FIELDS as u64,
            "count",
            FIXED,
            "422 `DEPLOY_REJECTED`",
        ),
        row(
            "entity_page",
            "rows one entity list answers (`limit`)",
            crate::entities::handler::MAX_LIMIT,
            "count",
            FIXED,
            "400 `VALIDATION_FAILED` naming `limit`",
        ),
        row(
            "entity_page_number",
            "the deepest page of an entity list (`page`)",
            crate::entities::handler::MAX_PAGE,
            "count",
            FIXED,
            "400 `VALIDATION_FAILED` naming `page`",
        ),
        row(
            "rollback_min_requests",
            "requests a gradual rollout's new version answers on a node before its error rate is judged",
            config.deploy.rollback_min_requests,
            "count",
            "`deploy.rollback_min_requests`",
            "from then on, an error rate over the active version's by more than `deploy.rollback_error_margin` points rolls it back on its own",
        ),
        row(
            "max_loaded_tenants",
            "tenants loaded on a node at once (besides platform.toml's)",
            config.platform.max_loaded_tenants as u64,
            "count",
            "`platform.max_loaded_tenants`",
            "the least recently used idle tenant sleeps (its database closed, its components dropped) and loads again on its next request",
        ),
        row(
            "metrics_tenants",
            "tenants named in metric labels",
            config.metrics.max_tenants as u64,
            "count",
            "`metrics.max_tenants`",
            "further tenants share the label `other`",
        ),
    ]
}

/// The table as Markdown, the README's `## Limits` table.
pub fn markdown(rows: &[Limit]) -> String {
    let mut out = String::from("| limit | value | set in | when it is hit |\n|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| `{}`: {} | {} {} | {} | {} |\n",
            r.name,
            r.what,
            thousands(r.value),
            r.unit,
            r.set_in,
            r.when_hit
        ));
    }
    out
}

/// The table as aligned text for a terminal: name, value and unit, where set.
pub fn text(rows: &[Limit]) -> String {
    let mut out = format!("{:<26} {:>14}  {:<6} {}\n", "LIMIT", "VALUE", "UNIT", "WHEN IT IS HIT");
    for r in rows {
        out.push_str(&format!(
            "{:<26} {:>14}  {:<6} {}\n",
            r.name,
            thousands(r.value),
            r.unit,
            r.when_hit.replace('`', "")
        ));
    }
    out
}

/// `1048576` → `1,048,576`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The README's markers around the generated table.
pub const README_BEGIN: &str =
    "<!-- limits table: generated by `gatehouse limits --markdown --defaults`; do not edit by hand -->";
/// Where the generated table ends.
pub const README_END: &str = "<!-- end of limits table -->";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn defaults() -> PlatformConfig {
        PlatformConfig::parse(std::path::Path::new("platform.toml"), "", &Overrides::default()).unwrap()
    }

    #[test]
    fn names_are_unique_and_every_row_says_what_happens() {
        let rows = limits(&defaults());
        let mut names: Vec<&str> = rows.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), rows.len(), "a limit's name is its identity");
        assert!(rows.iter().all(|r| !r.when_hit.is_empty() && !r.set_in.is_empty() && r.value > 0));
    }

    #[test]
    fn values_follow_the_config() {
        let text = "[limits]\ncpu_ms = 75\n[outbound]\nmax_calls = 3\n[sandbox]\nqueue_timeout = \"2s\"\n";
        let config = PlatformConfig::parse(std::path::Path::new("platform.toml"), text, &Overrides::default()).unwrap();
        let rows = limits(&config);
        let value = |name: &str| rows.iter().find(|r| r.name == name).unwrap().value;
        assert_eq!(value("cpu_ms"), 75);
        assert_eq!(value("outbound_calls"), 3);
        assert_eq!(value("queue_timeout"), 2000);
        assert_eq!(thousands(1_048_576), "1,048,576");
        assert_eq!(thousands(64), "64");
    }

    /// The README's table is this table on the defaults. To update it after a
    /// change here: `UPDATE_README=1 cargo test -p gatehouse limit_table`.
    #[test]
    fn the_readme_limits_table_is_generated_from_this_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let begin = readme.find(README_BEGIN).expect("README has the limits table's begin marker") + README_BEGIN.len();
        let end = readme[begin..].find(README_END).expect("README has the limits table's end marker") + begin;
        let wanted = format!("\n{}", markdown(&limits(&defaults())));
        if readme[begin..end] == wanted {
            return;
        }
        if std::env::var("UPDATE_README").is_ok_and(|v| v == "1") {
            std::fs::write(&path, format!("{}{wanted}{}", &readme[..begin], &readme[end..])).unwrap();
            return;
        }
        panic!(
            "README.md's limits table differs from the limit table in runtime/src/limit_table.rs; \
             run `UPDATE_README=1 cargo test -p gatehouse limit_table` to regenerate it"
        );
    }
}
