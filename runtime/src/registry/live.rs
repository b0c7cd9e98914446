//! The registry as it runs: every tenant, its routes and its deployed apps,
//! kept in step with the platform store. The store is the truth; this node's
//! directory is a copy, rebuilt in part and swapped whole whenever the store
//! changes (`sync`), so a deploy, rollback or new tenant made on another node
//! (or by the CLI) is live here as soon as the change is noticed. Changes made
//! here (deploy, rollback, undeploy, tenants) are checked and prepared first,
//! written to the store, then swapped in; if any step fails, nothing changed.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;

use super::bundle::Bundle;
use super::directory::Directory;
use super::tenant::{LiveApp, Tenant, TenantSettings, assemble};
use super::{ArtifactCache, Endpoint, LoadCounts, Loader, TenantServices};
use crate::capabilities::db::TenantDatabase;
use crate::capabilities::secret_book::SecretBook;
use crate::config::{AppManifest, EndpointConfig, PlatformConfig, valid_name};
use crate::identity::SessionVerifier;
use crate::sandbox::Sandbox;
use crate::store::{DeploymentRecord, Store, TenantRecord};

/// The live registry.
pub struct Registry {
    directory: ArcSwap<Directory>,
    store: Store,
    config: Arc<PlatformConfig>,
    sandbox: Arc<Sandbox>,
    secrets: Arc<SecretBook>,
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
    ) -> Result<Self, String> {
        let cache = ArtifactCache::new(&config.platform.cache_dir);
        let name = config.platform.tenant.clone();
        let directory = Directory {
            tenants: HashMap::new(),
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
            cache,
            tenant_locks: std::sync::Mutex::default(),
            syncing: tokio::sync::Mutex::new(()),
            swapping: std::sync::Mutex::new(()),
            compiled: AtomicU64::new(0),
            cached: AtomicU64::new(0),
        };
        // The config tenant exists in the store too, so keys, secrets and apps can name it.
        if registry.store.get_tenant(&name).await.map_err(|e| e.to_string())?.is_none() {
            registry.store.create_tenant(&name, "{}").await.map_err(|e| e.to_string())?;
        }
        let record = registry.store.get_tenant(&name).await.map_err(|e| e.to_string())?.ok_or("tenant vanished")?;
        let services = registry.open_services(&record, true).await?;
        let endpoints = registry.config.endpoints.clone();
        let base = registry.load_blocking(endpoints, name.clone(), services.clone(), true).await?;
        let tenant = registry
            .build_tenant(&record, services, base, BTreeMap::new())
            .await
            .map_err(|e| format!("{}: {e}", registry.config.path.display()))?;
        registry.swap(|d| {
            d.tenants.insert(name.clone(), Arc::new(tenant));
        });
        registry.sync().await.map_err(|e| format!("loading deployed apps: {e}"))?;
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

    /// The store behind the registry.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn swap(&self, change: impl FnOnce(&mut Directory)) {
        let _swapping = self.swapping.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.directory.load_full();
        let mut next = Directory {
            tenants: current.tenants.clone(),
            default: current.default.clone(),
            domain: current.domain.clone(),
            prefix: current.prefix.clone(),
        };
        change(&mut next);
        self.directory.store(Arc::new(next));
    }

    /// Opens a tenant's database (its SQLite file, or its Postgres schema and
    /// role); the config tenant's gets platform.toml's migrations.
    async fn open_services(&self, record: &TenantRecord, is_config_tenant: bool) -> Result<TenantServices, String> {
        let config = &self.config;
        let tenant = record.name.as_str();
        let migrations = if is_config_tenant { config.database.migrations.as_deref() } else { None };
        let mut limits = config.database.limits;
        // The storage quota bounds the file itself (SQLite); bundles count against it at deploy.
        limits.max_database_bytes =
            Some(TenantSettings::parse(&record.settings).unwrap_or_default().resolved_quotas(config).storage_bytes);
        let db = match &config.platform.database_url {
            Some(url) => {
                let password = self
                    .store
                    .tenant_db_password(tenant, || crate::identity::api_key::random_base62(32).unwrap_or_default())
                    .await
                    .map_err(|e| e.to_string())?;
                TenantDatabase::open_postgres(url, tenant, &password, migrations, limits, config.database.isolation)
                    .await
            }
            None => {
                let path = config.platform.data_dir.join("tenants").join(tenant).join("data.db");
                TenantDatabase::open_sqlite(&path, migrations, limits).await
            }
        }
        .map_err(|problem| format!("the database of tenant {tenant}: {problem}"))?;
        tracing::info!(backend = db.backend_name(), %tenant, "tenant database ready");
        Ok(TenantServices { db: Some(Arc::new(db)), secret_book: Some(self.secrets.clone()) })
    }

    async fn tenant_secrets(&self, tenant: &str) -> Result<BTreeMap<String, String>, ChangeError> {
        Ok(self
            .store
            .all_secrets()
            .await?
            .into_iter()
            .filter(|(t, _, _)| t == tenant)
            .map(|(_, n, v)| (n, v.expose().to_string()))
            .collect())
    }

    async fn build_tenant(
        &self,
        record: &TenantRecord,
        services: TenantServices,
        base: Vec<Arc<Endpoint>>,
        apps: BTreeMap<String, Arc<LiveApp>>,
    ) -> Result<Tenant, String> {
        let is_config_tenant = record.name == self.config.platform.tenant;
        let settings = TenantSettings::parse(&record.settings)?;
        let secrets = self.tenant_secrets(&record.name).await.map_err(|e| e.to_string())?;
        let sessions: Option<Arc<SessionVerifier>> = match settings.session_verifier(&secrets) {
            Ok(Some(v)) => Some(Arc::new(v)),
            Ok(None) if is_config_tenant => match &self.config.session {
                Some(s) => Some(Arc::new(SessionVerifier::new(s).map_err(|p| format!("auth.session: {p}"))?)),
                None => None,
            },
            Ok(None) => None,
            Err(e) => {
                tracing::error!(tenant = %record.name, "sessions off: {e}");
                None
            }
        };
        let rate_ceiling = match settings.rate_ceiling()? {
            Some(r) => Some(r),
            None if is_config_tenant => self.config.rate_limit.tenant,
            None => None,
        };
        let quotas = settings.resolved_quotas(&self.config);
        let routes = assemble(&base, &apps)?;
        Ok(Tenant {
            name: record.name.as_str().into(),
            sessions,
            rate_ceiling,
            quotas,
            share: Arc::new(crate::sandbox::TenantShare::new(
                quotas.max_concurrent,
                self.config.sandbox.max_instances as usize,
            )),
            services,
            routes,
            base,
            apps,
            settings_stamp: record.revision,
        })
    }

    /// Loads endpoints on a blocking thread (building, compiling): never on
    /// the serving path. `from_source`: platform.toml's, which may be Cargo folders.
    async fn load_blocking(
        &self,
        endpoints: Vec<EndpointConfig>,
        tenant: String,
        services: TenantServices,
        from_source: bool,
    ) -> Result<Vec<Arc<Endpoint>>, String> {
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
            (result.map_err(|e| e.to_string()), counts)
        })
        .await
        .map_err(|e| format!("loading endpoints panicked: {e}"))?;
        self.compiled.fetch_add(counts.compiled, Ordering::Relaxed);
        self.cached.fetch_add(counts.cached, Ordering::Relaxed);
        result
    }

    /// Where bundles are unpacked on this node.
    fn bundles_dir(&self) -> PathBuf {
        self.config.platform.data_dir.join("bundles")
    }

    /// A stored deployment's files, unpacked on this node (from the store's blobs if new here).
    async fn materialize(&self, d: &DeploymentRecord) -> Result<PathBuf, String> {
        let dir = self.bundles_dir().join(&d.bundle_hash);
        if dir.join(".complete").is_file() {
            return Ok(dir);
        }
        let mut bundle = Bundle::default();
        for (name, hash) in &d.files {
            let data = self
                .store
                .get_blob(hash)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("file {name} of {}@{} is missing from the store", d.app, d.version))?;
            bundle.files.insert(name.clone(), data);
        }
        std::fs::create_dir_all(self.bundles_dir()).map_err(|e| e.to_string())?;
        bundle.unpack(&self.bundles_dir()).map_err(|e| format!("cannot unpack {}@{}: {e}", d.app, d.version))
    }

    /// Reads, checks and loads an unpacked app for `tenant`. Everything a
    /// deploy checks before anything goes live happens here.
    async fn prepare_app(
        &self,
        tenant: &Tenant,
        dir: PathBuf,
        expected_name: Option<&str>,
    ) -> Result<(AppManifest, Vec<Arc<Endpoint>>), ChangeError> {
        let secrets = self.tenant_secrets(&tenant.name).await?;
        let mut defaults = self.config.limits;
        defaults.memory_bytes = defaults.memory_bytes.min(tenant.quotas.memory_bytes);
        defaults.body_bytes = defaults.body_bytes.min(tenant.quotas.body_bytes);
        let manifest = AppManifest::load(&dir, defaults, &secrets)
            .map_err(|e| ChangeError::Rejected(strip_dir(&e.to_string(), &dir)))?;
        if let Some(name) = expected_name
            && manifest.name != name
        {
            return Err(ChangeError::Rejected(format!(
                "the bundle is app `{}`, not `{name}`; deploy it under its own name",
                manifest.name
            )));
        }
        let others: usize =
            tenant.apps.iter().filter(|(n, _)| **n != manifest.name).map(|(_, a)| a.endpoints.len()).sum();
        if others + manifest.endpoints.len() > tenant.quotas.max_components {
            return Err(ChangeError::Rejected(format!(
                "tenant {} may deploy {} endpoints in all (quotas.maxComponents); this app would bring it to {}",
                tenant.name,
                tenant.quotas.max_components,
                others + manifest.endpoints.len()
            )));
        }
        for e in &manifest.endpoints {
            let over = |what: &str, asked: usize, most: usize, key: &str| {
                ChangeError::Rejected(format!(
                    "endpoint[{}] `{}`: {what} {asked} is over tenant {}'s quota of {most} ({key})",
                    e.index, e.route, tenant.name
                ))
            };
            if e.limits.memory_bytes > tenant.quotas.memory_bytes {
                return Err(over(
                    "memory_mb",
                    e.limits.memory_bytes >> 20,
                    tenant.quotas.memory_bytes >> 20,
                    "quotas.memoryMb",
                ));
            }
            if e.limits.body_bytes > tenant.quotas.body_bytes {
                return Err(over(
                    "body_kb",
                    e.limits.body_bytes >> 10,
                    tenant.quotas.body_bytes >> 10,
                    "quotas.bodyKb",
                ));
            }
            if e.limits.cpu > tenant.quotas.cpu {
                let (asked, most) = (e.limits.cpu.as_millis() as usize, tenant.quotas.cpu.as_millis() as usize);
                return Err(over("cpu_ms", asked, most, "quotas.cpuMs"));
            }
            if e.limits.wall > tenant.quotas.wall {
                let (asked, most) = (e.limits.wall.as_millis() as usize, tenant.quotas.wall.as_millis() as usize);
                return Err(over("wall_ms", asked, most, "quotas.wallMs"));
            }
        }
        let endpoints = self
            .load_blocking(manifest.endpoints.clone(), tenant.name.to_string(), tenant.services.clone(), false)
            .await
            .map_err(|e| ChangeError::Rejected(strip_dir(&e, &dir)))?;
        Ok((manifest, endpoints))
    }

    /// Deploys a bundle (a tar) to `tenant`: checked, compiled, migrated,
    /// recorded, then swapped in whole. Requests in flight finish on the
    /// version they started on.
    pub async fn deploy(&self, tenant_name: &str, tar: &[u8]) -> Result<DeployReport, ChangeError> {
        let started = Instant::now();
        let bundle = Bundle::from_tar(tar, self.config.deploy.max_bundle_bytes).map_err(ChangeError::Rejected)?;
        let _change = self.lock_tenant(tenant_name).await;
        let tenant = self.live_tenant(tenant_name).await?;
        std::fs::create_dir_all(self.bundles_dir()).map_err(|e| ChangeError::Unavailable(e.to_string()))?;
        let existed = self.bundles_dir().join(bundle.hash()).join(".complete").is_file();
        let dir = bundle.unpack(&self.bundles_dir()).map_err(|e| ChangeError::Unavailable(e.to_string()))?;
        let result = self.deploy_unpacked(&tenant, &bundle, dir.clone(), started).await;
        if result.is_err() && !existed && !self.store.bundle_referenced(&bundle.hash()).await.unwrap_or(true) {
            // A refused upload leaves nothing behind on this node.
            let _ = std::fs::remove_dir_all(&dir);
        }
        result
    }

    /// The checked half of a deploy, once the bundle is unpacked in `dir`.
    async fn deploy_unpacked(
        &self,
        tenant: &Tenant,
        bundle: &Bundle,
        dir: PathBuf,
        started: Instant,
    ) -> Result<DeployReport, ChangeError> {
        let tenant_name = &*tenant.name;
        let compiled_before = self.compiled.load(Ordering::Relaxed);
        // Storage first: a bundle over the quota is refused before anything compiles.
        self.check_storage(tenant, bundle).await?;
        let (manifest, endpoints) = self.prepare_app(tenant, dir, None).await?;
        let bundle_hash = bundle.hash();
        let app = Arc::new(LiveApp { version: 0, bundle_hash: bundle_hash.clone(), endpoints });
        let mut apps = tenant.apps.clone();
        apps.insert(manifest.name.clone(), app.clone());
        // Routes checked against the tenant's other apps before anything is written.
        tenant.with_apps(apps).map_err(ChangeError::Rejected)?;
        let check_ms = started.elapsed().as_millis() as u64;
        if let (Some(m), Some(db)) = (&manifest.migrations, &tenant.services.db) {
            db.migrate(m, &manifest.name)
                .await
                .map_err(|e| ChangeError::Rejected(format!("database migration of app `{}`: {e}", manifest.name)))?;
        }
        let files = bundle.file_hashes();
        for (name, data) in &bundle.files {
            self.store.put_blob(&files[name], data).await?;
        }
        let version = self.store.record_deployment(tenant_name, &manifest.name, &bundle_hash, &files).await?;
        self.keep_blobs(bundle, &files).await?;
        let pruned =
            self.store.prune_deployments(tenant_name, &manifest.name, self.config.deploy.keep_versions).await?;
        self.release(pruned).await;
        let live = Arc::new(LiveApp { version, bundle_hash: bundle_hash.clone(), endpoints: app.endpoints.clone() });
        let routes: Vec<String> = live.endpoints.iter().map(|e| e.route.to_string()).collect();
        self.put_app(tenant, &manifest.name, Some(live))?;
        let report = DeployReport {
            tenant: tenant_name.to_string(),
            app: manifest.name.clone(),
            version,
            bundle_hash,
            routes,
            compiled: self.compiled.load(Ordering::Relaxed) - compiled_before,
            total_ms: started.elapsed().as_millis() as u64,
            check_ms,
        };
        tracing::info!(
            target: "gatehouse::deploy",
            tenant = tenant_name, app = %report.app, version, hash = &report.bundle_hash[..12],
            ms = report.total_ms, "deployed"
        );
        Ok(report)
    }

    /// Refuses a bundle that would take the tenant past its storage quota
    /// (its database plus the files its deployments keep).
    async fn check_storage(&self, tenant: &Tenant, bundle: &Bundle) -> Result<(), ChangeError> {
        let stored = self.store.tenant_bundle_bytes(&tenant.name).await?;
        let database = match &tenant.services.db {
            Some(db) => db.size_bytes().await.map_err(ChangeError::Unavailable)?,
            None => 0,
        };
        let incoming: u64 = bundle.files.values().map(|d| d.len() as u64).sum();
        let total = stored + database + incoming;
        let quota = tenant.quotas.storage_bytes;
        if total > quota {
            return Err(ChangeError::Rejected(format!(
                "tenant {} would store {} MiB (database {} MiB, kept bundles {} MiB, this one {} MiB), over its quota of {} MiB (quotas.storageMb); undeploy old versions, delete data or raise the quota",
                tenant.name,
                total >> 20,
                database >> 20,
                stored >> 20,
                incoming >> 20,
                quota >> 20
            )));
        }
        Ok(())
    }

    /// Puts back any of the deployment's files that a concurrent release
    /// removed between their upload and the deployment's record (now that
    /// the record names them, no release removes them any more).
    async fn keep_blobs(&self, bundle: &Bundle, files: &BTreeMap<String, String>) -> Result<(), ChangeError> {
        let hashes: Vec<String> = files.values().cloned().collect();
        let missing = self.store.missing_blobs(&hashes).await?;
        for (name, hash) in files {
            if missing.contains(hash) {
                self.store.put_blob(hash, &bundle.files[name]).await?;
            }
        }
        Ok(())
    }

    /// Releases what pruned versions held that nothing references any more:
    /// their files and compiled artifacts in the store, the artifacts in this
    /// node's cache, and their unpacked folders here. Failures are logged; the
    /// next prune tries again for what it prunes.
    async fn release(&self, pruned: Vec<DeploymentRecord>) {
        if pruned.is_empty() {
            return;
        }
        let referenced = match self.store.referenced_blobs().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("pruned versions keep their files for now: {e}");
                return;
            }
        };
        let mut gone: Vec<String> =
            pruned.iter().flat_map(|d| d.files.values().cloned()).filter(|h| !referenced.contains(h)).collect();
        gone.sort();
        gone.dedup();
        if let Err(e) = self.store.delete_blobs(&gone).await {
            tracing::warn!("pruned versions' files not released: {e}");
        }
        self.cache.forget(&gone);
        for d in &pruned {
            if !self.store.bundle_referenced(&d.bundle_hash).await.unwrap_or(true) {
                let _ = std::fs::remove_dir_all(self.bundles_dir().join(&d.bundle_hash));
            }
        }
        tracing::info!(target: "gatehouse::deploy", versions = pruned.len(), files = gone.len(), "pruned versions released");
    }

    /// Makes `version` of an app the live one again (it was checked when deployed).
    pub async fn rollback(&self, tenant_name: &str, app: &str, version: i64) -> Result<(), ChangeError> {
        let _change = self.lock_tenant(tenant_name).await;
        let tenant = self.live_tenant(tenant_name).await?;
        let record = self.store.get_deployment(tenant_name, app, version).await?.ok_or_else(|| {
            ChangeError::NotFound(format!("app {app} of tenant {tenant_name} has no version {version}"))
        })?;
        let live = self.load_deployment(&tenant, &record).await.map_err(ChangeError::Rejected)?;
        let mut apps = tenant.apps.clone();
        apps.insert(app.to_string(), live.clone());
        tenant.with_apps(apps).map_err(ChangeError::Rejected)?;
        self.store.set_active_version(tenant_name, app, Some(version)).await?;
        self.put_app(&tenant, app, Some(live))?;
        tracing::info!(target: "gatehouse::deploy", tenant = tenant_name, app, version, "rolled back");
        Ok(())
    }

    /// Takes an app offline; its versions are kept for a later rollback.
    pub async fn undeploy(&self, tenant_name: &str, app: &str) -> Result<(), ChangeError> {
        let _change = self.lock_tenant(tenant_name).await;
        let tenant = self.live_tenant(tenant_name).await?;
        if !self.store.set_active_version(tenant_name, app, None).await? {
            return Err(ChangeError::NotFound(format!("tenant {tenant_name} has no app {app}")));
        }
        self.put_app(&tenant, app, None)?;
        tracing::info!(target: "gatehouse::deploy", tenant = tenant_name, app, "undeployed");
        Ok(())
    }

    /// The live tenant `name`; if this node has not seen it yet (made a moment
    /// ago by the CLI or another node), brings it in from the store first.
    /// The caller holds the tenant's change lock.
    async fn live_tenant(&self, name: &str) -> Result<Arc<Tenant>, ChangeError> {
        if let Some(t) = self.directory.load().tenants.get(name) {
            return Ok(t.clone());
        }
        let not_found =
            || ChangeError::NotFound(format!("no tenant {name}; create it with `gatehouse tenants create {name}`"));
        let record = self.store.get_tenant(name).await?.ok_or_else(not_found)?;
        let tenant = self.bring_in(&record).await.map_err(ChangeError::Unavailable)?;
        Ok(tenant)
    }

    /// Opens a stored tenant this node does not serve yet and serves it (with
    /// no apps: the caller or the next sync adds them). The caller holds the
    /// tenant's change lock.
    async fn bring_in(&self, record: &TenantRecord) -> Result<Arc<Tenant>, String> {
        let services = self.open_services(record, false).await?;
        let tenant = Arc::new(self.build_tenant(record, services, Vec::new(), BTreeMap::new()).await?);
        let next = tenant.clone();
        self.swap(|d| {
            d.tenants.insert(record.name.clone(), next);
        });
        Ok(tenant)
    }

    /// Swaps one app of one tenant (or removes it), on the tenant as it is now.
    /// The caller holds the tenant's change lock, so nothing else changes it meanwhile.
    fn put_app(&self, tenant: &Tenant, app: &str, live: Option<Arc<LiveApp>>) -> Result<(), ChangeError> {
        let current = self.directory.load().tenants.get(&*tenant.name).cloned();
        let tenant = current.as_deref().unwrap_or(tenant);
        let mut apps = tenant.apps.clone();
        match live {
            Some(l) => apps.insert(app.to_string(), l),
            None => apps.remove(app),
        };
        let next = Arc::new(tenant.with_apps(apps).map_err(ChangeError::Rejected)?);
        self.swap(|d| {
            d.tenants.insert(next.name.to_string(), next);
        });
        Ok(())
    }

    async fn load_deployment(&self, tenant: &Tenant, d: &DeploymentRecord) -> Result<Arc<LiveApp>, String> {
        let dir = self.materialize(d).await?;
        let (_, endpoints) = self.prepare_app(tenant, dir, Some(&d.app)).await.map_err(|e| e.to_string())?;
        Ok(Arc::new(LiveApp { version: d.version, bundle_hash: d.bundle_hash.clone(), endpoints }))
    }

    /// Brings this node in step with the store: tenants added, changed or
    /// deleted, apps deployed, rolled back or undeployed elsewhere. An app that
    /// fails to load here keeps its previous version serving (and is logged).
    /// Each tenant is brought in step under its own change lock and swapped on
    /// its own; a tenant in the middle of a change here is skipped. Returns
    /// whether every tenant was brought in step (else: try again later).
    pub async fn sync(&self) -> Result<bool, String> {
        let _syncing = self.syncing.lock().await;
        let records = self.store.list_tenants().await.map_err(|e| e.to_string())?;
        let active = self.store.active_deployments().await.map_err(|e| e.to_string())?;
        let config_tenant = self.config.platform.tenant.clone();
        let mut complete = true;
        for record in &records {
            if record.name == config_tenant && !self.directory.load().tenants.contains_key(&config_tenant) {
                continue;
            }
            let Ok(_change) = self.tenant_lock(&record.name).try_lock_owned() else {
                complete = false;
                continue;
            };
            let wanted: BTreeMap<&str, &DeploymentRecord> =
                active.iter().filter(|d| d.tenant == record.name).map(|d| (d.app.as_str(), d)).collect();
            self.sync_tenant(record, &wanted).await;
        }
        let gone: Vec<String> = self
            .directory
            .load()
            .tenants
            .keys()
            .filter(|k| **k != config_tenant && !records.iter().any(|r| &r.name == *k))
            .cloned()
            .collect();
        for name in gone {
            let Ok(_change) = self.tenant_lock(&name).try_lock_owned() else {
                complete = false;
                continue;
            };
            self.swap(|d| {
                d.tenants.remove(&name);
            });
        }
        Ok(complete)
    }

    /// Brings one tenant in step with its stored record and active
    /// deployments. The caller holds the tenant's change lock.
    async fn sync_tenant(&self, record: &TenantRecord, wanted: &BTreeMap<&str, &DeploymentRecord>) {
        let existing = self.directory.load().tenants.get(&record.name).cloned();
        let mut changed = false;
        let mut tenant = match existing {
            Some(t) if t.settings_stamp == record.revision => t,
            Some(t) => {
                changed = true;
                match self.build_tenant(record, t.services.clone(), t.base.clone(), t.apps.clone()).await {
                    Ok(n) => Arc::new(keep_share(n, &t)),
                    Err(e) => {
                        tracing::error!(tenant = %record.name, "new settings not applied: {e}");
                        t
                    }
                }
            }
            None => match self.bring_in(record).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(tenant = %record.name, "tenant not served: {e}");
                    return;
                }
            },
        };
        let mut apps = tenant.apps.clone();
        apps.retain(|name, _| {
            let keep = wanted.contains_key(name.as_str());
            changed |= !keep;
            keep
        });
        for (name, d) in wanted {
            if apps.get(*name).is_some_and(|a| a.version == d.version && a.bundle_hash == d.bundle_hash) {
                continue;
            }
            match self.load_deployment(&tenant, d).await {
                Ok(live) => {
                    apps.insert(name.to_string(), live);
                    changed = true;
                }
                Err(e) => {
                    tracing::error!(tenant = %record.name, app = name, version = d.version, "not loaded: {e}")
                }
            }
        }
        if !changed {
            return;
        }
        match tenant.with_apps(apps) {
            Ok(t) => tenant = Arc::new(t),
            Err(e) => tracing::error!(tenant = %record.name, "apps not swapped: {e}"),
        }
        self.swap(|d| {
            d.tenants.insert(record.name.clone(), tenant);
        });
    }

    /// Creates a tenant (settings checked first) and serves it at once.
    pub async fn create_tenant(&self, name: &str, settings: &TenantSettings) -> Result<(), ChangeError> {
        if !valid_name(name) {
            return Err(ChangeError::Rejected(format!(
                "`{name}` is not a tenant name: lower-case letters, digits and -, starting with a letter, at most 40"
            )));
        }
        settings.check(&self.config).map_err(ChangeError::Rejected)?;
        let json = serde_json::to_string(settings).unwrap_or_default();
        if !self.store.create_tenant(name, &json).await? {
            return Err(ChangeError::Conflict(format!("tenant {name} exists already")));
        }
        let _change = self.lock_tenant(name).await;
        self.live_tenant(name).await.map(drop)
    }

    /// Replaces a tenant's settings.
    pub async fn update_tenant(&self, name: &str, settings: &TenantSettings) -> Result<(), ChangeError> {
        settings.check(&self.config).map_err(ChangeError::Rejected)?;
        let json = serde_json::to_string(settings).unwrap_or_default();
        let _change = self.lock_tenant(name).await;
        if !self.store.update_tenant(name, &json).await? {
            return Err(ChangeError::NotFound(format!("no tenant {name}")));
        }
        let record =
            self.store.get_tenant(name).await?.ok_or_else(|| ChangeError::NotFound(format!("no tenant {name}")))?;
        let tenant = self.live_tenant(name).await?;
        let next = self
            .build_tenant(&record, tenant.services.clone(), tenant.base.clone(), tenant.apps.clone())
            .await
            .map_err(ChangeError::Rejected)?;
        let next = keep_share(next, &tenant);
        self.swap(|d| {
            d.tenants.insert(name.to_string(), Arc::new(next));
        });
        Ok(())
    }

    /// Deletes a tenant: its apps, keys and secrets go; its database is
    /// archived for the operator (a folder under `<data_dir>/archive`, or a
    /// Postgres schema `archived_t_<tenant>_<time>` owned by the platform).
    pub async fn delete_tenant(&self, name: &str) -> Result<(), ChangeError> {
        if name == self.config.platform.tenant {
            return Err(ChangeError::Rejected(format!(
                "{name} is platform.toml's tenant; change [platform] tenant to retire it"
            )));
        }
        let _change = self.lock_tenant(name).await;
        if !self.store.delete_tenant(name).await? {
            return Err(ChangeError::NotFound(format!("no tenant {name}")));
        }
        let mut retired = None;
        self.swap(|d| {
            retired = d.tenants.remove(name);
        });
        // Its database is archived, so a new tenant of the same name starts empty.
        if let Some(db) = retired.and_then(|t| t.services.db.clone()) {
            let archive = self.config.platform.data_dir.join("archive");
            match db.retire(&archive, self.config.platform.database_url.as_deref()).await {
                Ok(to) => tracing::info!(tenant = name, archived = %to, "tenant database archived"),
                Err(e) => tracing::error!(tenant = name, "tenant database not archived: {e}"),
            }
        }
        Ok(())
    }

    /// Replaces the config tenant's platform.toml endpoints that came from
    /// `component` (a rebuilt source folder, for `serve --watch`).
    pub async fn reload_source(&self, component: &std::path::Path) -> Result<usize, String> {
        let name = self.config.platform.tenant.clone();
        let _change = self.lock_tenant(&name).await;
        let tenant = self.live_tenant(&name).await.map_err(|e| e.to_string())?;
        let configs: Vec<EndpointConfig> =
            self.config.endpoints.iter().filter(|e| e.component == component).cloned().collect();
        if configs.is_empty() {
            return Ok(0);
        }
        let fresh = self.load_blocking(configs, name.clone(), tenant.services.clone(), true).await?;
        let mut base = tenant.base.clone();
        for f in &fresh {
            if let Some(slot) = base.iter_mut().find(|e| e.route == f.route) {
                *slot = f.clone();
            }
        }
        let routes = assemble(&base, &tenant.apps)?;
        let next = Arc::new(Tenant {
            name: tenant.name.clone(),
            sessions: tenant.sessions.clone(),
            rate_ceiling: tenant.rate_ceiling,
            quotas: tenant.quotas,
            share: tenant.share.clone(),
            services: tenant.services.clone(),
            routes,
            base,
            apps: tenant.apps.clone(),
            settings_stamp: tenant.settings_stamp,
        });
        self.swap(|d| {
            d.tenants.insert(name, next);
        });
        Ok(fresh.len())
    }
}

/// A rebuilt tenant keeps its running share of the pool while its size is
/// unchanged, so requests in flight and waiting keep counting against it.
fn keep_share(mut next: Tenant, previous: &Tenant) -> Tenant {
    if next.quotas.max_concurrent == previous.quotas.max_concurrent {
        next.share = previous.share.clone();
    }
    next
}

/// Messages name files inside the bundle by their path in it, not where this node unpacked it.
fn strip_dir(message: &str, dir: &std::path::Path) -> String {
    message.replace(&format!("{}/", dir.display()), "").replace(&dir.display().to_string(), ".")
}
