//! The two servers under load, and the direct sandbox measurement.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use gatehouse::app::App;
use gatehouse::capabilities::Principal;
use gatehouse::config::{Overrides, PlatformConfig};
use gatehouse::registry::Lookup;
use gatehouse::sandbox::{RequestContext, wit};

/// The body both servers answer with, byte for byte.
const HELLO: &str = r#"{"success":true,"data":{"message":"Hello, World!"}}"#;

/// Starts the native and the sandboxed server on loopback ports.
pub(crate) async fn start(root: &Path) -> anyhow::Result<(SocketAddr, SocketAddr, Arc<App>)> {
    let native = axum::Router::new().route(
        "/api/hello",
        axum::routing::get(|| async { ([(http::header::CONTENT_TYPE, "application/json")], HELLO) }),
    );
    let native_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let native_addr = native_listener.local_addr()?;
    tokio::spawn(async move { axum::serve(native_listener, native).await });

    let data = tempfile::tempdir()?;
    let config_text = format!(
        "[[endpoint]]\nroute = \"GET /api/hello\"\ncomponent = {:?}\n",
        root.join("endpoints/hello").display().to_string()
    );
    let overrides = Overrides {
        data_dir: Some(data.path().to_path_buf()),
        build_dir: Some(root.join("target/guests")),
        cache_dir: Some(root.join("target/guests/cwasm-cache")),
        ..Default::default()
    };
    let config = PlatformConfig::parse(&root.join("bench.toml"), &config_text, &overrides)?;
    let app = App::prepare(&config).await?;
    std::mem::forget(data); // lives for the whole run
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sandboxed_addr = listener.local_addr()?;
    let served = app.clone();
    tokio::spawn(async move { gatehouse::server::run(listener, served, std::future::pending()).await });
    Ok((native_addr, sandboxed_addr, app))
}

/// Per-request sandbox cost figures.
pub(crate) struct Cost {
    pub(crate) median_us: f64,
    pub(crate) mean_us: f64,
    pub(crate) p99_us: f64,
}

/// Runs the hello endpoint `iterations` times straight through the sandbox,
/// one after another: store, WASI context, instantiate, call, drop.
pub(crate) async fn sandbox_cost(app: &App, iterations: usize) -> anyhow::Result<Cost> {
    let routes = app.routes.load();
    let Lookup::Found(endpoint, _) = routes.lookup(&http::Method::GET, "/api/hello") else {
        anyhow::bail!("hello is not routed");
    };
    let endpoint = endpoint.clone();
    let principal = Arc::new(Principal::anonymous(endpoint.tenant.clone()));
    let context = Arc::new(RequestContext {
        request_id: "bench".into(),
        tenant: endpoint.tenant.clone(),
        route: endpoint.route_label.clone(),
    });
    let request = wit::Request {
        method: "GET".into(),
        path: "/api/hello".into(),
        params: vec![],
        query: vec![],
        headers: vec![],
        body: vec![],
        request_id: "bench".into(),
    };
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        let r = app
            .sandbox
            .invoke(&endpoint.prepared, &endpoint.grants, principal.clone(), context.clone(), request.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        samples.push(t.elapsed().as_nanos() as f64 / 1000.0);
        assert_eq!(r.status, 200);
    }
    samples.sort_by(f64::total_cmp);
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    Ok(Cost { median_us: samples[samples.len() / 2], mean_us: mean, p99_us: samples[samples.len() * 99 / 100] })
}
