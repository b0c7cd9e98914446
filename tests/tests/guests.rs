//! Test guests, hostile ones included, each served by a real gatehouse process.
//! Every guest in tests/guests has a test of its own name here (checked below).

use std::time::{Duration, Instant};

use gatehouse_tests::config::quote;
use gatehouse_tests::{Platform, Server, client, guests, json, run_expecting_exit};
use serde_json::json;

macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports)]
        use self::$name as _;
    };
}
gatehouse_tests::foreach_guest!(assert_test_exists);

/// A platform with the hello example beside the guest under test (add its keys, then start it).
fn with_hello(route: &str, guest: &str) -> Platform {
    Platform::new()
        .admin()
        .endpoint("GET /hello", &format!("{}/wasm32-wasip2/release/hello.wasm", guests::BUILD_DIR))
        .endpoint(route, guest)
}

async fn hello_is_healthy(s: &Server) {
    let resp = client().get(s.url("/hello")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["message"], "Hello World");
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_loop() {
    let s = with_hello("GET /loop", guests::BUSY_LOOP).with("limits", "{ cpu_ms = 200, wall_ms = 2000 }").start();
    let started = Instant::now();
    let looping = tokio::spawn({
        let url = s.url("/loop");
        async move { client().get(url).send().await.unwrap() }
    });
    // While the guest spins, another endpoint answers: five hellos are served
    // before the spinning request is stopped (an ordering, not a timing).
    s.until_instances_started(1).await;
    for _ in 0..5 {
        hello_is_healthy(&s).await;
    }
    assert!(!looping.is_finished(), "the busy guest was stopped before hello was served beside it");

    let resp = looping.await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(resp.status(), 504);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let got = json(resp).await;
    assert_eq!(got["code"], "GUEST_TIMEOUT");
    assert_eq!(got["details"], json!({"limit": "cpu_ms", "value": 200}));
    assert!(elapsed < Duration::from_millis(200 + 1000), "stopped after {elapsed:?}");
    assert!(
        s.until_log(
            &["guest stopped: CPU budget of 200 ms exceeded", &request_id, "GET /loop"],
            Duration::from_secs(5)
        )
        .await
    );
    // Stopping it freed its slot and thread: it can be stopped again, and hello still answers.
    let again = client().get(s.url("/loop")).send().await.unwrap();
    assert_eq!(again.status(), 504);
    hello_is_healthy(&s).await;
}

#[tokio::test]
async fn sleeps() {
    let s = with_hello("GET /sleep", guests::SLEEPS).with("limits", "{ wall_ms = 300 }").start();
    let started = Instant::now();
    let resp = client().get(s.url("/sleep?ms=60000")).send().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(resp.status(), 504);
    let got = json(resp).await;
    assert_eq!(got["details"], json!({"limit": "wall_ms", "value": 300}));
    assert!(elapsed < Duration::from_millis(300 + 1000), "stopped after {elapsed:?}");
    assert!(s.until_log(&["wall-time budget of 300 ms exceeded"], Duration::from_secs(5)).await);
    // A short sleep is within budget: sleeping is not CPU time.
    let resp = client().get(s.url("/sleep?ms=100")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    hello_is_healthy(&s).await;
}

#[tokio::test]
async fn grow_memory() {
    let s = with_hello("GET /grow", guests::GROW_MEMORY).with("limits", "{ memory_mb = 16 }").start();
    for _ in 0..3 {
        let resp = client().get(s.url("/grow")).send().await.unwrap();
        assert_eq!(resp.status(), 500);
        let got = json(resp).await;
        assert_eq!(got["code"], "GUEST_MEMORY_EXCEEDED");
        assert_eq!(got["details"], json!({"limit": "memory_mb", "value": 16}));
    }
    assert!(s.until_log(&["memory limit of 16 MiB exceeded", "GET /grow"], Duration::from_secs(5)).await);
    hello_is_healthy(&s).await;
}

#[tokio::test]
async fn panics() {
    let s = with_hello("GET /panic", guests::PANICS).start();
    let resp = client().get(s.url("/panic")).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let got = json(resp).await;
    assert_eq!(got["code"], "GUEST_TRAP");
    assert_eq!(got["requestId"], request_id.as_str());
    // The panic message reaches the log (from the guest's stderr), the trap too.
    let panic_line = format!("deliberate panic for request {request_id}");
    assert!(s.until_log(&[&panic_line, "guest trapped"], Duration::from_secs(5)).await, "{}", s.log());
    hello_is_healthy(&s).await;
}

#[tokio::test]
async fn stdout_log() {
    let s = with_hello("GET /print", guests::STDOUT_LOG).start();
    let resp = client().get(s.url("/print")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let lines = [
        format!("stdout line from guest {id}"),
        format!("stderr line from guest {id}"),
        format!("log import line from guest {id}"),
    ];
    assert!(
        s.until_log(&[&lines[0], &lines[1], &lines[2]], Duration::from_secs(5)).await,
        "guest output missing from the log:\n{}",
        s.log()
    );
    // Each line carries the request's context.
    let log = s.log();
    for line in &lines {
        let logged = log.lines().find(|l| l.contains(line.as_str())).unwrap();
        assert!(
            logged.contains(&format!("request_id={id}"))
                && logged.contains("tenant=default")
                && logged.contains("GET /print"),
            "{logged}"
        );
    }
}

#[tokio::test]
async fn escape() {
    let s = with_hello("GET /escape", guests::ESCAPE).start();
    let resp = client().get(s.url("/escape")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let got = json(resp).await;
    assert_eq!(
        got["data"],
        json!({
            "readPasswd": false, "listRoot": 0, "listCwd": 0, "writeTmp": false,
            "env": [], "args": [], "tcp": false, "udp": false, "dns": false,
        })
    );
    assert!(!std::path::Path::new("/tmp/gatehouse-escape").exists());
}

#[tokio::test]
async fn echo() {
    let s = Platform::new()
        .section(
            "secrets",
            &[("NOT_GRANTED", "\"a secret another endpoint may hold\""), ("API_TOKEN", "\"granted-token-value\"")],
        )
        .endpoint("POST /items/{id}/{slug}", guests::ECHO)
        .with("variables", "{ GREETING = \"hi there\" }")
        .with("secrets", "[\"API_TOKEN\"]")
        .start();
    let resp = client()
        .post(s.url("/items/42/blue-car?q=a%20b&tag=x&tag=y"))
        .header("X-Probe", "yes")
        .body("12345")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let got = json(resp).await["data"].clone();
    assert_eq!(got["method"], "POST");
    assert_eq!(got["path"], "/items/42/blue-car");
    assert_eq!(got["params"], json!({"id": "42", "slug": "blue-car"}));
    assert_eq!(got["query"], json!({"q": "a b", "tags": ["x", "y"]}));
    assert_eq!(got["header"], "yes");
    assert_eq!(got["bodyBytes"], 5);
    assert_eq!(got["requestId"], id.as_str());
    assert_eq!(got["auth"], json!({"kind": "anonymous", "tenant": "default", "scopes": []}));
    assert_eq!(got["greeting"], "hi there");
    // A secret in [secrets] but not granted to this endpoint is invisible to it.
    assert_eq!(got["secret"], serde_json::Value::Null);
    assert_eq!(got["token"], "granted-token-value");
    assert!(!s.log().contains("granted-token-value"));
}

#[test]
fn no_handler() {
    let config = Platform::new().endpoint("GET /x", guests::NO_HANDLER).toml();
    let (status, stdout, stderr) = run_expecting_exit(&config);
    assert!(!status.success());
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(stderr.contains("endpoint[0] `GET /x`"), "{stderr}");
    assert!(
        stderr.contains("exports neither `gatehouse:endpoint/handler@0.1.0` nor `wasi:http/incoming-handler`"),
        "{stderr}"
    );
    assert!(stderr.contains("gatehouse SDK"), "{stderr}");
}

#[test]
fn bad_import() {
    let config = Platform::new().endpoint("GET /x", guests::BAD_IMPORT).toml();
    let (status, stdout, stderr) = run_expecting_exit(&config);
    assert!(!status.success());
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(stderr.contains("endpoint[0] `GET /x`"), "{stderr}");
    assert!(stderr.contains("acme:probe/telemetry"), "{stderr}");
    assert!(stderr.contains("does not provide"), "{stderr}");
}

#[tokio::test]
async fn wasi_http_hello() {
    // A standard wasi:http/proxy component, unchanged: what `wasmtime serve` runs.
    let s = Platform::new().endpoint("GET /x", guests::WASI_HTTP_HELLO).start();
    let resp = client().get(s.url("/x")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(json(resp).await, json!({"success": true, "data": {"message": "Hello, World!"}}));
}

#[tokio::test]
async fn wasi_http_proxy() {
    // A wasi:http component that also imports our auth and config, gated like
    // any endpoint, its outgoing requests held to the same allow-list.
    let up = gatehouse_tests::mock_upstream();
    let schema = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(schema.path(), r#"{"type":"object","required":["name"]}"#).unwrap();
    let s = Platform::new()
        .admin()
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .endpoint("GET /proxy", guests::WASI_HTTP_PROXY)
        .with("auth", "\"required\"")
        .with("scopes", "[\"read\"]")
        .with("rate_limit", "{ limit = 3, window = \"1m\", by = \"key\" }")
        .with("variables", "{ GREETING = \"hi from config\" }")
        .with("allowed_hosts", &format!("[\"http://{up}\"]"))
        .endpoint("POST /proxy/validated", guests::WASI_HTTP_PROXY)
        .with("schema", &quote(&schema.path().display().to_string()))
        .start();
    let reader = s.create_key(&["--scopes", "read"]);
    let writer = s.create_key(&["--scopes", "write"]);
    let started = s.stats().await["instancesStarted"].as_u64().unwrap_or(0);
    // The gate runs before the guest: no key, the wrong scope.
    assert_eq!(client().get(s.url("/proxy")).send().await.unwrap().status(), 401);
    let resp = client().get(s.url("/proxy")).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(s.stats().await["instancesStarted"].as_u64().unwrap_or(0), started, "a refused request ran the guest");
    // Admitted: the guest sees the request, the caller (through our auth) and its config.
    let resp = client().get(s.url("/proxy?q=1")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-ratelimit-remaining"));
    let got = json(resp).await;
    assert_eq!(got["world"], "wasi:http");
    assert_eq!(got["path"], "/proxy?q=1");
    assert_eq!((got["auth"]["kind"].as_str(), got["auth"]["tenant"].as_str()), (Some("api-key"), Some("default")));
    assert_eq!(got["greeting"], "hi from config");
    // Outgoing wasi:http requests: the allowed upstream, not a private or unlisted one.
    let fetch = |url: String| client().get(s.url(&format!("/proxy?fetch={url}"))).bearer_auth(&reader).send();
    let got = json(fetch(format!("http://{up}/hello")).await.unwrap()).await;
    assert_eq!(got, json!({"fetched": 200}));
    let resp = fetch("http://169.254.169.254/latest/meta-data".into()).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(json(resp).await["error"], "ErrorCode::HttpRequestDenied");
    // The rate limit (3 a minute) counted the three admitted calls, and refuses the fourth.
    let resp = client().get(s.url("/proxy")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    // Validation before the guest.
    let resp = client().post(s.url("/proxy/validated")).json(&json!({"nope": 1})).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(json(resp).await["code"], "VALIDATION_FAILED");
    let resp = client().post(s.url("/proxy/validated")).json(&json!({"name": "ada"})).send().await.unwrap();
    assert_eq!(json(resp).await["bodyBytes"], 14);
}

#[tokio::test]
async fn wasi_http_outgoing_requests_meet_the_allow_list() {
    let up = gatehouse_tests::mock_upstream();
    let s = Platform::new()
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .endpoint("GET /proxy", guests::WASI_HTTP_PROXY)
        .with("allowed_hosts", &format!("[\"http://{up}\"]"))
        .endpoint("GET /closed", guests::WASI_HTTP_PROXY)
        .start();
    let fetch = |route: &str, url: &str| client().get(s.url(&format!("{route}?fetch={url}"))).send();
    assert_eq!(json(fetch("/proxy", &format!("http://{up}/hello")).await.unwrap()).await, json!({"fetched": 200}));
    for refused in ["http://169.254.169.254/latest/meta-data", "http://127.0.0.2:9/x", "http://example.com/"] {
        let resp = fetch("/proxy", refused).await.unwrap();
        assert_eq!(resp.status(), 502, "{refused}");
        assert_eq!(json(resp).await["error"], "ErrorCode::HttpRequestDenied", "{refused}");
    }
    // Without allowed_hosts, nothing goes out.
    assert_eq!(
        json(fetch("/closed", &format!("http://{up}/hello")).await.unwrap()).await["error"],
        "ErrorCode::HttpRequestDenied"
    );
    // The refusal is logged in the request's span, though wasi:http sends from a task of its own.
    let log = s.log();
    let line = log.lines().find(|l| l.contains("outbound wasi:http request refused")).expect("the refusal is logged");
    assert!(line.contains("tenant=default") && line.contains("GET /proxy") && line.contains("request_id="), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_guests_return_their_pool_slots() {
    // Two slots only. Kill more busy guests than there are slots, one wave
    // after another: if a killed guest kept its slot, later waves would starve.
    let s = Platform::new()
        .section(
            "sandbox",
            // The pool is under test, not a tenant's share of it.
            &[("max_instances", "2"), ("max_instances_per_tenant", "2"), ("queue_timeout", "\"10s\"")],
        )
        .endpoint("GET /hello", &format!("{}/wasm32-wasip2/release/hello.wasm", guests::BUILD_DIR))
        .endpoint("GET /loop", guests::BUSY_LOOP)
        .with("limits", "{ cpu_ms = 100, wall_ms = 1000 }")
        .start();
    for _wave in 0..3 {
        let mut calls = Vec::new();
        for _ in 0..4 {
            let url = s.url("/loop");
            calls.push(tokio::spawn(async move { client().get(url).send().await.unwrap().status() }));
        }
        for c in calls {
            assert_eq!(c.await.unwrap(), 504);
        }
    }
    hello_is_healthy(&s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_pool_answers_overloaded_after_the_queue_timeout() {
    let s = Platform::new()
        .admin()
        .section("sandbox", &[("max_instances", "1"), ("queue_timeout", "\"100ms\"")])
        .endpoint("GET /sleep", guests::SLEEPS)
        .with("limits", "{ wall_ms = 3000 }")
        .start();
    let holder = tokio::spawn({
        let url = s.url("/sleep?ms=1500");
        async move { client().get(url).send().await.unwrap().status() }
    });
    s.until_instances_started(1).await;
    let started = Instant::now();
    let resp = client().get(s.url("/sleep?ms=1")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(1400), "waited {:?}", started.elapsed());
    assert_eq!(json(resp).await["code"], "OVERLOADED");
    assert_eq!(holder.await.unwrap(), 200);
    // The slot is free again.
    assert_eq!(client().get(s.url("/sleep?ms=1")).send().await.unwrap().status(), 200);
}

/// What the fetcher guest reports for `url`.
async fn fetch_through(s: &Server, url: &str, times: u32) -> serde_json::Value {
    let resp =
        client().get(s.url("/fetch")).query(&[("url", url), ("times", &times.to_string())]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    json(resp).await
}

fn fetch_server(allowed: &str, outbound: &[(&str, &str)]) -> Server {
    Platform::new()
        .section("outbound", outbound)
        .endpoint("GET /fetch", guests::FETCHER)
        .with("allowed_hosts", &format!("[{allowed}]"))
        .start()
}

#[tokio::test]
async fn fetcher() {
    let up = gatehouse_tests::mock_upstream();
    let port = up.port();
    let s = fetch_server(
        &format!("\"http://127.0.0.1:{port}\", \"http://localhost:{port}\""),
        &[
            ("allow_private", "[\"127.0.0.1/32\"]"),
            ("timeout", "\"1s\""),
            ("max_response_kb", "1024"),
            ("max_calls", "3"),
        ],
    );
    // Allowed: the loopback upstream, because the platform config allows 127.0.0.1/32.
    let got = fetch_through(&s, &format!("http://127.0.0.1:{port}/hello"), 1).await;
    assert_eq!(got["data"], json!({"status": 200, "body": "hello from upstream", "server": "mock"}));
    // A redirect to an allowed destination is followed.
    let to = format!("http://127.0.0.1:{port}/hello");
    let got = fetch_through(&s, &format!("http://127.0.0.1:{port}/redirect?to={to}"), 1).await;
    assert_eq!(got["data"]["body"], "hello from upstream");

    // Refused before any socket opens, each with a reason.
    let refused = [
        (format!("http://127.0.0.1:{}/hello", port + 1), "allowed_hosts"),
        (format!("http://[::1]:{port}/hello"), "loopback"),
        ("http://169.254.169.254/latest/meta-data/".to_string(), "link-local"),
        (format!("http://0.0.0.0:{port}/hello"), "unspecified"),
        // 127.0.0.2 in decimal: the allow-list names 127.0.0.1 only, and only 127.0.0.1/32 is opened.
        (format!("http://2130706434:{port}/hello"), "loopback"),
        (format!("http://0177.0.0.2:{port}/hello"), "loopback"),
        (format!("http://[::ffff:169.254.169.254]:{port}/"), "link-local"),
        (format!("http://127.0.0.1:{port}/redirect?to=http://169.254.169.254/"), "redirect refused"),
        (format!("http://127.0.0.1:{port}/redirect?to=http://127.0.0.2:{port}/hello"), "redirect refused"),
        ("file:///etc/passwd".to_string(), "not http"),
    ];
    for (url, why) in refused {
        let got = fetch_through(&s, &url, 1).await;
        let e = got["error"].as_str().unwrap_or_else(|| panic!("{url} was fetched: {got}"));
        assert!(e.contains("NotAllowed") || e.contains("InvalidUrl"), "{url}: {e}");
        assert!(e.contains(why), "{url}: expected {why:?} in {e}");
    }
    // Limits: calls per request, response size, time.
    let got = fetch_through(&s, &format!("http://127.0.0.1:{port}/hello"), 4).await;
    assert_eq!(got["error"], "HttpError::TooManyCalls(3)");
    let got = fetch_through(&s, &format!("http://127.0.0.1:{port}/big"), 1).await;
    assert_eq!(got["error"], "HttpError::ResponseTooLarge(1048576)");
    let started = Instant::now();
    let got = fetch_through(&s, &format!("http://127.0.0.1:{port}/slow"), 1).await;
    assert_eq!(got["error"], "HttpError::Timeout");
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[tokio::test]
async fn outbound_loopback_is_refused_unless_the_platform_allows_it() {
    let up = gatehouse_tests::mock_upstream();
    let port = up.port();
    // The endpoint lists loopback hosts, but the platform does not allow private ranges.
    let s = fetch_server(&format!("\"http://127.0.0.1:{port}\", \"http://localhost:{port}\""), &[]);
    // The same address in every spelling the URL parser accepts.
    for host in ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1"] {
        let got = fetch_through(&s, &format!("http://{host}:{port}/hello"), 1).await;
        assert!(got["error"].as_str().unwrap_or_default().contains("loopback"), "{host}: {got}");
    }
    // A name that resolves to loopback is refused after resolution.
    let got = fetch_through(&s, &format!("http://localhost:{port}/hello"), 1).await;
    let e = got["error"].as_str().unwrap();
    assert!(e.contains("localhost resolves only to a loopback address"), "{e}");
}

#[tokio::test]
async fn outbound_needs_allowed_hosts_and_refuses_allow_everything() {
    let s = Platform::new().endpoint("GET /fetch", guests::FETCHER).start();
    let got = fetch_through(&s, "https://example.com/", 1).await;
    assert!(got["error"].as_str().unwrap().contains("no allowed_hosts"), "{got}");
    let config = Platform::new().endpoint("GET /f", guests::FETCHER).with("allowed_hosts", "[\"*\"]").toml();
    let (status, _, stderr) = run_expecting_exit(&config);
    assert!(!status.success());
    assert!(
        stderr.contains("endpoint[0].allowed_hosts") && stderr.contains("allowing every host is refused"),
        "{stderr}"
    );
}

fn db_server() -> Server {
    Platform::new()
        .section(
            "database",
            &[
                ("migrations", &gatehouse_tests::repo_file("endpoints/migrations")),
                ("statement_timeout", "\"500ms\""),
                ("max_rows", "10000"),
                ("max_result_kb", "200"),
            ],
        )
        .endpoint("GET /db", guests::DB_PROBE)
        .start()
}

async fn probe(s: &Server, mode: &str) -> reqwest::Response {
    client().get(s.url("/db")).query(&[("mode", mode)]).send().await.unwrap()
}

async fn probe_json(s: &Server, mode: &str) -> serde_json::Value {
    let resp = probe(s, mode).await;
    assert_eq!(resp.status(), 200, "mode {mode}");
    json(resp).await["data"].clone()
}

#[tokio::test]
async fn db_probe() {
    let s = db_server();
    // Nothing outside the tenant's own file: attach (by parameter or literal), extensions, pragmas.
    let platform_db = s.data_dir().join("platform.db");
    let resp = client()
        .get(s.url("/db"))
        .query(&[("mode", "attach"), ("path", platform_db.to_str().unwrap())])
        .send()
        .await
        .unwrap();
    let got = json(resp).await["data"].clone();
    assert!(got["error"].as_str().unwrap().starts_with("DbError::Denied"), "{got}");
    for mode in ["attach-literal", "extension", "pragma"] {
        let got = probe_json(&s, mode).await;
        assert!(got["error"].as_str().unwrap_or_default().starts_with("DbError::Denied"), "{mode}: {got}");
    }
    // Reading its own schema is fine.
    assert_eq!(probe_json(&s, "table-info").await["ok"], "5");
    // Limits: the statement timeout interrupts a runaway query; a huge result is refused.
    let started = Instant::now();
    assert_eq!(probe_json(&s, "timeout").await["error"], "DbError::Timeout");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(probe_json(&s, "rows").await["error"].as_str().unwrap().contains("more than 10000 rows"));
    assert!(probe_json(&s, "big").await["error"].as_str().unwrap().contains("over 204800 bytes"));
    // A trapping guest's transaction is rolled back, and so is one it drops.
    assert!(probe_json(&s, "write").await["ok"].is_string());
    let resp = probe(&s, "trap").await;
    assert_eq!(resp.status(), 500);
    assert_eq!(json(resp).await["code"], "GUEST_TRAP");
    assert_eq!(probe_json(&s, "leave-open").await, json!("dropped"));
    assert_eq!(probe_json(&s, "count").await["count"], 1);
    // And the database is still writable afterwards (no lock left behind).
    assert!(probe_json(&s, "write").await["ok"].is_string());
    assert_eq!(probe_json(&s, "count").await["count"], 2);
}

/// A platform on the Postgres at `url` as `tenant`, with the examples' migrations.
fn on_postgres(url: &str, tenant: &str, database: &[(&str, &str)]) -> Platform {
    let migrations = gatehouse_tests::repo_file("endpoints/migrations");
    let mut keys = vec![("migrations", migrations.as_str()), ("statement_timeout", "\"500ms\"")];
    keys.extend_from_slice(database);
    gatehouse_tests::DbBackend::Postgres { url: url.into(), tenant: tenant.into() }
        .platform()
        .section("database", &keys)
}

fn pg_tenant_server(url: &str, tenant: &str) -> Server {
    on_postgres(url, tenant, &[]).endpoint("POST /sql", guests::SQL_RUNNER).start()
}

async fn run_sql(s: &Server, statements: &[(&str, bool)], tx: bool) -> Vec<serde_json::Value> {
    let body = json!({
        "statements": statements.iter().map(|(sql, query)| json!({"sql": sql, "query": query})).collect::<Vec<_>>(),
        "tx": tx,
    });
    let resp = client().post(s.url("/sql")).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    json(resp).await["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sql_runner() {
    // Two tenants on one Postgres: B tries every way across to A's data and beyond.
    let Some(url) = gatehouse_tests::database_url() else { return };
    let (ta, tb) = (gatehouse_tests::unique_tenant("isoa"), gatehouse_tests::unique_tenant("isob"));
    let _cleanup = [
        gatehouse_tests::TenantCleanup { url: url.clone(), tenant: ta.clone() },
        gatehouse_tests::TenantCleanup { url: url.clone(), tenant: tb.clone() },
    ];
    let (a, b) = (pg_tenant_server(&url, &ta), pg_tenant_server(&url, &tb));
    let got = run_sql(&a, &[("INSERT INTO posts (author_id, title) VALUES ('a', 'secret of A')", false)], false).await;
    assert_eq!(got[0]["ok"], "1", "{got:?}");
    let sa = format!("t_{ta}");
    let role_a = format!("gh_{ta}");
    let attacks = [
        (format!("SELECT * FROM {sa}.posts"), true),
        (format!("SET ROLE {role_a}"), false),
        ("SET SESSION AUTHORIZATION postgres".to_string(), false),
        ("SELECT pg_read_file('/etc/passwd')".to_string(), true),
        ("COPY (SELECT 1) TO PROGRAM 'id'".to_string(), false),
        ("CREATE EXTENSION IF NOT EXISTS dblink".to_string(), false),
        (format!("ALTER ROLE gh_{tb} SUPERUSER"), false),
        (format!("DROP SCHEMA {sa} CASCADE"), false),
        ("SELECT * FROM pg_authid".to_string(), true),
        ("CREATE TABLE public.planted (x int)".to_string(), false),
        (format!("GRANT USAGE ON SCHEMA {sa} TO gh_{tb}"), false),
    ];
    for (sql, query) in &attacks {
        let got = run_sql(&b, &[(sql, *query)], false).await;
        let e = got[0]["error"].as_str().unwrap_or_else(|| panic!("{sql} succeeded: {got:?}"));
        assert!(e.starts_with("DbError::Denied") || e.starts_with("DbError::Invalid"), "{sql}: {e}");
    }
    // Changing the search path or resetting the role inside one transaction does not help either.
    let got = run_sql(
        &b,
        &[
            (&format!("SET search_path TO {sa}"), false),
            ("SELECT * FROM posts", true),
            ("RESET ROLE", false),
            (&format!("SELECT * FROM {sa}.posts"), true),
        ],
        true,
    )
    .await;
    // Postgres skips schemas the role has no USAGE on: `posts` simply does not exist for B.
    let e = got[1]["error"].as_str().unwrap_or_default();
    assert!(e.starts_with("DbError::Denied") || e.contains("does not exist"), "{got:?}");
    assert!(got[3]["error"].as_str().unwrap_or_default().starts_with("DbError::Denied"), "{got:?}");
    // The statement timeout survives the guest turning it off.
    let started = Instant::now();
    let got = run_sql(&b, &[("SET statement_timeout = 0", false), ("SELECT pg_sleep(3)", true)], true).await;
    assert_eq!(got[1]["error"], "DbError::Timeout", "{got:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Outside a transaction too, where each statement is one round trip on a
    // pooled session: neither a session `SET` nor the role's own default
    // (which a role may set for itself) lifts it.
    let _ = run_sql(&b, &[("ALTER ROLE CURRENT_USER SET statement_timeout = 0", false)], false).await;
    let started = Instant::now();
    let got = run_sql(&b, &[("SET statement_timeout = 0", false), ("SELECT pg_sleep(3)", true)], false).await;
    assert_eq!(got[1]["error"], "DbError::Timeout", "{got:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A session setting a guest leaves does not outlive its statement's connection.
    let got = run_sql(&b, &[(&format!("SET search_path TO {sa}"), false), ("SHOW search_path", true)], false).await;
    assert!(!got[1]["ok"].as_str().unwrap_or_default().contains(&sa), "{got:?}");
    // B sees its own empty posts table; A's row is intact.
    let got = run_sql(&b, &[("SELECT COUNT(*) AS n FROM posts", true)], false).await;
    assert!(got[0]["ok"].as_str().unwrap_or_default().contains("\"n\": Number(0)"), "{got:?}");
    let got = run_sql(&a, &[("SELECT title FROM posts", true)], false).await;
    assert!(got[0]["ok"].as_str().unwrap_or_default().contains("secret of A"), "{got:?}");
    drop((a, b));
}

#[tokio::test]
async fn db_probe_on_postgres_rolls_back_and_limits() {
    let Some(url) = gatehouse_tests::database_url() else { return };
    let tenant = gatehouse_tests::unique_tenant("probe");
    let _cleanup = gatehouse_tests::TenantCleanup { url: url.clone(), tenant: tenant.clone() };
    let s = on_postgres(&url, &tenant, &[("max_result_kb", "200")]).endpoint("GET /db", guests::DB_PROBE).start();
    assert!(probe_json(&s, "write").await["ok"].is_string());
    let resp = probe(&s, "trap").await;
    assert_eq!(resp.status(), 500);
    assert_eq!(probe_json(&s, "leave-open").await, json!("dropped"));
    assert_eq!(probe_json(&s, "count").await["count"], 1, "a trapped or dropped transaction was not rolled back");
    let started = Instant::now();
    assert_eq!(probe_json(&s, "timeout").await["error"], "DbError::Timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    let got = probe_json(&s, "rows").await;
    assert!(got["error"].as_str().unwrap_or_default().contains("more than 10000 rows"), "{got}");
    let got = probe_json(&s, "big").await;
    assert!(got["error"].as_str().unwrap_or_default().contains("over 204800 bytes"), "{got}");
    assert!(probe_json(&s, "write").await["ok"].is_string());
    assert_eq!(probe_json(&s, "count").await["count"], 2);
}

/// The hostile guest's own test (its acts are the hostile-tenant suite's):
/// on an endpoint without authentication the gate consumes no credential, so
/// a guest with a scheme of its own still sees `Authorization`.
#[tokio::test]
async fn hostile() {
    let s = with_hello("GET /probe", guests::HOSTILE).start();
    let resp = client().get(s.url("/probe?do=headers")).header("authorization", "Basic dTpw").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["data"]["authorization"], "Basic dTpw");
    let resp = client().get(s.url("/probe?do=nothing")).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    hello_is_healthy(&s).await;
}

/// The blobs capability's test guest: a put is read back and served through
/// its signed URL, while the hello beside it stays healthy; the whole
/// contract, on disk and in a bucket and in three languages, is in `blobs.rs`.
#[tokio::test]
async fn blob_store() {
    let s = with_hello("POST /blobs", guests::BLOB_STORE).start();
    let call = |body: serde_json::Value| client().post(s.url("/blobs")).json(&body).send();
    let resp =
        call(json!({"op": "put", "key": "a/b.txt", "contentType": "text/plain", "base64": "aGk="})).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["data"]["info"]["size"], 2);
    let resp = call(json!({"op": "url", "key": "a/b.txt", "expiresIn": 60})).await.unwrap();
    let url = json(resp).await["data"]["url"].as_str().unwrap().to_string();
    let served = client().get(&url).send().await.unwrap();
    assert_eq!((served.status().as_u16(), served.headers()["content-type"].to_str().unwrap()), (200, "text/plain"));
    assert_eq!(served.text().await.unwrap(), "hi");
    hello_is_healthy(&s).await;
}

#[tokio::test]
async fn flaky() {
    // One endpoint per way of failing; each answers its version unless asked to fail.
    let mut platform = Platform::new().admin();
    for fails in ["500", "trap", "cpu", ""] {
        platform = platform
            .endpoint(&format!("GET /flaky/{}", if fails.is_empty() { "never" } else { fails }), guests::FLAKY)
            .with("limits", "{ cpu_ms = 50, wall_ms = 5000 }")
            .with("variables", &format!("{{ VERSION = \"7\", FAILS = {} }}", quote(fails)));
    }
    let s = platform.endpoint("GET /hello", &format!("{}/wasm32-wasip2/release/hello.wasm", guests::BUILD_DIR)).start();
    for (path, code) in [("500", "INTERNAL_ERROR"), ("trap", "GUEST_TRAP"), ("cpu", "GUEST_TIMEOUT"), ("never", "")] {
        let resp = client().get(s.url(&format!("/flaky/{path}"))).send().await.unwrap();
        assert_eq!((resp.status().as_u16(), json(resp).await["data"]["version"].clone()), (200, json!("7")));
        let resp = client().get(s.url(&format!("/flaky/{path}?fail"))).send().await.unwrap();
        let status = resp.status().as_u16();
        let body = json(resp).await;
        if code.is_empty() {
            assert_eq!((status, body["data"]["version"].as_str()), (200, Some("7")), "{body}");
        } else {
            assert!(status >= 500, "{path}: {status} {body}");
            assert_eq!(body["code"], code, "{path}: {body}");
        }
    }
    hello_is_healthy(&s).await;
}
