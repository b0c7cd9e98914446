//! Deploys under load: a tenant's app is redeployed several times while the
//! load generator hits it; reports the time from upload to live (the deploy
//! call returns once the new version serves) and the requests that failed
//! during the swaps (there should be none).

use std::time::{Duration, Instant};

use gatehouse::registry::{Bundle, TenantSettings};

use crate::load::{self, Stats, Target};
use crate::servers::Gatehouse;

/// The figures of one run.
pub(crate) struct DeployFigures {
    pub(crate) deploys: usize,
    pub(crate) median_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) load: Stats,
}

/// Redeploys an app `deploys` times, 250 ms apart, under `connections` connections of load.
pub(crate) fn under_load(
    g: &Gatehouse,
    server_rt: &tokio::runtime::Runtime,
    load_rt: &tokio::runtime::Runtime,
    connections: usize,
    deploys: usize,
) -> anyhow::Result<DeployFigures> {
    let app = g.app.clone();
    let tenant = "bench-deploy";
    let hello = app.config.platform.build_dir.join("wasm32-wasip2/release/hello.wasm");
    let wasm = std::fs::read(&hello)?;
    let bundle = move |n: usize| {
        let mut b = Bundle::default();
        b.files.insert(
            "gatehouse.toml".into(),
            format!(
                "[app]\nname = \"shop\"\n\n[[endpoint]]\nroute = \"GET /api/hello\"\ncomponent = \"hello.wasm\"\n\
                 variables = {{ VERSION = \"{n}\" }}\n"
            )
            .into_bytes(),
        );
        b.files.insert("hello.wasm".into(), wasm.clone());
        b.to_tar()
    };
    server_rt.block_on(async {
        let _ = app.registry.create_tenant(tenant, &TenantSettings::default()).await;
        app.registry.deploy(tenant, &bundle(0)?).await.map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let target = Target { path: format!("/t/{tenant}/api/hello"), ..Target::hello("deploy under load", g.addr) };
    let deployer = server_rt.spawn(async move {
        let mut took = Vec::new();
        tokio::time::sleep(Duration::from_millis(250)).await;
        for n in 1..=deploys {
            let tar = bundle(n)?;
            let started = Instant::now();
            app.registry.deploy(tenant, &tar).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            took.push(started.elapsed().as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        anyhow::Ok(took)
    });
    let seconds = 0.5 + deploys as f64 * 0.3;
    let load = load_rt.block_on(load::run(&target, connections, Duration::from_secs_f64(seconds)))?;
    let mut took = server_rt.block_on(deployer)??;
    took.sort_by(f64::total_cmp);
    Ok(DeployFigures {
        deploys: took.len(),
        median_ms: took[took.len() / 2],
        max_ms: *took.last().unwrap_or(&0.0),
        load,
    })
}
