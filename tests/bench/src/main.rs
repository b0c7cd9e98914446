//! # gatehouse-bench
//!
//! Load over loopback at the same JSON hello served (a) by a plain axum handler
//! and (b) by the sandboxed `endpoints/hello` component behind gatehouse's real
//! server, side by side in one run, alternating rounds so both see the same
//! machine noise. Then the sandbox's own per-request cost (store + instantiate +
//! call + drop) measured directly, without HTTP.
//!
//! The same hello also runs gated (API key + scope + rate limit + body schema)
//! with the in-memory limiter and, if Redis answers at `REDIS_URL`, on Redis.
//!
//! With a `wasmtime` binary available (`WASMTIME=...` or on `PATH`), the same
//! hello as a standard wasi:http component under `wasmtime serve` joins the
//! rounds as the peer to compare against.
//!
//! Then the hostile-tenant rows: another tenant's p99 while one tenant floods
//! the node with ten times its concurrency share, against an idle node; and
//! the server's CPU for the worst request refused before authentication.
//!
//! Then light load: the fresh Rust, Python and JavaScript hellos at a fixed
//! rate (`--rate`, 50 a second unless told; open loop), with ready instances
//! (the default) and on a node with them off, side by side, and the same two
//! at saturation.
//!
//! Last, many tenants on one node (`--tenants N`, 1000 unless told): what an
//! idle tenant costs in memory, how long a restart takes to listen, and a
//! tenant's first request after it.
//!
//! `cargo run -p gatehouse-bench -- [--seconds 5] [--rounds 3] [--connections 32] [--iterations 20000] [--tenants 1000] [--rate 50] [--cost-only | --hostile-only | --only NAME]`
//! (`--only tenants`: the many-tenants row alone; `--only "light load"`: the light-load rows alone;
//! `--only "gate step"`: the gated row taken apart, step by step)

mod binary;
mod deploy;
mod gate_cost;
mod hostile;
mod load;
mod peer;
mod servers;
mod tenants;

use std::time::Duration;

use load::{Stats, Target};

struct Options {
    seconds: u64,
    rounds: usize,
    connections: usize,
    iterations: usize,
    /// Only the direct per-request costs (no load rounds, no deploys): quick,
    /// and a loop simple enough to profile with `perf record`.
    cost_only: bool,
    /// Only the hostile-tenant rows (noisy neighbour, unauthenticated worst case).
    hostile_only: bool,
    /// Only the load rows whose name contains this (beside native and
    /// sandboxed, for the ratios), and nothing after them: one row to profile.
    only: Option<String>,
    /// Tenants the many-tenants row creates.
    tenants: usize,
    /// Requests a second in the light-load rows.
    rate: u32,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 5,
        rounds: 3,
        connections: 32,
        iterations: 20_000,
        cost_only: false,
        hostile_only: false,
        only: None,
        tenants: 1000,
        rate: 50,
    };
    // The program name first, then the options.
    let args: Vec<String> = std::env::args().collect();
    let args = &args[1..];
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--cost-only" || args[i] == "--hostile-only" {
            o.cost_only |= args[i] == "--cost-only";
            o.hostile_only |= args[i] == "--hostile-only";
            i += 1;
            continue;
        }
        if args[i] == "--only" {
            o.only = args.get(i + 1).cloned();
            i += 2;
            continue;
        }
        let value = args.get(i + 1).and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0);
        match (args[i].as_str(), value) {
            ("--seconds", Some(v)) => o.seconds = v,
            ("--rounds", Some(v)) => o.rounds = v as usize,
            ("--connections", Some(v)) => o.connections = v as usize,
            ("--iterations", Some(v)) => o.iterations = v as usize,
            ("--tenants", Some(v)) => o.tenants = v as usize,
            ("--rate", Some(v)) => o.rate = v.min(100_000) as u32,
            (other, _) => {
                eprintln!("unknown option or missing positive number: {other}; see tests/bench/src/main.rs");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    o
}

/// Hello in each other language, served beside the Rust one: (name, path).
const LANGUAGES: &[(&str, &str)] = &[
    ("hello in Python (componentize-py)", "/api/hello-py"),
    ("hello in JavaScript (componentize-js)", "/api/hello-js"),
    ("hello as a wasi:http component", "/api/hello-wasi-http"),
];

/// The same hellos with `reuse = {}` (one instance serves many requests): (name, path).
const REUSED: &[(&str, &str)] = &[
    ("hello with instance reuse (Rust)", "/api/hello-reuse"),
    ("hello in Python with instance reuse", "/api/hello-py-reuse"),
    ("hello in JavaScript with instance reuse", "/api/hello-js-reuse"),
];

/// The median of a row's per-round CPU per request (rounds are picked by
/// requests/s for the other figures; CPU gets its own median).
fn cpu_median(rounds: &[Stats]) -> f64 {
    let mut cpu: Vec<f64> = rounds.iter().map(|s| s.cpu_us).collect();
    cpu.sort_by(f64::total_cmp);
    cpu.get(cpu.len() / 2).copied().unwrap_or(0.0)
}

fn main() -> anyhow::Result<()> {
    let o = options();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize()?;
    // The servers run on a 2-worker runtime (this machine has 2 cores); the load
    // generator runs on its own single thread, like `wrk -t1`.
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if o.cost_only {
        return costs_only(&root, &server_rt, o.iterations);
    }
    if o.only.as_deref() == Some("tenants") {
        return tenants_row(&root, &server_rt, o.tenants);
    }
    if o.only.as_deref() == Some("light load") {
        let load_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let memory = server_rt.block_on(servers::gatehouse(&root, None, None))?;
        return light_load_rows(&root, &server_rt, &load_rt, &memory, &o);
    }
    if o.hostile_only {
        let load_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        return hostile_rows(&root, &server_rt, &load_rt, &o);
    }
    let native = server_rt.block_on(servers::native())?;
    let memory = server_rt.block_on(servers::gatehouse(&root, None, None))?;
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let redis = match std::net::TcpStream::connect(redis_url.trim_start_matches("redis://").trim_end_matches('/')) {
        Ok(_) => Some(server_rt.block_on(servers::gatehouse(&root, Some(&redis_url), None))?),
        Err(_) => {
            println!("gated on Redis: skipped (nothing answers at {redis_url}; set REDIS_URL)");
            None
        }
    };

    let pg_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pg_hostport = pg_url.rsplit('@').next().unwrap_or_default().split('/').next().unwrap_or_default().to_string();
    let postgres = match std::net::TcpStream::connect(&pg_hostport) {
        Ok(_) => Some(server_rt.block_on(servers::gatehouse(&root, None, Some(&pg_url)))?),
        Err(_) => {
            println!("db read on Postgres: skipped (nothing answers at {pg_hostport}; set DATABASE_URL)");
            None
        }
    };

    let mut targets = vec![Target::hello("native axum", native), Target::hello("sandboxed (gatehouse)", memory.addr)];
    for (name, path) in LANGUAGES.iter().chain(REUSED) {
        targets.push(Target { path: path.to_string(), ..Target::hello(*name, memory.addr) });
    }
    if o.only.is_some() {
        // Never in the full run: the gated row taken apart, kept by `--only` like any row.
        targets.extend(servers::gate_steps(&memory));
    }
    targets.push(servers::gated_target("gated: key+scope+limit+schema (memory)", &memory));
    targets.push(servers::db_target("db read: SELECT on the tenant's SQLite", &memory));
    if let Some(p) = &postgres {
        targets.push(servers::db_target("db read: SELECT on the tenant's Postgres", p));
    }
    targets.push(servers::outbound_target(&memory));
    if let Some(r) = &redis {
        targets.push(servers::gated_target("gated: key+scope+limit+schema (Redis)", r));
    }
    // The shipped binary, as users run it (its own process, default logging).
    let binary = match binary::start(&root) {
        Ok(b) => {
            targets.push(Target::hello("the gatehouse binary (default log, to a file)", b.addr));
            Some(b)
        }
        Err(why) => {
            println!("the gatehouse binary: skipped ({why})");
            None
        }
    };
    let peer = match peer::start(&root) {
        Ok(p) => {
            targets.push(Target::hello(format!("wasmtime serve -Scli ({})", p.version), p.addr));
            Some(p)
        }
        Err(why) => {
            println!("wasmtime serve: skipped ({why})");
            None
        }
    };
    if let Some(only) = &o.only {
        let mut i = 0;
        targets.retain(|t| {
            i += 1;
            i <= 2 || t.name.contains(only.as_str())
        });
    }
    for t in &targets {
        println!("{:<44} {} http://{}{}", t.name, t.method, t.addr, t.path);
    }

    let load_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let duration = Duration::from_secs(o.seconds);
    // Warm every target (connections, caches, the pool's warm slots) first.
    for t in &targets {
        let s = load_rt.block_on(load::run(t, o.connections, Duration::from_secs(1)))?;
        anyhow::ensure!(s.errors == 0 && s.rps > 0.0, "{} answered errors while warming up", t.name);
    }
    let mut rounds: Vec<Vec<Stats>> = vec![Vec::new(); targets.len()];
    for round in 1..=o.rounds {
        println!("round {round}:");
        for (i, t) in targets.iter().enumerate() {
            let s = load_rt.block_on(load::run(t, o.connections, duration))?;
            println!("  {:<44} {}", t.name, s.summary());
            rounds[i].push(s);
        }
    }
    drop(peer);
    drop(binary);
    let medians: Vec<Stats> = rounds.iter().map(|r| Stats::median_of(r)).collect();
    let by_name = |prefix: &str| targets.iter().position(|t| t.name.starts_with(prefix)).map(|i| medians[i]);

    if o.only.is_some() {
        for (i, (t, m)) in targets.iter().zip(&medians).enumerate() {
            let cpu = cpu_median(&rounds[i]);
            println!(
                "{}: {:.2}x of sandboxed; CPU per request {:.1} µs ({:+.1} µs against sandboxed)",
                t.name,
                m.rps / medians[1].rps,
                cpu,
                cpu - cpu_median(&rounds[1])
            );
        }
        if let Some(p) = &postgres {
            server_rt.block_on(servers::drop_pg_tenant(&pg_url, &p.tenant));
        }
        return Ok(());
    }
    let cost = server_rt.block_on(servers::sandbox_cost(&memory.app, "/api/hello", o.iterations))?;
    let gate = server_rt.block_on(gate_cost::gate_costs(&memory, o.iterations))?;
    language_costs(&memory, &server_rt, o.iterations / 10)?;
    light_load_rows(&root, &server_rt, &load_rt, &memory, &o)?;
    let swaps = deploy::under_load(&memory, &server_rt, &load_rt, o.connections, 10)?;

    println!();
    println!(
        "| hello over loopback ({} connections, {} s x {} rounds, median round) | requests/s | p50 µs | p99 µs | CPU µs/req |",
        o.connections, o.seconds, o.rounds
    );
    println!("|---|---|---|---|---|");
    for (t, m) in targets.iter().zip(&medians) {
        println!("| {} | {:.0} | {} | {} | {:.1} |", t.name, m.rps, m.p50_us, m.p99_us, m.cpu_us);
    }
    println!();
    let (native, sandboxed) = (medians[0], medians[1]);
    println!("sandboxed / native requests/s: {:.2}x", sandboxed.rps / native.rps);
    for (name, _) in LANGUAGES.iter().chain(REUSED) {
        if let Some(l) = by_name(name) {
            println!("{name} / Rust hello requests/s: {:.2}x", l.rps / sandboxed.rps);
        }
    }
    if let Some(g) = by_name("gated: key+scope+limit+schema (memory)") {
        println!("gated (memory) / sandboxed requests/s: {:.2}x", g.rps / sandboxed.rps);
    }
    if let Some(g) = by_name("gated: key+scope+limit+schema (Redis)") {
        println!("gated (Redis) / sandboxed requests/s: {:.2}x", g.rps / sandboxed.rps);
    }
    if let Some(d) = by_name("db read: SELECT on the tenant's SQLite") {
        println!("db read (SQLite) / sandboxed requests/s: {:.2}x", d.rps / sandboxed.rps);
    }
    if let Some(d) = by_name("db read: SELECT on the tenant's Postgres") {
        println!("db read (Postgres) / sandboxed requests/s: {:.2}x", d.rps / sandboxed.rps);
    }
    if let Some(o) = by_name("outbound") {
        println!("outbound call / sandboxed requests/s: {:.2}x", o.rps / sandboxed.rps);
    }
    if let Some(b) = by_name("the gatehouse binary") {
        println!("the gatehouse binary / in-process sandboxed requests/s: {:.2}x", b.rps / sandboxed.rps);
        println!("the gatehouse binary / native requests/s: {:.2}x", b.rps / native.rps);
    }
    if let Some(w) = by_name("wasmtime serve") {
        println!("sandboxed / wasmtime serve requests/s: {:.2}x", sandboxed.rps / w.rps);
    }
    println!(
        "sandbox per-request cost (store + instantiate + call + drop, {} iterations, one thread): median {:.1} µs, mean {:.1} µs, p99 {:.1} µs",
        o.iterations, cost.median_us, cost.mean_us, cost.p99_us
    );
    gate_cost::print(&gate, o.iterations);
    println!(
        "deploy under load: {} deploys, upload to live median {:.1} ms (max {:.1} ms); {} requests during them ({:.0} req/s), {} failed",
        swaps.deploys,
        swaps.median_ms,
        swaps.max_ms,
        (swaps.load.rps * (0.5 + swaps.deploys as f64 * 0.3)) as u64,
        swaps.load.rps,
        swaps.load.errors
    );
    hostile_rows(&root, &server_rt, &load_rt, &o)?;
    if let Some(p) = &postgres {
        server_rt.block_on(servers::drop_pg_tenant(&pg_url, &p.tenant));
    }
    tenants_row(&root, &server_rt, o.tenants)
}

/// The fresh hellos that light load compares: (name, path).
const FRESH: &[(&str, &str)] =
    &[("Rust hello", "/api/hello"), ("Python hello", "/api/hello-py"), ("JavaScript hello", "/api/hello-js")];

/// The light-load rows, printed: each fresh hello at `--rate` requests a
/// second (open loop) on `ready` (ready instances on, the default) and on a
/// node with them off, side by side; then the Python and JavaScript hellos at
/// saturation on both, so what ready instances cost under load shows too.
fn light_load_rows(
    root: &std::path::Path,
    server_rt: &tokio::runtime::Runtime,
    load_rt: &tokio::runtime::Runtime,
    ready: &servers::Gatehouse,
    o: &Options,
) -> anyhow::Result<()> {
    let off = server_rt.block_on(servers::gatehouse_with(root, None, None, "[sandbox]\nready_instances = 0\n"))?;
    let duration = Duration::from_secs(o.seconds);
    let mut targets = Vec::new();
    for (name, path) in FRESH {
        for (node, label) in [(ready, "ready instances on"), (&off, "ready instances off")] {
            targets.push(Target { path: path.to_string(), ..Target::hello(format!("{name}, {label}"), node.addr) });
        }
    }
    for t in &targets {
        let s = load_rt.block_on(load::paced(t, o.rate, Duration::from_secs(1)))?;
        anyhow::ensure!(s.errors == 0, "{} answered errors while warming up", t.name);
    }
    let mut p50s: Vec<Vec<u64>> = vec![Vec::new(); targets.len()];
    let mut p99s: Vec<Vec<u64>> = vec![Vec::new(); targets.len()];
    for round in 1..=o.rounds {
        println!("light load, {} requests/s, open loop, round {round}:", o.rate);
        for (i, t) in targets.iter().enumerate() {
            let s = load_rt.block_on(load::paced(t, o.rate, duration))?;
            println!("  {:<44} {}", t.name, s.summary());
            p50s[i].push(s.p50_us);
            p99s[i].push(s.p99_us);
        }
    }
    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let mut parts = Vec::new();
    for (i, (name, _)) in FRESH.iter().enumerate() {
        let (on, off) = (2 * i, 2 * i + 1);
        parts.push(format!(
            "{name} {} / {} (p99 {} / {})",
            median(&mut p50s[on]),
            median(&mut p50s[off]),
            median(&mut p99s[on]),
            median(&mut p99s[off])
        ));
    }
    println!("light load ({} req/s, open loop), p50 µs, ready instances on / off: {}", o.rate, parts.join(", "));
    let mut parts = Vec::new();
    for t in targets.chunks(2).skip(1) {
        let mut rps = [Vec::new(), Vec::new()];
        for _ in 0..o.rounds {
            for (k, target) in t.iter().enumerate() {
                rps[k].push(load_rt.block_on(load::run(target, o.connections, duration))?);
            }
        }
        let (on, off) = (Stats::median_of(&rps[0]).rps, Stats::median_of(&rps[1]).rps);
        parts.push(format!(
            "{} {on:.0} / {off:.0} ({:.2}x)",
            t[0].name.split(',').next().unwrap_or_default(),
            on / off
        ));
    }
    println!("saturation ({} connections), requests/s, ready instances on / off: {}", o.connections, parts.join(", "));
    Ok(())
}

/// The many-tenants row, printed.
fn tenants_row(root: &std::path::Path, server_rt: &tokio::runtime::Runtime, n: usize) -> anyhow::Result<()> {
    let t = tenants::row(root, server_rt, n)?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "many tenants: {} created with one app each in {:.1} s; resident {} KiB with none, {} KiB with them; restart to listening {:.2} s with none; the node's very first request after the restart {:.1} ms; first hits of {} tenants median {:.1} ms (max {:.1} ms), second hits median {:.1} ms",
        t.tenants,
        t.populate.as_secs_f64(),
        t.empty_rss_kb,
        t.full_rss_kb,
        t.empty_restart.as_secs_f64(),
        ms(t.first_hit),
        tenants::SAMPLED.min(n),
        ms(t.first_hit_median),
        ms(t.first_hit_max),
        ms(t.second_hit_median),
    );
    let loads: Vec<String> = t.logged_loads.iter().map(|[s, d, a, all]| format!("{all} ({s}+{d}+{a})")).collect();
    println!("  the node's own time per load, ms (store + database + apps), in order: {}", loads.join(", "));
    // A tenant's first hit: the median over distinct tenants (the node's very
    // first request also pays the process's own first-time costs, above).
    println!(
        "tenants: {}, idle KB per tenant: {:.1}, restart to listening: {:.2} s, first hit: {:.1} ms",
        t.tenants,
        t.idle_kb_per_tenant,
        t.restart.as_secs_f64(),
        ms(t.first_hit_median)
    );
    Ok(())
}

/// The hostile-tenant rows, printed: another tenant's p99 under a flood, and
/// the server's CPU for the worst request refused before authentication.
fn hostile_rows(
    root: &std::path::Path,
    server_rt: &tokio::runtime::Runtime,
    load_rt: &tokio::runtime::Runtime,
    o: &Options,
) -> anyhow::Result<()> {
    let node = server_rt.block_on(hostile::node(root))?;
    let duration = Duration::from_secs(o.seconds);
    let n = hostile::noisy_neighbour(&node, load_rt, o.connections, duration, o.rounds)?;
    let (signature_ms, schema_ms, defaults_ms) = hostile::unauthenticated_worst_case(&node, load_rt, 50)?;
    println!(
        "noisy neighbour: another tenant's p99 under a flood of 10x its share / on an idle node: {:.2}x (idle p99 {} µs, flooded p99 {} µs; the flood got {} answers and {} TENANT_OVERLOADED)",
        n.flooded.p99_us as f64 / n.idle.p99_us.max(1) as f64,
        n.idle.p99_us,
        n.flooded.p99_us,
        n.flood_served,
        n.flood_refused
    );
    println!(
        "unauthenticated worst case, server CPU per 1 MiB request: {signature_ms:.2} ms with 5 bad Stripe signatures, {schema_ms:.2} ms for JSON failing its schema, {defaults_ms:.2} ms for valid JSON missing every default"
    );
    Ok(())
}

/// The per-request cost of the hello in every other language, printed.
fn language_costs(g: &servers::Gatehouse, rt: &tokio::runtime::Runtime, iterations: usize) -> anyhow::Result<()> {
    for (name, path) in LANGUAGES.iter().chain(REUSED) {
        let c = rt.block_on(servers::sandbox_cost(&g.app, path, iterations))?;
        println!(
            "per-request cost, {name} ({iterations} iterations): median {:.1} µs, p99 {:.1} µs",
            c.median_us, c.p99_us
        );
    }
    Ok(())
}

/// `--cost-only`: the direct per-request cost of every hello, without load.
fn costs_only(root: &std::path::Path, rt: &tokio::runtime::Runtime, iterations: usize) -> anyhow::Result<()> {
    let g = rt.block_on(servers::gatehouse(root, None, None))?;
    let c = rt.block_on(servers::sandbox_cost(&g.app, "/api/hello", iterations))?;
    println!(
        "per-request cost, Rust hello ({iterations} iterations): median {:.1} µs, p99 {:.1} µs",
        c.median_us, c.p99_us
    );
    let gate = rt.block_on(gate_cost::gate_costs(&g, iterations))?;
    gate_cost::print(&gate, iterations);
    language_costs(&g, rt, iterations / 10)
}
