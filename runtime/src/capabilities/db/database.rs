//! The grant: one tenant's database, opened (and migrated) when the tenant is
//! loaded and shared by its endpoints: its pool on SQLite or Postgres, its
//! limits, and where later migrations (an app's, at deploy) go.

use std::path::Path;
use std::time::Duration;

use sqlx::{PgPool, SqlitePool};

use super::{DbLimits, PgIsolation, postgres, postgres_provision, relay, sqlite};
use crate::capabilities::wit_db as wit;

/// One tenant's database.
pub struct TenantDatabase {
    pub(super) backend: Backend,
    pub(super) limits: DbLimits,
    /// On Postgres: a schema, or a database, of its own.
    isolation: PgIsolation,
    /// On Postgres: the relay its connections go through (it refuses
    /// oversized rows); it stops with the database.
    _relay: Option<relay::Relay>,
    /// Where later migrations (an app's, at deploy) go.
    home: Home,
}

enum Home {
    SqliteFile(std::path::PathBuf),
    PostgresSchema(String),
}

pub(super) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl std::fmt::Debug for TenantDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantDatabase").field("backend", &self.backend_name()).field("limits", &self.limits).finish()
    }
}

impl TenantDatabase {
    /// The tenant's SQLite file (created), migrated and guarded.
    pub fn open_sqlite<'a>(
        path: &'a Path,
        migrations: Option<&'a Path>,
        limits: DbLimits,
    ) -> crate::store::Boxed<'a, Result<Self, String>> {
        Box::pin(async move {
            let dir = migrations.map(|m| backend_dir(m, "sqlite"));
            let pool = sqlite::open(path, dir.as_deref(), limits).await?;
            Ok(Self {
                backend: Backend::Sqlite(pool),
                limits,
                isolation: PgIsolation::default(),
                _relay: None,
                home: Home::SqliteFile(path.to_path_buf()),
            })
        })
    }

    /// The tenant's Postgres schema, reached through the tenant's own login
    /// role (created or updated now through `admin_url`, with `password`), migrated as that role.
    pub fn open_postgres<'a>(
        admin_url: &'a str,
        tenant: &'a str,
        password: &'a str,
        migrations: Option<&'a Path>,
        limits: DbLimits,
        isolation: PgIsolation,
    ) -> crate::store::Boxed<'a, Result<Self, String>> {
        Box::pin(async move {
            let dir = migrations.map(|m| backend_dir(m, "postgres"));
            let (pool, relay) =
                postgres_provision::open(admin_url, tenant, password, dir.as_deref(), limits, isolation).await?;
            let home = Home::PostgresSchema(postgres_provision::schema_name(tenant));
            Ok(Self { backend: Backend::Postgres(pool), limits, isolation, _relay: Some(relay), home })
        })
    }

    /// Applies `migrations` not yet applied (an app's, at deploy), as the
    /// tenant, each recorded as `<label>/<file>` so apps' files never clash.
    pub fn migrate<'a>(&'a self, migrations: &'a Path, label: &'a str) -> crate::store::Boxed<'a, Result<(), String>> {
        Box::pin(self.migrate_now(migrations, label))
    }

    /// Applies generated migrations (an app's entities'), as (file name,
    /// SQL) in order, for this database's backend; recorded like files.
    pub fn migrate_generated<'a>(
        &'a self,
        files: &'a [(String, String)],
        label: &'a str,
    ) -> crate::store::Boxed<'a, Result<(), String>> {
        Box::pin(self.migrate_set(MigrationSet::Generated(files), label))
    }

    async fn migrate_now(&self, migrations: &Path, label: &str) -> Result<(), String> {
        let backend = self.backend_name();
        self.migrate_set(MigrationSet::Folder(&backend_dir(migrations, backend)), label).await
    }

    async fn migrate_set(&self, set: MigrationSet<'_>, label: &str) -> Result<(), String> {
        let prefix = format!("{label}/");
        match (&self.home, &self.backend) {
            (Home::SqliteFile(path), _) => sqlite::migrate(path, &set, &prefix, self.limits).await,
            (Home::PostgresSchema(schema), Backend::Postgres(pool)) => {
                postgres_provision::apply_migrations(pool, schema, &set, &prefix, self.limits).await
            }
            (Home::PostgresSchema(_), Backend::Sqlite(_)) => Err("a Postgres home with a SQLite pool".into()),
        }
    }

    /// Bytes the tenant's database takes: its SQLite file (and write-ahead
    /// log), or its Postgres schema's relations.
    pub fn size_bytes(&self) -> crate::store::Boxed<'_, Result<u64, String>> {
        Box::pin(async move {
            match (&self.home, &self.backend) {
                (Home::SqliteFile(path), _) => Ok(sqlite::size_bytes(path)),
                (Home::PostgresSchema(schema), Backend::Postgres(pool)) => {
                    postgres_provision::size_bytes(pool, schema, self.isolation).await
                }
                (Home::PostgresSchema(_), Backend::Sqlite(_)) => Err("a Postgres home with a SQLite pool".into()),
            }
        })
    }

    /// Retires the database of a deleted tenant, so a new tenant of the same
    /// name starts empty: its connections are closed, then its SQLite folder
    /// is moved under `archive`, or its Postgres schema is renamed
    /// `archived_<schema>_<unix time>`, handed to the platform's role, and the
    /// tenant's role dropped (through `admin_url`). Returns where it went.
    pub fn retire<'a>(
        &'a self,
        archive: &'a Path,
        admin_url: Option<&'a str>,
    ) -> crate::store::Boxed<'a, Result<String, String>> {
        Box::pin(async move {
            let stamp = crate::clock::unix_now();
            match (&self.home, &self.backend) {
                (Home::SqliteFile(path), Backend::Sqlite(pool)) => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), pool.close()).await;
                    sqlite::archive(path, archive, stamp)
                }
                (Home::PostgresSchema(schema), Backend::Postgres(pool)) => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), pool.close()).await;
                    let url = admin_url.ok_or("no platform.database_url to retire a Postgres schema with")?;
                    postgres_provision::archive(url, schema, stamp, self.isolation).await
                }
                _ => Err("the tenant's database home and pool disagree".into()),
            }
        })
    }

    /// One statement outside a transaction, under the same guard and limits
    /// as a guest's (a guest's `db::query`, or the platform's own entity calls).
    pub async fn query(&self, sql: &str, params: &[wit::Value]) -> Result<wit::Rows, wit::DbError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(sqlite::classify)?;
                sqlite::run_query(&mut conn, self.limits, sql, params).await
            }
            Backend::Postgres(pool) => postgres::query_alone(pool, self.limits, sql, params).await,
        }
    }

    /// One statement that returns no rows; the rows it changed.
    pub async fn execute(&self, sql: &str, params: &[wit::Value]) -> Result<u64, wit::DbError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(sqlite::classify)?;
                sqlite::run_execute(&mut conn, self.limits, sql, params).await
            }
            Backend::Postgres(pool) => postgres::execute_alone(pool, sql, params).await,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Migrations may differ per backend: `<dir>/sqlite` or `<dir>/postgres` if
/// that folder exists, else `<dir>` itself.
fn backend_dir(dir: &Path, backend: &str) -> std::path::PathBuf {
    let specific = dir.join(backend);
    if specific.is_dir() { specific } else { dir.to_path_buf() }
}

/// The largest migration file read: migrations are schema changes and seed
/// rows, not bulk loads.
pub(crate) const MAX_MIGRATION_BYTES: u64 = 1 << 20;

/// Reads one migration file, refusing one over `MAX_MIGRATION_BYTES`.
/// Migrations to apply, in order: a folder's `*.sql` files (each read only
/// when it is due), or SQL the platform generated.
pub(super) enum MigrationSet<'a> {
    /// A folder.
    Folder(&'a Path),
    /// (name, SQL), in order.
    Generated(&'a [(String, String)]),
}

/// Where one migration's SQL is.
pub(super) enum MigrationSource<'a> {
    /// A file, read when due.
    File(std::path::PathBuf),
    /// Generated text.
    Text(&'a str),
}

impl<'a> MigrationSet<'a> {
    /// Each migration's name and source, in the order to apply them.
    pub(super) fn list(&self) -> Result<Vec<(String, MigrationSource<'a>)>, String> {
        match self {
            MigrationSet::Folder(dir) => {
                Ok(migration_files(dir)?.into_iter().map(|(n, p)| (n, MigrationSource::File(p))).collect())
            }
            MigrationSet::Generated(files) => {
                Ok(files.iter().map(|(n, sql)| (n.clone(), MigrationSource::Text(sql.as_str()))).collect())
            }
        }
    }
}

impl MigrationSource<'_> {
    /// Its SQL (`name` for messages).
    pub(super) fn read(&self, name: &str) -> Result<String, String> {
        match self {
            MigrationSource::File(path) => read_migration(name, path),
            MigrationSource::Text(sql) => Ok(sql.to_string()),
        }
    }
}

pub(super) fn read_migration(name: &str, file: &Path) -> Result<String, String> {
    let size = std::fs::metadata(file).map_err(|e| format!("cannot read {name}: {e}"))?.len();
    if size > MAX_MIGRATION_BYTES {
        return Err(format!("migration {name} is {size} bytes, over the {MAX_MIGRATION_BYTES}-byte limit"));
    }
    std::fs::read_to_string(file).map_err(|e| format!("cannot read {name}: {e}"))
}

/// A migrations folder's `*.sql` files in name order, as (file name, path).
pub(super) fn migration_files(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read migrations in {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    Ok(files)
}
