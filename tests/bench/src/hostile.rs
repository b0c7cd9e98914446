//! The hostile-tenant rows. A noisy neighbour: one tenant floods the node with
//! ten times its concurrency share of slow requests while another tenant's
//! hello is under load; its p99 is compared with the same load on an idle
//! node, rounds alternating. And the unauthenticated worst case: the server's
//! CPU time for a request that is refused before authentication matters (a
//! 1 MiB body with the most bad Stripe signatures a header may carry; a 1 MiB
//! JSON body that fails its schema at the end; a valid one that lacks a
//! defaulted property in every item, so the gate also rewrites it).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gatehouse::app::App;
use gatehouse::config::{Overrides, PlatformConfig};
use gatehouse::registry::{Bundle, TenantSettings};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::load::{self, Stats, Target};

/// The flooding tenant's share of the pool; it sends ten times as many requests at once.
const SHARE: usize = 8;

/// A node for these rows, and what it serves.
pub(crate) struct Node {
    addr: SocketAddr,
    _data: tempfile::TempDir,
}

const BODY_SCHEMA: &str = r#"{"type":"array","items":{"type":"object","required":["title"],"properties":{"title":{"type":"string","maxLength":200},"done":{"type":"boolean","default":false}}}}"#;

/// Starts the node: hello for the config tenant, a signed webhook and a schema-checked
/// endpoint, and a tenant `flood` whose app sleeps.
pub(crate) async fn node(root: &Path) -> anyhow::Result<Node> {
    let data = tempfile::tempdir()?;
    let schema = data.path().join("tasks.schema.json");
    std::fs::write(&schema, BODY_SCHEMA)?;
    let hello = root.join("endpoints/hello").display().to_string();
    let sleeps = root.join("tests/guests/sleeps").display().to_string();
    let text = format!(
        "[platform]\ntenant = \"neighbour\"\n\n[sandbox]\nmax_instances = {}\nmax_instances_per_tenant = {SHARE}\nqueue_timeout = \"1s\"\n\n\
         [secrets]\nWH = \"whsec_bench\"\n\n\
         [[endpoint]]\nroute = \"GET /api/hello\"\ncomponent = {hello:?}\n\n\
         [[endpoint]]\nroute = \"GET /api/sleep\"\ncomponent = {sleeps:?}\n\n\
         [[endpoint]]\nroute = \"POST /api/hook\"\ncomponent = {hello:?}\nlimits = {{ body_kb = 2048 }}\nsignature = {{ scheme = \"stripe\", secret = \"WH\" }}\n\n\
         [[endpoint]]\nroute = \"POST /api/tasks\"\ncomponent = {hello:?}\nlimits = {{ body_kb = 2048 }}\nschema = {:?}\n",
        SHARE * 4,
        schema.display().to_string()
    );
    let overrides = Overrides {
        data_dir: Some(data.path().to_path_buf()),
        build_dir: Some(root.join("target/guests")),
        cache_dir: Some(root.join("target/guests/cwasm-cache")),
        ..Default::default()
    };
    let config = PlatformConfig::parse(&root.join("bench.toml"), &text, &overrides)?;
    let app = App::prepare(&config).await?;
    app.registry.create_tenant("flood", &TenantSettings::default()).await?;
    let wasm = std::fs::read(config.platform.build_dir.join("wasm32-wasip2/release/sleeps.wasm"))?;
    let mut bundle = Bundle::default();
    bundle.files.insert(
        "gatehouse.toml".into(),
        b"[app]\nname = \"slow\"\n\n[[endpoint]]\nroute = \"GET /slow\"\ncomponent = \"sleeps.wasm\"\n".to_vec(),
    );
    bundle.files.insert("sleeps.wasm".into(), wasm);
    app.registry.deploy("flood", &bundle.to_tar()?).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = app.clone();
    tokio::spawn(async move { gatehouse::server::run(listener, served, std::future::pending()).await });
    Ok(Node { addr, _data: data })
}

/// The noisy-neighbour figures: medians over rounds.
pub(crate) struct Neighbour {
    pub(crate) idle: Stats,
    pub(crate) flooded: Stats,
    pub(crate) flood_served: u64,
    pub(crate) flood_refused: u64,
}

/// Alternates rounds of the config tenant's hello on an idle node and under the flood.
pub(crate) fn noisy_neighbour(
    n: &Node,
    load_rt: &tokio::runtime::Runtime,
    connections: usize,
    duration: Duration,
    rounds: usize,
) -> anyhow::Result<Neighbour> {
    let hello = Target::hello("neighbour hello", n.addr);
    let (mut idle, mut flooded) = (Vec::new(), Vec::new());
    let (served, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    load_rt.block_on(load::run(&hello, connections, Duration::from_secs(1)))?;
    for _ in 0..rounds {
        idle.push(load_rt.block_on(load::run(&hello, connections, duration))?);
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let flood = {
            let (stop, served, refused, addr) = (stop.clone(), served.clone(), refused.clone(), n.addr);
            // Its own thread and runtime: the flood is another client, not the load generator.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    let sent = Arc::new(AtomicU64::new(0));
                    let loops: Vec<_> = (0..SHARE * 10)
                        .map(|_| {
                            let f = Flood {
                                addr,
                                stop: stop.clone(),
                                served: served.clone(),
                                refused: refused.clone(),
                                sent: sent.clone(),
                                ready: ready_tx.clone(),
                            };
                            tokio::spawn(f.run())
                        })
                        .collect();
                    for l in loops {
                        let _ = l.await;
                    }
                });
            })
        };
        // Measure once every flooding client has made its first request.
        let _ = ready_rx.recv_timeout(Duration::from_secs(30));
        let during = load_rt.block_on(load::run(&hello, connections, duration));
        stop.store(true, Ordering::Relaxed);
        let _ = flood.join();
        flooded.push(during?);
    }
    Ok(Neighbour {
        idle: Stats::median_of(&idle),
        flooded: Stats::median_of(&flooded),
        flood_served: served.load(Ordering::Relaxed),
        flood_refused: refused.load(Ordering::Relaxed),
    })
}

/// One flooding client: slow requests to the `flood` tenant, one after another.
struct Flood {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    /// First requests sent by all clients; the last one to send signals `ready`.
    sent: Arc<AtomicU64>,
    ready: std::sync::mpsc::Sender<()>,
}

impl Flood {
    async fn run(self) {
        let mut first = true;
        while !self.stop.load(Ordering::Relaxed) {
            let Ok(stream) = tokio::net::TcpStream::connect(self.addr).await else { continue };
            let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await else {
                continue;
            };
            tokio::spawn(conn);
            while !self.stop.load(Ordering::Relaxed) {
                let req = http::Request::get("/t/flood/slow?ms=200")
                    .header(http::header::HOST, "localhost")
                    .body(Full::new(Bytes::new()))
                    .expect("request");
                let response = sender.send_request(req);
                if std::mem::take(&mut first) && self.sent.fetch_add(1, Ordering::AcqRel) + 1 == (SHARE * 10) as u64 {
                    let _ = self.ready.send(());
                }
                let Ok(resp) = response.await else { break };
                let ok = resp.status() == http::StatusCode::OK;
                let _ = resp.into_body().collect().await;
                if ok { &self.served } else { &self.refused }.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// CPU the server spent per request, in milliseconds: (signature refused,
/// schema refused, schema passed with defaults filled in). The last includes
/// the hello guest's run, which ignores the body.
pub(crate) fn unauthenticated_worst_case(
    n: &Node,
    load_rt: &tokio::runtime::Runtime,
    requests: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let mib = 1 << 20;
    let body = Bytes::from(vec![b'x'; mib]);
    let now = gatehouse::clock::unix_now() as u64;
    let good = gatehouse::gate::signature::stripe_header("whsec_other", now, &body);
    // The most candidates a header may offer, all wrong.
    let header = format!("{good}{}", ",v1=00".repeat(gatehouse::gate::signature::MAX_SIGNATURE_CANDIDATES - 1));
    let hook = Target {
        name: "hook".into(),
        addr: n.addr,
        method: http::Method::POST,
        path: "/api/hook".into(),
        headers: vec![("stripe-signature".into(), header)],
        body,
    };
    // A valid-looking JSON array whose last item breaks the schema.
    let mut tasks = String::from("[");
    while tasks.len() < mib - 64 {
        tasks.push_str(r#"{"title":"write the report","done":false},"#);
    }
    let valid = format!("{}]", tasks.replace(r#","done":false"#, "").trim_end_matches(','));
    tasks.push_str(r#"{"title":7}]"#);
    let tasks = Target {
        name: "tasks".into(),
        addr: n.addr,
        method: http::Method::POST,
        path: "/api/tasks".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Bytes::from(tasks),
    };
    let defaults = Target { body: Bytes::from(valid), ..tasks.clone() };
    let per_request = |t: &Target, expect: http::StatusCode| -> anyhow::Result<f64> {
        let before = server_cpu_ms();
        load_rt.block_on(send_n(t, requests, expect))?;
        Ok((server_cpu_ms() - before) / requests as f64)
    };
    let signature = per_request(&hook, http::StatusCode::UNAUTHORIZED)?;
    let schema = per_request(&tasks, http::StatusCode::BAD_REQUEST)?;
    let defaults = per_request(&defaults, http::StatusCode::OK)?;
    Ok((signature, schema, defaults))
}

async fn send_n(t: &Target, n: usize, expect: http::StatusCode) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(t.addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    for _ in 0..n {
        let mut req = http::Request::builder().method(t.method.clone()).uri(t.path.as_str());
        req = req.header(http::header::HOST, "localhost");
        for (k, v) in &t.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = sender.send_request(req.body(Full::new(t.body.clone()))?).await?;
        anyhow::ensure!(resp.status() == expect, "{} answered {} instead of {expect}", t.name, resp.status());
        resp.into_body().collect().await?;
    }
    Ok(())
}

/// CPU time of every thread of this process but the main one (the load
/// generator's), in milliseconds: the server's runtime, blocking pool and
/// epoch ticker.
fn server_cpu_ms() -> f64 {
    let ticks = |stat: &str| -> f64 {
        // utime and stime are fields 14 and 15; the name (field 2) may hold spaces.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
    };
    let all = ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default());
    let main =
        ticks(&std::fs::read_to_string(format!("/proc/self/task/{}/stat", std::process::id())).unwrap_or_default());
    // Linux reports these in clock ticks of 1/100 s.
    (all - main) * 10.0
}
