//! Everything a running platform holds, and how it is put together from config.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::capabilities::secret_book::SecretBook;
use crate::config::PlatformConfig;
use crate::gate::rate_limit::RateLimiter;
use crate::identity::{Identity, KeyRing};
use crate::registry::Registry;
use crate::sandbox::{Sandbox, SandboxSettings};
use crate::store::{Store, StoreError};

/// The running platform.
pub struct App {
    /// Tenants, their routes and apps; swapped whole on any change.
    pub registry: Registry,
    /// The engine, linker and pool.
    pub sandbox: Arc<Sandbox>,
    /// API keys.
    pub identity: Identity,
    /// Rate limits (memory or Redis).
    pub limiter: RateLimiter,
    /// Counters for the admin API.
    pub stats: Stats,
    /// Secrets set through the admin API.
    pub secrets: Arc<SecretBook>,
    /// The platform config this was built from.
    pub config: Arc<PlatformConfig>,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Readiness, checked at most once a second whoever asks.
    pub probe: crate::health::Probe,
    /// When this node started.
    pub started: std::time::Instant,
}

/// Request counters.
#[derive(Default)]
pub struct Stats {
    /// Requests routed to an endpoint.
    pub requests: AtomicU64,
    /// Of those, refused by the gate (no instance created).
    pub refused_by_gate: AtomicU64,
    /// Connections open on the public listener now.
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
}

/// Why the platform could not start; printed as one message before exiting.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The sandbox engine could not be built.
    #[error("the WebAssembly engine could not start: {0}")]
    Engine(String),
    /// The endpoints or deployed apps could not be loaded.
    #[error("{0}")]
    Registry(crate::registry::LoadFailure),
    /// The platform database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `[blobs]`: the object storage could not be set up.
    #[error("{config}: [blobs]: {problem}")]
    Blobs {
        /// The config file.
        config: String,
        /// Why.
        problem: String,
    },
    /// `platform.redis_url` could not be reached.
    #[error("{config}: platform.redis_url: {problem}; start Redis or remove redis_url to limit in memory")]
    Redis {
        /// The config file.
        config: String,
        /// Why.
        problem: String,
    },
}

impl App {
    /// Opens the store, connects the limiter, builds the sandbox, builds and
    /// compiles every endpoint (on a blocking thread) and every deployed app,
    /// and routes them.
    pub async fn prepare(config: &PlatformConfig) -> Result<Arc<Self>, StartupError> {
        let config = Arc::new(config.clone());
        let config_name = config.path.display().to_string();
        let store = Store::open(&config.platform).await?;
        store.listen_for_changes();
        let secrets = Arc::new(SecretBook::load(store.clone()).await?);
        let keys = KeyRing::load(store.clone()).await?;
        let limiter = RateLimiter::new(config.platform.redis_url.as_deref(), &config.rate_limit)
            .await
            .map_err(|problem| StartupError::Redis { config: config_name.clone(), problem })?;
        let settings = SandboxSettings {
            max_instances: config.sandbox.max_instances,
            max_memory_bytes: config.max_memory_bytes(),
            queue_timeout: config.sandbox.queue_timeout,
            ready_instances: config.sandbox.ready_instances,
        };
        let sandbox = tokio::task::spawn_blocking(move || Sandbox::new(settings))
            .await
            .map_err(|e| StartupError::Engine(e.to_string()))?
            .map_err(|e| StartupError::Engine(format!("{e:#}")))?;
        let sandbox = Arc::new(sandbox);
        let blobs = crate::capabilities::blobs::BlobPlatform::start(&config, &store)
            .await
            .map_err(|problem| StartupError::Blobs { config: config_name.clone(), problem })?;
        let registry = Registry::start(config.clone(), store, sandbox.clone(), secrets.clone(), Arc::new(blobs))
            .await
            .map_err(StartupError::Registry)?;
        Ok(Arc::new(Self {
            registry,
            sandbox,
            identity: Identity::new(keys),
            limiter,
            stats: Stats::default(),
            secrets,
            metrics: Arc::new(crate::metrics::Metrics::new(config.metrics.max_tenants)),
            probe: crate::health::Probe::default(),
            started: std::time::Instant::now(),
            config,
        }))
    }

    /// The metrics as Prometheus scrapes them, with the values kept elsewhere read now.
    pub fn render_metrics(&self) -> String {
        use std::sync::atomic::Ordering;
        let directory = self.registry.directory();
        let snapshot = crate::metrics::Snapshot {
            tenants: directory
                .tenants
                .values()
                .map(|t| (t.name.to_string(), t.share.in_use(), t.share.waiting()))
                .collect(),
            cache_hits: self.registry.cached.load(Ordering::Relaxed),
            cache_misses: self.registry.compiled.load(Ordering::Relaxed),
            rate_limit_backend_errors: self.limiter.backend_errors(),
            log_lines_dropped: crate::telemetry::dropped_log_lines(),
            tenants_loaded: directory.tenants.len() as u64,
            tenants_asleep: directory.asleep.len() as u64,
            tenant_loads: self.registry.loads.load(Ordering::Relaxed),
        };
        drop(directory);
        self.metrics.render(&snapshot)
    }
}

impl AsRef<Registry> for App {
    fn as_ref(&self) -> &Registry {
        &self.registry
    }
}
