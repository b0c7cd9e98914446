//! The `gatehouse` command line. Thin: parse, load config, hand off.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::{Overrides, PlatformConfig};

/// Runs custom API endpoints as sandboxed WebAssembly components.
#[derive(Parser, Debug)]
#[command(name = "gatehouse", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build, compile and serve every endpoint in the config.
    Serve {
        /// The platform config.
        #[arg(long, default_value = "platform.toml")]
        config: PathBuf,
        /// Listen here instead of `platform.listen` (also GATEHOUSE_LISTEN).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Build, compile and check every endpoint, then exit: 0 if all would serve.
    Check {
        /// The platform config.
        #[arg(long, default_value = "platform.toml")]
        config: PathBuf,
    },
}

/// Parses the arguments and runs; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> std::process::ExitCode {
    let mut overrides = Overrides::from_env();
    let (config_path, is_serve) = match &cli.command {
        Command::Serve { config, listen } => {
            if listen.is_some() {
                overrides.listen = listen.clone();
            }
            (config.clone(), true)
        }
        Command::Check { config } => (config.clone(), false),
    };
    let config = match PlatformConfig::load(&config_path, &overrides) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    crate::telemetry::init(config.platform.log_format);

    let prepared = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || App::prepare(&config)).await
    };
    let app = match prepared {
        Ok(Ok(app)) => app,
        Ok(Err(e)) => return fail(e.to_string()),
        Err(e) => return fail(format!("loading endpoints panicked: {e}")),
    };
    if !is_serve {
        println!("ok: {} endpoint(s) ready", config.endpoints.len());
        return std::process::ExitCode::SUCCESS;
    }

    let listener = match tokio::net::TcpListener::bind(config.platform.listen).await {
        Ok(l) => l,
        Err(e) => {
            return fail(format!(
                "cannot listen on {} ({e}); pick another address with --listen or GATEHOUSE_LISTEN",
                config.platform.listen
            ));
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    for route in app.routes.load().routes() {
        tracing::info!(path = route, "routed");
    }
    // Tests and scripts wait for this exact line.
    println!("gatehouse listening on http://{addr}");
    tracing::info!(%addr, "listening");
    match crate::server::run(listener, app, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(format!("server error: {e}")),
    }
}

fn fail(message: String) -> std::process::ExitCode {
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
