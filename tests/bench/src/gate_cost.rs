//! The gate's steps timed directly, without HTTP, on the gated row's endpoint:
//! authenticate the key, check the scope, count the request against its rate
//! limit (in memory), validate the body against its schema. Each is run many
//! times in a row and timed as a batch, so the clock's own cost stays out.

use std::net::IpAddr;
use std::time::Instant;

use gatehouse::gate;
use gatehouse::registry::Lookup;
use http::HeaderMap;

use crate::servers::Gatehouse;

/// Mean ns per call of each step, in gate order: (step, ns).
pub(crate) async fn gate_costs(g: &Gatehouse, iterations: usize) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let app = &g.app;
    let directory = app.registry.directory();
    let tenant = directory.tenants.get(&app.config.platform.tenant).ok_or_else(|| anyhow::anyhow!("no tenant"))?;
    let tenant = tenant.clone();
    drop(directory);
    let Lookup::Found(endpoint, _) = tenant.routes.lookup(&http::Method::POST, "/api/hello-gated") else {
        anyhow::bail!("/api/hello-gated is not routed");
    };
    let endpoint = endpoint.clone();
    let mut headers = HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, format!("Bearer {}", g.key).parse()?);
    headers.insert(http::header::CONTENT_TYPE, "application/json".parse()?);
    let body = bytes::Bytes::from_static(br#"{"name":"bench"}"#);
    let ip: IpAddr = "127.0.0.1".parse()?;
    let policy = &endpoint.policy;
    let sessions = tenant.sessions.as_deref();
    let authenticate = || gate::auth::authenticate(policy.auth, &headers, &app.identity, sessions, &endpoint.tenant);
    let principal = authenticate().await.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let schema = endpoint.body_schema.as_ref().ok_or_else(|| anyhow::anyhow!("no body schema"))?;

    let mut out = Vec::new();
    let t = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(authenticate().await.map_err(|e| anyhow::anyhow!("{}", e.message))?);
    }
    out.push(("authenticate (key lookup, SHA-256, principal)", per_call(t, iterations)));
    let t = Instant::now();
    for _ in 0..iterations {
        gate::scopes::check(std::hint::black_box(&policy.scopes), &principal)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    }
    out.push(("scopes", per_call(t, iterations)));
    let t = Instant::now();
    for _ in 0..iterations {
        let h = app
            .limiter
            .check(&endpoint.tenant, &endpoint.route_label, &policy.rate_limits, tenant.rate_ceiling, &principal, ip)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        std::hint::black_box(h);
    }
    out.push(("rate limit (memory) and its headers", per_call(t, iterations)));
    let t = Instant::now();
    for _ in 0..iterations {
        let checked = gate::validate::body(schema, &headers, std::hint::black_box(&body))
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        std::hint::black_box(checked);
    }
    out.push(("body schema (one pass)", per_call(t, iterations)));
    Ok(out)
}

fn per_call(started: Instant, iterations: usize) -> f64 {
    started.elapsed().as_nanos() as f64 / iterations as f64
}

/// Prints the steps and their sum.
pub(crate) fn print(costs: &[(&str, f64)], iterations: usize) {
    println!("the gate's steps, direct ({iterations} calls each, mean):");
    for (step, ns) in costs {
        println!("  {step:<48} {:>7.2} µs", ns / 1000.0);
    }
    println!("  {:<48} {:>7.2} µs", "all four", costs.iter().map(|(_, ns)| ns).sum::<f64>() / 1000.0);
}
