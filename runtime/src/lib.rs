//! # Gatehouse
//!
//! Runs custom API endpoints as sandboxed WebAssembly components, enforcing the
//! platform's gate before any guest runs.
//!
//! # Layout
//!
//! - `config`: `platform.toml`, typed, with errors naming the file and key.
//! - `app`: the running platform (store, sandbox, registry) and how it starts.
//! - `server`: listeners (connection bounds) and the one dispatch function; the only axum user.
//! - `gate`: the checks before the guest, one file each.
//! - `identity`: API keys and sessions; `store`: the platform's database.
//! - `sandbox`: engine, pool and tenants' shares of it, per-request store, budgets,
//!   compile children, invoke, trap → error.
//! - `capabilities`: the host side of each WIT import, one module each.
//! - `registry`: tenants, app deploys and versions, building, compiling (cached) and routing endpoints.
//! - `error`: the envelope and the code catalogue.
//! - `cli`, `telemetry`, `tenant_logs`: the command line, the log and traces, and each tenant's own lines;
//!   `trace_context`: W3C `traceparent` in and out.
//! - `health`: readiness and the node's status; `limit_table`: every limit, as data.

pub mod app;
#[cfg(test)]
mod architecture;
pub mod capabilities;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod entities;
pub mod error;
pub mod gate;
pub mod health;
pub mod identity;
pub mod limit_table;
pub mod metrics;
mod postgres_url;
pub mod registry;
pub mod sandbox;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tenant_logs;
pub mod timing;
pub mod trace_context;
