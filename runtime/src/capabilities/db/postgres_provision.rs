//! Provisioning a tenant on Postgres: its login role and schema (or database),
//! its migrations (run as the tenant, each file under a host-side cancel), its
//! pool (through the row-size relay), its size, and its archive when the
//! tenant is deleted.

use std::path::Path;
use std::pin::Pin;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{PgConnection, PgPool, Postgres};

use super::database::MigrationSet;
use super::postgres::{classify, reset_on_release, serving_options};
use super::relay::{self, Relay};
use super::upstream::Upstream;
use super::{DbLimits, POOL_SIZE, PgIsolation};
use crate::capabilities::wit_db as wit;
use crate::postgres_url::{connect_options, redact};

/// `gh_<tenant>`: lower-case, `-` as `_`, so it is a plain identifier.
fn role_name(tenant: &str) -> String {
    format!("gh_{}", tenant.to_ascii_lowercase().replace('-', "_"))
}

/// `t_<tenant>`, likewise.
pub(super) fn schema_name(tenant: &str) -> String {
    format!("t_{}", tenant.to_ascii_lowercase().replace('-', "_"))
}

/// Provisions the tenant's role and schema through `admin_url` (in a
/// database of the tenant's own with `PgIsolation::Database`), applies
/// `migrations` as the tenant, and returns the tenant's pool.
pub(super) async fn open(
    admin_url: &str,
    tenant: &str,
    password: &str,
    migrations: Option<&Path>,
    limits: DbLimits,
    isolation: PgIsolation,
) -> Result<(PgPool, Relay), String> {
    let shown = redact(admin_url);
    let admin_options = connect_options(admin_url).map_err(|e| format!("{shown} is not a Postgres URL: {e}"))?;
    let admin = admin_pool(&admin_options).await.map_err(|e| format!("cannot connect to Postgres at {shown}: {e}"))?;
    let role = role_name(tenant);
    let schema = schema_name(tenant);
    // Identifiers are [a-z0-9_] (tenant names are validated) and the password
    // is base62 (kept in the platform store, so every node uses the same), so
    // they are safe to interpolate.
    if !password.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("the tenant's database password must be base62".into());
    }
    let timeout_ms = limits.statement_timeout.as_millis();
    let mut statements = vec![
        format!("DO $$ BEGIN CREATE ROLE {role}; EXCEPTION WHEN duplicate_object THEN NULL; END $$"),
        format!(
            "ALTER ROLE {role} WITH LOGIN PASSWORD '{password}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 32"
        ),
        format!("ALTER ROLE {role} SET search_path = {schema}"),
        format!("ALTER ROLE {role} SET statement_timeout = '{timeout_ms}ms'"),
    ];
    let database = match isolation {
        PgIsolation::Schema => {
            let (current,): (String,) =
                sqlx::query_as("SELECT current_database()").fetch_one(&admin).await.map_err(|e| e.to_string())?;
            statements.push(format!("GRANT CONNECT ON DATABASE \"{}\" TO {role}", current.replace('"', "\"\"")));
            current
        }
        PgIsolation::Database => {
            // The platform owns the database; the tenant may only connect and
            // make temporary tables, and no other role may connect at all.
            let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(&role)
                .fetch_optional(&admin)
                .await
                .map_err(|e| e.to_string())?
                .is_some();
            if !exists
                && let Err(e) = sqlx::Executor::execute(&admin, sqlx::raw_sql(&format!("CREATE DATABASE {role}"))).await
                && e.as_database_error().and_then(|d| d.code()).is_none_or(|c| c != "42P04")
            {
                return Err(format!("creating the database {role}: {e}"));
            }
            statements.push(format!("REVOKE ALL ON DATABASE {role} FROM PUBLIC"));
            statements.push(format!("GRANT CONNECT, TEMPORARY ON DATABASE {role} TO {role}"));
            role.clone()
        }
    };
    for sql in &statements {
        sqlx::Executor::execute(&admin, sqlx::raw_sql(sql)).await.map_err(|e| format!("provisioning {role}: {e}"))?;
    }
    admin.close().await;
    // The schema, in the tenant's database.
    let admin = admin_pool(&admin_options.clone().database(&database))
        .await
        .map_err(|e| format!("cannot connect to Postgres database {database}: {e}"))?;
    for sql in [
        format!(
            "DO $$ BEGIN CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}; EXCEPTION WHEN unique_violation THEN NULL; END $$"
        ),
        format!("REVOKE ALL ON SCHEMA {schema} FROM PUBLIC"),
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
    ] {
        sqlx::Executor::execute(&admin, sqlx::raw_sql(&sql)).await.map_err(|e| format!("provisioning {role}: {e}"))?;
    }
    admin.close().await;

    // Tenants' connections go through the relay that refuses oversized rows
    // before the host reads them; it speaks TLS to the server where the URL asks.
    let upstream = Upstream::from_options(&admin_options, crate::postgres_url::root_cert(admin_url).as_deref())?;
    let relay = relay::start(upstream, limits.max_result_bytes)
        .await
        .map_err(|e| format!("cannot start the row-size relay: {e}"))?;
    let options = admin_options
        .clone()
        .username(&role)
        .password(password)
        .database(&database)
        .socket(&relay.directory)
        .port(relay::SOCKET_PORT)
        .ssl_mode(PgSslMode::Disable);
    if let Some(dir) = migrations {
        let owner =
            PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(|e| e.to_string())?;
        apply_migrations(&owner, &schema, &MigrationSet::Folder(dir), "", limits).await?;
        owner.close().await;
    }
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(std::time::Duration::from_secs(5))
        // Nothing a guest leaves on its session outlives its request: each
        // connection is reset as it returns to the pool (off the request path),
        // and one holding a prepared statement the guest made is discarded.
        .after_release(|conn, _| reset_on_release(conn))
        // A ping on every acquire would double a statement's round trips.
        // Only a connection idle long enough to have gone stale (a restarted
        // server) is pinged, and closed quietly if it does not answer.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move { Ok(meta.idle_for < PING_AFTER_IDLE || sqlx::Connection::ping(conn).await.is_ok()) })
        })
        .connect_with(serving_options(options, limits))
        .await
        .map_err(|e| format!("cannot connect to Postgres as {role}: {e}"))?;
    Ok((pool, relay))
}

/// How long a pooled connection may sit idle before it is pinged on acquire.
const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// One connection with the platform's credentials.
async fn admin_pool(options: &PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(options.clone())
        .await
}

/// Applies `dir`'s migrations not yet recorded, each recorded as `prefix` +
/// file name. Migrations are tenant code: they run as the tenant's role, each
/// file inside a PL/pgSQL `EXECUTE` within the runner's transaction (so a
/// `COMMIT`, `ROLLBACK` or savepoint in the file is refused by Postgres rather
/// than ending the runner's transaction), and a file still running at
/// `limits.migration_timeout` is cancelled by the host (a `SET
/// statement_timeout` in the file cannot lift that).
pub(super) async fn apply_migrations(
    pool: &PgPool,
    schema: &str,
    set: &MigrationSet<'_>,
    prefix: &str,
    limits: DbLimits,
) -> Result<(), String> {
    let table = format!("{schema}._gatehouse_migrations");
    sqlx::raw_sql(&format!("CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"))
        .execute(pool)
        .await
        .map_err(|e| e.to_string())?;
    for (name, source) in set.list()? {
        let name = format!("{prefix}{name}");
        let done = sqlx::query(&format!("SELECT 1 FROM {table} WHERE name = $1"))
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
        let (pid,): (i32,) =
            sqlx::query_as("SELECT pg_backend_pid()").fetch_one(&mut *conn).await.map_err(|e| e.to_string())?;
        script(&mut conn, "BEGIN").await.map_err(|e| e.to_string())?;
        let ran = match wrap(&sql) {
            Some(wrapped) => run_cancellable(pool, &mut conn, pid, &wrapped, limits.migration_timeout).await,
            None => Ok(()),
        };
        let recorded = match ran {
            Ok(()) => record(&mut conn, &table, &name).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match recorded {
            Ok(()) => script(&mut conn, "COMMIT").await.map_err(|e| e.to_string())?,
            Err(e) => {
                let rollback = script(&mut conn, "ROLLBACK");
                if !matches!(tokio::time::timeout(std::time::Duration::from_secs(5), rollback).await, Ok(Ok(_))) {
                    conn.close_on_drop();
                }
                return Err(format!("migration {name} failed: {e}"));
            }
        };
        tracing::info!(migration = %name, schema, "database migration applied");
    }
    Ok(())
}

/// The file as one PL/pgSQL `EXECUTE`, its text dollar-quoted under a tag it
/// does not contain. `None` for a file with nothing to run.
fn wrap(sql: &str) -> Option<String> {
    if sql.trim().is_empty() {
        return None;
    }
    let mut tag = format!("gh_{}", uuid::Uuid::new_v4().simple());
    while sql.contains(&tag) {
        tag = format!("gh_{}", uuid::Uuid::new_v4().simple());
    }
    Some(format!("DO ${tag}_do$ BEGIN EXECUTE ${tag}${sql}${tag}$; END ${tag}_do$"))
}

/// Runs `sql` on `conn` (whose backend is `pid`); past `timeout` the host
/// cancels it from a connection of its own and waits a moment for the answer.
async fn run_cancellable(
    pool: &PgPool,
    conn: &mut sqlx::pool::PoolConnection<Postgres>,
    pid: i32,
    sql: &str,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let describe = |e: sqlx::Error| match classify(e) {
        wit::DbError::Timeout => {
            format!("it ran longer than {} s (database.migration_timeout) and was cancelled", timeout.as_secs_f64())
        }
        wit::DbError::Invalid(m)
        | wit::DbError::Constraint(m)
        | wit::DbError::Denied(m)
        | wit::DbError::TooLarge(m)
        | wit::DbError::Unavailable(m) => m,
    };
    let mut run = script(conn, sql);
    match tokio::time::timeout(timeout, &mut run).await {
        Ok(result) => result.map_err(describe),
        Err(_) => {
            let cancelled = async {
                let mut other = <PgConnection as sqlx::Connection>::connect_with(&pool.connect_options()).await?;
                sqlx::query("SELECT pg_cancel_backend($1)").bind(pid).execute(&mut other).await?;
                sqlx::Connection::close(other).await
            };
            if let Err(e) = cancelled.await {
                tracing::warn!("cannot cancel a migration that ran too long: {e}");
            }
            // The cancelled statement answers at once; whatever it says, the file is refused.
            let answered = tokio::time::timeout(std::time::Duration::from_secs(5), &mut run).await.is_ok();
            drop(run);
            if !answered {
                conn.close_on_drop();
            }
            Err(format!(
                "it ran longer than {} s (database.migration_timeout) and was cancelled",
                timeout.as_secs_f64()
            ))
        }
    }
}

/// Bytes of the relations in `schema` (with `PgIsolation::Database`: the
/// whole of the tenant's database).
pub(super) async fn size_bytes(pool: &PgPool, schema: &str, isolation: PgIsolation) -> Result<u64, String> {
    let sql = match isolation {
        PgIsolation::Database => "SELECT pg_database_size(current_database())::int8 WHERE $1 IS NOT NULL",
        PgIsolation::Schema => {
            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')"
        }
    };
    let (n,): (i64,) = sqlx::query_as(sql).bind(schema).fetch_one(pool).await.map_err(|e| e.to_string())?;
    Ok(n.max(0) as u64)
}

/// Retires a deleted tenant's data: its schema (or, with
/// `PgIsolation::Database`, its database) renamed `archived_<name>_<stamp>`,
/// everything its role owned handed to the platform's role, the role's
/// sessions ended and the role dropped, so a new tenant of the same name gets
/// a new role and an empty schema, and cannot reach the archive.
pub(super) async fn archive(
    admin_url: &str,
    schema: &str,
    stamp: i64,
    isolation: PgIsolation,
) -> Result<String, String> {
    let role = format!("gh_{}", schema.trim_start_matches("t_"));
    let options = connect_options(admin_url).map_err(|e| e.to_string())?;
    let run = |pool: PgPool, statements: Vec<String>| async move {
        for sql in &statements {
            sqlx::Executor::execute(&pool, sqlx::raw_sql(sql))
                .await
                .map_err(|e| format!("retiring {}: {e}", role_of(sql)))?;
        }
        pool.close().await;
        Ok::<(), String>(())
    };
    let connect = |o: PgConnectOptions| async move {
        admin_pool(&o).await.map_err(|e| format!("cannot connect to Postgres at {}: {e}", redact(admin_url)))
    };
    let archived = match isolation {
        PgIsolation::Schema => {
            let archived = format!("archived_{schema}_{stamp}");
            run(
                connect(options.clone()).await?,
                vec![
                    format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"),
                    format!("ALTER SCHEMA {schema} RENAME TO {archived}"),
                    format!("REASSIGN OWNED BY {role} TO CURRENT_USER"),
                    format!("DROP OWNED BY {role}"),
                ],
            )
            .await?;
            archived
        }
        PgIsolation::Database => {
            let archived = format!("archived_{role}_{stamp}");
            run(
                connect(options.clone()).await?,
                vec![
                    format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{role}'"),
                    format!("ALTER DATABASE {role} RENAME TO {archived}"),
                ],
            )
            .await?;
            run(
                connect(options.clone().database(&archived)).await?,
                vec![format!("REASSIGN OWNED BY {role} TO CURRENT_USER"), format!("DROP OWNED BY {role}")],
            )
            .await?;
            archived
        }
    };
    run(connect(options).await?, vec![format!("DROP OWNED BY {role}"), format!("DROP ROLE IF EXISTS {role}")]).await?;
    Ok(archived)
}

/// The object a retiring statement is about, for its error message.
fn role_of(sql: &str) -> &str {
    sql.split_whitespace().last().unwrap_or(sql)
}

/// SQL text (one statement or a script) on `conn`, as a boxed `Send` future
/// (sqlx's generic executors otherwise trip rustc's higher-ranked `Send` inference).
fn script<'c>(
    conn: &'c mut PgConnection,
    sql: &'c str,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move { sqlx::Executor::execute(conn, sqlx::raw_sql(sql)).await.map(drop) })
}

/// Records a migration as applied in `table`.
fn record<'c>(
    conn: &'c mut PgConnection,
    table: &'c str,
    name: &'c str,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move {
        let sql = format!("INSERT INTO {table} (name, applied_at) VALUES ($1, extract(epoch from now())::bigint)");
        sqlx::query(&sql).bind(name).execute(conn).await.map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(role_name("Acme-Corp"), "gh_acme_corp");
        assert_eq!(schema_name("acme"), "t_acme");
    }
}
