//! The hostile-tenant suite: a tenant holding nothing but its own deploy key,
//! or an anonymous client holding nothing at all, tries to reach the platform
//! or another tenant, or to take the node's capacity. Each test runs a real
//! server and checks that the attempt fails with a clear answer while the
//! platform stays correct and available for everyone else. `docs/security.md`
//! names the test behind each guarantee.

use std::time::{Duration, Instant};

use gatehouse_tests::config::quote;
use gatehouse_tests::{
    DbBackend, Platform, Server, TenantCleanup, app_bundle, client, guests, json, retagged, unique_tenant,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A tenant name for this test (and its Postgres role and schema, dropped at the end).
fn tenant(prefix: &str, backend: &DbBackend) -> (String, Option<TenantCleanup>) {
    let name = unique_tenant(prefix);
    let cleanup = match backend {
        DbBackend::Postgres { url, .. } => Some(TenantCleanup { url: url.clone(), tenant: name.clone() }),
        DbBackend::Sqlite => None,
    };
    (name, cleanup)
}

/// The SQL runner guest at `POST /api/sql`, with the app's migrations.
fn sql_app() -> String {
    "[database]\nmigrations = \"migrations\"\n\n[[endpoint]]\nroute = \"POST /api/sql\"\ncomponent = \"sql.wasm\"\n"
        .to_string()
}

fn sql_wasm() -> Vec<u8> {
    std::fs::read(guests::SQL_RUNNER).unwrap()
}

/// Runs one query through the tenant's SQL runner: its outcome (`ok` or `error`).
async fn query(s: &Server, tenant: &str, sql: &str) -> Value {
    run_each(s, tenant, &[sql]).await[0].clone()
}

/// Runs statements through a tenant's SQL runner (each on its own): their outcomes.
async fn run_each(s: &Server, tenant: &str, statements: &[&str]) -> Vec<Value> {
    let batch: Vec<Value> = statements.iter().map(|sql| json!({"sql": sql, "query": true})).collect();
    let resp = client()
        .post(s.url(&format!("/t/{tenant}/api/sql")))
        .json(&json!({ "statements": batch }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    json(resp).await["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn migrations_run_under_the_guests_guard_and_a_refused_one_changes_nothing() {
    for backend in DbBackend::all() {
        let s = backend
            .platform()
            .admin()
            .section("database", &[("migration_timeout", "\"2s\"")])
            .endpoint("GET /api/who", guests::ECHO)
            .start();
        let (name, _cleanup) = tenant("mig", &backend);
        s.create_tenant(&name, json!({})).await;
        let wasm = sql_wasm();
        let first: (&str, &[u8]) = ("migrations/001_notes.sql", b"CREATE TABLE notes (id INTEGER PRIMARY KEY);");
        let (status, body) = s.deploy(&name, app_bundle("data", &sql_app(), &[first, ("sql.wasm", &wasm)])).await;
        assert_eq!(status, 201, "{body}");

        let platform_db = s.data_dir().join("platform.db");
        let attacks: Vec<(&str, String, &str)> = match backend {
            DbBackend::Sqlite => vec![
                (
                    "002_escape.sql",
                    format!(
                        "COMMIT; ATTACH DATABASE '{}' AS p; CREATE TABLE stolen AS SELECT * FROM p.secrets;",
                        platform_db.display()
                    ),
                    "COMMIT",
                ),
                ("002_attach.sql", format!("ATTACH DATABASE '{}' AS p;", platform_db.display()), "not authorized"),
                ("002_vacuum.sql", "VACUUM INTO '/tmp/gatehouse-stolen.db';".into(), "002_vacuum.sql"),
                ("002_pragma.sql", "PRAGMA writable_schema = ON;".into(), "not authorized"),
                ("002_ext.sql", "SELECT load_extension('/tmp/x.so');".into(), "not authorized"),
                ("002_blob.sql", "CREATE TABLE big AS SELECT randomblob(900000000) AS b;".into(), "too big"),
                (
                    "002_spin.sql",
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;".into(),
                    "database.migration_timeout",
                ),
            ],
            DbBackend::Postgres { .. } => vec![
                ("002_escape.sql", "COMMIT; CREATE TABLE escaped (x int);".into(), "transaction"),
                (
                    "002_timeout.sql",
                    "SET statement_timeout = 0; SELECT pg_sleep(60);".into(),
                    "database.migration_timeout",
                ),
                ("002_role.sql", "SET ROLE postgres;".into(), "002_role.sql"),
            ],
        };
        for (file, sql, why) in &attacks {
            let path = format!("migrations/{file}");
            let files: Vec<(&str, &[u8])> = vec![first, (path.as_str(), sql.as_bytes()), ("sql.wasm", &wasm)];
            let (status, body) = s.deploy(&name, app_bundle("data", &sql_app(), &files)).await;
            assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{file}: {body}");
            let message = body["error"].as_str().unwrap();
            assert!(message.contains(file) && message.contains(why), "{file}: {message}");
        }
        // Nothing escaped, nothing was recorded, and version 1 still serves.
        let (_, versions) =
            s.admin_call(reqwest::Method::GET, &format!("/admin/v1/tenants/{name}/apps/data/versions"), None).await;
        assert_eq!(versions["data"].as_array().unwrap().len(), 1, "{versions}");
        let probe = match backend {
            DbBackend::Sqlite => "SELECT count(*) AS n FROM sqlite_master WHERE name IN ('stolen', 'big')",
            DbBackend::Postgres { .. } => "SELECT count(*)::int8 AS n FROM pg_tables WHERE tablename = 'escaped'",
        };
        let outcome = query(&s, &name, probe).await;
        assert!(outcome["ok"].as_str().unwrap_or_default().contains("\"n\": Number(0)"), "{outcome}");
        assert!(query(&s, &name, "SELECT count(*) AS n FROM notes").await["ok"].is_string());
        assert!(!std::path::Path::new("/tmp/gatehouse-stolen.db").exists());
        assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_spinning_migration_holds_nothing_another_tenant_needs() {
    for backend in DbBackend::all() {
        let s = backend
            .platform()
            .admin()
            .section("database", &[("migration_timeout", "\"4s\"")])
            .endpoint("GET /api/who", guests::ECHO)
            .start();
        let (spinner, _a) = tenant("spin", &backend);
        let (bystander, _b) = tenant("calm", &backend);
        s.create_tenant(&spinner, json!({})).await;
        let (idle_peer, _c) = tenant("idle", &backend);
        let started = Instant::now();
        s.create_tenant(&idle_peer, json!({})).await;
        let idle_ms = started.elapsed().as_millis();
        let spin: &[u8] = match backend {
            DbBackend::Sqlite => {
                b"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;"
            }
            DbBackend::Postgres { .. } => b"SELECT count(*) FROM generate_series(1, 1000000000000);",
        };
        let wasm = sql_wasm();
        let tar = app_bundle("data", &sql_app(), &[("migrations/001_spin.sql", spin), ("sql.wasm", &wasm)]);
        let deploy = {
            let admin = s.admin.clone().unwrap();
            let spinner = spinner.clone();
            tokio::spawn(async move {
                let resp = client()
                    .post(format!("{admin}/admin/v1/tenants/{spinner}/apps"))
                    .bearer_auth(gatehouse_tests::ADMIN_TOKEN)
                    .header("content-type", "application/x-tar")
                    .body(tar)
                    .send()
                    .await
                    .unwrap();
                (resp.status().as_u16(), json(resp).await, Instant::now())
            })
        };
        assert!(s.until_log(&["applying database migration", "001_spin.sql"], Duration::from_secs(60)).await);
        // While it spins: another tenant is created, changed and served, and
        // the config tenant's endpoint answers; all before the spinner's deploy ends.
        let started = Instant::now();
        s.create_tenant(&bystander, json!({})).await;
        let created_ms = started.elapsed().as_millis();
        let (status, body) = s
            .admin_call(
                reqwest::Method::PUT,
                &format!("/admin/v1/tenants/{bystander}"),
                Some(json!({"quotas": {"maxComponents": 3}})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        // A key made and revoked meanwhile: revocation takes no tenant's lock either.
        let (status, key) = s
            .admin_call(reqwest::Method::POST, "/admin/v1/keys", Some(json!({"tenant": bystander, "scopes": ["read"]})))
            .await;
        assert_eq!(status, 201, "{key}");
        let id = key["data"]["id"].as_str().unwrap().to_string();
        let (status, body) = s.admin_call(reqwest::Method::DELETE, &format!("/admin/v1/keys/{id}"), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
        let answered = Instant::now();
        let (status, body, deploy_ended) = deploy.await.unwrap();
        assert!(answered < deploy_ended, "the other tenant waited for the spinning migration");
        assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
        assert!(body["error"].as_str().unwrap().contains("database.migration_timeout"), "{body}");
        println!(
            "{}: an unrelated tenant's create took {created_ms} ms while a migration spun ({idle_ms} ms on an idle node)",
            if matches!(backend, DbBackend::Sqlite) { "SQLite" } else { "Postgres" }
        );
        backend.cleanup().await;
    }
}

/// A config tenant with the echo guest, and room for `flood` to take its share.
fn shared_node() -> Platform {
    Platform::new()
        .admin()
        .section(
            "sandbox",
            &[("max_instances", "4"), ("max_instances_per_tenant", "2"), ("queue_timeout", "\"300ms\"")],
        )
        .endpoint("GET /api/who", guests::ECHO)
}

#[tokio::test]
async fn a_tenant_flooding_the_node_keeps_to_its_share_and_everyone_else_is_served() {
    let s = shared_node().start();
    s.create_tenant("flood", json!({})).await;
    let sleeps = std::fs::read(guests::SLEEPS).unwrap();
    let app = "[[endpoint]]\nroute = \"GET /slow\"\ncomponent = \"sleeps.wasm\"\nlimits = { wall_ms = 20000 }\n";
    assert_eq!(s.deploy("flood", app_bundle("slow", app, &[("sleeps.wasm", &sleeps)])).await.0, 201);

    // Ten times its share of slow requests.
    let flood: Vec<_> = (0..20)
        .map(|_| {
            let url = s.url("/t/flood/slow?ms=3000");
            tokio::spawn(async move {
                let resp = client().get(url).send().await.unwrap();
                let status = resp.status().as_u16();
                (status, json(resp).await["code"].as_str().map(str::to_string))
            })
        })
        .collect();
    // Once its share is running, every request of the other tenant succeeds.
    assert!(s.until_log(&["tenant at its share of 2 instances at once"], Duration::from_secs(30)).await);
    for _ in 0..20 {
        let resp = client().get(s.url("/api/who")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
    let mut outcomes = Vec::new();
    for f in flood {
        outcomes.push(f.await.unwrap());
    }
    let served = outcomes.iter().filter(|(s, _)| *s == 200).count();
    let refused = outcomes.iter().filter(|(s, c)| *s == 503 && c.as_deref() == Some("TENANT_OVERLOADED")).count();
    assert_eq!(served + refused, 20, "{outcomes:?}");
    assert!((2..=4).contains(&served), "only the share's worth is served: {outcomes:?}");
    assert!(s.log().contains("limit=\"max_concurrent\""), "one log line names the limit");
}

#[tokio::test]
async fn a_deploy_asking_more_than_the_tenants_ceilings_is_refused() {
    let s = shared_node().start();
    s.create_tenant("capped", json!({"quotas": {"cpuMs": 100, "wallMs": 5000, "maxConcurrent": 1}})).await;
    let echo = std::fs::read(guests::ECHO).unwrap();
    for (limits, key) in [("cpu_ms = 200", "quotas.cpuMs"), ("wall_ms = 60000", "quotas.wallMs")] {
        let app = format!("[[endpoint]]\nroute = \"GET /x\"\ncomponent = \"echo.wasm\"\nlimits = {{ {limits} }}\n");
        let (status, body) = s.deploy("capped", app_bundle("greedy", &app, &[("echo.wasm", &echo)])).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
        assert!(body["error"].as_str().unwrap().contains(key), "{body}");
    }
    let (status, body) = s
        .admin_call(
            reqwest::Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "huge", "settings": {"quotas": {"maxConcurrent": 5}}})),
        )
        .await;
    assert_eq!(status, 400, "a share larger than the pool is refused: {body}");
}

/// A Stripe-signed webhook on the echo guest.
fn webhook_node() -> Platform {
    Platform::new()
        .admin()
        .section("secrets", &[("WH", "\"whsec_test\"")])
        .endpoint("POST /hook", guests::ECHO)
        .with("limits", "{ body_kb = 2048 }")
        .with("signature", "{ scheme = \"stripe\", secret = \"WH\" }")
}

#[tokio::test]
async fn anonymous_signature_work_is_bounded() {
    let s = webhook_node().start();
    let body = vec![b'x'; 1 << 20];
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let good = gatehouse::gate::signature::stripe_header("whsec_test", now, &body);
    let send = |header: String| {
        let (url, body) = (s.url("/hook"), body.clone());
        async move {
            let resp = client().post(url).header("stripe-signature", header).body(body).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, json(resp).await)
        }
    };
    // Many candidates: refused before any HMAC, however large the body.
    let (status, body_json) = send(format!("{good}{}", ",v1=00".repeat(40_000 / 6))).await;
    assert_eq!((status, body_json["code"].as_str()), (401, Some("INVALID_SIGNATURE")));
    assert!(body_json["error"].as_str().unwrap().contains("bytes"), "{body_json}");
    let (status, body_json) = send(format!("{good}{}", ",v1=00".repeat(5))).await;
    assert_eq!(status, 401);
    assert!(body_json["error"].as_str().unwrap().contains("at most 5"), "{body_json}");
    // The genuine signature with a rotated spare still passes.
    let (status, body_json) = send(format!("{good},v1=deadbeef")).await;
    assert_eq!(status, 200, "{body_json}");
    let stats = s.stats().await;
    assert_eq!(stats["instancesStarted"], 1, "refused webhooks started no instance: {stats}");
}

#[tokio::test]
async fn anonymous_schema_work_is_one_pass_and_its_answer_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("tasks.schema.json");
    std::fs::write(
        &schema,
        r#"{"type":"array","items":{"type":"object","required":["title"],"additionalProperties":false,
            "properties":{"title":{"type":"string","maxLength":20},"done":{"type":"boolean","default":false}}}}"#,
    )
    .unwrap();
    let s = Platform::new()
        .admin()
        .endpoint("POST /tasks", guests::ECHO)
        .with("limits", "{ body_kb = 2048 }")
        .with("schema", &quote(&schema.display().to_string()))
        .start();
    let send = |body: String| {
        let url = s.url("/tasks");
        async move {
            let resp = client().post(url).header("content-type", "application/json").body(body).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap())
        }
    };
    // A MiB in which every item fails with a value as long as it can be: the
    // answer reports the first 20, each value abbreviated, not the MiB.
    let item = format!(r#"{{"title":"{}"}}"#, "t".repeat(1000));
    let (status, text) = send(format!("[{}]", vec![item; 1000].join(","))).await;
    assert_eq!(status, 400, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["code"], "VALIDATION_FAILED");
    assert_eq!(answer["details"].as_object().unwrap().len(), 20, "{answer}");
    assert!(text.len() < 8 << 10, "the refusal is {} bytes", text.len());
    // Nesting the schema does not reach is skipped without recursion: refused, not a crash.
    let deep = format!(r#"[{{"title":{}0{}}}]"#, "[".repeat(500_000), "]".repeat(500_000));
    let (status, text) = send(deep).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains(r#"is not of type \"string\""#), "{text}");
    // A valid body missing a default in every item reaches the guest with each filled in.
    let titles: Vec<String> = (0..2000).map(|i| format!(r#"{{"title":"task {i}"}}"#)).collect();
    let body = format!("[{}]", titles.join(","));
    let (status, text) = send(body.clone()).await;
    assert_eq!(status, 200, "{text}");
    let filled = body.len() + 2000 * r#","done":false"#.len();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["data"]["bodyBytes"], filled);
}

#[tokio::test]
async fn guest_sql_cannot_make_the_host_allocate_past_its_limit() {
    for backend in DbBackend::all() {
        let s = backend
            .platform()
            .admin()
            .section("database", &[("max_result_kb", "1024")])
            .endpoint("POST /api/sql", guests::SQL_RUNNER)
            .with("limits", "{ memory_mb = 64 }")
            .start();
        let statements: Vec<&str> = match backend {
            DbBackend::Sqlite => vec![
                "SELECT randomblob(900000000) AS b",
                "SELECT length(zeroblob(900000000)) AS n",
                "SELECT length(hex(zeroblob(500000000))) AS n",
            ],
            // Postgres builds these itself (its memory, not ours); each row, or
            // the error message, is refused before the host reads it.
            DbBackend::Postgres { .. } => vec![
                "SELECT repeat('x', 64000000) AS v",
                "SELECT decode(repeat('ab', 32000000), 'hex') AS b",
                "DO $$ BEGIN RAISE EXCEPTION '%', repeat('x', 64000000); END $$",
            ],
        };
        let name = if matches!(backend, DbBackend::Sqlite) { "SQLite" } else { "Postgres" };
        huge_values_are_refused_within_a_memory_bound(&s, name, &statements).await;
        backend.cleanup().await;
    }
}

/// Four clients at once run `statements` through `/api/sql` (each must be
/// refused `TooLarge`); the server's resident memory stays within 256 MiB of
/// where it was, and the database still answers.
async fn huge_values_are_refused_within_a_memory_bound(s: &Server, name: &str, statements: &[&str]) {
    let before = s.resident_bytes();
    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let url = s.url("/api/sql");
            let batch: Vec<Value> = statements.iter().map(|sql| json!({"sql": sql, "query": true})).collect();
            tokio::spawn(async move {
                json(client().post(url).json(&json!({ "statements": batch })).send().await.unwrap()).await
            })
        })
        .collect();
    for a in attempts {
        let out = a.await.unwrap();
        for statement in out["data"].as_array().unwrap() {
            let e = statement["error"].as_str().unwrap_or("");
            assert!(e.contains("TooLarge"), "{}", &format!("{out}")[..out.to_string().len().min(2000)]);
        }
    }
    let after = s.resident_bytes();
    println!(
        "{name}: resident memory {} MiB before, {} MiB after four rounds of huge values",
        before >> 20,
        after >> 20
    );
    assert!(after < before + (256 << 20), "resident memory grew from {before} to {after} bytes");
    // The tenant's database still answers.
    let resp = client()
        .post(s.url("/api/sql"))
        .json(&json!({"statements": [{"sql": "SELECT 1 AS one", "query": true}]}))
        .send()
        .await
        .unwrap();
    assert!(json(resp).await["data"][0]["ok"].is_string());
}

/// `url` with these query parameters added.
fn with_params(url: &str, params: &str) -> String {
    format!("{url}{}{params}", if url.contains('?') { '&' } else { '?' })
}

#[tokio::test]
async fn on_postgres_over_tls_huge_values_are_still_refused_before_they_are_read() {
    let Some(url) = gatehouse_tests::database_url() else { return };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let (ssl, cert): (String, String) =
        sqlx::query_as("SELECT current_setting('ssl'), current_setting('ssl_cert_file')")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    if ssl != "on" {
        assert!(std::env::var("CI").is_err(), "the test Postgres must offer TLS on CI (ssl = on)");
        println!("skipping: the Postgres at {url} does not offer TLS");
        return;
    }
    let sql_node = |backend: &DbBackend| {
        backend
            .platform()
            .admin()
            .section("database", &[("max_result_kb", "1024")])
            .endpoint("POST /api/sql", guests::SQL_RUNNER)
            .with("limits", "{ memory_mb = 64 }")
            .toml()
    };
    let mut urls = vec![with_params(&url, "sslmode=require")];
    // Checked against the server's own certificate, which Debian makes for `localhost`.
    let on_loopback = url.contains("@127.0.0.1:") || url.contains("@localhost:");
    if on_loopback && cert.starts_with('/') {
        let localhost = url.replace("@127.0.0.1:", "@localhost:");
        urls.push(with_params(&localhost, &format!("sslmode=verify-full&sslrootcert={cert}")));
        // The same certificate does not name 127.0.0.1: verify-full refuses it, and says why.
        let wrong =
            with_params(&url.replace("@localhost:", "@127.0.0.1:"), &format!("sslmode=verify-full&sslrootcert={cert}"));
        let backend = DbBackend::Postgres { url: wrong, tenant: unique_tenant("tlsno") };
        let (status, stdout, stderr) = gatehouse_tests::run_expecting_exit(&sql_node(&backend));
        assert!(!status.success(), "{stdout}{stderr}");
        assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    }
    for tls_url in urls {
        let backend = DbBackend::Postgres { url: tls_url.clone(), tenant: unique_tenant("tls") };
        let s = Server::start(&sql_node(&backend));
        // The tenant's own connections (through the relay) are encrypted.
        let resp = client()
            .post(s.url("/api/sql"))
            .json(&json!({"statements": [{"sql": "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", "query": true}]}))
            .send()
            .await
            .unwrap();
        let got = json(resp).await["data"][0].clone();
        assert!(got["ok"].as_str().unwrap_or_default().contains("Bool(true)"), "{tls_url}: {got}");
        huge_values_are_refused_within_a_memory_bound(
            &s,
            "Postgres over TLS",
            &["SELECT repeat('x', 64000000) AS v", "DO $$ BEGIN RAISE EXCEPTION '%', repeat('x', 64000000); END $$"],
        )
        .await;
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn stalled_connections_are_closed_and_normal_requests_served_throughout() {
    let s = Platform::new()
        .admin()
        .section(
            "server",
            &[
                ("header_read_timeout", "\"1s\""),
                ("idle_timeout", "\"2s\""),
                ("body_read_timeout", "\"1s\""),
                ("max_connections", "300"),
            ],
        )
        .endpoint("POST /api/who", guests::ECHO)
        .endpoint("GET /api/who", guests::ECHO)
        .start();
    let addr = s.base.trim_start_matches("http://").to_string();
    // Half a request head each, then nothing.
    let mut stalled = Vec::new();
    for _ in 0..250 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /api/who HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        stalled.push(c);
    }
    // Served throughout.
    for _ in 0..10 {
        assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
    }
    // Every stalled connection is closed by the server (read sees the end or a reset).
    for c in &mut stalled {
        let mut buf = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(30), c.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(_)) | Ok(Err(_))), "a stalled connection was kept open");
    }
    // An idle kept-alive connection is closed too.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /api/who HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(30), idle.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the idle connection stayed open");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    // A body that trickles is cut at its deadline with 408.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /api/who HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408") && answer.contains("REQUEST_TIMEOUT"), "{answer}");
    assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
    let stats = s.stats().await;
    assert!(stats["openConnections"].as_u64().unwrap() < 5, "{stats}");
}

#[tokio::test]
async fn past_the_connection_cap_new_clients_wait_and_are_then_served() {
    let s = Platform::new()
        .admin()
        .section("server", &[("header_read_timeout", "\"1s\""), ("max_connections", "20")])
        .endpoint("GET /api/who", guests::ECHO)
        .start();
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stalled = Vec::new();
    for _ in 0..40 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let _ = c.write_all(b"GET /api/who HTTP/1.1\r\n").await;
        stalled.push(c);
    }
    // The cap holds the platform's side to 20; the rest wait in the backlog
    // and are timed out in turn; a real client is served after them.
    let resp = client().get(s.url("/api/who")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let stats = s.stats().await;
    assert!(stats["openConnections"].as_u64().unwrap() <= 20, "{stats}");
}

/// The hostile guest at `GET /probe` of app `probe`, with `extra` policy lines.
fn probe_app(extra: &str) -> String {
    format!("[[endpoint]]\nroute = \"GET /probe\"\ncomponent = \"hostile.wasm\"\n{extra}\n")
}

#[tokio::test]
async fn guests_never_see_the_callers_credentials_and_cookies_stay_home() {
    let s = Platform::new().admin().endpoint("GET /api/who", guests::ECHO).start();
    s.create_tenant("acme", json!({})).await;
    let hostile = std::fs::read(guests::HOSTILE).unwrap();
    let manifest = format!(
        "{}\n{}",
        probe_app("auth = \"required\""),
        "[[endpoint]]\nroute = \"GET /forwarded\"\ncomponent = \"hostile.wasm\"\nauth = \"required\"\nforward_credentials = true\n"
    );
    assert_eq!(s.deploy("acme", app_bundle("probe", &manifest, &[("hostile.wasm", &hostile)])).await.0, 201);
    let key = s.create_key(&["--tenant", "acme"]);
    let seen = |path: &'static str, header: &'static str| {
        let (url, key) = (s.url(&format!("/t/acme{path}?do=headers")), key.clone());
        async move {
            let value = if header == "authorization" { format!("Bearer {key}") } else { key };
            let resp = client().get(url).header(header, value).header("cookie", "theme=dark").send().await.unwrap();
            assert_eq!(resp.status(), 200);
            json(resp).await["data"].clone()
        }
    };
    for header in ["authorization", "x-api-key"] {
        let got = seen("/probe", header).await;
        assert_eq!((got["authorization"].clone(), got["apiKey"].clone()), (Value::Null, Value::Null), "{got}");
        assert_eq!(got["cookie"], "theme=dark", "other cookies stay");
    }
    let got = seen("/forwarded", "authorization").await;
    assert_eq!(got["authorization"], format!("Bearer {key}"), "an endpoint may ask for them");

    // Path-prefix routing shares one origin: cookies stay under the tenant's path, with no Domain.
    let resp = client()
        .get(s.url("/t/acme/probe?do=cookie&c=a%3D1%3B%20Path%3D%2F&c=b%3D2%3B%20Domain%3Dexample.com"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> =
        resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert_eq!(cookies, ["a=1; Path=/t/acme"]);
}

#[tokio::test]
async fn guest_output_cannot_forge_log_lines_and_a_stack_overflow_has_its_own_code() {
    let s = Platform::new().endpoint("GET /probe", guests::HOSTILE).endpoint("GET /api/who", guests::ECHO).start();
    let resp = client().get(s.url("/probe?do=forge-log")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(s.until_log(&["ok\\n2026-01-01"], Duration::from_secs(10)).await, "{}", s.log());
    assert!(
        !s.log().lines().any(|l| l.starts_with("2026-01-01T00:00:00.000000Z  INFO gatehouse::access: FORGED")),
        "a guest forged a log line"
    );
    assert!(!s.log().contains('\u{1b}'), "a terminal escape reached the log");
    let resp = client().get(s.url("/probe?do=overflow")).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(json(resp).await["code"], "GUEST_STACK_OVERFLOW");
    assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_wasi_http_guest_sees_the_query_as_sent_and_meets_the_response_limit() {
    let s = // CPU to spare: the response limit, not the CPU budget, must stop the 17 MiB answer
    // (epoch ticks count while a loaded machine deschedules the guest).
    Platform::new()
        .endpoint("GET /proxy", guests::WASI_HTTP_PROXY)
        .with("limits", "{ cpu_ms = 10000 }").endpoint("GET /api/who", guests::ECHO)
        .start();
    let query = "url=http://example.com/a?b=1&c=%41%2F";
    let resp = client().get(s.url(&format!("/proxy?{query}"))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["path"], format!("/proxy?{query}"));
    let resp = client().get(s.url("/proxy?big=17")).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    let body = json(resp).await;
    assert_eq!(body["code"], "RESPONSE_TOO_LARGE", "{body}");
    assert_eq!(body["details"]["limit"], "response_bytes");
    assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn postgres_session_state_ends_with_the_request_and_the_platform_channel_is_out_of_reach() {
    let Some(url) = gatehouse_tests::database_url() else { return };
    let backend = DbBackend::Postgres { url: url.clone(), tenant: unique_tenant("pgs") };
    let s = backend.platform().admin().endpoint("GET /api/who", guests::ECHO).start();
    let (a, _ca) = tenant("pga", &backend);
    let (b, _cb) = tenant("pgb", &backend);
    let wasm = sql_wasm();
    for t in [&a, &b] {
        s.create_tenant(t, json!({})).await;
        let files: Vec<(&str, &[u8])> = vec![("migrations/001.sql", b"SELECT 1;"), ("sql.wasm", &wasm)];
        assert_eq!(s.deploy(t, app_bundle("data", &sql_app(), &files)).await.0, 201);
    }
    // A leaves a session lock, a LISTEN, a temporary table and a prepared statement behind.
    let left = run_each(
        &s,
        &a,
        &[
            "SELECT pg_advisory_lock(424242)",
            "LISTEN gatehouse_evil",
            "CREATE TEMP TABLE leftover (x int)",
            "PREPARE kept AS SELECT 1",
        ],
    )
    .await;
    assert!(left.iter().all(|o| o["error"].is_null()), "{left:?}");
    // None of it is there for A's next requests, whichever connection they get.
    for _ in 0..12 {
        let seen = run_each(
            &s,
            &a,
            &[
                "SELECT count(*)::int8 AS n FROM pg_listening_channels()",
                "SELECT count(*)::int8 AS n FROM pg_prepared_statements WHERE from_sql",
                // Its own session's temporary tables: pg_class is global, and the
                // connection A used may still be resetting, off the request path.
                "SELECT count(*)::int8 AS n FROM (SELECT to_regclass('pg_temp.leftover') AS r) t WHERE r IS NOT NULL",
            ],
        )
        .await;
        for o in &seen {
            assert!(o["ok"].as_str().unwrap_or_default().contains("\"n\": Number(0)"), "{seen:?}");
        }
    }
    // B can take the lock A took: A's session lock ended with A's request.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = run_each(&s, &b, &["SELECT pg_try_advisory_lock(424242) AS got"]).await;
        if got[0]["ok"].as_str().unwrap_or_default().contains("Bool(true)") {
            break;
        }
        assert!(Instant::now() < deadline, "A's advisory lock outlived its request: {got:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The platform's tables (and the events channel's name in them) are out of reach.
    let schema = gatehouse_tests::store_schema(match &backend {
        DbBackend::Postgres { tenant, .. } => tenant,
        DbBackend::Sqlite => unreachable!(),
    });
    let got = run_each(&s, &a, &[&format!("SELECT value FROM {schema}.platform_settings")]).await;
    assert!(got[0]["error"].as_str().unwrap_or_default().starts_with("DbError::Denied"), "{got:?}");
    backend.cleanup().await;
}

/// How many entries a folder has (none if it does not exist).
fn entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// A count from the server's SQLite platform store, read-only.
async fn store_count(s: &Server, sql: &str, bind: &str) -> i64 {
    let url = format!("sqlite://{}?mode=ro", s.data_dir().join("platform.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sql).bind(bind).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn refused_uploads_and_pruned_versions_leave_nothing_behind() {
    let s = Platform::new()
        .admin()
        .section("deploy", &[("keep_versions", "1")])
        .endpoint("GET /api/who", guests::ECHO)
        .start();
    s.create_tenant("keeper", json!({})).await;
    let bundles = s.data_dir().join("bundles");
    let app = "[[endpoint]]\nroute = \"GET /e\"\ncomponent = \"e.wasm\"\n";
    // This test's own components (their hashes, cache entries and blobs are nobody else's).
    let tag = unique_tenant("prune");
    let v1 = retagged(std::fs::read(guests::ECHO).unwrap(), &format!("{tag} v1"));
    let v2 = retagged(std::fs::read(guests::ECHO).unwrap(), &format!("{tag} v2"));
    let hash_of = |wasm: &[u8]| {
        let mut b = gatehouse::registry::Bundle::default();
        b.files.insert("e.wasm".into(), wasm.to_vec());
        b.file_hashes()["e.wasm"].clone()
    };
    let (h1, h2) = (hash_of(&v1), hash_of(&v2));

    // Refused: nothing unpacked stays.
    let broken = "[[endpoint]]\nroute = \"GET /e\"\ncomponent = \"missing.wasm\"\n";
    let (status, _) = s.deploy("keeper", app_bundle("shop", broken, &[("e.wasm", &v1)])).await;
    assert_eq!(status, 422);
    assert_eq!(entries(&bundles), 0, "a refused bundle left files");

    assert_eq!(s.deploy("keeper", app_bundle("shop", app, &[("e.wasm", &v1)])).await.0, 201);
    assert_eq!(entries(&bundles), 1);
    assert_eq!(store_count(&s, "SELECT count(*) FROM blobs WHERE hash = ?", &h1).await, 1);
    let (status, body) = s.deploy("keeper", app_bundle("shop", app, &[("e.wasm", &v2)])).await;
    assert_eq!(status, 201, "{body}");
    // Version 1 was pruned: its folder, its file and its compiled artifacts are gone.
    assert_eq!(entries(&bundles), 1, "the pruned version's folder stayed");
    assert_eq!(store_count(&s, "SELECT count(*) FROM blobs WHERE hash = ?", &h1).await, 0);
    assert_eq!(store_count(&s, "SELECT count(*) FROM artifacts WHERE key LIKE ? || '-%'", &h1).await, 0);
    assert_eq!(store_count(&s, "SELECT count(*) FROM blobs WHERE hash = ?", &h2).await, 1);
    let cache = std::path::Path::new(guests::BUILD_DIR).join("cwasm-cache");
    let cached =
        |h: &str| std::fs::read_dir(&cache).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with(h));
    assert!(!cached(&h1) && cached(&h2), "the pruned component's artifact is still cached");
    let resp = client().get(s.url("/t/keeper/e")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_tenant_at_its_storage_quota_is_refused_clearly() {
    let s = Platform::new().admin().endpoint("GET /api/who", guests::ECHO).start();
    s.create_tenant("small", json!({"quotas": {"storageMb": 1}})).await;
    let wasm = sql_wasm();
    // A bundle over the quota.
    let big = vec![b'x'; 2 << 20];
    let files: Vec<(&str, &[u8])> = vec![("sql.wasm", &wasm), ("data.bin", &big)];
    let manifest = "[[endpoint]]\nroute = \"POST /api/sql\"\ncomponent = \"sql.wasm\"\n";
    let (status, body) = s.deploy("small", app_bundle("data", manifest, &files)).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("quotas.storageMb"), "{body}");
    // A database that grows to it.
    let table: (&str, &[u8]) = ("migrations/001.sql", b"CREATE TABLE b (x BLOB);");
    let (status, body) = s.deploy("small", app_bundle("data", &sql_app(), &[table, ("sql.wasm", &wasm)])).await;
    assert_eq!(status, 201, "{body}");
    let inserts: Vec<&str> = (0..12).map(|_| "INSERT INTO b VALUES (randomblob(100000)) RETURNING 1 AS one").collect();
    let outcomes = run_each(&s, "small", &inserts).await;
    let refused = outcomes.iter().filter(|o| o["error"].as_str().unwrap_or_default().contains("storage quota")).count();
    assert!(refused > 0, "the database grew past its quota: {outcomes:?}");
    // Everyone else is untouched.
    assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_deleted_tenant_leaves_nothing_for_a_new_tenant_of_its_name() {
    for backend in DbBackend::all() {
        let s = backend.platform().admin().endpoint("GET /api/who", guests::ECHO).start();
        let (name, _cleanup) = tenant("gone", &backend);
        let wasm = sql_wasm();
        let table: (&str, &[u8]) = ("migrations/001.sql", b"CREATE TABLE notes (body TEXT);");
        let files: Vec<(&str, &[u8])> = vec![table, ("sql.wasm", &wasm)];
        s.create_tenant(&name, json!({})).await;
        assert_eq!(s.deploy(&name, app_bundle("data", &sql_app(), &files)).await.0, 201);
        let wrote = run_each(&s, &name, &["INSERT INTO notes VALUES ('left behind') RETURNING body"]).await;
        assert!(wrote[0]["error"].is_null(), "{wrote:?}");
        let (status, _) = s.admin_call(reqwest::Method::DELETE, &format!("/admin/v1/tenants/{name}"), None).await;
        assert_eq!(status, 200);
        s.create_tenant(&name, json!({})).await;
        assert_eq!(s.deploy(&name, app_bundle("data", &sql_app(), &files)).await.0, 201);
        let seen = run_each(&s, &name, &["SELECT count(*) AS n FROM notes"]).await;
        assert!(seen[0]["ok"].as_str().unwrap_or_default().contains("\"n\": Number(0)"), "{seen:?}");
        if let DbBackend::Postgres { url, .. } = &backend {
            // The archive is the platform's: the new tenant's role cannot read it.
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let (archived,): (String,) = sqlx::query_as(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'archived_t_' || $1 || '_%' LIMIT 1",
            )
            .bind(&name)
            .fetch_one(&pool)
            .await
            .unwrap();
            let got = run_each(&s, &name, &[&format!("SELECT count(*) AS n FROM {archived}.notes")]).await;
            assert!(got[0]["error"].as_str().unwrap_or_default().starts_with("DbError::Denied"), "{got:?}");
            let _ = sqlx::raw_sql(&format!("DROP SCHEMA {archived} CASCADE")).execute(&pool).await;
        } else {
            assert_eq!(entries(&s.data_dir().join("archive")), 1, "the old database is archived");
        }
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn tenant_names_that_would_share_a_role_are_refused() {
    let s = Platform::new().admin().endpoint("GET /api/who", guests::ECHO).start();
    s.create_tenant("a-b", json!({})).await;
    let (status, body) = s.admin_call(reqwest::Method::POST, "/admin/v1/tenants", Some(json!({"name": "a_b"}))).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn on_postgres_a_database_per_tenant_hides_the_other_tenants_catalogs() {
    let Some(url) = gatehouse_tests::database_url() else { return };
    for isolation in ["schema", "database"] {
        let backend = DbBackend::Postgres { url: url.clone(), tenant: unique_tenant("iso") };
        let s = backend
            .platform()
            .admin()
            .section("database", &[("isolation", &quote(isolation))])
            .endpoint("GET /api/who", guests::ECHO)
            .start();
        let (a, _ca) = tenant("isoa", &backend);
        let (b, _cb) = tenant("isob", &backend);
        let wasm = sql_wasm();
        let secret = format!("plans_{}", a.replace('-', "_"));
        let a_schema = format!(
            "CREATE TABLE {secret} (x int); CREATE VIEW {secret}_v AS SELECT 'confidential-view' AS c; \
             CREATE FUNCTION {secret}_f() RETURNS text LANGUAGE sql AS $$ SELECT 'confidential-body' $$;"
        );
        let started = Instant::now();
        s.create_tenant(&a, json!({})).await;
        let create_ms = started.elapsed().as_millis();
        s.create_tenant(&b, json!({})).await;
        let files_a: Vec<(&str, &[u8])> = vec![("migrations/001.sql", a_schema.as_bytes()), ("sql.wasm", &wasm)];
        assert_eq!(s.deploy(&a, app_bundle("data", &sql_app(), &files_a)).await.0, 201);
        let files_b: Vec<(&str, &[u8])> = vec![("migrations/001.sql", b"SELECT 1;"), ("sql.wasm", &wasm)];
        assert_eq!(s.deploy(&b, app_bundle("data", &sql_app(), &files_b)).await.0, 201);
        let probes = [
            format!("SELECT count(*)::int8 AS n FROM pg_class WHERE relname = '{secret}'"),
            "SELECT count(*)::int8 AS n FROM pg_views WHERE definition LIKE '%confidential-view%'".to_string(),
            "SELECT count(*)::int8 AS n FROM pg_proc WHERE prosrc LIKE '%confidential-body%'".to_string(),
            // Query texts of other roles' sessions are hidden in either mode.
            format!(
                "SELECT count(*)::int8 AS n FROM pg_stat_activity WHERE usename = 'gh_{}' AND query <> '<insufficient privilege>'",
                a.replace('-', "_")
            ),
        ];
        let probes: Vec<&str> = probes.iter().map(String::as_str).collect();
        let seen = run_each(&s, &b, &probes).await;
        let counts: Vec<bool> =
            seen.iter().map(|o| o["ok"].as_str().unwrap_or_default().contains("\"n\": Number(0)")).collect();
        println!(
            "isolation = {isolation}: creating a tenant took {create_ms} ms; hidden from another tenant: {counts:?}"
        );
        assert!(counts[3], "another role's query text is visible: {seen:?}");
        if isolation == "database" {
            assert!(counts.iter().all(|hidden| *hidden), "{seen:?}");
        } else {
            // The documented trade-off of a schema per tenant: shared catalogs.
            assert!(!counts[0], "{seen:?}");
        }
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_guests_log_lines_and_stream_are_bounded_while_it_runs() {
    let s = Platform::new()
        .endpoint("GET /probe", guests::HOSTILE)
        .with("limits", "{ cpu_ms = 10000, wall_ms = 60000 }")
        .endpoint("GET /api/who", guests::ECHO)
        .start();
    // 5000 log lines: 1000 kept, one warning for the rest.
    assert_eq!(client().get(s.url("/probe?do=flood-log")).send().await.unwrap().status(), 200);
    assert!(s.until_log(&["over the per-request limit"], Duration::from_secs(10)).await);
    let log = s.log();
    assert_eq!(log.matches("flood line ").count(), 1000, "guest log lines past the limit were kept");
    assert_eq!(log.matches("guest log lines over the per-request limit").count(), 1);
    // A stream without end stops at the platform's total (256 MiB).
    let mut resp = client().get(s.url("/probe?do=flood-stream")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut total = 0u64;
    while let Ok(Some(chunk)) = resp.chunk().await {
        total += chunk.len() as u64;
    }
    assert!(total <= 256 << 20, "the stream ran past its total: {total} bytes");
    assert!(total >= 255 << 20, "the stream stopped early: {total} bytes; {}", s.log());
    assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
}

/// A one-answer HTTP upstream on `[::1]`: every request gets `200 v6`. `None`
/// where the machine has no IPv6 loopback.
async fn ipv6_upstream() -> Option<u16> {
    let listener = tokio::net::TcpListener::bind("[::1]:0").await.ok()?;
    let port = listener.local_addr().ok()?.port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 2048];
                let _ = conn.read(&mut head).await;
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nv6").await;
            });
        }
    });
    Some(port)
}

#[tokio::test]
async fn outbound_ipv6_entries_match_tunnels_are_refused_and_logged_urls_keep_no_secrets() {
    let Some(port) = ipv6_upstream().await else {
        println!("skipped: this machine has no IPv6 loopback");
        return;
    };
    let tunnels = ["[2002:7f00:1::1]", "[2001:0:4136:e378::1]", "[64:ff9b:1::a00:1]", "[fec0::1]"];
    let mut allowed: Vec<String> = tunnels.iter().map(|t| format!("\"http://{t}\"")).collect();
    allowed.push(format!("\"http://[::1]:{port}\""));
    let s = Platform::new()
        .section("outbound", &[("allow_private", "[\"::1/128\"]")])
        .endpoint("GET /fetch", guests::FETCHER)
        .with("allowed_hosts", &format!("[{}]", allowed.join(", ")))
        .start();
    let fetch = |url: String| {
        let base = s.url("/fetch");
        async move {
            let resp = client().get(base).query(&[("url", url.as_str()), ("times", "1")]).send().await.unwrap();
            json(resp).await
        }
    };
    // An IPv6 entry matches its URL (the brackets no longer stay in the pattern).
    let got = fetch(format!("http://[::1]:{port}/hello")).await;
    assert_eq!(got["data"]["body"], "v6", "{got}");
    // Tunnels and old site-local addresses count as private, even when listed.
    for (t, why) in tunnels.iter().zip(["6to4", "Teredo", "NAT64", "site-local"]) {
        let got = fetch(format!("http://{t}/x?token=SECRET-{why}")).await;
        let e = got["error"].as_str().unwrap_or_default();
        assert!(e.contains("NotAllowed") && e.contains(why), "{t}: {got}");
    }
    // The refusals are logged, with the query's values redacted.
    assert!(s.until_log(&["token=redacted"], Duration::from_secs(10)).await, "{}", s.log());
    assert!(!s.log().contains("SECRET-"), "a query value reached the log");
}

#[tokio::test]
async fn no_guest_state_survives_its_request_and_its_transactions_end_with_it() {
    for backend in DbBackend::all() {
        let s = backend.platform().endpoint("GET /probe", guests::HOSTILE).start();
        let probe = |act: &'static str| {
            let url = s.url(&format!("/probe?do={act}"));
            async move { json(client().get(url).send().await.unwrap()).await["data"].clone() }
        };
        // Each request gets a fresh instance: a static a guest bumps is 1 every time.
        for _ in 0..5 {
            let got = probe("remember").await;
            assert_eq!(got["calls"], 1, "a guest saw state an earlier request left: {got}");
        }
        // At most four transactions at once; left open, they end with the request.
        // The pool has eight connections, so leaked ones would starve the third request.
        for _ in 0..3 {
            let got = probe("hold-transactions").await;
            assert_eq!(got["opened"], 4, "{got}");
            assert!(got["refusal"].as_str().unwrap().contains("4 transactions open at once"), "{got}");
        }
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_wasi_http_guests_outgoing_body_is_bounded() {
    let up = gatehouse_tests::mock_upstream();
    let s = Platform::new()
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .endpoint("GET /proxy", guests::WASI_HTTP_PROXY)
        .with("allowed_hosts", &format!("[\"http://{up}\"]"))
        .with("limits", "{ wall_ms = 60000, cpu_ms = 20000 }")
        .start();
    let post = |mib: usize| {
        let url = s.url(&format!("/proxy?fetch=http://{up}/upload&post={mib}"));
        async move { json(client().get(url).send().await.unwrap()).await }
    };
    // One MiB goes out (the mock reads it all and answers 200).
    let got = post(1).await;
    assert_eq!(got["fetched"], 200, "{got}");
    // Eleven MiB is over the 10 MiB a request body may carry: refused, nothing sent.
    let got = post(11).await;
    assert!(got["error"].as_str().unwrap_or("").contains("HttpRequestBodySize"), "{got}");
    // The node is fine, and the same guest still calls out.
    let got = post(1).await;
    assert_eq!(got["fetched"], 200, "{got}");
}
