//! `gatehouse deploy ./app --tenant T` and `gatehouse apps …`: clients of a
//! running server's admin API. Deploy builds each endpoint that is a source
//! folder (Rust, Python or JavaScript) here (the server never runs a build script), packs the app into a
//! bundle with the manifest pointing at the built components, uploads it and
//! prints each step as it goes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::Value;

use super::client::{Client, ServerArgs};
use super::fail;
use crate::config::{MANIFEST_FILE, PlatformConfig};
use crate::registry::{Bundle, Language, build_component};

#[derive(Args, Debug)]
pub(super) struct DeployArgs {
    /// The app folder, holding gatehouse.toml.
    dir: PathBuf,
    /// The tenant to deploy to.
    #[arg(long)]
    tenant: String,
    /// A gradual rollout: the new version serves this share of callers (1 to
    /// 99), the active version the rest; it rolls back on its own if its error
    /// rate is worse. `gatehouse apps promote` gives it every caller.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=99))]
    percent: Option<u8>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Subcommand, Debug)]
pub(super) enum AppsCommand {
    /// A tenant's apps and their active versions.
    List {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// An app's kept versions, newest first, with content hashes and times.
    Versions {
        /// The app.
        app: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Give a gradual rollout's new version every caller, or (with --percent) another share.
    Promote {
        /// The app.
        app: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// A new share of callers, 1 to 99, instead of all of them.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=99))]
        percent: Option<u8>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Where an app's gradual rollout stands: versions, share, the server's counts, why it ended.
    Rollout {
        /// The app.
        app: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// End the rollout now: every caller gets the active version.
        #[arg(long)]
        abort: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make a kept version live again (ends any rollout).
    Rollback {
        /// The app.
        app: String,
        /// The version to serve.
        version: i64,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print a tenant's log lines (its guests' lines, kills, deploys) from this server.
    Logs {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Keep printing new lines as they come.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Take an app offline (its versions are kept).
    Undeploy {
        /// The app.
        app: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn step(text: &str) {
    eprint!("  {text}… ");
    let _ = std::io::stderr().flush();
}

pub(super) async fn deploy(config: Option<PlatformConfig>, args: DeployArgs) -> std::process::ExitCode {
    let client = match Client::new(config.as_ref(), &args.server) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let build_dir = config.as_ref().map(|c| c.platform.build_dir.clone()).unwrap_or_else(|| args.dir.join("target"));
    eprintln!("deploying {} to tenant {}", args.dir.display(), args.tenant);
    let started = Instant::now();
    let bundle = match pack(&args.dir, &build_dir) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let tar = match bundle.to_tar() {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot pack the bundle: {e}")),
    };
    eprintln!("  packed {} files, {} KB, bundle {}", bundle.files.len(), tar.len() / 1024, &bundle.hash()[..12]);
    step("uploading, checking and compiling on the server");
    let url = match args.percent {
        Some(p) => client.url(&format!("/admin/v1/tenants/{}/apps?percent={p}", args.tenant)),
        None => client.url(&format!("/admin/v1/tenants/{}/apps", args.tenant)),
    };
    let request = client.http.post(url).header("content-type", "application/x-tar").body(tar);
    match client.send(request).await {
        Ok(report) => {
            eprintln!("ok ({} ms on the server, {} compiled)", report["totalMs"], report["compiled"]);
            let routes: Vec<&str> =
                report["routes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let share = match args.percent {
                Some(p) => format!(" for {p} % of callers (a gradual rollout; `gatehouse apps promote` for all)"),
                None => String::new(),
            };
            println!(
                "live: {}@{}{share} for tenant {} ({} routes) in {:.1} s",
                report["app"].as_str().unwrap_or("?"),
                report["version"],
                args.tenant,
                routes.len(),
                started.elapsed().as_secs_f64()
            );
            for r in routes {
                println!("  {r}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("refused");
            fail(format!("{e}; the previous version keeps serving"))
        }
    }
}

/// Builds the source folders the manifest names and packs the app: the manifest
/// (components pointing at the built files), the built components, and every
/// other file of the folder except sources of built crates, `target` and hidden files.
fn pack(dir: &Path, build_dir: &Path) -> Result<Bundle, String> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|e| format!("cannot read {} ({e}); an app folder holds a {MANIFEST_FILE}", manifest_path.display()))?;
    let mut manifest: toml::Table = text.parse().map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let mut bundle = Bundle::default();
    let mut crates: Vec<PathBuf> = Vec::new();
    if let Some(endpoints) = manifest.get_mut("endpoint").and_then(toml::Value::as_array_mut) {
        for e in endpoints {
            let Some(component) = e.get("component").and_then(toml::Value::as_str).map(str::to_string) else {
                continue;
            };
            let folder = dir.join(&component);
            if Language::of(&folder).is_none() {
                continue;
            }
            let name = folder.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let packed = format!("components/{name}.wasm");
            if !crates.contains(&folder) {
                step(&format!("building {component}"));
                let t = Instant::now();
                let wasm = build_component(&folder, build_dir).map_err(|e| {
                    eprintln!("failed");
                    e.to_string()
                })?;
                let data = std::fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
                eprintln!("ok ({} KB, {:.1} s)", data.len() / 1024, t.elapsed().as_secs_f64());
                bundle.files.insert(packed.clone(), data);
                crates.push(folder);
            }
            if let Some(t) = e.as_table_mut() {
                t.insert("component".into(), toml::Value::String(packed));
            }
        }
    }
    add_files(dir, dir, &crates, &mut bundle)?;
    bundle.files.insert(MANIFEST_FILE.into(), toml::to_string(&manifest).map_err(|e| e.to_string())?.into_bytes());
    Ok(bundle)
}

fn add_files(root: &Path, dir: &Path, skip: &[PathBuf], bundle: &mut Bundle) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" || skip.contains(&path) {
            continue;
        }
        if path.is_dir() {
            add_files(root, &path, skip, bundle)?;
        } else if path.is_file() && path != root.join(MANIFEST_FILE) {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let data = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            bundle.files.insert(rel, data);
        }
    }
    Ok(())
}

pub(super) async fn apps(config: Option<PlatformConfig>, action: AppsCommand) -> std::process::ExitCode {
    let server = match &action {
        AppsCommand::List { server, .. }
        | AppsCommand::Versions { server, .. }
        | AppsCommand::Rollback { server, .. }
        | AppsCommand::Promote { server, .. }
        | AppsCommand::Rollout { server, .. }
        | AppsCommand::Logs { server, .. }
        | AppsCommand::Undeploy { server, .. } => server.clone(),
    };
    let client = match Client::new(config.as_ref(), &server) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let result = match &action {
        AppsCommand::List { tenant, .. } => {
            client.send(client.http.get(client.url(&format!("/admin/v1/tenants/{tenant}/apps")))).await.map(|apps| {
                println!("{:<24}  {:<6}  {:<12}  NOTE", "APP", "ACTIVE", "ROLLOUT");
                for a in apps.as_array().into_iter().flatten() {
                    let active = a["activeVersion"].as_i64().map(|v| v.to_string()).unwrap_or_else(|| "-".into());
                    let rollout = match (a["canaryVersion"].as_i64(), a["canaryPercent"].as_i64()) {
                        (Some(v), Some(p)) => format!("{v} at {p} %"),
                        _ => "-".into(),
                    };
                    let note = a["rolloutNote"].as_str().unwrap_or("");
                    println!("{:<24}  {active:<6}  {rollout:<12}  {note}", a["name"].as_str().unwrap_or("?"));
                }
            })
        }
        AppsCommand::Versions { app, tenant, .. } => client
            .send(client.http.get(client.url(&format!("/admin/v1/tenants/{tenant}/apps/{app}/versions"))))
            .await
            .map(|versions| {
                println!("{:<8}  {:<14}  {:<12}  ACTIVE", "VERSION", "HASH", "CREATED");
                for v in versions.as_array().into_iter().flatten() {
                    let hash = v["bundleHash"].as_str().unwrap_or("");
                    println!(
                        "{:<8}  {:<14}  {:<12}  {}",
                        v["version"],
                        &hash[..hash.len().min(12)],
                        v["createdAt"],
                        if v["active"].as_bool() == Some(true) { "*" } else { "" }
                    );
                }
            }),
        AppsCommand::Rollback { app, version, tenant, .. } => client
            .send(
                client
                    .http
                    .post(client.url(&format!("/admin/v1/tenants/{tenant}/apps/{app}/rollback")))
                    .json(&serde_json::json!({ "version": version })),
            )
            .await
            .map(|_| println!("live: {app}@{version} for tenant {tenant}")),
        AppsCommand::Promote { app, tenant, percent, .. } => client
            .send(
                client
                    .http
                    .post(client.url(&format!("/admin/v1/tenants/{tenant}/apps/{app}/promote")))
                    .json(&serde_json::json!({ "percent": percent })),
            )
            .await
            .map(|r| match percent {
                Some(p) => println!("{app}@{} now serves {p} % of tenant {tenant}'s callers", r["canaryVersion"]),
                None => println!("live: {app}@{} for every caller of tenant {tenant}", r["activeVersion"]),
            }),
        AppsCommand::Rollout { app, tenant, abort: true, .. } => client
            .send(client.http.delete(client.url(&format!("/admin/v1/tenants/{tenant}/apps/{app}/rollout"))))
            .await
            .map(|r| println!("rollout ended: {app}@{} serves every caller of tenant {tenant}", r["activeVersion"])),
        AppsCommand::Rollout { app, tenant, .. } => client
            .send(client.http.get(client.url(&format!("/admin/v1/tenants/{tenant}/apps/{app}/rollout"))))
            .await
            .map(|r| print_rollout(&r)),
        AppsCommand::Logs { tenant, follow, .. } => tail(&client, tenant, *follow).await,
        AppsCommand::Undeploy { app, tenant, .. } => client
            .send(client.http.delete(client.url(&format!("/admin/v1/tenants/{tenant}/apps/{app}"))))
            .await
            .map(|_| println!("undeployed {app} of tenant {tenant}; `gatehouse apps rollback` brings a version back")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Prints where a rollout stands.
fn print_rollout(r: &Value) {
    println!("active version: {}", r["activeVersion"]);
    match (r["canaryVersion"].as_i64(), r["percent"].as_i64()) {
        (Some(v), Some(p)) => {
            println!("canary version: {v}, for {p} % of callers");
            let n = &r["thisNode"];
            if n.is_object() {
                println!(
                    "on this server:  active {} errors of {} requests, canary {} of {}",
                    n["activeErrors"], n["activeRequests"], n["canaryErrors"], n["canaryRequests"]
                );
            }
            println!(
                "rolls back on its own past {} canary requests if its error rate is over the active one's by {} points",
                r["rollbackMinRequests"], r["rollbackErrorMargin"]
            );
        }
        _ => println!("no rollout under way"),
    }
    if let Some(note) = r["note"].as_str() {
        println!("last rollout: {note}");
    }
}

/// Prints the tenant's lines; with `follow`, polls for new ones once a second.
async fn tail(client: &Client, tenant: &str, follow: bool) -> Result<(), String> {
    let mut after = 0u64;
    loop {
        let url = client.url(&format!("/admin/v1/tenants/{tenant}/logs?after={after}&limit=1000"));
        let lines = client.send(client.http.get(url)).await?;
        for l in lines.as_array().into_iter().flatten() {
            after = after.max(l["seq"].as_u64().unwrap_or(0));
            println!(
                "{} {:<5} {} {} {}",
                l["timeMs"],
                l["level"].as_str().unwrap_or(""),
                l["target"].as_str().unwrap_or(""),
                l["message"].as_str().unwrap_or(""),
                l["fields"].as_str().unwrap_or("")
            );
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
