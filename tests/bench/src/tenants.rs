//! Many tenants on one node: N tenants, each with one small app (the hello),
//! created through the registry, then the `gatehouse` binary restarted on that
//! data. Reports what an idle tenant costs in resident memory (the node with N
//! tenants against the same node with none), how long the restart takes to
//! listen, and how long a tenant's first request after it takes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::app::App;
use gatehouse::config::{Overrides, PlatformConfig};
use gatehouse::registry::{Bundle, TenantSettings};

/// The figures of one run.
pub(crate) struct TenantFigures {
    pub(crate) tenants: usize,
    pub(crate) idle_kb_per_tenant: f64,
    pub(crate) empty_rss_kb: u64,
    pub(crate) full_rss_kb: u64,
    pub(crate) empty_restart: Duration,
    pub(crate) restart: Duration,
    /// The first request of the first tenant asked after the restart.
    pub(crate) first_hit: Duration,
    /// Over `SAMPLED` distinct tenants' first requests.
    pub(crate) first_hit_median: Duration,
    pub(crate) first_hit_max: Duration,
    /// The same tenants' second requests.
    pub(crate) second_hit_median: Duration,
    pub(crate) populate: Duration,
    /// What the node logged for those loads (`tenant loaded … ms=`), in
    /// order: (store, database, apps, total) milliseconds.
    pub(crate) logged_loads: Vec<[u64; 4]>,
}

/// Distinct tenants whose first request is timed.
pub(crate) const SAMPLED: usize = 20;

/// Creates `n` tenants with one app each and measures the restart.
pub(crate) fn row(root: &Path, server_rt: &tokio::runtime::Runtime, n: usize) -> anyhow::Result<TenantFigures> {
    let binary = super::binary::build(root).map_err(anyhow::Error::msg)?;
    let dir = tempfile::tempdir()?;
    let (data, log) = (dir.path().join("data"), dir.path().join("gatehouse.log"));
    let wasm_path = gatehouse::registry::build_component(&root.join("endpoints/hello"), &root.join("target/guests"))?;
    let config_path = dir.path().join("platform.toml");
    // The config tenant serves the built component itself, so no cargo build runs at start.
    std::fs::write(
        &config_path,
        format!("[[endpoint]]\nroute = \"GET /api/hello\"\ncomponent = {:?}\n", wasm_path.display().to_string()),
    )?;

    let empty = super::binary::serve(root, &binary, &config_path, &data, &log).map_err(anyhow::Error::msg)?;
    ready(empty.addr)?;
    let empty_rss_kb = empty.rss_kb().unwrap_or(0);
    let empty_restart = empty.started_in;
    drop(empty);

    let started = Instant::now();
    server_rt.block_on(populate(root, &config_path, &data, &std::fs::read(&wasm_path)?, n))?;
    let populate = started.elapsed();

    let full = super::binary::serve(root, &binary, &config_path, &data, &log).map_err(anyhow::Error::msg)?;
    ready(full.addr)?;
    let full_rss_kb = full.rss_kb().unwrap_or(0);
    let mut firsts = Vec::new();
    let mut seconds = Vec::new();
    for i in 0..SAMPLED.min(n) {
        // Spread over the whole range, so no tenant is favoured by its place.
        let tenant = tenant_name(i * n / SAMPLED.min(n));
        firsts.push(hit(full.addr, &tenant)?);
        seconds.push(hit(full.addr, &tenant)?);
    }
    let first_hit = firsts[0];
    let field = |line: &str, key: &str| -> u64 {
        line.split(&format!(" {key}=")).nth(1).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
    };
    let logged_loads = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("tenant loaded"))
        .map(|l| [field(l, "store_ms"), field(l, "database_ms"), field(l, "apps_ms"), field(l, "ms")])
        .collect();
    firsts.sort();
    seconds.sort();
    Ok(TenantFigures {
        tenants: n,
        idle_kb_per_tenant: full_rss_kb.saturating_sub(empty_rss_kb) as f64 / n.max(1) as f64,
        empty_rss_kb,
        full_rss_kb,
        empty_restart,
        restart: full.started_in,
        first_hit,
        first_hit_median: firsts[firsts.len() / 2],
        first_hit_max: *firsts.last().unwrap_or(&Duration::ZERO),
        second_hit_median: seconds[seconds.len() / 2],
        populate,
        logged_loads,
    })
    .inspect(|_| {
        // To look at the node's data and log afterwards.
        if std::env::var_os("BENCH_KEEP_DATA").is_some() {
            println!("  data and log kept in {}", dir.keep().display());
        }
    })
}

fn tenant_name(i: usize) -> String {
    format!("t{i:05}")
}

/// Creates the tenants and deploys the app to each, through the registry of a
/// node started in this process on the same data (then stopped).
async fn populate(root: &Path, config_path: &Path, data: &Path, wasm: &[u8], n: usize) -> anyhow::Result<()> {
    let overrides = Overrides {
        data_dir: Some(data.to_path_buf()),
        build_dir: Some(root.join("target/guests")),
        cache_dir: Some(root.join("target/guests/cwasm-cache")),
        ..Default::default()
    };
    let config = PlatformConfig::parse(config_path, &std::fs::read_to_string(config_path)?, &overrides)?;
    let app = App::prepare(&config).await?;
    let mut bundle = Bundle::default();
    bundle.files.insert(
        "gatehouse.toml".into(),
        b"[app]\nname = \"site\"\n\n[[endpoint]]\nroute = \"GET /api/hello\"\ncomponent = \"hello.wasm\"\n".to_vec(),
    );
    bundle.files.insert("hello.wasm".into(), wasm.to_vec());
    let tar = Arc::new(bundle.to_tar()?);
    // A few at a time: each deploy writes the store, which takes one writer at a time.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (app, tar, next) = (app.clone(), tar.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                let name = tenant_name(i);
                app.registry.create_tenant(&name, &TenantSettings::default()).await.map_err(anyhow::Error::msg)?;
                app.registry.deploy(&name, &tar).await.map_err(anyhow::Error::msg)?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(())
}

/// Waits for the node's `/readyz` answer (its store answered, its start is
/// over), so its memory is read as it serves, not mid-start.
fn ready(addr: SocketAddr) -> anyhow::Result<()> {
    let answer = get(addr, "/readyz")?;
    anyhow::ensure!(answer.starts_with("HTTP/1.1 200"), "not ready: {}", answer.lines().next().unwrap_or(""));
    Ok(())
}

/// `GET path` on a new connection, read to its end.
fn get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// One `GET /t/{tenant}/api/hello` on a new connection: how long until the whole answer is in.
fn hit(addr: SocketAddr, tenant: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let answer = get(addr, &format!("/t/{tenant}/api/hello"))?;
    let took = started.elapsed();
    anyhow::ensure!(
        answer.starts_with("HTTP/1.1 200"),
        "tenant {tenant} answered: {}",
        answer.lines().next().unwrap_or("")
    );
    Ok(took)
}
