//! Test harness: runs the real `gatehouse` main as a child process on a
//! loopback port, with a config written for the test, and captures its log.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub mod browser;
pub mod config;
pub mod otlp;
pub mod python_tools;
pub mod s3_server;

pub use config::Platform;

/// Paths of the built guests; see build.rs.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// How long a server may take to build and compile its endpoints on first
/// start: a liveness deadline. A cold run builds each Python and JavaScript
/// endpoint once (about 25 s each on two cores, while other tests' servers
/// build theirs), and the languages tests' server has a dozen of them.
const START_TIMEOUT: Duration = Duration::from_secs(600);

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin API's base URL, when the config enables it.
    pub admin: Option<String>,
    log: Arc<Mutex<String>>,
    dir: tempfile::TempDir,
    args: Vec<String>,
}

type Spawned = (Child, String, Option<String>, Arc<Mutex<String>>);

/// Runs `gatehouse serve <args>` in `dir` and waits for it to listen.
fn spawn_serving(dir: &std::path::Path, args: &[&str]) -> Spawned {
    let mut all = vec!["serve"];
    all.extend_from_slice(args);
    let mut cmd = command_in(dir, &all);
    let mut child = cmd.spawn().expect("spawning gatehouse");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let (admin_tx, admin_rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("gatehouse listening on ") {
                    let _ = tx.send(addr.to_string());
                }
                if let Some(addr) = line.strip_prefix("gatehouse admin listening on ") {
                    let _ = admin_tx.send(addr.to_string());
                }
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(base) => (child, base, admin_rx.try_recv().ok(), log),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gatehouse did not start listening; its log:\n{}", log.lock().unwrap());
        }
    }
}

/// The admin token the tests' configs use.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// An `[admin]` section on a free port with [`ADMIN_TOKEN`].
pub const ADMIN_SECTION: &str = "[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"test-admin-token-0123456789\"\n";

/// The server binary built next to the running test binary.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join(format!("gatehouse-under-test{}", std::env::consts::EXE_SUFFIX))
}

fn command(subcommand: &str, config: &str) -> (Command, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("platform.toml"), config).expect("writing config");
    let cmd = command_in(dir.path(), &[subcommand]);
    (cmd, dir)
}

/// `gatehouse <args> --config <dir>/platform.toml` with the test environment.
fn command_in(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .arg("--config")
        .arg(dir.join("platform.toml"))
        .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_DATA_DIR", dir.join("data"))
        .env("GATEHOUSE_BUILD_DIR", guests::BUILD_DIR)
        .env("GATEHOUSE_CACHE_DIR", PathBuf::from(guests::BUILD_DIR).join("cwasm-cache"))
        .env("RUST_LOG", "info")
        // A developer's own keys must not change what the tests see.
        .env_remove("OPENAI_API_KEY")
        .env_remove("GATEHOUSE_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `component = "..."` for a guest path, TOML-quoted.
pub fn component(path: &str) -> String {
    format!("{path:?}")
}

/// The repository's own platform.toml, with its relative paths made absolute
/// and only its Rust endpoints.
pub fn repo_config() -> String {
    let text = std::fs::read_to_string(PathBuf::from(guests::REPO_ROOT).join("platform.toml")).expect("platform.toml");
    rust_endpoints_only(&text).replace("= \"endpoints/", &format!("= \"{}/endpoints/", guests::REPO_ROOT))
}

/// A platform.toml without its Python and JavaScript endpoints, so a test of
/// the Rust examples needs only the Rust toolchain (the languages tests serve
/// the others with their own configs).
fn rust_endpoints_only(text: &str) -> String {
    let mut blocks = text.split("\n[[endpoint]]");
    let mut out = blocks.next().unwrap_or_default().to_string();
    for block in blocks {
        if !block.contains("component = \"endpoints/py-") && !block.contains("component = \"endpoints/js-") {
            out.push_str("\n[[endpoint]]");
            out.push_str(block);
        }
    }
    out
}

impl Server {
    /// Starts a server with `config` (a platform.toml text) and waits until it listens.
    pub fn start(config: &str) -> Server {
        Self::start_with_args(config, &[])
    }

    /// Starts `gatehouse serve <args>` with `config`.
    pub fn start_with_args(config: &str, args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("platform.toml"), config).expect("writing config");
        let (child, base, admin, log) = spawn_serving(dir.path(), args);
        Server { child, base, admin, log, dir, args: args.iter().map(|a| a.to_string()).collect() }
    }

    /// Stops the server and starts it again on the same config and data dir
    /// (new ports); waits until it listens.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let (child, base, admin, log) = spawn_serving(self.dir.path(), &args);
        (self.child, self.base, self.admin, self.log) = (child, base, admin, log);
    }

    /// A full URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Runs `gatehouse <args>` against this server's config and data dir: (success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = command_in(self.dir.path(), args).output().expect("running gatehouse");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Creates an API key with the CLI and returns it.
    pub fn create_key(&self, args: &[&str]) -> String {
        let mut all = vec!["keys", "create"];
        all.extend_from_slice(args);
        let (ok, stdout, stderr) = self.cli(&all);
        assert!(ok, "keys create failed: {stderr}");
        stdout.trim().to_string()
    }

    /// The server's data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A full admin URL for `path`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{path}", self.admin.as_ref().expect("this server's config has no [admin] section"))
    }

    /// `GET /admin/v1/stats`'s data.
    pub async fn stats(&self) -> serde_json::Value {
        let resp = client().get(self.admin_url("/admin/v1/stats")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        json(resp).await["data"].clone()
    }

    /// Waits (10 s at most) until the server has started `n` guest instances:
    /// the readiness signal for "that request is now running".
    pub async fn until_instances_started(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.stats().await["instancesStarted"].as_u64().unwrap_or(0) < n {
            assert!(Instant::now() < deadline, "fewer than {n} instances started within 10 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server process's resident memory, in bytes (Linux's `/proc`).
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// Waits (without blocking the runtime) until the log contains every one
    /// of `needles`, or `timeout` passes; whether it did.
    pub async fn until_log(&self, needles: &[&str], timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let log = self.log();
            if needles.iter().all(|n| log.contains(n)) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Creates a tenant through the admin API with `settings` (JSON); panics if refused.
    pub async fn create_tenant(&self, name: &str, settings: serde_json::Value) {
        let (status, body) = self
            .admin_call(
                reqwest::Method::POST,
                "/admin/v1/tenants",
                Some(serde_json::json!({"name": name, "settings": settings})),
            )
            .await;
        assert_eq!(status, 201, "creating tenant {name}: {body}");
    }

    /// An admin API call with the admin token: (status, JSON body).
    pub async fn admin_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = client().request(method, self.admin_url(path)).bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), json(resp).await)
    }

    /// Uploads an app bundle (a tar) to `tenant` with the admin token: (status, JSON body).
    pub async fn deploy(&self, tenant: &str, tar: Vec<u8>) -> (u16, serde_json::Value) {
        self.deploy_with(tenant, tar, ADMIN_TOKEN).await
    }

    /// Uploads an app bundle to `tenant` with `token` (the admin's or a deploy key).
    pub async fn deploy_with(&self, tenant: &str, tar: Vec<u8>, token: &str) -> (u16, serde_json::Value) {
        let resp = client()
            .post(self.admin_url(&format!("/admin/v1/tenants/{tenant}/apps")))
            .bearer_auth(token)
            .header("content-type", "application/x-tar")
            .body(tar)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), json(resp).await)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a server that is expected to refuse to start: its exit status, stdout and stderr.
pub fn run_expecting_exit(config: &str) -> (ExitStatus, String, String) {
    run_to_exit("serve", config)
}

/// Runs `gatehouse <subcommand> --config <config>` to its end: exit status, stdout, stderr.
pub fn run_to_exit(subcommand: &str, config: &str) -> (ExitStatus, String, String) {
    let (mut cmd, _dir) = command(subcommand, config);
    let out = cmd.output().expect("running gatehouse");
    (out.status, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// An app bundle (a tar): `gatehouse.toml` for app `name` with `manifest`
/// (TOML after the `[app]` table) and `files` (path, contents).
pub fn app_bundle(name: &str, manifest: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = gatehouse::registry::Bundle::default();
    b.files.insert("gatehouse.toml".into(), format!("[app]\nname = \"{name}\"\n\n{manifest}").into_bytes());
    for (path, data) in files {
        b.files.insert(path.to_string(), data.to_vec());
    }
    b.to_tar().expect("a tar of the bundle")
}

/// `wasm` with a custom section holding `tag` appended: the same component
/// under another content hash, so a test's compiles, cache entries and
/// store files are its own.
pub fn retagged(mut wasm: Vec<u8>, tag: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                break;
            }
        }
    }
    let mut content = Vec::new();
    leb("gatehouse-test".len(), &mut content);
    content.extend_from_slice(b"gatehouse-test");
    content.extend_from_slice(tag.as_bytes());
    wasm.push(0);
    leb(content.len(), &mut wasm);
    wasm.extend_from_slice(&content);
    wasm
}

/// An async HTTP client with no proxy and no connection reuse surprises.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().expect("client")
}

/// The JSON body of a response.
pub async fn json(resp: reqwest::Response) -> serde_json::Value {
    let text = resp.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `component = ...` for an example endpoint built by build.rs (`hello`, `profile`, `ai_generate`, ...).
pub fn example(name: &str) -> String {
    component(&example_path(name))
}

/// The path of an example endpoint built by build.rs, for [`Platform::endpoint`].
pub fn example_path(name: &str) -> String {
    format!("{}/wasm32-wasip2/release/{name}.wasm", guests::BUILD_DIR)
}

/// A repository file's absolute path, TOML-quoted (schemas, fixtures).
pub fn repo_file(relative: &str) -> String {
    component(&repo_path(relative))
}

/// The absolute path of a file or folder in the repository, for [`Platform::endpoint`].
pub fn repo_path(relative: &str) -> String {
    format!("{}/{relative}", guests::REPO_ROOT)
}

/// The Redis the tests may use: `REDIS_URL` (default `redis://127.0.0.1:6379`) if it
/// answers. Without it a test skips with one printed line, except under CI
/// (`CI=true`), where a missing Redis is a failure.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let hostport = url.trim_start_matches("redis://").split('/').next().unwrap_or("127.0.0.1:6379").to_string();
    service_url("Redis", "REDIS_URL", url, &hostport)
}

/// `url` if something answers at `hostport`; otherwise one printed line and
/// `None`, or under CI (`CI=true`) a failure, because CI has the service.
fn service_url(service: &str, variable: &str, url: String, hostport: &str) -> Option<String> {
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(hostport)
        .ok()
        .and_then(|mut a| a.next())
        .map(|addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok())
        .unwrap_or(false);
    if reachable {
        return Some(url);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{service} is not reachable at {url}, and CI requires it (start it or set {variable})");
    }
    println!("skipping: {service} is not reachable at {url} (set {variable} to run this test)");
    None
}

/// The API key the mock upstream's chat API accepts.
pub const UPSTREAM_KEY: &str = "sk-upstream-test-0123456789";

/// A mock upstream on a loopback port, for outbound-HTTP tests: `/hello`, `/traceparent`,
/// `/redirect?to=URL` (302), `/big` (2 MiB), `/slow` (3 s) and an OpenAI-style
/// `POST /v1/chat/completions` that answers `echo: <prompt>` to [`UPSTREAM_KEY`]. Runs on its own
/// thread so it outlives any one test runtime.
pub fn mock_upstream() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the mock upstream");
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            use axum::routing::get;
            let app = axum::Router::new()
                .route("/hello", get(|| async { ([("x-upstream", "mock")], "hello from upstream") }))
                .route(
                    "/redirect",
                    get(|q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                        (axum::http::StatusCode::FOUND, [("location", q.get("to").cloned().unwrap_or_default())])
                    }),
                )
                .route("/big", get(|| async { vec![b'x'; 2 << 20] }))
                // The W3C `traceparent` the call carried, or `none`.
                .route(
                    "/traceparent",
                    get(|headers: axum::http::HeaderMap| async move {
                        headers.get("traceparent").and_then(|v| v.to_str().ok()).unwrap_or("none").to_string()
                    }),
                )
                // Reads a POSTed body whole (up to 2 MiB) and answers its length.
                .route("/upload", axum::routing::post(|body: axum::body::Bytes| async move { body.len().to_string() }))
                .route("/v1/chat/completions", axum::routing::post(chat_completion))
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        "late"
                    }),
                );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// A gate the mock upstream's streaming completion waits on after its first
/// token when the prompt starts with `hold:NAME`; a test opens it with
/// `notify_one()` once it has seen that token, proving by order that tokens
/// are relayed as they come.
pub fn upstream_gate(name: &str) -> std::sync::Arc<tokio::sync::Notify> {
    static GATES: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Notify>>>,
    > = std::sync::LazyLock::new(Default::default);
    GATES.lock().unwrap().entry(name.to_string()).or_default().clone()
}

async fn chat_completion(
    headers: axum::http::HeaderMap,
    body: axum::Json<serde_json::Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != format!("Bearer {UPSTREAM_KEY}") {
        return (axum::http::StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    let prompt = body["messages"][0]["content"].as_str().unwrap_or("").to_string();
    // `hold:NAME …`: after its first token the stream waits for `upstream_gate(NAME)`.
    let (gate, prompt) = match prompt.split_once(' ') {
        Some((first, rest)) if first.starts_with("hold:") => (Some(upstream_gate(&first[5..])), rest.to_string()),
        _ => (None, prompt),
    };
    let words = prompt.split_whitespace().count() as u64;
    if body["stream"] == true {
        // One delta every 200 ms, like a model generating: "echo:", then each word.
        let mut tokens = vec!["echo:".to_string()];
        tokens.extend(prompt.split_whitespace().map(|w| format!(" {w}")));
        let model = body["model"].clone();
        let events = futures_util::stream::unfold((tokens.into_iter(), 0usize), move |(mut rest, sent)| {
            let (model, gate) = (model.clone(), gate.clone());
            async move {
                if sent == usize::MAX {
                    return None;
                }
                if sent == 1
                    && let Some(gate) = gate
                {
                    let _ = tokio::time::timeout(Duration::from_secs(30), gate.notified()).await;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                let chunk = match rest.next() {
                    Some(tok) => format!(
                        "data: {}\n\n",
                        serde_json::json!({"model": model, "choices": [{"index": 0, "delta": {"content": tok}}]})
                    ),
                    None => {
                        return Some((
                            Ok::<_, std::convert::Infallible>("data: [DONE]\n\n".to_string()),
                            (rest, usize::MAX),
                        ));
                    }
                };
                Some((Ok(chunk), (rest, sent + 1)))
            }
        });
        return ([("content-type", "text/event-stream")], axum::body::Body::from_stream(events)).into_response();
    }
    axum::Json(serde_json::json!({
        "id": "chatcmpl-mock",
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("echo: {prompt} (max_tokens {}, temperature {})", body["max_tokens"], body["temperature"])}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": words, "completion_tokens": words + 1, "total_tokens": 2 * words + 1},
        "max_tokens_seen": body["max_tokens"],
    }))
    .into_response()
}

/// Reads a server-sent-events response until `n` events arrived (10 s for
/// each at most); returns each event's text and when it arrived.
pub async fn read_events(resp: &mut reqwest::Response, n: usize) -> Vec<(String, Instant)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    while events.len() < n {
        let chunk =
            tokio::time::timeout(Duration::from_secs(10), resp.chunk()).await.expect("an event in time").unwrap();
        let Some(chunk) = chunk else { break };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            events.push((buffer[..end].to_string(), Instant::now()));
            buffer.drain(..end + 2);
        }
    }
    events
}

/// The Postgres the tests may use: `DATABASE_URL` (default
/// `postgres://postgres@127.0.0.1:5432/test`) if it answers. Without it a test
/// skips with one printed line, except under CI (`CI=true`), where a missing
/// Postgres is a failure.
pub fn database_url() -> Option<String> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let hostport = url.rsplit('@').next().unwrap_or("").split('/').next().unwrap_or("127.0.0.1:5432").to_string();
    service_url("Postgres", "DATABASE_URL", url, &hostport)
}

/// A tenant name no other test (or earlier run) uses.
pub fn unique_tenant(prefix: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{}{n}", std::process::id())
}

/// The platform-store schema a Postgres test uses: its own, so tests never see
/// each other's tenants and deployments.
pub fn store_schema(tenant: &str) -> String {
    format!("store_{}", tenant.to_ascii_lowercase().replace('-', "_"))
}

/// Removes a test tenant's schema and role (and its test's platform store) from Postgres.
pub async fn drop_tenant(url: &str, tenant: &str) {
    let Ok(pool) = sqlx::PgPool::connect(url).await else { return };
    let t = tenant.to_ascii_lowercase().replace('-', "_");
    let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS t_{t} CASCADE")).execute(&pool).await;
    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS gh_{t} WITH (FORCE)")).execute(&pool).await;
    let _ = sqlx::raw_sql(&format!("DROP OWNED BY gh_{t} CASCADE")).execute(&pool).await;
    let _ = sqlx::raw_sql(&format!("DROP ROLE IF EXISTS gh_{t}")).execute(&pool).await;
    let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", store_schema(tenant))).execute(&pool).await;
}

/// Drops a test tenant from Postgres when it goes out of scope, even if the test panicked.
pub struct TenantCleanup {
    /// The admin URL.
    pub url: String,
    /// The tenant.
    pub tenant: String,
}

impl Drop for TenantCleanup {
    fn drop(&mut self) {
        let (url, tenant) = (self.url.clone(), self.tenant.clone());
        // A thread of its own: Drop cannot await, and may run inside a runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(drop_tenant(&url, &tenant));
        })
        .join();
    }
}

/// Where a test's tenant database lives.
#[derive(Debug, Clone)]
pub enum DbBackend {
    /// A SQLite file in the server's data dir.
    Sqlite,
    /// A schema and role of their own on this Postgres.
    Postgres {
        /// The admin URL.
        url: String,
        /// The test's tenant.
        tenant: String,
    },
}

impl DbBackend {
    /// SQLite, plus Postgres if one answers.
    pub fn all() -> Vec<DbBackend> {
        let mut v = vec![DbBackend::Sqlite];
        if let Some(url) = database_url() {
            v.push(DbBackend::Postgres { url, tenant: unique_tenant("pg") });
        }
        v
    }

    /// A platform on this backend: its `[platform]` keys set.
    pub fn platform(&self) -> Platform {
        match self {
            DbBackend::Sqlite => Platform::new(),
            DbBackend::Postgres { url, tenant } => Platform::new()
                .platform("database_url", &config::quote(url))
                .platform("tenant", &config::quote(tenant))
                .platform("store_schema", &config::quote(&store_schema(tenant))),
        }
    }

    /// The `[platform]` lines that select this backend.
    pub fn platform_section(&self) -> String {
        match self {
            DbBackend::Sqlite => "[platform]\n".into(),
            DbBackend::Postgres { url, tenant } => format!(
                "[platform]\ndatabase_url = {url:?}\ntenant = {tenant:?}\nstore_schema = \"{}\"\n",
                store_schema(tenant)
            ),
        }
    }

    /// The first column of each row `sql` returns, as text, read straight from
    /// the config tenant's database on this backend (where an operator would
    /// look): to check what an example stored. Write `CAST(… AS TEXT)` or
    /// `||` so the column is text on both backends.
    pub async fn texts(&self, s: &Server, sql: &str) -> Vec<String> {
        use sqlx::Row;
        match self {
            DbBackend::Sqlite => {
                let path = s.data_dir().join("tenants/default/data.db");
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).read_only(true);
                let pool = sqlx::SqlitePool::connect_with(options).await.expect("opening the tenant's SQLite file");
                let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.iter().map(|r| r.get::<Option<String>, _>(0).unwrap_or_default()).collect()
            }
            DbBackend::Postgres { url, tenant } => {
                let pool = sqlx::PgPool::connect(url).await.expect("connecting to Postgres");
                let schema = format!("t_{}", tenant.to_ascii_lowercase().replace('-', "_"));
                let mut conn = pool.acquire().await.unwrap();
                sqlx::raw_sql(&format!("SET search_path TO {schema}")).execute(&mut *conn).await.unwrap();
                let rows = sqlx::query(sql).fetch_all(&mut *conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.iter().map(|r| r.get::<Option<String>, _>(0).unwrap_or_default()).collect()
            }
        }
    }

    /// Drops what this backend created for the test.
    pub async fn cleanup(&self) {
        if let DbBackend::Postgres { url, tenant } = self {
            drop_tenant(url, tenant).await;
        }
    }
}

/// A TCP proxy on a loopback port to `target`, for killing a backing service
/// mid-test: `cut()` closes the listener and every connection through it.
pub struct CuttableProxy {
    /// The proxy's address.
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    /// Set once the listener is closed and every connection through it dropped.
    down: tokio::sync::watch::Receiver<bool>,
}

impl CuttableProxy {
    /// Starts forwarding (on its own thread and runtime).
    pub fn start(target: std::net::SocketAddr) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (is_down, down) = tokio::sync::watch::channel(false);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let mut connections = tokio::task::JoinSet::new();
                let mut stopped_accept = stopped.clone();
                loop {
                    tokio::select! {
                        _ = stopped_accept.wait_for(|s| *s) => break,
                        accepted = listener.accept() => {
                            let Ok((mut inbound, _)) = accepted else { continue };
                            let mut stopped_conn = stopped.clone();
                            connections.spawn(async move {
                                let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                                tokio::select! {
                                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                    _ = stopped_conn.wait_for(|s| *s) => {}
                                }
                            });
                        }
                    }
                }
                drop(listener);
                // Every connection task sees the stop and drops its sockets.
                while connections.join_next().await.is_some() {}
                let _ = is_down.send(true);
            });
        });
        CuttableProxy { addr, stop, down }
    }

    /// Closes the listener and every connection: the service is "down".
    /// Returns once the listener is closed and every connection dropped.
    pub async fn cut(&self) {
        let _ = self.stop.send(true);
        let mut down = self.down.clone();
        tokio::time::timeout(Duration::from_secs(10), down.wait_for(|d| *d))
            .await
            .expect("the proxy did not close its connections")
            .expect("the proxy's thread ended");
    }
}

/// `platform` with the bulk-import example at [`IMPORT_ROUTE`], for tests
/// that need a caller to gain a task or (with `notify`) a notification.
pub fn with_task_import(platform: Platform) -> Platform {
    platform
        .endpoint(&format!("POST {IMPORT_ROUTE}"), &example_path("task_import"))
        .with("auth", "\"required\"")
        .with("schema", &repo_file("endpoints/task-import/schema.json"))
}

/// Where [`with_task_import`] serves.
pub const IMPORT_ROUTE: &str = "/test/tasks/import";

/// The JSON of a server-sent event's `data:` lines.
pub fn event_data(event: &str) -> serde_json::Value {
    let data: Vec<&str> = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    serde_json::from_str(&data.join("\n")).unwrap_or_else(|e| panic!("event data is not JSON ({e}): {event}"))
}

/// Proves by order alone, with no clock, that a notifications stream (the
/// examples' `…/notifications/stream`: `{"type":"connected"}`, then the
/// caller's unread notifications in every update) is sent as the guest writes
/// it: the first update must list none; only then does the caller import a
/// task with `notify`, which files one notification, and a later update must
/// list it. Had the stream been held back until the guest returned, every
/// update would predate the import. `stream_path` should ask for enough
/// updates (`limit`) to outlast the import; the caller then leaves.
pub async fn stream_is_sent_as_written(s: &Server, key: &str, stream_path: &str) {
    let mut resp = client().get(s.url(stream_path)).bearer_auth(key).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{stream_path}");
    let (mut buffer, mut events, mut imported) = (String::new(), Vec::<serde_json::Value>::new(), false);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            events.push(event_data(&buffer[..end]));
            buffer.drain(..end + 2);
        }
        if !imported && events.len() >= 2 {
            assert_eq!(events[0], serde_json::json!({"type": "connected"}), "{stream_path}");
            assert_eq!(events[1], serde_json::json!({"type": "notifications", "data": []}), "{stream_path}");
            let body = serde_json::json!({ "tasks": [{ "title": "listed by a later update" }], "notify": true });
            let answer = client().post(s.url(IMPORT_ROUTE)).bearer_auth(key).json(&body).send().await.unwrap();
            assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap_or_default());
            imported = true;
        } else if imported && events.last().is_some_and(|e| e["data"][0]["message"] == "1 task imported") {
            return;
        }
        let chunk =
            tokio::time::timeout(Duration::from_secs(10), resp.chunk()).await.expect("an event in time").unwrap();
        let Some(chunk) = chunk else {
            panic!("{stream_path}: the stream ended before an update listed the import's notification: {events:?}")
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}
