//! The two servers under load, and the direct sandbox measurement.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use gatehouse::app::App;
use gatehouse::config::{Overrides, PlatformConfig};
use gatehouse::identity::Principal;
use gatehouse::identity::api_key::{KeySpec, issue};

use crate::load::Target;
use gatehouse::context::RequestContext;
use gatehouse::registry::Lookup;
use gatehouse::sandbox::wit;

/// The body both servers answer with, byte for byte.
const HELLO: &str = r#"{"message":"Hello World"}"#;

/// A gatehouse serving hello twice: `GET /api/hello` ungated, and
/// `POST /api/hello-gated` behind an API key, a scope, a rate limit (far above
/// the load, so every request is admitted and counted) and a body schema.
pub(crate) struct Gatehouse {
    pub(crate) addr: SocketAddr,
    pub(crate) app: Arc<App>,
    /// An API key with the `read` scope.
    pub(crate) key: String,
    /// The loopback upstream the outbound endpoint calls.
    pub(crate) upstream: SocketAddr,
    /// Its tenant (a Postgres schema and role when on Postgres).
    pub(crate) tenant: String,
    _data: tempfile::TempDir,
}

const GATED_SCHEMA: &str = r#"{"type":"object","required":["name"],"additionalProperties":false,"properties":{"name":{"type":"string","minLength":1,"maxLength":100}}}"#;

/// Starts a gatehouse on a loopback port; `redis_url` puts its rate limits on Redis.
pub(crate) async fn gatehouse(
    root: &Path,
    redis_url: Option<&str>,
    database_url: Option<&str>,
) -> anyhow::Result<Gatehouse> {
    gatehouse_with(root, redis_url, database_url, "").await
}

/// The same, with `sections` (whole TOML sections, such as `[sandbox]`) added to its config.
pub(crate) async fn gatehouse_with(
    root: &Path,
    redis_url: Option<&str>,
    database_url: Option<&str>,
    sections: &str,
) -> anyhow::Result<Gatehouse> {
    let data = tempfile::tempdir()?;
    let tenant = format!("bench{}{}", std::process::id(), if database_url.is_some() { "pg" } else { "" });
    let schema = data.path().join("gated.schema.json");
    std::fs::write(&schema, GATED_SCHEMA)?;
    let hello = root.join("endpoints/hello").display().to_string();
    let db_probe = root.join("tests/guests/db_probe").display().to_string();
    let fetcher = root.join("tests/guests/fetcher").display().to_string();
    let py_hello = root.join("tests/polyglot/py_hello").display().to_string();
    let js_hello = root.join("tests/polyglot/js_hello").display().to_string();
    let wasi_http_hello = root.join("tests/guests/wasi_http_hello").display().to_string();
    let migrations = root.join("endpoints/migrations").display().to_string();
    let upstream = upstream().await?;
    let redis = redis_url.map(|u| format!("redis_url = {u:?}\n")).unwrap_or_default()
        + &database_url
            .map(|u| format!("database_url = {u:?}\nstore_schema = \"store_{tenant}\"\n"))
            .unwrap_or_default();
    let config_text = format!(
        "[platform]\n{redis}tenant = \"{tenant}\"\n\n[database]\nmigrations = {migrations:?}\n\n\
         [outbound]\nallow_private = [\"127.0.0.1/32\"]\n\n{sections}\n\
         [[endpoint]]\nroute = \"GET /api/hello\"\ncomponent = {hello:?}\n\n\
         [[endpoint]]\nroute = \"POST /api/hello-gated\"\ncomponent = {hello:?}\nauth = \"required\"\nscopes = [\"read\"]\n\
         rate_limit = {{ limit = 1000000000, window = \"1h\", by = \"key\" }}\nschema = {:?}\n\n\
         [[endpoint]]\nroute = \"POST /api/hello-post\"\ncomponent = {hello:?}\n\n\
         [[endpoint]]\nroute = \"POST /api/hello-key\"\ncomponent = {hello:?}\nauth = \"required\"\nscopes = [\"read\"]\n\n\
         [[endpoint]]\nroute = \"POST /api/hello-key-limit\"\ncomponent = {hello:?}\nauth = \"required\"\nscopes = [\"read\"]\n\
         rate_limit = {{ limit = 1000000000, window = \"1h\", by = \"key\" }}\n\n\
         [[endpoint]]\nroute = \"GET /api/db-read\"\ncomponent = {db_probe:?}\n\n\
         [[endpoint]]\nroute = \"GET /api/outbound\"\ncomponent = {fetcher:?}\nallowed_hosts = [\"http://{upstream}\"]\n\n\
         [[endpoint]]\nroute = \"GET /api/hello-py\"\ncomponent = {py_hello:?}\n\n\
         [[endpoint]]\nroute = \"GET /api/hello-js\"\ncomponent = {js_hello:?}\n\n\
         [[endpoint]]\nroute = \"GET /api/hello-wasi-http\"\ncomponent = {wasi_http_hello:?}\n\n\
         [[endpoint]]\nroute = \"GET /api/hello-reuse\"\ncomponent = {hello:?}\nreuse = {{}}\n\n\
         [[endpoint]]\nroute = \"GET /api/hello-py-reuse\"\ncomponent = {py_hello:?}\nreuse = {{}}\n\n\
         [[endpoint]]\nroute = \"GET /api/hello-js-reuse\"\ncomponent = {js_hello:?}\nreuse = {{}}\n",
        schema.display().to_string(),
    );
    let overrides = Overrides {
        data_dir: Some(data.path().to_path_buf()),
        build_dir: Some(root.join("target/guests")),
        cache_dir: Some(root.join("target/guests/cwasm-cache")),
        ..Default::default()
    };
    let config = PlatformConfig::parse(&root.join("bench.toml"), &config_text, &overrides)?;
    let app = App::prepare(&config).await?;
    let spec = KeySpec {
        tenant: config.platform.tenant.clone(),
        name: "bench".into(),
        scopes: vec!["read".into()],
        user_id: None,
        expires_at: None,
        test: true,
    };
    let key = issue(app.identity.keys.store(), spec).await.map_err(anyhow::Error::msg)?.key;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = app.clone();
    tokio::spawn(async move { gatehouse::server::run(listener, served, std::future::pending()).await });
    Ok(Gatehouse { addr, app, key, upstream, tenant, _data: data })
}

/// A native axum upstream on loopback for the outbound-call endpoint to call.
async fn upstream() -> anyhow::Result<SocketAddr> {
    let app = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello from upstream" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// `GET /api/db-read`: one `SELECT COUNT(*)` on the tenant's database per request.
pub(crate) fn db_target(name: &str, g: &Gatehouse) -> Target {
    Target { path: "/api/db-read?mode=count".into(), ..Target::hello(name, g.addr) }
}

/// Drops the bench tenant's schema and role from Postgres.
pub(crate) async fn drop_pg_tenant(url: &str, tenant: &str) {
    let Ok(pool) = sqlx::PgPool::connect(url).await else { return };
    for sql in [
        format!("DROP SCHEMA IF EXISTS t_{tenant} CASCADE"),
        format!("DROP OWNED BY gh_{tenant}"),
        format!("DROP ROLE IF EXISTS gh_{tenant}"),
        format!("DROP SCHEMA IF EXISTS store_{tenant} CASCADE"),
    ] {
        let _ = sqlx::raw_sql(&sql).execute(&pool).await;
    }
}

/// `GET /api/outbound`: one outbound HTTP call to a loopback upstream per request.
pub(crate) fn outbound_target(g: &Gatehouse) -> Target {
    Target {
        path: format!("/api/outbound?url=http://{}/hello", g.upstream),
        ..Target::hello("outbound: one HTTP call to a loopback upstream", g.addr)
    }
}

/// The gated request: key, JSON body that passes the schema.
pub(crate) fn gated_target(name: &str, g: &Gatehouse) -> Target {
    Target {
        name: name.into(),
        addr: g.addr,
        method: http::Method::POST,
        path: "/api/hello-gated".into(),
        headers: vec![
            ("authorization".into(), format!("Bearer {}", g.key)),
            ("content-type".into(), "application/json".into()),
        ],
        body: bytes::Bytes::from_static(br#"{"name":"bench"}"#),
    }
}

/// The gated row taken apart, one gate step added at a time (`--only "gate
/// step"`): the same POST and body with no gate, then with the key and scope,
/// then with the rate limit too. The gated row adds the schema.
pub(crate) fn gate_steps(g: &Gatehouse) -> Vec<Target> {
    [
        ("gate step 1: POST with its body, no gate", "/api/hello-post"),
        ("gate step 2: + key and scope", "/api/hello-key"),
        ("gate step 3: + rate limit (memory)", "/api/hello-key-limit"),
    ]
    .into_iter()
    .map(|(name, path)| Target { path: path.into(), ..gated_target(name, g) })
    .collect()
}

/// Starts the native axum hello on a loopback port.
pub(crate) async fn native() -> anyhow::Result<SocketAddr> {
    let native = axum::Router::new().route(
        "/api/hello",
        axum::routing::get(|| async { ([(http::header::CONTENT_TYPE, "application/json")], HELLO) }),
    );
    let native_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let native_addr = native_listener.local_addr()?;
    // The same TCP_NODELAY as gatehouse's listener, so the baseline is like for like.
    let native_listener = axum::serve::ListenerExt::tap_io(native_listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(native_listener, native).await });
    Ok(native_addr)
}

/// Per-request sandbox cost figures.
pub(crate) struct Cost {
    pub(crate) median_us: f64,
    pub(crate) mean_us: f64,
    pub(crate) p99_us: f64,
}

/// Runs the hello endpoint at `path` `iterations` times straight through the
/// sandbox, one after another: store, WASI context, instantiate, call, drop.
pub(crate) async fn sandbox_cost(app: &App, path: &str, iterations: usize) -> anyhow::Result<Cost> {
    let directory = app.registry.directory();
    let tenant = directory.tenants.get(&app.config.platform.tenant).ok_or_else(|| anyhow::anyhow!("no tenant"))?;
    let Lookup::Found(endpoint, _) = tenant.routes.lookup(&http::Method::GET, path) else {
        anyhow::bail!("{path} is not routed");
    };
    let endpoint = endpoint.clone();
    drop(directory);
    let principal = Arc::new(Principal::anonymous(endpoint.tenant.clone()));
    let context = Arc::new(RequestContext {
        request_id: "bench".into(),
        tenant: endpoint.tenant.clone(),
        route: endpoint.route_label.clone(),
        raw_query: None,
        timings: Default::default(),
        reached_at: None,
    });
    let request = wit::Request {
        method: "GET".into(),
        path: path.into(),
        params: vec![],
        query: vec![],
        headers: vec![],
        body: vec![],
        request_id: "bench".into(),
    };
    let gatehouse::registry::Handler::Guest(prepared) = &endpoint.handler else {
        anyhow::bail!("{path} is not a guest's endpoint");
    };
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        let r = app
            .sandbox
            .invoke(
                prepared,
                &endpoint.grants,
                principal.clone(),
                context.clone(),
                request.clone(),
                gatehouse::capabilities::stream::StreamState::detached(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        samples.push(t.elapsed().as_nanos() as f64 / 1000.0);
        assert_eq!(r.status, 200);
    }
    samples.sort_by(f64::total_cmp);
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    Ok(Cost { median_us: samples[samples.len() / 2], mean_us: mean, p99_us: samples[samples.len() * 99 / 100] })
}
