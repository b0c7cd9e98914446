//! Unit-test a handler with `cargo test`, without the platform:
//!
//! ```
//! use gatehouse_sdk::testing::{Mock, TestPlatform};
//! use gatehouse_sdk::{Error, Request, Response, auth, db, http, ok, params};
//!
//! fn handle(req: Request) -> Result<Response, Error> {
//!     let me = auth::current().user_id.ok_or_else(|| Error::unauthorized("sign in"))?;
//!     let weather = http::get("https://api.example.com/today").send()?;
//!     db::execute("INSERT INTO visits (user_id) VALUES (?)", params![&me])?;
//!     ok(serde_json::json!({ "hello": me, "temp": weather.json::<serde_json::Value>()?["temp"], "id": req.param("id") }))
//! }
//!
//! let p = TestPlatform::builder().user("ada").scopes(["read"]).open();
//! p.exec("CREATE TABLE visits (user_id TEXT NOT NULL)"); // or .migrations("migrations")
//! p.mock("GET", "https://api.example.com/today", Mock::json(serde_json::json!({ "temp": 21 })));
//! let r = p.call(handle, Request::new("GET", "/api/hello/7").with_param("id", "7"));
//! assert_eq!(r.status, 200);
//! assert_eq!(r.json()["data"], serde_json::json!({ "hello": "ada", "temp": 21, "id": "7" }));
//! assert_eq!(db::query("SELECT user_id FROM visits", params![]).unwrap().len(), 1);
//! ```
//!
//! While a [`TestPlatform`] is open on a thread (cargo runs each test on its
//! own), every SDK call on that thread is answered here: `auth` by the caller
//! you describe, `config::get` by [`config`](TestPlatformBuilder::config),
//! `db` by an SQLite database in memory (your migrations applied, `?`
//! parameters and the platform's failures: a constraint is 409
//! `DB_CONSTRAINT`), `http` by the answers you [`mock`](TestPlatform::mock)
//! (anything else is refused like a host not in `allowed_hosts`), and `log`
//! and `stream` are recorded. An `Err` comes back as the platform's error
//! envelope with its status; a panic fails the test, as a bug should. The
//! test reaches the same database through [`db`](crate::db) itself, or
//! [`exec`](TestPlatform::exec) for a script. Only off the platform: in a
//! component these calls are the platform's.

pub(crate) mod standin;

use std::path::{Path, PathBuf};

use crate::bindings::gatehouse::endpoint::auth::{Context, PrincipalKind};
use crate::bindings::gatehouse::endpoint::http_out::{HttpError, OutgoingRequest};
use crate::http::SseMessage;
use crate::{Error, ErrorKind, Request, Response};
use standin::{Answer, Streamed};

/// Describes the platform a test opens: the caller, config, migrations and limits.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TestPlatformBuilder {
    kind: Option<PrincipalKind>,
    user: Option<String>,
    scopes: Vec<String>,
    claims: Option<serde_json::Value>,
    tenant: Option<String>,
    config: Vec<(String, String)>,
    migrations: Option<PathBuf>,
    max_calls: Option<u32>,
    client_leaves_after: Option<usize>,
}

impl TestPlatformBuilder {
    /// The caller's user id (an API key's owner unless [`kind`](Self::kind) says otherwise).
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The caller's scopes.
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How the caller authenticated; by default an API key when a user or scope is given, else nobody.
    pub fn kind(mut self, kind: PrincipalKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// A session's verified claims (`auth::current().claims`).
    pub fn claims(mut self, claims: serde_json::Value) -> Self {
        self.claims = Some(claims);
        self
    }

    /// The tenant's name (`test` by default).
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// A variable or granted secret the endpoint reads with `config::get`.
    pub fn config(mut self, name: &str, value: &str) -> Self {
        self.config.push((name.into(), value.into()));
        self
    }

    /// A folder of `*.sql` files applied in name order (its `sqlite/` subfolder if it has one).
    pub fn migrations(mut self, folder: impl AsRef<Path>) -> Self {
        self.migrations = Some(folder.as_ref().to_path_buf());
        self
    }

    /// Outbound calls one request may make (the platform's default is 10).
    pub fn max_calls(mut self, n: u32) -> Self {
        self.max_calls = Some(n);
        self
    }

    /// Server-sent events the client reads before it leaves (`stream::send` then fails with `Closed`).
    pub fn client_leaves_after(mut self, events: usize) -> Self {
        self.client_leaves_after = Some(events);
        self
    }

    /// Opens the platform on this thread, until the returned value is dropped.
    ///
    /// # Panics
    /// When a migration cannot be read or does not apply: the test cannot start.
    pub fn open(self) -> TestPlatform {
        let kind = self.kind.unwrap_or(if self.user.is_some() || !self.scopes.is_empty() {
            PrincipalKind::ApiKey
        } else {
            PrincipalKind::Anonymous
        });
        let db = rusqlite::Connection::open_in_memory().expect("SQLite opens in memory");
        if let Some(folder) = &self.migrations {
            for file in migration_files(folder) {
                let sql = std::fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("cannot read the migration {}: {e}", file.display()));
                db.execute_batch(&sql).unwrap_or_else(|e| panic!("the migration {} fails: {e}", file.display()));
            }
        }
        standin::with(|s| {
            *s = standin::State::default();
            s.caller = Context {
                key_id: matches!(kind, PrincipalKind::ApiKey).then(|| "test_key".into()),
                kind,
                tenant: self.tenant.unwrap_or_else(|| "test".into()),
                user_id: self.user,
                scopes: self.scopes,
                claims_json: self.claims.map(|c| c.to_string()),
            };
            s.config = self.config;
            s.db = Some(db);
            s.max_calls = self.max_calls.unwrap_or(10);
            s.client_leaves_after = self.client_leaves_after.unwrap_or(usize::MAX);
        });
        TestPlatform { _not_send: std::marker::PhantomData }
    }
}

fn migration_files(folder: &Path) -> Vec<PathBuf> {
    let folder = if folder.join("sqlite").is_dir() { folder.join("sqlite") } else { folder.to_path_buf() };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("cannot read the migrations folder {}: {e}", folder.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

/// The platform as the handlers called on this thread see it; dropped, it closes.
#[derive(Debug)]
pub struct TestPlatform {
    // The state is the thread's: the platform must not move to another.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl TestPlatform {
    /// Describes the platform to open: `TestPlatform::builder().user("ada").open()`.
    pub fn builder() -> TestPlatformBuilder {
        TestPlatformBuilder::default()
    }

    /// Opens a platform with an anonymous caller, no config and an empty database.
    pub fn open() -> TestPlatform {
        Self::builder().open()
    }

    /// Runs SQL on the database the handler sees, several statements allowed (schema, fixtures).
    ///
    /// # Panics
    /// When the SQL fails: the test's own setup is wrong.
    pub fn exec(&self, sql: &str) {
        standin::with(|s| {
            s.db.as_ref().expect("the platform is open").execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
        });
    }

    /// What `http::Request` to `method url` answers in this test.
    pub fn mock(&self, method: &str, url: &str, mock: Mock) {
        let url_owned = url.to_string();
        let respond: standin::Respond = Box::new(move |_| match &mock.fail {
            Some(Fail::Timeout) => Err(HttpError::Timeout),
            Some(Fail::Unreachable) => Err(HttpError::Connection(format!("{url_owned}: unreachable"))),
            None => Ok(Answer { status: mock.status, headers: mock.headers.clone(), chunks: mock.chunks.clone() }),
        });
        standin::with(|s| s.routes.push((method.to_ascii_uppercase(), url.to_string(), respond)));
    }

    /// The outbound requests the handlers made (`method`, `url`, `headers`, `body`).
    pub fn calls(&self) -> Vec<OutgoingRequest> {
        standin::with(|s| s.calls.clone())
    }

    /// The handlers' log lines, as `(level, message)` (`"info"`, …).
    pub fn logs(&self) -> Vec<(String, String)> {
        standin::with(|s| s.logs.clone())
    }

    /// The object the handlers stored under `key`, if any (objects live in memory here).
    pub fn blob(&self, key: &str) -> Option<crate::blobs::Object> {
        standin::with(|s| s.blobs.get(key).cloned())
    }

    /// Calls `handler` with one request, as the platform would after its gate
    /// admitted it, and returns what the client would get.
    pub fn call(&self, handler: fn(Request) -> Result<Response, Error>, mut req: Request) -> TestResponse {
        if req.request_id().is_empty() {
            req.set_request_id("test-request");
        }
        let request_id = req.request_id().to_string();
        standin::with(|s| {
            s.stream_head = None;
            s.stream.clear();
        });
        let result = handler(req);
        let streamed = standin::with(|s| s.stream_head.take().map(|head| (head, std::mem::take(&mut s.stream))));
        if let Some(((status, headers), items)) = streamed {
            return TestResponse::streamed(status, headers, items);
        }
        match result {
            Ok(r) => TestResponse {
                status: r.status(),
                headers: r.headers().to_vec(),
                body: r.body().to_vec(),
                events: Vec::new(),
            },
            Err(e) => TestResponse::envelope(e, &request_id),
        }
    }
}

impl Drop for TestPlatform {
    fn drop(&mut self) {
        standin::with(|s| *s = standin::State::default());
    }
}

/// How a mocked upstream fails.
#[derive(Debug, Clone)]
enum Fail {
    Timeout,
    Unreachable,
}

/// A mocked upstream's answer: `Mock::json(…)`, `Mock::text(…)`, `Mock::chunks(…)`, or a failure.
#[derive(Debug, Clone)]
#[must_use]
pub struct Mock {
    status: u16,
    headers: Vec<(String, String)>,
    chunks: Vec<Vec<u8>>,
    fail: Option<Fail>,
}

impl Mock {
    /// 200 with this JSON body.
    pub fn json(value: serde_json::Value) -> Self {
        Self::chunks([value.to_string()]).header("content-type", "application/json")
    }

    /// 200 with this body.
    pub fn text(body: impl Into<Vec<u8>>) -> Self {
        Self::chunks([body])
    }

    /// 200 with this body, one piece per read of a streamed fetch.
    pub fn chunks<I: IntoIterator<Item = B>, B: Into<Vec<u8>>>(chunks: I) -> Self {
        Self { status: 200, headers: Vec::new(), chunks: chunks.into_iter().map(Into::into).collect(), fail: None }
    }

    /// The upstream does not answer in time: 503 `UPSTREAM_TIMEOUT`.
    pub fn timeout() -> Self {
        Self { fail: Some(Fail::Timeout), ..Self::chunks(Vec::<Vec<u8>>::new()) }
    }

    /// The upstream cannot be reached: 503 `UPSTREAM_UNAVAILABLE`.
    pub fn unreachable() -> Self {
        Self { fail: Some(Fail::Unreachable), ..Self::chunks(Vec::<Vec<u8>>::new()) }
    }

    /// Another status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// A response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What the handler answered, as the client would get it.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// For a streamed answer, each server-sent event.
    pub events: Vec<SseMessage>,
}

impl TestResponse {
    /// The first value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON, with the body in the message.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.text()))
    }

    /// The error envelope the platform renders for `e`.
    fn envelope(e: Error, request_id: &str) -> Self {
        let (status, default_code) = status_of(e.kind());
        let wit = e.into_wit();
        let mut envelope = serde_json::json!({
            "success": false,
            "error": wit.message,
            "code": wit.code.unwrap_or_else(|| default_code.into()),
        });
        if let Some(details) = wit.details {
            envelope["details"] = serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details));
        }
        envelope["requestId"] = request_id.into();
        TestResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: envelope.to_string().into_bytes(),
            events: Vec::new(),
        }
    }

    /// A streamed answer: the head `start` (or the first event) gave, and what was written.
    fn streamed(status: u16, headers: Vec<(String, String)>, items: Vec<Streamed>) -> Self {
        let mut body = Vec::new();
        let mut events = Vec::new();
        for item in items {
            match item {
                Streamed::Bytes(b) => body.extend(b),
                Streamed::Event(e) => {
                    let mut text = e.event.as_ref().map(|n| format!("event: {n}\n")).unwrap_or_default();
                    if let Some(id) = &e.id {
                        text.push_str(&format!("id: {id}\n"));
                    }
                    for line in e.data.split('\n') {
                        text.push_str(&format!("data: {line}\n"));
                    }
                    text.push('\n');
                    body.extend(text.into_bytes());
                    events.push(SseMessage { event: e.event, data: e.data });
                }
            }
        }
        TestResponse { status, headers, body, events }
    }
}

/// The status and default code of each kind, as the platform renders them.
fn status_of(kind: ErrorKind) -> (u16, &'static str) {
    match kind {
        ErrorKind::BadRequest => (400, "BAD_REQUEST"),
        ErrorKind::ValidationFailed => (400, "VALIDATION_FAILED"),
        ErrorKind::Unauthorized => (401, "UNAUTHORIZED"),
        ErrorKind::Forbidden => (403, "FORBIDDEN"),
        ErrorKind::NotFound => (404, "NOT_FOUND"),
        ErrorKind::Conflict => (409, "CONFLICT"),
        ErrorKind::PayloadTooLarge => (413, "PAYLOAD_TOO_LARGE"),
        ErrorKind::UnsupportedMediaType => (415, "UNSUPPORTED_MEDIA_TYPE"),
        ErrorKind::Unprocessable => (422, "UNPROCESSABLE"),
        ErrorKind::TooManyRequests => (429, "RATE_LIMIT_EXCEEDED"),
        ErrorKind::Internal => (500, "INTERNAL_ERROR"),
        ErrorKind::Unavailable => (503, "SERVICE_UNAVAILABLE"),
    }
}
