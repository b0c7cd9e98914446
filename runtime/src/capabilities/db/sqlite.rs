//! The SQLite backend: one file per tenant, every connection guarded by
//! SQLite's authorizer (`guard.rs`), statements interrupted by a progress
//! handler at the statement timeout.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::{DbLimits, POOL_SIZE, guard, values};
use crate::sandbox::wit_db as wit;

/// Opens (creating) the tenant's SQLite file, applies pending migrations from
/// `migrations` (ordered `*.sql` files, each applied once), and builds the
/// guarded pool guests use.
pub(super) async fn open(path: &Path, migrations: Option<&Path>, limits: DbLimits) -> Result<SqlitePool, String> {
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
        apply_migrations(&admin, dir, "").await?;
        admin.close().await;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| Box::pin(async move { guard::install(conn).await }))
        .connect_with(options)
        .await
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(pool)
}

/// Applies an app's migrations later (at deploy), on a plain connection of its own.
pub(super) async fn migrate(path: &Path, dir: &Path, prefix: &str, limits: DbLimits) -> Result<(), String> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(|e| e.to_string())?
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(limits.statement_timeout);
    let admin = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.map_err(|e| e.to_string())?;
    let result = apply_migrations(&admin, dir, prefix).await;
    admin.close().await;
    result
}

async fn apply_migrations(pool: &SqlitePool, dir: &Path, prefix: &str) -> Result<(), String> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS _gatehouse_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(|e| e.to_string())?;
    for (name, file) in super::migration_files(dir)? {
        let name = format!("{prefix}{name}");
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
        sqlx::Executor::execute(&mut *tx, sqlx::raw_sql(&sql))
            .await
            .map_err(|e| format!("migration {name} failed: {e}"))?;
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

/// Interrupts the connection's statements after `timeout` (SQLite's progress
/// handler, checked every 1000 virtual-machine steps). Set before every
/// statement, so a pooled connection never keeps an earlier deadline.
async fn arm_timeout(conn: &mut sqlx::SqliteConnection, timeout: Duration) -> Result<(), wit::DbError> {
    let deadline = Instant::now() + timeout;
    let mut handle = conn.lock_handle().await.map_err(classify)?;
    handle.set_progress_handler(1000, move || Instant::now() < deadline);
    Ok(())
}

pub(super) async fn run_query(
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

pub(super) async fn run_execute(
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
pub(super) fn classify(e: sqlx::Error) -> wit::DbError {
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
