//! `gatehouse:endpoint/db`: the tenant's own database.
//!
//! Two backends behind one interface. Embedded default: one SQLite file per
//! tenant in the data dir, guarded by SQLite's authorizer (`guard.rs`) so no
//! statement reaches another file. With `platform.database_url`: one Postgres
//! schema per tenant, reached through the tenant's own login role, so the
//! database itself enforces isolation (`postgres.rs`). Every statement has a
//! timeout, a row limit and a result-size limit. Transactions are a WIT
//! resource: dropped, or abandoned by a guest that traps or times out, they
//! roll back (sqlx rolls a dropped transaction back before the connection is reused).

mod guard;
mod postgres;
mod postgres_provision;
mod relay;
mod sqlite;
mod upstream;
mod values;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::capabilities::wit_db as wit;
use crate::context::RequestContext;

pub use crate::config::{DbLimits, PgIsolation};

/// Transactions one request may hold open at once: each holds a connection.
const MAX_OPEN_TRANSACTIONS: usize = 4;
/// Connections per tenant database.
const POOL_SIZE: u32 = 8;

/// One tenant's database.
pub struct TenantDatabase {
    backend: Backend,
    limits: DbLimits,
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

enum Backend {
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

    async fn migrate_now(&self, migrations: &Path, label: &str) -> Result<(), String> {
        let prefix = format!("{label}/");
        match (&self.home, &self.backend) {
            (Home::SqliteFile(path), _) => {
                sqlite::migrate(path, &backend_dir(migrations, "sqlite"), &prefix, self.limits).await
            }
            (Home::PostgresSchema(schema), Backend::Postgres(pool)) => {
                postgres_provision::apply_migrations(
                    pool,
                    schema,
                    &backend_dir(migrations, "postgres"),
                    &prefix,
                    self.limits,
                )
                .await
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
const MAX_MIGRATION_BYTES: u64 = 1 << 20;

/// Reads one migration file, refusing one over `MAX_MIGRATION_BYTES`.
fn read_migration(name: &str, file: &Path) -> Result<String, String> {
    let size = std::fs::metadata(file).map_err(|e| format!("cannot read {name}: {e}"))?.len();
    if size > MAX_MIGRATION_BYTES {
        return Err(format!("migration {name} is {size} bytes, over the {MAX_MIGRATION_BYTES}-byte limit"));
    }
    std::fs::read_to_string(file).map_err(|e| format!("cannot read {name}: {e}"))
}

/// A migrations folder's `*.sql` files in name order, as (file name, path).
fn migration_files(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read migrations in {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    Ok(files)
}

/// An open transaction, held in the request's resource table.
pub enum DbTransaction {
    /// On the tenant's SQLite file.
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    /// In the tenant's Postgres schema.
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Per-request state: the tenant's database, if it has one.
pub(crate) struct DbState {
    db: Option<Arc<TenantDatabase>>,
    open: usize,
    context: Arc<RequestContext>,
}

impl DbState {
    pub(crate) fn new(db: Option<Arc<TenantDatabase>>, context: Arc<RequestContext>) -> Self {
        Self { db, open: 0, context }
    }

    fn db(&self) -> Result<Arc<TenantDatabase>, wit::DbError> {
        self.db.clone().ok_or_else(|| wit::DbError::Unavailable("this tenant has no database".into()))
    }
}

/// The view a db call works with: its state and the request's resource table.
pub(crate) struct DbView<'a> {
    pub(crate) state: &'a mut DbState,
    pub(crate) table: &'a mut ResourceTable,
}

fn log_failure(context: &RequestContext, what: &str, e: &wit::DbError) {
    tracing::debug!(tenant = %context.tenant, route = %context.route, request_id = %context.request_id, "db {what} failed: {e:?}");
}

impl wit::Host for DbView<'_> {
    async fn query(&mut self, sql: String, params: Vec<wit::Value>) -> Result<wit::Rows, wit::DbError> {
        let db = self.state.db()?;
        let result = match &db.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(sqlite::classify)?;
                sqlite::run_query(&mut conn, db.limits, &sql, &params).await
            }
            Backend::Postgres(pool) => postgres::query_alone(pool, db.limits, &sql, &params).await,
        };
        if let Err(e) = &result {
            log_failure(&self.state.context, "query", e);
        }
        result
    }

    async fn execute(&mut self, sql: String, params: Vec<wit::Value>) -> Result<u64, wit::DbError> {
        let db = self.state.db()?;
        let result = match &db.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(sqlite::classify)?;
                sqlite::run_execute(&mut conn, db.limits, &sql, &params).await
            }
            Backend::Postgres(pool) => postgres::execute_alone(pool, db.limits, &sql, &params).await,
        };
        if let Err(e) = &result {
            log_failure(&self.state.context, "execute", e);
        }
        result
    }

    async fn begin(&mut self) -> Result<Resource<DbTransaction>, wit::DbError> {
        let db = self.state.db()?;
        if self.state.open >= MAX_OPEN_TRANSACTIONS {
            return Err(wit::DbError::TooLarge(format!(
                "a request may hold {MAX_OPEN_TRANSACTIONS} transactions open at once"
            )));
        }
        let tx = match &db.backend {
            Backend::Sqlite(pool) => DbTransaction::Sqlite(pool.begin().await.map_err(sqlite::classify)?),
            Backend::Postgres(pool) => DbTransaction::Postgres(postgres::begin(pool).await?),
        };
        self.state.open += 1;
        self.table.push(tx).map_err(|e| wit::DbError::Unavailable(e.to_string()))
    }
}

impl wit::HostTransaction for DbView<'_> {
    async fn query(
        &mut self,
        tx: Resource<DbTransaction>,
        sql: String,
        params: Vec<wit::Value>,
    ) -> Result<wit::Rows, wit::DbError> {
        let limits = self.state.db()?.limits;
        match self.table.get_mut(&tx).map_err(|e| wit::DbError::Invalid(e.to_string()))? {
            DbTransaction::Sqlite(t) => sqlite::run_query(t, limits, &sql, &params).await,
            DbTransaction::Postgres(t) => postgres::run_query(t, limits, &sql, &params).await,
        }
    }

    async fn execute(
        &mut self,
        tx: Resource<DbTransaction>,
        sql: String,
        params: Vec<wit::Value>,
    ) -> Result<u64, wit::DbError> {
        let limits = self.state.db()?.limits;
        match self.table.get_mut(&tx).map_err(|e| wit::DbError::Invalid(e.to_string()))? {
            DbTransaction::Sqlite(t) => sqlite::run_execute(t, limits, &sql, &params).await,
            DbTransaction::Postgres(t) => postgres::run_execute(t, limits, &sql, &params).await,
        }
    }

    async fn commit(&mut self, tx: Resource<DbTransaction>) -> Result<(), wit::DbError> {
        let t = self.table.delete(tx).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
        self.state.open = self.state.open.saturating_sub(1);
        match t {
            DbTransaction::Sqlite(t) => t.commit().await.map_err(sqlite::classify),
            DbTransaction::Postgres(t) => t.commit().await.map_err(postgres::classify),
        }
    }

    async fn rollback(&mut self, tx: Resource<DbTransaction>) -> Result<(), wit::DbError> {
        let t = self.table.delete(tx).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
        self.state.open = self.state.open.saturating_sub(1);
        match t {
            DbTransaction::Sqlite(t) => t.rollback().await.map_err(sqlite::classify),
            DbTransaction::Postgres(t) => t.rollback().await.map_err(postgres::classify),
        }
    }

    async fn drop(&mut self, tx: Resource<DbTransaction>) -> wasmtime::Result<()> {
        // Dropped without commit: sqlx rolls it back before the connection is reused.
        if self.table.delete(tx).is_ok() {
            self.state.open = self.state.open.saturating_sub(1);
        }
        Ok(())
    }
}

struct DbData;

impl HasData for DbData {
    type Data<'a> = DbView<'a>;
}

/// Links `gatehouse:endpoint/db`; `get` finds this capability's state (and
/// the store's resource table) in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> DbView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, DbData>(linker, get)
}
