//! The SQLite backend: one file per tenant, every connection guarded by
//! SQLite's authorizer (`guard.rs`), statements interrupted by a progress
//! handler at the statement timeout.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::database::MigrationSet;
use super::{DbLimits, POOL_SIZE, guard, values};
use crate::capabilities::wit_db as wit;

/// Opens (creating) the tenant's SQLite file, applies pending migrations from
/// `migrations` (ordered `*.sql` files, each applied once), and builds the
/// guarded pool guests use.
pub(super) async fn open(path: &Path, migrations: Option<&Path>, limits: DbLimits) -> Result<SqlitePool, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let options = connect_options(path, true)?;
    let new = !path.exists();
    if let Some(dir) = migrations {
        migrate_with(options.clone(), &MigrationSet::Folder(dir), "", limits).await?;
    }
    let max_value = limits.max_result_bytes;
    // The storage quota, in SQLite's pages (4 KiB by default); set before the
    // guard, whose authorizer refuses pragmas.
    let max_pages = limits.max_database_bytes.map(|b| (b / 4096).max(1));
    let pool_options = SqlitePoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if let Some(pages) = max_pages {
                    sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(&format!("PRAGMA max_page_count = {pages}")))
                        .await?;
                }
                guard::install(conn, max_value).await
            })
        });
    if new {
        // Created now, in WAL mode, before anything else may open it (an
        // app's migrations, several guests at once).
        return pool_options.connect_with(options).await.map_err(|e| format!("cannot open {}: {e}", path.display()));
    }
    // An existing file's connections open on first use: a tenant loaded for
    // a request that never touches its database (most, on a node of many
    // tenants) never opens it; what is left to fail is reported by the first
    // statement.
    Ok(pool_options.connect_lazy_with(options))
}

fn connect_options(path: &Path, create: bool) -> Result<SqliteConnectOptions, String> {
    Ok(SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(|e| e.to_string())?
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5)))
}

/// Bytes of the database file and its write-ahead log.
pub(super) fn size_bytes(path: &Path) -> u64 {
    let size = |p: std::path::PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    size(path.to_path_buf()) + size(path.with_extension("db-wal"))
}

/// Moves a retired tenant's folder (the file's parent) to `archive/<name>-<stamp>`.
pub(super) fn archive(path: &Path, archive: &Path, stamp: i64) -> Result<String, String> {
    let Some(folder) = path.parent() else { return Err(format!("{} has no folder", path.display())) };
    if !folder.exists() {
        return Ok("nothing to archive".into());
    }
    let name = folder.file_name().unwrap_or_default().to_string_lossy().into_owned();
    std::fs::create_dir_all(archive).map_err(|e| format!("cannot create {}: {e}", archive.display()))?;
    let to = archive.join(format!("{name}-{stamp}"));
    std::fs::rename(folder, &to).map_err(|e| format!("cannot move {} to {}: {e}", folder.display(), to.display()))?;
    Ok(to.display().to_string())
}

/// Applies an app's migrations later (at deploy), on a guarded connection of its own.
pub(super) async fn migrate(path: &Path, set: &MigrationSet<'_>, prefix: &str, limits: DbLimits) -> Result<(), String> {
    migrate_with(connect_options(path, false)?, set, prefix, limits).await
}

/// Migrations are tenant code: they run on a connection guarded exactly like
/// a guest's (authorizer, attach and length limits, defensive mode), with
/// transaction control refused while a file runs, and interrupted by the host
/// at `limits.migration_timeout`.
async fn migrate_with(
    options: SqliteConnectOptions,
    set: &MigrationSet<'_>,
    prefix: &str,
    limits: DbLimits,
) -> Result<(), String> {
    let max_value = limits.max_result_bytes;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| Box::pin(async move { guard::install(conn, max_value).await }))
        .connect_with(options)
        .await
        .map_err(|e| e.to_string())?;
    let result = apply_migrations(&pool, set, prefix, limits).await;
    pool.close().await;
    result
}

async fn apply_migrations(
    pool: &SqlitePool,
    set: &MigrationSet<'_>,
    prefix: &str,
    limits: DbLimits,
) -> Result<(), String> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS _gatehouse_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(|e| e.to_string())?;
    for (name, source) in set.list()? {
        let name = format!("{prefix}{name}");
        let done = sqlx::query("SELECT 1 FROM _gatehouse_migrations WHERE name = ?")
            .bind(&name)
            .fetch_optional(pool)
            .await
            .map_err(|e| e.to_string())?;
        if done.is_some() {
            continue;
        }
        let sql = source.read(&name)?;
        tracing::info!(migration = %name, "applying database migration");
        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
        script(&mut conn, "BEGIN IMMEDIATE").await.map_err(|e| e.to_string())?;
        let ran = run_migration(&mut conn, &sql, limits).await;
        let recorded = match ran {
            Ok(()) => record(&mut conn, &name).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match recorded {
            Ok(()) => script(&mut conn, "COMMIT").await.map_err(|e| e.to_string())?,
            Err(e) => {
                let _ = script(&mut conn, "ROLLBACK").await;
                return Err(format!("migration {name} failed: {e}"));
            }
        };
        tracing::info!(migration = %name, "database migration applied");
    }
    Ok(())
}

/// One migration file inside the runner's transaction, under the migration
/// authorizer and the host's deadline.
async fn run_migration(conn: &mut sqlx::SqliteConnection, sql: &str, limits: DbLimits) -> Result<(), String> {
    guard::migration_mode(conn, true).await.map_err(|e| e.to_string())?;
    let deadline = Instant::now() + limits.migration_timeout;
    conn.lock_handle().await.map_err(|e| e.to_string())?.set_progress_handler(1000, move || Instant::now() < deadline);
    let ran = script(conn, sql).await.map_err(|e| match classify(e) {
        wit::DbError::Timeout => format!(
            "it ran longer than {} s (database.migration_timeout) and was stopped",
            limits.migration_timeout.as_secs_f64()
        ),
        wit::DbError::Denied(m) => format!("{m}; migrations also may not BEGIN, COMMIT, ROLLBACK or use savepoints"),
        other => db_error_text(other),
    });
    conn.lock_handle().await.map_err(|e| e.to_string())?.remove_progress_handler();
    guard::migration_mode(conn, false).await.map_err(|e| e.to_string())?;
    ran
}

/// SQL text (one statement or a script) on `conn`, as a boxed `Send` future:
/// sqlx's generic executors otherwise trip rustc's higher-ranked `Send`
/// inference in the callers (see `postgres::Boxed`).
fn script<'c>(conn: &'c mut sqlx::SqliteConnection, sql: &'c str) -> crate::store::Boxed<'c, Result<(), sqlx::Error>> {
    Box::pin(async move { sqlx::Executor::execute(conn, sqlx::raw_sql(sql)).await.map(drop) })
}

/// Records a migration as applied.
fn record<'c>(conn: &'c mut sqlx::SqliteConnection, name: &'c str) -> crate::store::Boxed<'c, Result<(), sqlx::Error>> {
    Box::pin(async move {
        sqlx::query("INSERT INTO _gatehouse_migrations (name, applied_at) VALUES (?, strftime('%s','now'))")
            .bind(name)
            .execute(conn)
            .await
            .map(drop)
    })
}

/// The message of a database error, for a deploy's refusal.
fn db_error_text(e: wit::DbError) -> String {
    match e {
        wit::DbError::Invalid(m)
        | wit::DbError::Constraint(m)
        | wit::DbError::Denied(m)
        | wit::DbError::TooLarge(m)
        | wit::DbError::Unavailable(m) => m,
        wit::DbError::Timeout => "the statement timed out".into(),
    }
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
                // SQLITE_TOOBIG (18): a value past SQLITE_LIMIT_LENGTH, refused
                // inside SQLite before the host allocated it.
                _ if code == "18" || message.contains("too big") => {
                    wit::DbError::TooLarge(format!("{message}: a single value may be at most database.max_result_kb"))
                }
                // SQLITE_FULL (13): the file reached max_page_count, the storage quota.
                _ if code == "13" => wit::DbError::TooLarge(format!(
                    "{message}: the tenant's database is at its storage quota (quotas.storageMb)"
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
