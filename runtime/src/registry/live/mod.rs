//! The registry as it runs: every tenant, its routes and its deployed apps,
//! kept in step with the platform store. The store is the truth; this node's
//! directory is a copy, rebuilt in part and swapped whole whenever the store
//! changes (`sync`), so a deploy, rollback or new tenant made on another node
//! (or by the CLI) is live here as soon as the change is noticed. Changes made
//! here (deploy, rollback, undeploy, tenants) are checked and prepared first,
//! written to the store, then swapped in; if any step fails, nothing changed.

mod deploy;
mod error;
mod rollouts;
mod sync;
mod tenants;
mod wake;

pub use error::LoadFailure;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;

use super::bundle::Bundle;
use super::directory::Directory;
use super::rollout::Canary;
use super::tenant::{LiveApp, Tenant, TenantSettings, guests, routing};
use super::{ArtifactCache, Endpoint, LoadCounts, Loader, TenantServices};
use crate::capabilities::blobs::BlobPlatform;
use crate::capabilities::db::TenantDatabase;
use crate::capabilities::secret_book::SecretBook;
use crate::config::{AppManifest, EndpointConfig, PlatformConfig, valid_name};
use crate::identity::SessionVerifier;
use crate::sandbox::Sandbox;
use crate::store::{CanaryRecord, DeploymentRecord, Store, TenantRecord};

/// The live registry.
pub struct Registry {
    directory: ArcSwap<Directory>,
    store: Store,
    config: Arc<PlatformConfig>,
    sandbox: Arc<Sandbox>,
    secrets: Arc<SecretBook>,
    /// Where tenants' objects live and how their URLs are signed.
    blobs: Arc<BlobPlatform>,
    cache: ArtifactCache,
    /// One change at a time per tenant: a tenant's deploys, rollbacks and
    /// settings changes queue behind each other, never behind another
    /// tenant's (whose migration or compile may be slow or hostile).
    tenant_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// One sync at a time. A sync never waits for a tenant that is changing:
    /// it skips it and tries again on the next tick.
    syncing: tokio::sync::Mutex<()>,
    /// Held only for the in-memory read-modify-write of the directory (no
    /// await inside), so concurrent changes of different tenants never lose
    /// each other's swap. A std mutex: it is never held across an await.
    swapping: std::sync::Mutex<()>,
    /// Components compiled and taken from a cache since start.
    pub compiled: AtomicU64,
    /// Components taken from this node's cache or the shared store.
    pub cached: AtomicU64,
    /// When (Unix seconds) this node last knew it was in step with the store:
    /// its start, then each tick of the sync loop that found nothing new or
    /// brought every tenant in step. It stops moving while the store fails.
    pub last_sync: AtomicI64,
    /// Tenants loaded on a request (or a change) since start.
    pub loads: AtomicU64,
    /// Tenants put to sleep past `platform.max_loaded_tenants` since start.
    pub sleeps: AtomicU64,
    /// Loads under way at once, at most: a stream of requests naming asleep
    /// tenants (anyone can send them) keeps to a few cores' worth of loading.
    loading: tokio::sync::Semaphore,
    /// Each tenant's share of the pool while anything still holds it: a
    /// tenant rebuilt, or put to sleep and loaded again while requests of its
    /// previous form still run or wait, keeps counting against one share.
    shares: std::sync::Mutex<HashMap<String, std::sync::Weak<crate::sandbox::TenantShare>>>,
}

/// What a deploy did, for the caller.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    /// The tenant.
    pub tenant: String,
    /// The app.
    pub app: String,
    /// The new version.
    pub version: i64,
    /// The bundle's hash.
    pub bundle_hash: String,
    /// For a gradual rollout: the share of callers the new version gets
    /// (the active version keeps the rest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    /// Routes now live.
    pub routes: Vec<String>,
    /// Components compiled now (the rest came from a cache).
    pub compiled: u64,
    /// Milliseconds from the upload's arrival to live.
    pub total_ms: u64,
    /// Milliseconds spent checking and compiling.
    pub check_ms: u64,
}

/// Why a change was refused. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The upload or the target failed a check.
    #[error("{0}")]
    Rejected(String),
    /// No such tenant, app or version.
    #[error("{0}")]
    NotFound(String),
    /// The tenant exists already.
    #[error("{0}")]
    Conflict(String),
    /// The store could not be reached.
    #[error("{0}")]
    Unavailable(String),
}

impl From<super::routes::RouteConflict> for ChangeError {
    fn from(e: super::routes::RouteConflict) -> Self {
        ChangeError::Rejected(e.to_string())
    }
}

impl From<super::bundle::BundleError> for ChangeError {
    fn from(e: super::bundle::BundleError) -> Self {
        ChangeError::Rejected(e.to_string())
    }
}

impl From<crate::store::StoreError> for ChangeError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl Registry {
    /// Builds the config tenant from platform.toml (endpoints built and
    /// compiled), then every stored tenant and deployment.
    pub async fn start(
        config: Arc<PlatformConfig>,
        store: Store,
        sandbox: Arc<Sandbox>,
        secrets: Arc<SecretBook>,
        blobs: Arc<BlobPlatform>,
    ) -> Result<Self, LoadFailure> {
        let cache = ArtifactCache::new(&config.platform.cache_dir);
        let name = config.platform.tenant.clone();
        let directory = Directory {
            tenants: HashMap::new(),
            asleep: Default::default(),
            default: name.clone(),
            domain: config.platform.domain.clone(),
            prefix: config.platform.tenant_path_prefix.clone(),
        };
        let registry = Self {
            directory: ArcSwap::from_pointee(directory),
            store,
            config,
            sandbox,
            secrets,
            blobs,
            cache,
            tenant_locks: std::sync::Mutex::default(),
            syncing: tokio::sync::Mutex::new(()),
            swapping: std::sync::Mutex::new(()),
            compiled: AtomicU64::new(0),
            cached: AtomicU64::new(0),
            last_sync: AtomicI64::new(crate::clock::unix_now()),
            loads: AtomicU64::new(0),
            sleeps: AtomicU64::new(0),
            loading: tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)),
            shares: std::sync::Mutex::default(),
        };
        // The config tenant exists in the store too, so keys, secrets and apps can name it.
        if registry.store.get_tenant(&name).await?.is_none() {
            registry.store.create_tenant(&name, "{}").await?;
        }
        let record = registry
            .store
            .get_tenant(&name)
            .await?
            .ok_or_else(|| LoadFailure::tenant(&name, "vanished from the store while it was being created"))?;
        let services = registry.open_services(&record, true).await?;
        let endpoints = registry.config.endpoints.clone();
        let base = registry.load_blocking(endpoints, name.clone(), services.clone(), true).await?;
        let tenant = registry
            .build_tenant(&record, services, base, BTreeMap::new())
            .await
            .map_err(|e| LoadFailure::InConfig { path: registry.config.path.clone(), source: Box::new(e) })?;
        registry.swap(|d| {
            d.tenants.insert(name.clone(), Arc::new(tenant));
        });
        registry.sync().await?;
        Ok(registry)
    }

    /// The change lock of one tenant, held for the whole of a change to it.
    async fn lock_tenant(&self, name: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.tenant_lock(name).lock_owned().await
    }

    fn tenant_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.tenant_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(name.to_string()).or_default().clone()
    }

    /// The directory requests resolve against.
    pub fn directory(&self) -> arc_swap::Guard<Arc<Directory>> {
        self.directory.load()
    }

    /// The platform configuration it was started with.
    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    /// The platform store it mirrors.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn swap(&self, change: impl FnOnce(&mut Directory)) {
        let _swapping = self.swapping.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.directory.load_full();
        let mut next = Directory {
            tenants: current.tenants.clone(),
            asleep: current.asleep.clone(),
            default: current.default.clone(),
            domain: current.domain.clone(),
            prefix: current.prefix.clone(),
        };
        change(&mut next);
        self.directory.store(Arc::new(next));
    }

    /// Opens a tenant's database (its SQLite file, or its Postgres schema and
    /// role); the config tenant's gets platform.toml's migrations.
    async fn open_services(
        &self,
        record: &TenantRecord,
        is_config_tenant: bool,
    ) -> Result<TenantServices, LoadFailure> {
        let config = &self.config;
        let tenant = record.name.as_str();
        let migrations = if is_config_tenant { config.database.migrations.as_deref() } else { None };
        let mut limits = config.database.limits;
        let quotas = TenantSettings::parse(&record.settings).unwrap_or_default().resolved_quotas(config);
        // The storage quota bounds the file itself (SQLite); bundles count against it at deploy.
        limits.max_database_bytes = Some(quotas.storage_bytes);
        let db = match &config.platform.database_url {
            Some(url) => {
                let password = self
                    .store
                    .tenant_db_password(tenant, || crate::identity::api_key::random_base62(32).unwrap_or_default())
                    .await?;
                TenantDatabase::open_postgres(url, tenant, &password, migrations, limits, config.database.isolation)
                    .await
            }
            None => {
                let path = config.platform.data_dir.join("tenants").join(tenant).join("data.db");
                TenantDatabase::open_sqlite(&path, migrations, limits).await
            }
        }
        .map_err(|problem| LoadFailure::tenant(tenant, format!("its database: {problem}")))?;
        tracing::info!(backend = db.backend_name(), %tenant, "tenant database ready");
        let blobs = self.blobs.open(tenant, record.created_at, BlobPlatform::limits(config, quotas.blob_bytes));
        Ok(TenantServices {
            db: Some(Arc::new(db)),
            blobs: Some(Arc::new(blobs)),
            secret_book: Some(self.secrets.clone()),
        })
    }

    async fn tenant_secrets(&self, tenant: &str) -> Result<BTreeMap<String, String>, crate::store::StoreError> {
        Ok(self
            .store
            .tenant_secret_values(tenant)
            .await?
            .into_iter()
            .map(|(n, v)| (n, v.expose().to_string()))
            .collect())
    }

    async fn build_tenant(
        &self,
        record: &TenantRecord,
        services: TenantServices,
        base: Vec<Arc<Endpoint>>,
        apps: BTreeMap<String, Arc<LiveApp>>,
    ) -> Result<Tenant, LoadFailure> {
        let is_config_tenant = record.name == self.config.platform.tenant;
        let settings = TenantSettings::parse(&record.settings).map_err(|p| LoadFailure::tenant(&record.name, p))?;
        let secrets = self.tenant_secrets(&record.name).await?;
        let sessions: Option<Arc<SessionVerifier>> = match settings.session_verifier(&secrets) {
            Ok(Some(v)) => Some(Arc::new(v)),
            Ok(None) if is_config_tenant => match &self.config.session {
                Some(s) => Some(Arc::new(SessionVerifier::new(s).map_err(|p| {
                    LoadFailure::tenant(&record.name, format!("{}: auth.session: {p}", self.config.path.display()))
                })?)),
                None => None,
            },
            Ok(None) => None,
            Err(e) => {
                tracing::error!(tenant = %record.name, "sessions off: {e}");
                None
            }
        };
        let rate_ceiling = match settings.rate_ceiling().map_err(|p| LoadFailure::tenant(&record.name, p))? {
            Some(r) => Some(r),
            None if is_config_tenant => self.config.rate_limit.tenant,
            None => None,
        };
        let quotas = settings.resolved_quotas(&self.config);
        let (routes, canary_views) = routing(&base, &apps)?;
        Ok(Tenant {
            name: record.name.as_str().into(),
            sessions,
            rate_ceiling,
            quotas,
            share: self.share_of(&record.name, quotas.max_concurrent),
            services,
            routes,
            canary_views,
            base,
            apps,
            settings_stamp: record.revision,
            openapi: Default::default(),
            last_used: crate::clock::monotonic_ms().into(),
        })
    }

    /// The tenant's share of the pool: the one its requests still hold, if
    /// any and of this size, else a new one.
    fn share_of(&self, tenant: &str, size: usize) -> Arc<crate::sandbox::TenantShare> {
        let mut shares = self.shares.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(share) = shares.get(tenant).and_then(std::sync::Weak::upgrade)
            && share.size() == size
        {
            return share;
        }
        let share = Arc::new(crate::sandbox::TenantShare::new(size, self.config.sandbox.max_instances as usize));
        shares.insert(tenant.to_string(), Arc::downgrade(&share));
        share
    }

    /// Forgets the shares nothing holds any more (tenants asleep or deleted).
    fn forget_released_shares(&self) {
        let mut shares = self.shares.lock().unwrap_or_else(|p| p.into_inner());
        shares.retain(|_, share| share.strong_count() > 0);
    }

    /// Loads endpoints on a blocking thread (building, compiling): never on
    /// the serving path. `from_source`: platform.toml's, which may be Cargo folders.
    async fn load_blocking(
        &self,
        endpoints: Vec<EndpointConfig>,
        tenant: String,
        services: TenantServices,
        from_source: bool,
    ) -> Result<Vec<Arc<Endpoint>>, LoadFailure> {
        let sandbox = self.sandbox.clone();
        let cache = self.cache.clone();
        let store = self.store.clone();
        let config = self.config.clone();
        // Messages name the file the endpoints came from: platform.toml or the app's manifest.
        let label = if from_source { config.path.display().to_string() } else { crate::config::MANIFEST_FILE.into() };
        let (result, counts) = tokio::task::spawn_blocking(move || {
            let loader = Loader {
                sandbox: &sandbox,
                cache: &cache,
                shared: Some(&store),
                max_component_bytes: config.sandbox.max_component_bytes,
                // Only uploads are untrusted work to bound; the operator's own
                // endpoints (a Python one is 18 MB) compile however long they take.
                compile_timeout: (!from_source).then_some(config.sandbox.compile_timeout),
                outbound: &config.outbound,
                build_dir: from_source.then_some(config.platform.build_dir.as_path()),
                label,
            };
            let mut counts = LoadCounts::default();
            let result = loader.load(&endpoints, tenant.as_str().into(), &services, &mut counts);
            (result.map_err(|e| LoadFailure::Endpoints(e.to_string())), counts)
        })
        .await
        .map_err(|e| LoadFailure::Endpoints(format!("loading endpoints panicked: {e}")))?;
        self.compiled.fetch_add(counts.compiled, Ordering::Relaxed);
        self.cached.fetch_add(counts.cached, Ordering::Relaxed);
        result
    }
}

/// Messages name files inside the bundle by their path in it, not where this node unpacked it.
fn strip_dir(message: &str, dir: &std::path::Path) -> String {
    message.replace(&format!("{}/", dir.display()), "").replace(&dir.display().to_string(), ".")
}
