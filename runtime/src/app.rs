//! Everything a running platform holds, and how it is put together from config.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arc_swap::ArcSwap;

use crate::capabilities::secret_book::SecretBook;
use crate::config::PlatformConfig;
use crate::gate::rate_limit::RateLimiter;
use crate::identity::{Identity, KeyRing, SessionVerifier};
use crate::registry::{LoadError, RouteTable, TenantServices, load_endpoints};
use crate::sandbox::{Sandbox, SandboxSettings};
use crate::store::{Store, StoreError};

/// The running platform.
pub struct App {
    /// Swapped whole on deploy; each request loads it once.
    pub routes: ArcSwap<RouteTable>,
    /// The engine, linker and pool.
    pub sandbox: Sandbox,
    /// API keys and sessions.
    pub identity: Identity,
    /// Rate limits (memory or Redis).
    pub limiter: RateLimiter,
    /// Counters for the admin API.
    pub stats: Stats,
    /// Secrets set through the admin API.
    pub secrets: Arc<SecretBook>,
    /// The platform config this was built from.
    pub config: PlatformConfig,
}

/// Request counters.
#[derive(Default)]
pub struct Stats {
    /// Requests routed to an endpoint.
    pub requests: AtomicU64,
    /// Of those, refused by the gate (no instance created).
    pub refused_by_gate: AtomicU64,
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
    /// The platform database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `[auth.session]` could not be used.
    #[error("{config}: auth.session: {problem}")]
    Session {
        /// The config file.
        config: String,
        /// Why.
        problem: String,
    },
    /// The tenant's database could not be opened or migrated.
    #[error("{config}: the tenant database: {problem}")]
    Database {
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
    /// compiles every endpoint (on a blocking thread), and routes them.
    pub async fn prepare(config: &PlatformConfig) -> Result<Arc<Self>, StartupError> {
        let config_name = config.path.display().to_string();
        let store = Store::open(&config.platform.data_dir).await?;
        let secrets = Arc::new(SecretBook::load(store.clone()).await?);
        let keys = KeyRing::load(store).await?;
        let sessions = match &config.session {
            Some(s) => Some(
                SessionVerifier::new(s)
                    .map_err(|problem| StartupError::Session { config: config_name.clone(), problem })?,
            ),
            None => None,
        };
        let limiter = RateLimiter::new(config.platform.redis_url.as_deref(), &config.rate_limit)
            .await
            .map_err(|problem| StartupError::Redis { config: config_name.clone(), problem })?;

        let tenant_db = {
            use crate::capabilities::db::TenantDatabase;
            let migrations = config.database.migrations.as_deref();
            let opened = match &config.platform.database_url {
                Some(url) => {
                    TenantDatabase::open_postgres(url, &config.platform.tenant, migrations, config.database.limits)
                        .await
                }
                None => {
                    let path = config.platform.data_dir.join("tenants").join(&config.platform.tenant).join("data.db");
                    TenantDatabase::open_sqlite(&path, migrations, config.database.limits).await
                }
            };
            let db = opened.map_err(|problem| StartupError::Database { config: config_name.clone(), problem })?;
            tracing::info!(backend = db.backend_name(), tenant = %config.platform.tenant, "tenant database ready");
            db
        };
        let tenant_db = Some(Arc::new(tenant_db));
        let owned = config.clone();
        let book = secrets.clone();
        let (sandbox, endpoints) = tokio::task::spawn_blocking(move || {
            let sandbox = Sandbox::new(SandboxSettings {
                max_instances: owned.sandbox.max_instances,
                max_memory_bytes: owned.max_memory_bytes(),
                queue_timeout: owned.sandbox.queue_timeout,
            })
            .map_err(|e| StartupError::Engine(format!("{e:#}")))?;
            let services = TenantServices { db: tenant_db, secret_book: Some(book) };
            let endpoints = load_endpoints(&owned, &sandbox, &services)?;
            Ok::<_, StartupError>((sandbox, endpoints))
        })
        .await
        .map_err(|e| StartupError::Engine(format!("loading endpoints panicked: {e}")))??;
        let routes = RouteTable::build(endpoints)
            .map_err(|problem| StartupError::Routes { config: config_name.clone(), problem })?;
        Ok(Arc::new(Self {
            routes: ArcSwap::from_pointee(routes),
            sandbox,
            identity: Identity::new(keys, sessions),
            limiter,
            stats: Stats::default(),
            secrets,
            config: config.clone(),
        }))
    }
}
