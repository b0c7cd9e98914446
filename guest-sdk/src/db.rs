//! The tenant's database: parameters bound by position (`?1`, `?2`, … or `?`
//! in SQLite), rows decoded into your own serde types by column name.
//!
//! ```no_run
//! # fn demo() -> Result<(), gatehouse_sdk::Error> {
//! use gatehouse_sdk::{db, params};
//! #[derive(serde::Deserialize)]
//! struct Post { id: i64, title: String }
//! let posts: Vec<Post> = db::query_as("SELECT id, title FROM posts WHERE author_id = ?", params!["ada"])?;
//! let tx = db::transaction()?;
//! tx.execute("INSERT INTO posts (author_id, title) VALUES (?, ?)", params!["ada", "Hello"])?;
//! tx.commit()?;
//! # Ok(()) }
//! ```

use serde::de::DeserializeOwned;

use crate::Error;
use crate::host::db as wit;

pub use wit::{DbError, Value};

/// Builds a parameter list: `params![1, "text", 2.5, true, None::<i64>]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::db::Value::from($value)),*]
    };
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(v.to_string())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// A result set.
#[derive(Debug, Clone)]
pub struct Rows {
    inner: wit::Rows,
}

impl Rows {
    /// Column names (empty when there are no rows).
    pub fn columns(&self) -> &[String] {
        &self.inner.columns
    }

    /// The rows, each a list of values in column order.
    pub fn rows(&self) -> &[Vec<Value>] {
        &self.inner.rows
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.inner.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.inner.rows.is_empty()
    }

    /// Each row as a JSON object keyed by column name.
    pub fn to_json(&self) -> Vec<serde_json::Value> {
        self.inner
            .rows
            .iter()
            .map(|row| {
                let object = self.inner.columns.iter().zip(row).map(|(c, v)| (c.clone(), to_json(v))).collect();
                serde_json::Value::Object(object)
            })
            .collect()
    }

    /// Each row decoded into `T` by column name; a 500 DB_DECODE envelope names the mismatch.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<Vec<T>, Error> {
        self.to_json()
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| {
                    Error::internal(format!("a database row does not fit the expected type: {e}"))
                        .with_code("DB_DECODE")
                })
            })
            .collect()
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => (*i).into(),
        Value::Real(f) => {
            serde_json::Number::from_f64(*f).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
        }
        Value::Text(s) => serde_json::Value::String(s.clone()),
        Value::Blob(b) => serde_json::Value::Array(b.iter().map(|x| (*x).into()).collect()),
        Value::Boolean(b) => (*b).into(),
        Value::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone())),
    }
}

/// One statement that returns rows.
pub fn query(sql: &str, params: Vec<Value>) -> Result<Rows, DbError> {
    wit::query(sql, &params).map(|inner| Rows { inner })
}

/// One statement that returns rows, decoded into `T`.
pub fn query_as<T: DeserializeOwned>(sql: &str, params: Vec<Value>) -> Result<Vec<T>, Error> {
    query(sql, params)?.decode()
}

/// One statement that changes rows; returns how many.
pub fn execute(sql: &str, params: Vec<Value>) -> Result<u64, DbError> {
    wit::execute(sql, &params)
}

/// Starts a transaction. Commit it; dropped, it rolls back (so does a trap).
pub fn transaction() -> Result<Transaction, DbError> {
    wit::begin().map(|inner| Transaction { inner })
}

/// An open transaction.
#[derive(Debug)]
pub struct Transaction {
    inner: wit::Transaction,
}

impl Transaction {
    /// A statement that returns rows, inside the transaction.
    pub fn query(&self, sql: &str, params: Vec<Value>) -> Result<Rows, DbError> {
        self.inner.query(sql, &params).map(|inner| Rows { inner })
    }

    /// A statement that changes rows, inside the transaction.
    pub fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, DbError> {
        self.inner.execute(sql, &params)
    }

    /// Makes the changes permanent.
    pub fn commit(self) -> Result<(), DbError> {
        wit::Transaction::commit(self.inner)
    }

    /// Discards the changes.
    pub fn rollback(self) -> Result<(), DbError> {
        wit::Transaction::rollback(self.inner)
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(why) => {
                Error::unavailable(format!("the database is unavailable: {why}")).with_code("DB_UNAVAILABLE")
            }
            DbError::Constraint(why) => {
                Error::conflict(format!("the change conflicts with existing data: {why}")).with_code("DB_CONSTRAINT")
            }
            DbError::Denied(why) => {
                Error::internal(format!("a database statement was refused: {why}")).with_code("DB_DENIED")
            }
            DbError::Timeout => {
                Error::unavailable("a database statement ran past its time limit").with_code("DB_TIMEOUT")
            }
            DbError::TooLarge(why) => {
                Error::internal(format!("a database result is too large: {why}")).with_code("DB_RESULT_TOO_LARGE")
            }
            DbError::Invalid(why) => {
                Error::internal(format!("a database statement failed: {why}")).with_code("DB_ERROR")
            }
        }
    }
}
