//! A small load generator. Closed loop (`run`): N keep-alive HTTP/1.1
//! connections, each sending the next request as soon as the last response is
//! read: requests/s at saturation. Open loop (`paced`): requests sent at a
//! fixed rate whatever the answers do: latency at a given load, with the gaps
//! between requests that a closed loop never leaves.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// One run's figures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) rps: f64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) errors: u64,
    /// CPU per request spent by everything but the load generator: the
    /// machine's busy time (every process: the server, and Redis, Postgres or
    /// a separate server process where a row uses one) less the generator's
    /// own thread. Far steadier than requests/s on a noisy machine, and it
    /// adds up: a gate step's cost is its row's figure less the row before.
    pub(crate) cpu_us: f64,
}

impl Stats {
    pub(crate) fn summary(&self) -> String {
        format!(
            "{:>7.0} req/s p50 {:>5} µs p99 {:>6} µs cpu {:>5.1} µs/req errors {}",
            self.rps, self.p50_us, self.p99_us, self.cpu_us, self.errors
        )
    }

    /// The round with the median requests/s (its latencies come with it).
    pub(crate) fn median_of(rounds: &[Stats]) -> Stats {
        let mut sorted = rounds.to_vec();
        sorted.sort_by(|a, b| a.rps.total_cmp(&b.rps));
        sorted[sorted.len() / 2]
    }
}

/// What a load run sends, over and over.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) addr: SocketAddr,
    pub(crate) method: http::Method,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

impl Target {
    /// `GET /api/hello` on `addr`.
    pub(crate) fn hello(name: impl Into<String>, addr: SocketAddr) -> Self {
        Self {
            name: name.into(),
            addr,
            method: http::Method::GET,
            path: "/api/hello".into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
}

/// Loads `target` with `connections` connections for `duration`.
pub(crate) async fn run(target: &Target, connections: usize, duration: Duration) -> anyhow::Result<Stats> {
    let deadline = Instant::now() + duration;
    let cpu_before = machine_busy_ns() - generator_ns();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        tasks.push(tokio::spawn(connection(target.clone(), deadline)));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, err) = t.await??;
        latencies.extend(lat);
        errors += err;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_ns = (machine_busy_ns() - generator_ns() - cpu_before).max(0.0);
    Ok(stats(latencies, errors, elapsed, cpu_ns))
}

/// Sends `rate` requests a second to `target` for `duration`, each on time
/// (on a free keep-alive connection, or a new one if all are busy): a slow
/// answer delays no later request. Each is timed from when it is sent (the
/// timer that paces them fires up to a millisecond late; that is not the
/// server's time).
pub(crate) async fn paced(target: &Target, rate: u32, duration: Duration) -> anyhow::Result<Stats> {
    type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;
    let idle: std::sync::Arc<std::sync::Mutex<Vec<Sender>>> = std::sync::Arc::default();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    let cpu_before = machine_busy_ns() - generator_ns();
    let started = Instant::now();
    let mut tasks = Vec::new();
    while started.elapsed() < duration {
        ticks.tick().await;
        let (target, idle) = (target.clone(), idle.clone());
        tasks.push(tokio::spawn(async move {
            let due = Instant::now();
            let taken = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut sender = match taken {
                Some(s) => s,
                None => open(target.addr).await?,
            };
            let ok = exchange(&mut sender, &target).await?;
            idle.lock().unwrap_or_else(|e| e.into_inner()).push(sender);
            anyhow::Ok(ok.then(|| due.elapsed().as_micros() as u32))
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for t in tasks {
        match t.await?? {
            Some(l) => latencies.push(l),
            None => errors += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_ns = (machine_busy_ns() - generator_ns() - cpu_before).max(0.0);
    Ok(stats(latencies, errors, elapsed, cpu_ns))
}

fn stats(mut latencies: Vec<u32>, errors: u64, elapsed: f64, cpu_ns: f64) -> Stats {
    let cpu_us = if latencies.is_empty() { 0.0 } else { cpu_ns / 1000.0 / latencies.len() as f64 };
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as u64
    };
    Stats { rps: latencies.len() as f64 / elapsed, p50_us: pct(0.50), p99_us: pct(0.99), errors, cpu_us }
}

/// Busy CPU time of the whole machine so far, in ns: `/proc/stat`'s user,
/// nice, system, irq and softirq (idle, iowait and steal are not work done
/// here). Its unit is 1/100 s, fine over a run of seconds.
fn machine_busy_ns() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else { return 0.0 };
    let f: Vec<f64> = cpu.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let busy = [0, 1, 2, 5, 6].iter().filter_map(|&i| f.get(i)).sum::<f64>();
    busy * 10_000_000.0
}

/// CPU time of the calling thread (the load generator's), in ns.
fn generator_ns() -> f64 {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    schedstat.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// A keep-alive HTTP/1.1 connection to `addr`.
async fn open(addr: SocketAddr) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Sends `target`'s request once and reads the answer: whether it was a hello.
async fn exchange(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    target: &Target,
) -> anyhow::Result<bool> {
    let mut builder = http::Request::builder().method(target.method.clone()).uri(target.path.as_str());
    builder = builder.header(http::header::HOST, "localhost");
    for (k, v) in &target.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let req = builder.body(Full::new(target.body.clone()))?;
    let resp = sender.send_request(req).await?;
    let ok = resp.status() == http::StatusCode::OK;
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(ok
        && (body.starts_with(br#"{"success":true"#)
            || body.starts_with(br#"{"message":"#)
            || body.starts_with(b"hello")))
}

async fn connection(target: Target, deadline: Instant) -> anyhow::Result<(Vec<u32>, u64)> {
    let mut sender = open(target.addr).await?;
    let mut latencies = Vec::with_capacity(100_000);
    let mut errors = 0;
    while Instant::now() < deadline {
        let t = Instant::now();
        if exchange(&mut sender, &target).await? {
            latencies.push(t.elapsed().as_micros() as u32);
        } else {
            errors += 1;
        }
    }
    Ok((latencies, errors))
}
