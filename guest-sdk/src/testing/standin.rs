//! The platform's imports, answered off the platform. Each module has the
//! functions and types wit-bindgen generates for its interface (the records
//! and variants are the generated ones, re-exported), so the SDK calls them
//! the same way; what they answer is the current thread's [`State`], which a
//! [`TestPlatform`](super::TestPlatform) sets. A thread with no platform open
//! gets an anonymous caller, no config, and `unavailable` from the database.

use std::cell::RefCell;

use crate::bindings::gatehouse::endpoint as wit;

/// What one upstream answers, or how it fails.
pub(super) type Respond = Box<dyn Fn(&wit::http_out::OutgoingRequest) -> Result<Answer, wit::http_out::HttpError>>;

/// A mocked upstream's answer: head and body in the pieces a streamed read gets.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) chunks: Vec<Vec<u8>>,
}

/// One item of a streamed response, in order.
pub(super) enum Streamed {
    Bytes(Vec<u8>),
    Event(wit::streaming::SseEvent),
}

/// What the stand-ins answer on this thread (cargo runs each test on its own).
pub(super) struct State {
    pub(super) caller: wit::auth::Context,
    pub(super) config: Vec<(String, String)>,
    pub(super) db: Option<rusqlite::Connection>,
    pub(super) routes: Vec<(String, String, Respond)>,
    pub(super) calls: Vec<wit::http_out::OutgoingRequest>,
    pub(super) max_calls: u32,
    pub(super) logs: Vec<(String, String)>,
    pub(super) stream_head: Option<(u16, Vec<(String, String)>)>,
    pub(super) stream: Vec<Streamed>,
    pub(super) client_leaves_after: usize,
    pub(super) savepoints: u64,
    pub(super) blobs: std::collections::BTreeMap<String, wit::blobs::Object>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            caller: wit::auth::Context {
                kind: wit::auth::PrincipalKind::Anonymous,
                tenant: "test".into(),
                user_id: None,
                key_id: None,
                scopes: Vec::new(),
                claims_json: None,
            },
            config: Vec::new(),
            db: None,
            routes: Vec::new(),
            calls: Vec::new(),
            max_calls: 10,
            logs: Vec::new(),
            stream_head: None,
            stream: Vec::new(),
            client_leaves_after: usize::MAX,
            savepoints: 0,
            blobs: Default::default(),
        }
    }
}

thread_local! {
    pub(super) static STATE: RefCell<State> = RefCell::new(State::default());
}

pub(super) fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

pub(crate) mod auth {
    pub(crate) use super::wit::auth::Context;
    pub use super::wit::auth::PrincipalKind;

    pub(crate) fn current() -> Context {
        super::with(|s| s.caller.clone())
    }
}

pub(crate) mod config {
    pub(crate) fn get(name: &str) -> Option<String> {
        super::with(|s| s.config.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }
}

pub(crate) mod log {
    pub use super::wit::log::Level;

    pub(crate) fn log(level: Level, message: &str) {
        let level = match level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        super::with(|s| s.logs.push((level.into(), message.into())));
    }
}

pub(crate) mod db {
    //! SQLite in memory, like the platform's own default: `?` parameters, and
    //! a constraint is `constraint`, anything else the database refuses `invalid`.

    use rusqlite::types::{Value as Sql, ValueRef};

    pub(crate) use super::wit::db::Rows;
    pub use super::wit::db::{DbError, Value};

    fn to_sql(v: &Value) -> Sql {
        match v {
            Value::Null => Sql::Null,
            Value::Integer(i) => Sql::Integer(*i),
            Value::Real(f) => Sql::Real(*f),
            Value::Text(t) | Value::Json(t) => Sql::Text(t.clone()),
            Value::Blob(b) => Sql::Blob(b.clone()),
            Value::Boolean(b) => Sql::Integer(i64::from(*b)),
        }
    }

    fn from_sql(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }

    fn failure(e: rusqlite::Error) -> DbError {
        match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                DbError::Constraint(e.to_string())
            }
            _ => DbError::Invalid(e.to_string()),
        }
    }

    /// Runs one statement, returning its rows and how many rows it changed.
    fn run(sql: &str, params: &[Value]) -> Result<(Rows, u64), DbError> {
        super::with(|s| {
            let conn = s.db.as_ref().ok_or_else(|| {
                DbError::Unavailable("no database: open a TestPlatform (with its migrations) first".into())
            })?;
            let mut stmt = conn.prepare(sql).map_err(failure)?;
            let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
            let width = columns.len();
            let mut found = stmt.query(rusqlite::params_from_iter(params.iter().map(to_sql))).map_err(failure)?;
            let mut rows = Vec::new();
            while let Some(row) = found.next().map_err(failure)? {
                rows.push((0..width).map(|i| row.get_ref(i).map(from_sql).unwrap_or(Value::Null)).collect());
            }
            drop(found);
            // As on the platform: no rows, no column names.
            let columns = if rows.is_empty() { Vec::new() } else { columns };
            Ok((Rows { columns, rows }, conn.changes()))
        })
    }

    pub(crate) fn query(sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        run(sql, params).map(|(rows, _)| rows)
    }

    pub(crate) fn execute(sql: &str, params: &[Value]) -> Result<u64, DbError> {
        run(sql, params).map(|(_, changed)| changed)
    }

    pub(crate) fn begin() -> Result<Transaction, DbError> {
        let name = super::with(|s| {
            s.savepoints += 1;
            format!("tx{}", s.savepoints)
        });
        run(&format!("SAVEPOINT {name}"), &[])?;
        Ok(Transaction { name, open: std::cell::Cell::new(true) })
    }

    /// A transaction on the one in-memory database (a savepoint, so they nest);
    /// dropped while open, it rolls back, as the platform does.
    #[derive(Debug)]
    pub(crate) struct Transaction {
        name: String,
        open: std::cell::Cell<bool>,
    }

    impl Transaction {
        pub(crate) fn query(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
            query(sql, params)
        }

        pub(crate) fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
            execute(sql, params)
        }

        pub(crate) fn commit(tx: Transaction) -> Result<(), DbError> {
            tx.open.set(false);
            run(&format!("RELEASE {}", tx.name), &[]).map(drop)
        }

        pub(crate) fn rollback(tx: Transaction) -> Result<(), DbError> {
            tx.open.set(false);
            run(&format!("ROLLBACK TO {0}", tx.name), &[])?;
            run(&format!("RELEASE {}", tx.name), &[]).map(drop)
        }
    }

    impl Drop for Transaction {
        fn drop(&mut self) {
            if self.open.get() {
                let _ = run(&format!("ROLLBACK TO {0}", self.name), &[]);
                let _ = run(&format!("RELEASE {}", self.name), &[]);
            }
        }
    }
}

pub(crate) mod http_out {
    //! Only the mocked URLs answer; anything else is refused as a host not in
    //! `allowed_hosts` is, and more calls than the limit are `too-many-calls`.

    use std::cell::RefCell;

    pub use super::wit::http_out::HttpError;
    pub(crate) use super::wit::http_out::{IncomingResponse, OutgoingRequest};

    fn answer(request: &OutgoingRequest) -> Result<super::Answer, HttpError> {
        // The route runs outside the borrow: a mock may look at the state too.
        let routes = super::with(|s| {
            if s.calls.len() >= s.max_calls as usize {
                return Err(HttpError::TooManyCalls(s.max_calls));
            }
            s.calls.push(request.clone());
            Ok(std::mem::take(&mut s.routes))
        })?;
        let found =
            routes.iter().find(|(m, u, _)| *m == request.method && *u == request.url).map(|(_, _, r)| r(request));
        super::with(|s| s.routes = routes);
        found.unwrap_or_else(|| {
            Err(HttpError::NotAllowed(format!("{} {} is not mocked in this test", request.method, request.url)))
        })
    }

    pub(crate) fn fetch(request: &OutgoingRequest) -> Result<IncomingResponse, HttpError> {
        let a = answer(request)?;
        Ok(IncomingResponse { status: a.status, headers: a.headers, body: a.chunks.concat() })
    }

    pub(crate) fn fetch_streaming(request: &OutgoingRequest) -> Result<StreamingResponse, HttpError> {
        let a = answer(request)?;
        Ok(StreamingResponse {
            status: a.status,
            headers: a.headers,
            body: IncomingBody { chunks: RefCell::new(a.chunks) },
        })
    }

    /// The head of a streamed answer; its body is read piece by piece.
    #[derive(Debug)]
    pub(crate) struct StreamingResponse {
        pub(crate) status: u16,
        pub(crate) headers: Vec<(String, String)>,
        pub(crate) body: IncomingBody,
    }

    /// The mock's chunks, each one read (split when over `max`).
    #[derive(Debug)]
    pub(crate) struct IncomingBody {
        chunks: RefCell<Vec<Vec<u8>>>,
    }

    impl IncomingBody {
        pub(crate) fn read(&self, max: u32) -> Result<Option<Vec<u8>>, HttpError> {
            let mut chunks = self.chunks.borrow_mut();
            if chunks.is_empty() {
                return Ok(None);
            }
            let mut chunk = chunks.remove(0);
            if chunk.len() > max as usize {
                chunks.insert(0, chunk.split_off(max as usize));
            }
            Ok(Some(chunk))
        }
    }
}

pub(crate) mod blobs {
    //! Objects in memory, with the platform's key rules and limits on listing
    //! and URL expiry; signed URLs point at `https://blobs.test`.
    pub use crate::bindings::gatehouse::endpoint::blobs::{BlobError, Listing, Object, ObjectInfo};

    use super::with;

    /// The platform's default longest URL expiry (seven days).
    const MAX_EXPIRY: u32 = 7 * 86_400;

    fn check_key(key: &str) -> Result<(), BlobError> {
        let bad = key.is_empty()
            || key.len() > 1024
            || key.starts_with('/')
            || key.chars().any(|c| c.is_control() || c == '\\')
            || key.split('/').any(|s| s.is_empty() || s == "." || s == "..");
        if bad { Err(BlobError::Invalid(format!("`{}` is not a valid key", key.escape_debug()))) } else { Ok(()) }
    }

    fn now_ms() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }

    pub(crate) fn put(key: &str, content_type: &str, data: &[u8]) -> Result<ObjectInfo, BlobError> {
        check_key(key)?;
        let content_type =
            if content_type.trim().is_empty() { "application/octet-stream" } else { content_type.trim() };
        let info = ObjectInfo {
            key: key.to_string(),
            content_type: content_type.to_string(),
            size: data.len() as u64,
            modified_ms: now_ms(),
        };
        with(|s| s.blobs.insert(key.to_string(), Object { info: info.clone(), data: data.to_vec() }));
        Ok(info)
    }

    pub(crate) fn get(key: &str) -> Result<Option<Object>, BlobError> {
        check_key(key)?;
        Ok(with(|s| s.blobs.get(key).cloned()))
    }

    pub(crate) fn head(key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        check_key(key)?;
        Ok(with(|s| s.blobs.get(key).map(|o| o.info.clone())))
    }

    pub(crate) fn delete(key: &str) -> Result<bool, BlobError> {
        check_key(key)?;
        Ok(with(|s| s.blobs.remove(key).is_some()))
    }

    pub(crate) fn list(prefix: &str, after: Option<&str>, limit: u32) -> Result<Listing, BlobError> {
        if limit == 0 || limit > 1000 {
            return Err(BlobError::Invalid(format!("limit must be between 1 and 1000; it is {limit}")));
        }
        let mut objects: Vec<ObjectInfo> = with(|s| {
            s.blobs
                .values()
                .filter(|o| o.info.key.starts_with(prefix) && after.is_none_or(|a| o.info.key.as_str() > a))
                .take(limit as usize + 1)
                .map(|o| o.info.clone())
                .collect()
        });
        let more = objects.len() > limit as usize;
        objects.truncate(limit as usize);
        let next = if more { objects.last().map(|o| o.key.clone()) } else { None };
        Ok(Listing { objects, next })
    }

    pub(crate) fn signed_url(key: &str, expires_in_seconds: u32) -> Result<String, BlobError> {
        check_key(key)?;
        if expires_in_seconds == 0 || expires_in_seconds > MAX_EXPIRY {
            return Err(BlobError::Invalid(format!("expiry must be between 1 and {MAX_EXPIRY} seconds")));
        }
        let expires = now_ms() / 1000 + u64::from(expires_in_seconds);
        Ok(format!("https://blobs.test/_blobs/{key}?expires={expires}&signature=offplatform"))
    }
}

pub(crate) mod streaming {
    //! Recorded in order; once the client has read `client_leaves_after`
    //! events, every call is `closed`, as when a real client leaves.

    pub(crate) use super::wit::streaming::SseEvent;
    pub use super::wit::streaming::StreamError;
    use super::{State, Streamed};

    fn check_open(s: &State) -> Result<(), StreamError> {
        let events = s.stream.iter().filter(|i| matches!(i, Streamed::Event(_))).count();
        if events >= s.client_leaves_after { Err(StreamError::Closed) } else { Ok(()) }
    }

    pub(crate) fn start(status: u16, headers: &[(String, String)]) -> Result<(), StreamError> {
        super::with(|s| {
            check_open(s)?;
            if s.stream_head.is_some() {
                return Err(StreamError::AlreadyStarted);
            }
            s.stream_head = Some((status, headers.to_vec()));
            Ok(())
        })
    }

    pub(crate) fn write(bytes: &[u8]) -> Result<(), StreamError> {
        super::with(|s| {
            check_open(s)?;
            s.stream_head
                .get_or_insert_with(|| (200, vec![("content-type".into(), "application/octet-stream".into())]));
            s.stream.push(Streamed::Bytes(bytes.to_vec()));
            Ok(())
        })
    }

    pub(crate) fn send_event(event: &SseEvent) -> Result<(), StreamError> {
        super::with(|s| {
            check_open(s)?;
            s.stream_head.get_or_insert_with(|| (200, vec![("content-type".into(), "text/event-stream".into())]));
            s.stream.push(Streamed::Event(event.clone()));
            Ok(())
        })
    }
}
