//! Ordered migrations, each applied once and recorded in `schema_migrations`.
//! Written once for both backends: on Postgres `INTEGER` becomes `BIGINT`
//! (Unix seconds need 64 bits) and `BLOB` becomes `BYTEA`.

use sqlx::{PgPool, SqlitePool};

/// (version, SQL). Append only: never edit a migration that has shipped.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        user_id TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
    );
    CREATE INDEX api_keys_tenant ON api_keys (tenant);",
    ),
    (
        2,
        "CREATE TABLE secrets (
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, name)
    );",
    ),
    (
        3,
        "CREATE TABLE tenants (
        name TEXT PRIMARY KEY,
        settings TEXT NOT NULL,
        db_password TEXT,
        revision INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE apps (
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        active_version INTEGER,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, name)
    );
    CREATE TABLE deployments (
        tenant TEXT NOT NULL,
        app TEXT NOT NULL,
        version INTEGER NOT NULL,
        bundle_hash TEXT NOT NULL,
        files TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, app, version)
    );
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        data BLOB NOT NULL
    );
    CREATE TABLE artifacts (
        key TEXT PRIMARY KEY,
        data BLOB NOT NULL
    );",
    ),
    (
        4,
        "CREATE TABLE platform_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    ),
    (
        5,
        // A gradual rollout: the version a share of callers get, that share,
        // and why the last one was rolled back (for `apps list`).
        "ALTER TABLE apps ADD COLUMN canary_version INTEGER;
    ALTER TABLE apps ADD COLUMN canary_percent INTEGER;
    ALTER TABLE apps ADD COLUMN rollout_note TEXT;",
    ),
];

pub(super) async fn apply_sqlite(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .execute(pool)
    .await?;
    for (version, sql) in MIGRATIONS {
        let mut tx = pool.begin().await?;
        let done: Option<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_none() {
            sqlx::Executor::execute(&mut *tx, sqlx::raw_sql(sql)).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(super::now())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Postgres: under an advisory lock, so nodes starting together migrate once.
pub(super) async fn apply_postgres(pool: &PgPool, schema: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(7305682001)").execute(&mut *tx).await?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&mut *tx).await?;
    sqlx::query(&format!("REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")).execute(&mut *tx).await?;
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!("SET LOCAL search_path = {schema}")).execute(&mut *tx).await?;
    for (version, sql) in MIGRATIONS {
        let done: Option<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_none() {
            let sql = sql.replace("INTEGER", "BIGINT").replace("BLOB", "BYTEA");
            for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(super::now())
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await
}
