//! `[database]`: what every tenant database is held to, and how tenants are
//! kept apart on Postgres.

use std::time::Duration;

/// Per-statement limits.
#[derive(Debug, Clone, Copy)]
pub struct DbLimits {
    /// A statement running longer is interrupted.
    pub statement_timeout: Duration,
    /// Rows one query may return.
    pub max_rows: usize,
    /// Approximate bytes one query may return; also the longest single value.
    pub max_result_bytes: usize,
    /// A tenant's migration file running longer is cancelled by the host and
    /// the deploy refused.
    pub migration_timeout: Duration,
    /// The tenant's storage quota: on SQLite its file may not grow past this
    /// (writes beyond fail with `TooLarge`); deploys check it on both backends.
    pub max_database_bytes: Option<u64>,
}

/// Defaults: interactive API queries, not reports.
impl Default for DbLimits {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(5),
            max_rows: 10_000,
            max_result_bytes: 16 << 20,
            migration_timeout: Duration::from_secs(30),
            max_database_bytes: None,
        }
    }
}

/// How tenants' data is kept apart on Postgres (`database.isolation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PgIsolation {
    /// A schema per tenant in the platform's database, reached through the
    /// tenant's role: rows are private, but the catalogs are shared, so a
    /// tenant can list other tenants' table, view and function names and
    /// definitions. Creating a tenant is a few statements.
    #[default]
    Schema,
    /// A database per tenant (`gh_<tenant>`, owned by the platform, only the
    /// tenant's role may connect): the catalogs are the tenant's own. Creating
    /// a tenant copies `template1`; each database costs some disk.
    Database,
}
