//! `[database]`: what every tenant database is held to, and how tenants are
//! kept apart on Postgres.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::files::{NamedPaths, Need};
use super::policy::Problem;

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

/// `[database]`.
#[derive(Debug, Clone, Default)]
pub struct DatabaseSection {
    /// A folder of ordered `*.sql` files applied once to each tenant database.
    pub migrations: Option<PathBuf>,
    /// Per-statement limits.
    pub limits: DbLimits,
    /// `isolation`: on Postgres, a schema or a database per tenant.
    pub isolation: PgIsolation,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    migrations: Option<String>,
    statement_timeout: Option<String>,
    migration_timeout: Option<String>,
    isolation: Option<String>,
    max_rows: Option<usize>,
    max_result_kb: Option<usize>,
}

/// `[database]` with its defaults filled in; `migrations` resolved against
/// `base` (platform.toml's folder) and recorded in `paths` as a folder.
pub(super) fn resolve(raw: &RawDatabase, base: &Path, paths: &mut NamedPaths) -> Result<DatabaseSection, Problem> {
    let problem = |key: &str, text: String| (format!("database.{key}"), text);
    let mut database = DatabaseSection::default();
    if let Some(m) = &raw.migrations {
        database.migrations = Some(paths.expect("database.migrations".into(), m, base.join(m), Need::Folder));
    }
    if let Some(t) = &raw.statement_timeout {
        database.limits.statement_timeout = super::parse_duration(t).map_err(|p| problem("statement_timeout", p))?;
    }
    if let Some(t) = &raw.migration_timeout {
        database.limits.migration_timeout = super::parse_duration(t).map_err(|p| problem("migration_timeout", p))?;
    }
    database.isolation = match raw.isolation.as_deref() {
        None | Some("schema") => PgIsolation::Schema,
        Some("database") => PgIsolation::Database,
        Some(other) => {
            return Err(problem(
                "isolation",
                format!(
                    "`{other}` is neither \"schema\" (one schema per tenant) nor \"database\" (one database per tenant)"
                ),
            ));
        }
    };
    if let Some(n) = raw.max_rows {
        database.limits.max_rows = n;
    }
    if let Some(kb) = raw.max_result_kb {
        database.limits.max_result_bytes = kb.saturating_mul(1024);
    }
    Ok(database)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_isolation_by_key() {
        let raw = RawDatabase {
            statement_timeout: Some("2s".into()),
            max_result_kb: Some(10),
            isolation: Some("database".into()),
            ..Default::default()
        };
        let d = resolve(&raw, Path::new("/nowhere"), &mut NamedPaths::default()).unwrap();
        assert_eq!(d.limits.statement_timeout, Duration::from_secs(2));
        assert_eq!(d.limits.max_result_bytes, 10 * 1024);
        assert_eq!(d.isolation, PgIsolation::Database);
        let bad = |raw: RawDatabase| resolve(&raw, Path::new("/nowhere"), &mut NamedPaths::default()).unwrap_err().0;
        assert_eq!(bad(RawDatabase { isolation: Some("cluster".into()), ..Default::default() }), "database.isolation");
        let mut paths = NamedPaths::default();
        let raw = RawDatabase { migrations: Some("missing".into()), ..Default::default() };
        let d = resolve(&raw, Path::new("/nowhere"), &mut paths).unwrap();
        assert_eq!(d.migrations.as_deref(), Some(Path::new("/nowhere/missing")));
        let e = paths.check(Path::new("p.toml")).unwrap_err().to_string();
        assert!(e.contains("`database.migrations` names missing, which is not a folder"), "{e}");
        assert_eq!(
            bad(RawDatabase { migration_timeout: Some("x".into()), ..Default::default() }),
            "database.migration_timeout"
        );
    }
}
