//! `gatehouse:endpoint/db`: the tenant's own database. Embedded default: one
//! SQLite file per tenant in the data dir, guarded by SQLite's authorizer
//! (`guard.rs`) so no statement reaches another file. Every statement has a
//! timeout, a row limit and a result-size limit. Transactions are a WIT
//! resource: dropped, or abandoned by a guest that traps or times out, they
//! roll back (sqlx rolls a dropped transaction back before the connection is reused).

mod guard;
mod values;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Row, Sqlite};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::sandbox::{RequestContext, wit_db as wit};

/// Per-statement limits.
#[derive(Debug, Clone, Copy)]
pub struct DbLimits {
    /// A statement running longer is interrupted.
    pub statement_timeout: Duration,
    /// Rows one query may return.
    pub max_rows: usize,
    /// Approximate bytes one query may return.
    pub max_result_bytes: usize,
}

/// Defaults: interactive API queries, not reports.
impl Default for DbLimits {
    fn default() -> Self {
        Self { statement_timeout: Duration::from_secs(5), max_rows: 10_000, max_result_bytes: 16 << 20 }
    }
}

/// Transactions one request may hold open at once: each holds a connection.
const MAX_OPEN_TRANSACTIONS: usize = 4;
/// Connections per tenant database.
const POOL_SIZE: u32 = 8;

/// One tenant's database.
pub struct TenantDatabase {
    pool: SqlitePool,
    limits: DbLimits,
}

impl std::fmt::Debug for TenantDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantDatabase").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl TenantDatabase {
    /// Opens (creating) the tenant's SQLite file, applies pending migrations
    /// from `migrations` (ordered `*.sql` files, each applied once), and
    /// builds the guarded pool guests use.
    pub async fn open_sqlite(path: &Path, migrations: Option<&Path>, limits: DbLimits) -> Result<Self, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|e| e.to_string())?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(limits.statement_timeout);
        if let Some(dir) = migrations {
            // Migrations are the operator's SQL: they run on a plain connection, before any guest.
            let admin = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .map_err(|e| e.to_string())?;
            apply_migrations(&admin, dir).await?;
            admin.close().await;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(|conn, _| Box::pin(async move { guard::install(conn).await }))
            .connect_with(options)
            .await
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(Self { pool, limits })
    }
}

async fn apply_migrations(pool: &SqlitePool, dir: &Path) -> Result<(), String> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS _gatehouse_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(|e| e.to_string())?;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read migrations in {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let done = sqlx::query("SELECT 1 FROM _gatehouse_migrations WHERE name = ?")
            .bind(&name)
            .fetch_optional(pool)
            .await
            .map_err(|e| e.to_string())?;
        if done.is_some() {
            continue;
        }
        let sql = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
        sqlx::raw_sql(&sql).execute(&mut *tx).await.map_err(|e| format!("migration {name} failed: {e}"))?;
        sqlx::query("INSERT INTO _gatehouse_migrations (name, applied_at) VALUES (?, strftime('%s','now'))")
            .bind(&name)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        tracing::info!(migration = %name, "database migration applied");
    }
    Ok(())
}

/// An open transaction, held in the request's resource table.
pub struct DbTransaction {
    tx: sqlx::Transaction<'static, Sqlite>,
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
    state: &'a mut DbState,
    table: &'a mut ResourceTable,
}

/// Interrupts the connection's statements after `timeout` (SQLite's progress
/// handler, checked every 1000 virtual-machine steps). Set before every
/// statement, so a pooled connection never keeps an earlier deadline.
async fn arm_timeout(conn: &mut sqlx::SqliteConnection, timeout: Duration) -> Result<(), wit::DbError> {
    let deadline = Instant::now() + timeout;
    let mut handle = conn.lock_handle().await.map_err(classify)?;
    handle.set_progress_handler(1000, move || Instant::now() < deadline);
    Ok(())
}

async fn run_query(
    conn: &mut sqlx::SqliteConnection,
    limits: DbLimits,
    sql: &str,
    params: &[wit::Value],
) -> Result<wit::Rows, wit::DbError> {
    arm_timeout(conn, limits.statement_timeout).await?;
    let query = values::bind(sqlx::query(sql), params);
    let mut stream = query.fetch(conn);
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    while let Some(row) = stream.try_next().await.map_err(classify)? {
        if columns.is_empty() {
            columns = row.columns().iter().map(|c| sqlx::Column::name(c).to_string()).collect();
        }
        if rows.len() == limits.max_rows {
            return Err(wit::DbError::TooLarge(format!(
                "the query returns more than {} rows; add a LIMIT",
                limits.max_rows
            )));
        }
        let values = values::decode(&row)?;
        bytes += values.iter().map(values::size).sum::<usize>();
        if bytes > limits.max_result_bytes {
            return Err(wit::DbError::TooLarge(format!("the result is over {} bytes", limits.max_result_bytes)));
        }
        rows.push(values);
    }
    Ok(wit::Rows { columns, rows })
}

async fn run_execute(
    conn: &mut sqlx::SqliteConnection,
    limits: DbLimits,
    sql: &str,
    params: &[wit::Value],
) -> Result<u64, wit::DbError> {
    arm_timeout(conn, limits.statement_timeout).await?;
    let done = values::bind(sqlx::query(sql), params).execute(conn).await.map_err(classify)?;
    Ok(done.rows_affected())
}

/// Maps sqlx's errors onto what the guest can act on.
fn classify(e: sqlx::Error) -> wit::DbError {
    match &e {
        sqlx::Error::Database(db) => {
            use sqlx::error::ErrorKind as K;
            let message = db.message().to_string();
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            match db.kind() {
                K::UniqueViolation | K::ForeignKeyViolation | K::NotNullViolation | K::CheckViolation => {
                    wit::DbError::Constraint(message)
                }
                // SQLITE_AUTH (23): refused by the authorizer.
                _ if code == "23" || message.contains("not authorized") => wit::DbError::Denied(format!(
                    "{message}: a tenant's database cannot attach files, load extensions or change pragmas"
                )),
                // SQLITE_INTERRUPT (9): the progress handler's deadline.
                _ if code == "9" || message.contains("interrupted") => wit::DbError::Timeout,
                _ if code == "5" || code == "6" => {
                    wit::DbError::Unavailable(format!("the database is busy: {message}"))
                }
                _ => wit::DbError::Invalid(message),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => {
            wit::DbError::Unavailable(e.to_string())
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::TypeNotFound { .. } => {
            wit::DbError::Invalid(e.to_string())
        }
        _ => wit::DbError::Invalid(e.to_string()),
    }
}

fn log_failure(context: &RequestContext, what: &str, e: &wit::DbError) {
    tracing::debug!(tenant = %context.tenant, route = %context.route, request_id = %context.request_id, "db {what} failed: {e:?}");
}

impl wit::Host for DbView<'_> {
    async fn query(&mut self, sql: String, params: Vec<wit::Value>) -> Result<wit::Rows, wit::DbError> {
        let db = self.state.db()?;
        let mut conn = db.pool.acquire().await.map_err(classify)?;
        let result = run_query(&mut conn, db.limits, &sql, &params).await;
        if let Err(e) = &result {
            log_failure(&self.state.context, "query", e);
        }
        result
    }

    async fn execute(&mut self, sql: String, params: Vec<wit::Value>) -> Result<u64, wit::DbError> {
        let db = self.state.db()?;
        let mut conn = db.pool.acquire().await.map_err(classify)?;
        let result = run_execute(&mut conn, db.limits, &sql, &params).await;
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
        let tx = db.pool.begin().await.map_err(classify)?;
        self.state.open += 1;
        self.table.push(DbTransaction { tx }).map_err(|e| wit::DbError::Unavailable(e.to_string()))
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
        let t = self.table.get_mut(&tx).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
        run_query(&mut t.tx, limits, &sql, &params).await
    }

    async fn execute(
        &mut self,
        tx: Resource<DbTransaction>,
        sql: String,
        params: Vec<wit::Value>,
    ) -> Result<u64, wit::DbError> {
        let limits = self.state.db()?.limits;
        let t = self.table.get_mut(&tx).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
        run_execute(&mut t.tx, limits, &sql, &params).await
    }

    async fn commit(&mut self, tx: Resource<DbTransaction>) -> Result<(), wit::DbError> {
        let t = self.table.delete(tx).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
        self.state.open = self.state.open.saturating_sub(1);
        t.tx.commit().await.map_err(classify)
    }

    async fn rollback(&mut self, tx: Resource<DbTransaction>) -> Result<(), wit::DbError> {
        let t = self.table.delete(tx).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
        self.state.open = self.state.open.saturating_sub(1);
        t.tx.rollback().await.map_err(classify)
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

/// Links `gatehouse:endpoint/db`.
pub(crate) fn add_to_linker(linker: &mut Linker<crate::sandbox::HostState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, DbData>(linker, |s| DbView { state: &mut s.db, table: &mut s.table })
}
