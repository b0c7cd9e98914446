//! WIT values to SQLite parameters and SQLite columns back to WIT values.
//! SQLite types each value (not each column), so every cell is decoded by its
//! own storage class.

use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite, TypeInfo, ValueRef};

use crate::capabilities::wit_db as wit;

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// Binds each parameter in order (`?1`, `?2`, … or `?`).
pub(super) fn bind<'q>(mut q: Query<'q>, params: &'q [wit::Value]) -> Query<'q> {
    for p in params {
        q = match p {
            wit::Value::Null => q.bind(None::<i64>),
            wit::Value::Integer(i) => q.bind(*i),
            wit::Value::Real(f) => q.bind(*f),
            wit::Value::Text(s) | wit::Value::Json(s) => q.bind(s.as_str()),
            wit::Value::Blob(b) => q.bind(b.as_slice()),
            wit::Value::Boolean(b) => q.bind(*b),
        };
    }
    q
}

/// One row's values.
pub(super) fn decode(row: &SqliteRow) -> Result<Vec<wit::Value>, wit::DbError> {
    let mut out = Vec::with_capacity(row.len());
    for i in 0..row.len() {
        let raw = row.try_get_raw(i).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
        if raw.is_null() {
            out.push(wit::Value::Null);
            continue;
        }
        let kind = raw.type_info().name().to_ascii_uppercase();
        let err = |e: sqlx::Error| wit::DbError::Invalid(e.to_string());
        out.push(match kind.as_str() {
            "INTEGER" | "INT" | "BIGINT" => wit::Value::Integer(row.try_get::<i64, _>(i).map_err(err)?),
            "REAL" | "FLOAT" | "DOUBLE" | "NUMERIC" => wit::Value::Real(row.try_get::<f64, _>(i).map_err(err)?),
            "BOOLEAN" => wit::Value::Boolean(row.try_get::<bool, _>(i).map_err(err)?),
            "BLOB" => wit::Value::Blob(row.try_get::<Vec<u8>, _>(i).map_err(err)?),
            _ => wit::Value::Text(row.try_get::<String, _>(i).map_err(err)?),
        });
    }
    Ok(out)
}

/// Approximate bytes a value occupies, for the result-size limit.
pub(super) fn size(v: &wit::Value) -> usize {
    match v {
        wit::Value::Text(s) | wit::Value::Json(s) => s.len() + 8,
        wit::Value::Blob(b) => b.len() + 8,
        _ => 8,
    }
}
