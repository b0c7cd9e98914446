//! # gatehouse-bench
//!
//! Load over loopback at the same JSON hello served (a) by a plain axum handler
//! and (b) by the sandboxed `endpoints/hello` component behind gatehouse's real
//! server, side by side in one run, alternating rounds so both see the same
//! machine noise. Then the sandbox's own per-request cost (store + instantiate +
//! call + drop) measured directly, without HTTP.
//!
//! `cargo run -p gatehouse-bench -- [--seconds 5] [--rounds 3] [--connections 32]`

mod load;
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
        let value = args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (args[i].as_str(), value) {
            ("--seconds", Some(v)) => o.seconds = v,
            ("--rounds", Some(v)) => o.rounds = v as usize,
            ("--connections", Some(v)) => o.connections = v as usize,
            ("--iterations", Some(v)) => o.iterations = v as usize,
            (other, _) => {
                eprintln!("unknown or incomplete option {other}; see the doc comment of tests/bench/src/main.rs");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    o
}

fn main() -> anyhow::Result<()> {
    let o = options();
    // The servers run on a 2-worker runtime (this machine has 2 cores); the load
    // generator runs on its own single thread, like `wrk -t1`.
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (native, sandboxed, app) = server_rt.block_on(servers::start())?;
    println!("native    http://{native}/api/hello\nsandboxed http://{sandboxed}/api/hello");

    let load_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let duration = Duration::from_secs(o.seconds);
    // Warm both (connections, caches, the pool's warm slots) before measuring.
    load_rt.block_on(load::run(native, o.connections, Duration::from_secs(1)))?;
    load_rt.block_on(load::run(sandboxed, o.connections, Duration::from_secs(1)))?;

    let mut native_rounds = Vec::new();
    let mut sandbox_rounds = Vec::new();
    for round in 1..=o.rounds {
        let n = load_rt.block_on(load::run(native, o.connections, duration))?;
        let s = load_rt.block_on(load::run(sandboxed, o.connections, duration))?;
        println!("round {round}: native {}  |  sandboxed {}", n.summary(), s.summary());
        native_rounds.push(n);
        sandbox_rounds.push(s);
    }
    let n = Stats::median_of(&native_rounds);
    let s = Stats::median_of(&sandbox_rounds);

    let per_request = server_rt.block_on(servers::sandbox_cost(&app, o.iterations))?;

    println!();
    println!(
        "| hello over loopback ({} connections, {} s x {} rounds, medians) | requests/s | p50 µs | p99 µs |",
        o.connections, o.seconds, o.rounds
    );
    println!("|---|---|---|---|");
    println!("| native axum | {:.0} | {} | {} |", n.rps, n.p50_us, n.p99_us);
    println!("| sandboxed (gatehouse) | {:.0} | {} | {} |", s.rps, s.p50_us, s.p99_us);
    println!();
    println!("sandboxed / native requests/s: {:.2}x", s.rps / n.rps);
    println!(
        "sandbox per-request cost (store + instantiate + call + drop, {} iterations, one thread): median {:.1} µs, mean {:.1} µs, p99 {:.1} µs",
        o.iterations, per_request.median_us, per_request.mean_us, per_request.p99_us
    );
    Ok(())
}
