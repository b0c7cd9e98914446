//! # gatehouse-bench
//!
//! Load over loopback at the same JSON hello served (a) by a plain axum handler
//! and (b) by the sandboxed `endpoints/hello` component behind gatehouse's real
//! server, side by side in one run, alternating rounds so both see the same
//! machine noise. Then the sandbox's own per-request cost (store + instantiate +
//! call + drop) measured directly, without HTTP.
//!
//! With a `wasmtime` binary available (`WASMTIME=...` or on `PATH`), the same
//! hello as a standard wasi:http component under `wasmtime serve` joins the
//! rounds as the peer to compare against.
//!
//! `cargo run -p gatehouse-bench -- [--seconds 5] [--rounds 3] [--connections 32] [--iterations 20000]`

mod load;
mod peer;
mod servers;

use std::time::Duration;

use load::Stats;

struct Options {
    seconds: u64,
    rounds: usize,
    connections: usize,
    iterations: usize,
}

fn options() -> Options {
    let mut o = Options { seconds: 5, rounds: 3, connections: 32, iterations: 20_000 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0);
        match (args[i].as_str(), value) {
            ("--seconds", Some(v)) => o.seconds = v,
            ("--rounds", Some(v)) => o.rounds = v as usize,
            ("--connections", Some(v)) => o.connections = v as usize,
            ("--iterations", Some(v)) => o.iterations = v as usize,
            (other, _) => {
                eprintln!("unknown option or missing positive number: {other}; see tests/bench/src/main.rs");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    o
}

fn main() -> anyhow::Result<()> {
    let o = options();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize()?;
    // The servers run on a 2-worker runtime (this machine has 2 cores); the load
    // generator runs on its own single thread, like `wrk -t1`.
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (native, sandboxed, app) = server_rt.block_on(servers::start(&root))?;

    let mut targets = vec![("native axum".to_string(), native), ("sandboxed (gatehouse)".to_string(), sandboxed)];
    let peer = match peer::start(&root) {
        Ok(p) => {
            targets.push((format!("wasmtime serve -Scli ({})", p.version), p.addr));
            Some(p)
        }
        Err(why) => {
            println!("wasmtime serve: skipped ({why})");
            None
        }
    };
    for (name, addr) in &targets {
        println!("{name:<40} http://{addr}/api/hello");
    }

    let load_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let duration = Duration::from_secs(o.seconds);
    // Warm every target (connections, caches, the pool's warm slots) first.
    for (_, addr) in &targets {
        load_rt.block_on(load::run(*addr, o.connections, Duration::from_secs(1)))?;
    }
    let mut rounds: Vec<Vec<Stats>> = vec![Vec::new(); targets.len()];
    for round in 1..=o.rounds {
        println!("round {round}:");
        for (i, (name, addr)) in targets.iter().enumerate() {
            let s = load_rt.block_on(load::run(*addr, o.connections, duration))?;
            println!("  {name:<40} {}", s.summary());
            rounds[i].push(s);
        }
    }
    drop(peer);
    let medians: Vec<Stats> = rounds.iter().map(|r| Stats::median_of(r)).collect();

    let cost = server_rt.block_on(servers::sandbox_cost(&app, o.iterations))?;

    println!();
    println!(
        "| hello over loopback ({} connections, {} s x {} rounds, median round) | requests/s | p50 µs | p99 µs |",
        o.connections, o.seconds, o.rounds
    );
    println!("|---|---|---|---|");
    for ((name, _), m) in targets.iter().zip(&medians) {
        println!("| {name} | {:.0} | {} | {} |", m.rps, m.p50_us, m.p99_us);
    }
    println!();
    println!("sandboxed / native requests/s: {:.2}x", medians[1].rps / medians[0].rps);
    if let Some(w) = medians.get(2) {
        println!("sandboxed / wasmtime serve requests/s: {:.2}x", medians[1].rps / w.rps);
    }
    println!(
        "sandbox per-request cost (store + instantiate + call + drop, {} iterations, one thread): median {:.1} µs, mean {:.1} µs, p99 {:.1} µs",
        o.iterations, cost.median_us, cost.mean_us, cost.p99_us
    );
    Ok(())
}
