//! Everything a running platform holds, and how it is put together from config.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::PlatformConfig;
use crate::registry::{LoadError, RouteTable, load_endpoints};
use crate::sandbox::{Sandbox, SandboxSettings};

/// The running platform: the sandbox and the current route table.
pub struct App {
    /// Swapped whole on deploy; each request loads it once.
    pub routes: ArcSwap<RouteTable>,
    /// The engine, linker and pool.
    pub sandbox: Sandbox,
}

/// Why the platform could not start; printed as one message before exiting.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The sandbox engine could not be built.
    #[error("the WebAssembly engine could not start: {0}")]
    Engine(String),
    /// An endpoint could not be loaded.
    #[error(transparent)]
    Endpoint(#[from] LoadError),
    /// Routes conflict.
    #[error("{config}: {problem}")]
    Routes {
        /// The config file.
        config: String,
        /// Which routes and why.
        problem: String,
    },
}

impl App {
    /// Builds the sandbox, builds and compiles every endpoint, and routes them.
    /// Blocking (cargo, cranelift): call it from `spawn_blocking` or before serving.
    pub fn prepare(config: &PlatformConfig) -> Result<Arc<Self>, StartupError> {
        let sandbox = Sandbox::new(SandboxSettings {
            max_instances: config.sandbox.max_instances,
            max_memory_bytes: config.max_memory_bytes(),
            queue_timeout: config.sandbox.queue_timeout,
        })
        .map_err(|e| StartupError::Engine(format!("{e:#}")))?;
        let endpoints = load_endpoints(config, &sandbox)?;
        let routes = RouteTable::build(endpoints)
            .map_err(|problem| StartupError::Routes { config: config.path.display().to_string(), problem })?;
        Ok(Arc::new(Self { routes: ArcSwap::from_pointee(routes), sandbox }))
    }
}
