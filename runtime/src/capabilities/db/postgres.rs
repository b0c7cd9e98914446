//! The Postgres backend's statements (provisioning is `postgres_provision.rs`): one schema per tenant, reached through the tenant's
//! own login role, so the database enforces isolation. The role is not a
//! superuser, cannot create databases or roles, bypass row security or
//! replicate, has USAGE on nothing but its own schema, and that schema is
//! closed to PUBLIC. No statement a guest can send (`SET ROLE`, `RESET ROLE`,
//! `SET search_path`, a schema-qualified name, `pg_read_file`,
//! `COPY … PROGRAM`) reaches another tenant's data, the platform, or the host.
//!
//! Statements: guest `?` placeholders become `$n`. A statement outside a
//! guest transaction is one round trip: the connection comes from the pool
//! with a clean session (`reset_on_release` restored it), and its statement
//! timeout is the session's own, given in the connection's startup packet, a
//! source that a guest's `SET` (undone on release) and `ALTER ROLE … SET` (a
//! lower-priority source) cannot override. Inside a guest transaction, where
//! a guest's `SET` would last until the next statement, each statement runs
//! under a savepoint armed with `SET LOCAL statement_timeout` (one round trip
//! for both), so a failed statement leaves the transaction usable, as on
//! SQLite.

use std::pin::Pin;

use futures_util::TryStreamExt;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgRow, PgTypeInfo};
use sqlx::{Column, Encode, PgConnection, PgPool, Postgres, Row, TypeInfo, ValueRef};

use super::{DbLimits, values};
use crate::capabilities::wit_db as wit;

/// `?` and `?N` placeholders (the SQLite spelling guests write) as `$N`,
/// outside string literals, quoted identifiers, dollar quotes and comments.
fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '$' if chars.peek() == Some(&'$') => {
                out.push_str("$$");
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    out.push(d);
                    if prev == '$' && d == '$' {
                        break;
                    }
                    prev = d;
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = if digits.is_empty() {
                    next += 1;
                    next
                } else {
                    digits.parse().unwrap_or(0)
                };
                out.push_str(&format!("${n}"));
            }
            _ => out.push(c),
        }
    }
    out
}

/// A NULL whose type the server infers from the statement (OID 0, "unspecified").
struct UntypedNull;

impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(&self, _buf: &mut PgArgumentBuffer) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

fn bind<'q>(mut q: Query<'q>, params: &'q [wit::Value]) -> Query<'q> {
    for p in params {
        q = match p {
            wit::Value::Null => q.bind(UntypedNull),
            wit::Value::Integer(i) => q.bind(*i),
            wit::Value::Real(f) => q.bind(*f),
            wit::Value::Text(s) | wit::Value::Json(s) => q.bind(s.as_str()),
            wit::Value::Blob(b) => q.bind(b.as_slice()),
            wit::Value::Boolean(b) => q.bind(*b),
        };
    }
    q
}

fn decode(row: &PgRow) -> Result<Vec<wit::Value>, wit::DbError> {
    let mut out = Vec::with_capacity(row.len());
    for i in 0..row.len() {
        let raw = row.try_get_raw(i).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
        let ty = raw.type_info().name().to_ascii_uppercase();
        if raw.is_null() || ty == "VOID" {
            out.push(wit::Value::Null);
            continue;
        }
        let err = |e: sqlx::Error| wit::DbError::Invalid(e.to_string());
        out.push(match ty.as_str() {
            "BOOL" => wit::Value::Boolean(row.try_get::<bool, _>(i).map_err(err)?),
            "INT2" => wit::Value::Integer(i64::from(row.try_get::<i16, _>(i).map_err(err)?)),
            "INT4" => wit::Value::Integer(i64::from(row.try_get::<i32, _>(i).map_err(err)?)),
            "INT8" => wit::Value::Integer(row.try_get::<i64, _>(i).map_err(err)?),
            "FLOAT4" => wit::Value::Real(f64::from(row.try_get::<f32, _>(i).map_err(err)?)),
            "FLOAT8" => wit::Value::Real(row.try_get::<f64, _>(i).map_err(err)?),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" => wit::Value::Text(row.try_get::<String, _>(i).map_err(err)?),
            "BYTEA" => wit::Value::Blob(row.try_get::<Vec<u8>, _>(i).map_err(err)?),
            "JSON" | "JSONB" => {
                let bytes = raw.as_bytes().map_err(|e| wit::DbError::Invalid(e.to_string()))?;
                // Binary JSONB starts with a version byte.
                let text = if ty == "JSONB" { bytes.get(1..).unwrap_or_default() } else { bytes };
                wit::Value::Json(String::from_utf8_lossy(text).into_owned())
            }
            other => {
                let column = row.columns()[i].name().to_string();
                return Err(wit::DbError::Invalid(format!(
                    "column {column} has type {other}, which the db interface does not carry; cast it in SQL (e.g. {column}::text or {column}::float8)"
                )));
            }
        });
    }
    Ok(out)
}

/// What a connection returning to the pool is cleared of: session advisory
/// locks, `LISTEN`s, temporary tables and sequences' state, open cursors and
/// settings. Prepared statements are not deallocated here (that would drop the
/// driver's own cache); instead the last statement counts the ones made with
/// SQL `PREPARE`, and a connection holding any is discarded.
const RELEASE_RESET: &str = "SELECT pg_advisory_unlock_all(); UNLISTEN *; DISCARD TEMP; DISCARD SEQUENCES; \
     CLOSE ALL; RESET ALL; SELECT count(*) FROM pg_prepared_statements WHERE from_sql";

/// `after_release`: `Ok(true)` keeps the connection, `Ok(false)` closes it.
pub(super) fn reset_on_release(
    conn: &mut PgConnection,
) -> Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        let rows = sqlx::Executor::fetch_all(&mut *conn, sqlx::raw_sql(RELEASE_RESET)).await?;
        let prepared: i64 = match rows.last() {
            Some(row) => row.try_get(0)?,
            None => 0,
        };
        Ok(prepared == 0)
    })
}

/// Starts a guest transaction. The pool hands out only clean sessions: a
/// guest's `SET search_path` (or any session setting) in an earlier request
/// was undone when its connection came back (`reset_on_release`).
pub(super) fn begin<'a>(pool: &'a PgPool) -> Boxed<'a, sqlx::Transaction<'static, Postgres>> {
    Box::pin(async move { pool.begin().await.map_err(classify) })
}

/// The connection options every serving connection of a tenant opens with:
/// the statement timeout in the startup packet (see the module's comment).
pub(super) fn serving_options(
    options: sqlx::postgres::PgConnectOptions,
    limits: DbLimits,
) -> sqlx::postgres::PgConnectOptions {
    options.options([("statement_timeout", limits.statement_timeout.as_millis().to_string())])
}

async fn fetch_rows(
    conn: &mut PgConnection,
    limits: DbLimits,
    sql: &str,
    params: &[wit::Value],
) -> Result<wit::Rows, wit::DbError> {
    let sql = translate(sql);
    let mut stream = bind(sqlx::query(&sql), params).fetch(conn);
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    while let Some(row) = stream.try_next().await.map_err(classify)? {
        if columns.is_empty() {
            columns = row.columns().iter().map(|c| c.name().to_string()).collect();
        }
        if rows.len() == limits.max_rows {
            return Err(wit::DbError::TooLarge(format!(
                "the query returns more than {} rows; add a LIMIT",
                limits.max_rows
            )));
        }
        let values = decode(&row)?;
        bytes += values.iter().map(values::size).sum::<usize>();
        if bytes > limits.max_result_bytes {
            return Err(wit::DbError::TooLarge(format!("the result is over {} bytes", limits.max_result_bytes)));
        }
        rows.push(values);
    }
    Ok(wit::Rows { columns, rows })
}

async fn exec(conn: &mut PgConnection, sql: &str, params: &[wit::Value]) -> Result<u64, wit::DbError> {
    let sql = translate(sql);
    Ok(bind(sqlx::query(&sql), params).execute(conn).await.map_err(classify)?.rows_affected())
}

/// A boxed, `Send` future. The entry points below return these: a plain
/// `async fn` here trips rustc's higher-ranked inference over sqlx's
/// `Executor` impls when the caller (an async trait method) must be `Send`.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, wit::DbError>> + Send + 'a>>;

/// A query outside any transaction of the guest's: one round trip on a clean session.
pub(super) fn query_alone<'a>(
    pool: &'a PgPool,
    limits: DbLimits,
    sql: &'a str,
    params: &'a [wit::Value],
) -> Boxed<'a, wit::Rows> {
    Box::pin(async move {
        let mut conn = pool.acquire().await.map_err(classify)?;
        fetch_rows(&mut conn, limits, sql, params).await
    })
}

/// An execute outside any transaction of the guest's: one round trip, under
/// the session's own timeout (no result, so no result limits apply).
pub(super) fn execute_alone<'a>(pool: &'a PgPool, sql: &'a str, params: &'a [wit::Value]) -> Boxed<'a, u64> {
    Box::pin(async move {
        let mut conn = pool.acquire().await.map_err(classify)?;
        exec(&mut conn, sql, params).await
    })
}

/// Opens the statement's savepoint and arms its timeout, in one round trip.
async fn savepoint(conn: &mut PgConnection, limits: DbLimits) -> Result<(), wit::DbError> {
    let ms = limits.statement_timeout.as_millis();
    let sql = format!("SAVEPOINT gatehouse_statement; SET LOCAL statement_timeout = {ms}");
    sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(&sql)).await.map_err(classify)?;
    Ok(())
}

/// Keeps the statement's effect, or undoes only this statement.
async fn settle<T>(conn: &mut PgConnection, result: Result<T, wit::DbError>) -> Result<T, wit::DbError> {
    match result {
        Ok(v) => {
            sqlx::query("RELEASE SAVEPOINT gatehouse_statement").execute(&mut *conn).await.map_err(classify)?;
            Ok(v)
        }
        Err(e) => {
            let _ = sqlx::query("ROLLBACK TO SAVEPOINT gatehouse_statement").execute(&mut *conn).await;
            Err(e)
        }
    }
}

/// A query inside the guest's transaction, under a savepoint: on failure only
/// this statement is undone and the transaction stays usable.
pub(super) fn run_query<'a>(
    conn: &'a mut PgConnection,
    limits: DbLimits,
    sql: &'a str,
    params: &'a [wit::Value],
) -> Boxed<'a, wit::Rows> {
    Box::pin(async move {
        savepoint(conn, limits).await?;
        let result = fetch_rows(conn, limits, sql, params).await;
        settle(conn, result).await
    })
}

/// An execute inside the guest's transaction, under a savepoint.
pub(super) fn run_execute<'a>(
    conn: &'a mut PgConnection,
    limits: DbLimits,
    sql: &'a str,
    params: &'a [wit::Value],
) -> Boxed<'a, u64> {
    Box::pin(async move {
        savepoint(conn, limits).await?;
        let result = exec(conn, sql, params).await;
        settle(conn, result).await
    })
}

/// Maps Postgres errors (by SQLSTATE) onto what the guest can act on.
pub(super) fn classify(e: sqlx::Error) -> wit::DbError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let message = db.message().to_string();
            match code.as_str() {
                c if c.starts_with("23") => wit::DbError::Constraint(message),
                "57014" => wit::DbError::Timeout,
                // program_limit_exceeded: here, mostly the relay refusing an oversized row.
                "54000" => wit::DbError::TooLarge(message),
                "42501" => wit::DbError::Denied(message),
                c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") => {
                    wit::DbError::Unavailable(message)
                }
                _ => wit::DbError::Invalid(message),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            wit::DbError::Unavailable(e.to_string())
        }
        _ => wit::DbError::Invalid(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_literals() {
        assert_eq!(translate("SELECT * FROM t WHERE a = ? AND b = ?"), "SELECT * FROM t WHERE a = $1 AND b = $2");
        assert_eq!(translate("SELECT '?' , ?2, \"q?\" -- ?\n, ?"), "SELECT '?' , $2, \"q?\" -- ?\n, $1");
        assert_eq!(translate("DO $$ SELECT ? $$; SELECT ?"), "DO $$ SELECT ? $$; SELECT $1");
    }
}
