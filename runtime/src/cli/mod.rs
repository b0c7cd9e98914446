//! The `gatehouse` command line. Thin: parse, load config, hand off.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::clock::unix_now;
use crate::config::{Overrides, PlatformConfig, parse_duration};
use crate::identity::api_key::{KeySpec, issue};
use crate::store::Store;

mod client;
mod deploy;
mod limits;
mod openapi;
mod scaffold;
mod status;
mod tenants;
mod test_runner;

/// Runs custom API endpoints as sandboxed WebAssembly components.
#[derive(Parser, Debug)]
#[command(name = "gatehouse", version)]
pub struct Cli {
    /// The platform config.
    #[arg(long, global = true, default_value = "platform.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build, compile and serve every endpoint in the config, and every deployed app.
    Serve {
        /// Listen here instead of `platform.listen` (also GATEHOUSE_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Rebuild an endpoint whose source changed and swap it in, without a restart.
        #[arg(long)]
        watch: bool,
    },
    /// Build, compile and check every endpoint, then exit: 0 if all would serve.
    Check,
    /// Build every endpoint of the config from source, whatever its language.
    Build,
    /// Start an endpoint: endpoints/<name> with a working handler, routed in the config.
    New {
        /// Lower-case letters, digits and -.
        name: String,
        /// Its language.
        #[arg(long, value_enum, default_value = "rust")]
        lang: scaffold::Lang,
        /// Its route (default "GET /api/<name>").
        #[arg(long)]
        route: Option<String>,
    },
    /// Manage API keys (stored in the platform store).
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Manage tenants (stored in the platform store; a running server picks changes up at once).
    Tenants {
        #[command(subcommand)]
        action: Box<tenants::TenantsCommand>,
    },
    /// Build an app's endpoints, pack the app and deploy it to a tenant through the admin API.
    Deploy(deploy::DeployArgs),
    /// List apps and versions, roll back, undeploy, read a tenant's logs (through the admin API).
    Apps {
        #[command(subcommand)]
        action: deploy::AppsCommand,
    },
    /// Print a tenant's OpenAPI 3.1 document, generated from what it serves.
    Openapi {
        /// The tenant (default: platform.tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Run the declarative tests (tests/*.toml) of an app folder or a platform.toml
    /// against an in-process platform: the real gate, a throwaway database, mock upstreams.
    Test {
        /// An app folder (gatehouse.toml), a folder with platform.toml, or either file (default: here).
        path: Option<PathBuf>,
    },
    /// A running node's health (through its admin API); exits 1 unless it is ready.
    Status(client::ServerArgs),
    /// Every limit the platform enforces, with this config's values.
    Limits {
        /// As the README's Markdown table.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// As JSON, like `GET /admin/v1/limits`.
        #[arg(long)]
        json: bool,
        /// The built-in defaults, whatever platform.toml says.
        #[arg(long)]
        defaults: bool,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a key and print it once (on stdout, alone on its line).
    Create {
        /// The tenant it belongs to (default: platform.tenant).
        #[arg(long)]
        tenant: Option<String>,
        /// Comma-separated scopes, e.g. read,write.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Expire after this long, e.g. 30d.
        #[arg(long)]
        expires: Option<String>,
        /// A label.
        #[arg(long, default_value = "")]
        name: String,
        /// The user the key acts for.
        #[arg(long)]
        user: Option<String>,
        /// Make an sk_test_ key instead of sk_live_.
        #[arg(long)]
        test: bool,
    },
    /// List keys (never the keys themselves).
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by id; effective on the next request.
    Revoke {
        /// The key's id (the part after sk_live_ in its prefix).
        id: String,
    },
}

/// Parses the arguments and runs; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    // A compile child (see `sandbox::compiler`): no config, no runtime, no log.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(crate::sandbox::COMPILE_SUBCOMMAND) {
        return crate::sandbox::run_compile_child(&args[2..]);
    }
    if let Ok(me) = std::env::current_exe() {
        crate::sandbox::compile_in_children(me);
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> std::process::ExitCode {
    let mut overrides = Overrides::from_env();
    if let Command::Serve { listen: Some(l), .. } = &cli.command {
        overrides.listen = Some(l.clone());
    }
    // Deploying needs no platform.toml: it talks to a server, wherever it runs.
    let loaded = PlatformConfig::load(&cli.config, &overrides);
    match cli.command {
        Command::New { name, lang, route } => return scaffold::new(&cli.config, &name, lang, route),
        Command::Deploy(args) => return deploy::deploy(loaded.ok(), args).await,
        Command::Apps { action } => return deploy::apps(loaded.ok(), action).await,
        Command::Status(server) => return status::print(loaded.ok(), server).await,
        Command::Test { path } => return test_runner::run(path).await,
        Command::Limits { markdown, json, defaults } => {
            return limits::print(loaded.map_err(|e| e.to_string()), markdown, json, defaults);
        }
        _ => {}
    }
    let config = match loaded {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    match cli.command {
        Command::Deploy(_)
        | Command::Apps { .. }
        | Command::New { .. }
        | Command::Status(_)
        | Command::Test { .. }
        | Command::Limits { .. } => unreachable!("handled above"),
        Command::Build => {
            crate::telemetry::init(config.platform.log_format);
            scaffold::build(&config)
        }
        Command::Tenants { action } => tenants::run(&config, *action).await,
        Command::Keys { action } => keys(&config, action).await,
        Command::Openapi { tenant } => openapi::print(&config, tenant).await,
        Command::Check => {
            crate::telemetry::init(config.platform.log_format);
            match App::prepare(&config).await {
                Ok(app) => {
                    let tenants = app.registry.directory().len();
                    println!("ok: {} endpoint(s) ready; {tenants} tenant(s)", config.endpoints.len());
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => fail(e.to_string()),
            }
        }
        Command::Serve { watch, .. } => serve(config, watch).await,
    }
}

async fn serve(config: PlatformConfig, watch: bool) -> std::process::ExitCode {
    let telemetry = crate::telemetry::init_with_traces(config.platform.log_format, &config.telemetry);
    let app = match App::prepare(&config).await {
        Ok(app) => app,
        Err(e) => return fail(e.to_string()),
    };
    let listener = match tokio::net::TcpListener::bind(config.platform.listen).await {
        Ok(l) => l,
        Err(e) => {
            return fail(format!(
                "cannot listen on {} ({e}); pick another address with --listen or GATEHOUSE_LISTEN",
                config.platform.listen
            ));
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    if let Some(token) = config.admin.token.clone() {
        let admin = match tokio::net::TcpListener::bind(config.admin.listen).await {
            Ok(l) => l,
            Err(e) => {
                return fail(format!(
                    "cannot listen on {} for the admin API ({e}); set admin.listen",
                    config.admin.listen
                ));
            }
        };
        let addr = admin.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let mut stop = stop_rx.clone();
        let admin_app = app.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = crate::server::admin::run(admin, admin_app, token, shutdown).await {
                tracing::error!("admin API stopped: {e}");
            }
        });
        println!("gatehouse admin listening on http://{addr}");
    } else {
        tracing::info!("admin API off: set [admin] token_env (or GATEHOUSE_ADMIN_TOKEN) to enable it");
    }
    if let Some(listen) = config.metrics.listen {
        let metrics = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot listen on {listen} for metrics ({e}); set metrics.listen")),
        };
        let addr = metrics.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let mut stop = stop_rx.clone();
        let metrics_app = app.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = crate::server::metrics::run(metrics, metrics_app, shutdown).await {
                tracing::error!("metrics listener stopped: {e}");
            }
        });
        println!("gatehouse metrics on http://{addr}/metrics");
    }
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    for (name, tenant) in &app.registry.directory().tenants {
        for route in tenant.routes.routes() {
            tracing::info!(tenant = %name, path = route, "routed");
        }
    }
    let asleep = app.registry.directory().asleep.len();
    if asleep > 0 {
        tracing::info!(tenants = asleep, "tenants load on their first request");
    }
    crate::registry::spawn_sync(app.clone());
    if watch {
        crate::registry::spawn_watch(app.clone());
    }
    tracing::info!(rate_limits = app.limiter.backend_name(), "gate ready");
    // Tests and scripts wait for this exact line.
    println!("gatehouse listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    let served = crate::server::run(listener, app, shutdown).await;
    // The spans of the last requests, still batched, go out before the process does.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(format!("server error: {e}")),
    }
}

async fn keys(config: &PlatformConfig, action: KeysCommand) -> std::process::ExitCode {
    let store = match Store::open(&config.platform).await {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    match action {
        KeysCommand::Create { tenant, scopes, expires, name, user, test } => {
            let expires_at = match expires.as_deref().map(parse_duration) {
                None => None,
                Some(Ok(d)) => Some(unix_now() + d.as_secs() as i64),
                Some(Err(e)) => return fail(format!("--expires: {e}")),
            };
            let spec = KeySpec {
                tenant: tenant.unwrap_or_else(|| config.platform.tenant.clone()),
                name,
                scopes: scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
                user_id: user,
                expires_at,
                test,
            };
            match issue(&store, spec).await {
                Ok(new) => {
                    println!("{}", new.key);
                    eprintln!(
                        "created API key {} for tenant {} (scopes: {}); it is shown only this once",
                        new.record.prefix,
                        new.record.tenant,
                        if new.record.scopes.is_empty() { "none".into() } else { new.record.scopes.join(",") }
                    );
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        KeysCommand::List { tenant } => match store.list_keys(tenant.as_deref()).await {
            Ok(keys) => {
                println!("{:<10}  {:<20}  {:<12}  {:<16}  {:<20}  STATUS", "ID", "PREFIX", "TENANT", "NAME", "SCOPES");
                let now = unix_now();
                for k in keys {
                    let status = match (k.revoked_at, k.expires_at) {
                        (Some(_), _) => "revoked",
                        (None, Some(e)) if e <= now => "expired",
                        _ => "active",
                    };
                    println!(
                        "{:<10}  {:<20}  {:<12}  {:<16}  {:<20}  {status}",
                        k.id,
                        k.prefix,
                        k.tenant,
                        k.name,
                        k.scopes.join(",")
                    );
                }
                std::process::ExitCode::SUCCESS
            }
            Err(e) => fail(e.to_string()),
        },
        KeysCommand::Revoke { id } => match store.revoke_key(&id, unix_now()).await {
            Ok(true) => {
                println!("revoked {id}");
                std::process::ExitCode::SUCCESS
            }
            Ok(false) => fail(format!("no API key with id {id}; `gatehouse keys list` shows them")),
            Err(e) => fail(e.to_string()),
        },
    }
}

pub(crate) fn fail(message: String) -> std::process::ExitCode {
    eprintln!("error: {message}");
    std::process::ExitCode::FAILURE
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down; letting requests in flight finish");
}
