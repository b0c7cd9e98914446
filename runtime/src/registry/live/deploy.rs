//! Deploys, rollbacks and undeploys: an app is unpacked, checked against the
//! tenant's quotas, compiled and migrated before the store records it and the
//! directory swaps it in; pruned versions release what they held.

use super::*;

impl Registry {
    /// Where bundles are unpacked on this node.
    pub(super) fn bundles_dir(&self) -> PathBuf {
        self.config.platform.data_dir.join("bundles")
    }

    /// A stored deployment's files, unpacked on this node (from the store's blobs if new here).
    pub(super) async fn materialize(&self, d: &DeploymentRecord) -> Result<PathBuf, LoadFailure> {
        let dir = self.bundles_dir().join(&d.bundle_hash);
        if dir.join(".complete").is_file() {
            return Ok(dir);
        }
        let mut bundle = Bundle::default();
        for (name, hash) in &d.files {
            let data = self
                .store
                .get_blob(hash)
                .await?
                .ok_or_else(|| LoadFailure::deployment(d, format!("file {name} is missing from the store")))?;
            bundle.files.insert(name.clone(), data);
        }
        let unpack = |e: std::io::Error| LoadFailure::deployment(d, format!("cannot unpack: {e}"));
        std::fs::create_dir_all(self.bundles_dir()).map_err(unpack)?;
        bundle.unpack(&self.bundles_dir()).map_err(unpack)
    }

    /// Reads, checks and loads an unpacked app for `tenant`. Everything a
    /// deploy checks before anything goes live happens here. A `canary` is
    /// loaded beside the app's active version, which its endpoint count
    /// then includes.
    pub(super) async fn prepare_app(
        &self,
        tenant: &Tenant,
        dir: PathBuf,
        expected_name: Option<&str>,
        canary: bool,
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
        let beside = if canary { tenant.apps.get(&manifest.name).map_or(0, |a| guests(&a.endpoints)) } else { 0 };
        let others: usize = beside
            + tenant.apps.iter().filter(|(n, _)| **n != manifest.name).map(|(_, a)| a.endpoint_count()).sum::<usize>();
        // An entity counts as one: it is five routes, but no component.
        let mine = manifest.endpoints.len() + manifest.entities.len();
        if others + mine > tenant.quotas.max_components {
            return Err(ChangeError::Rejected(format!(
                "tenant {} may deploy {} endpoints and entities in all (quotas.maxComponents); this app would bring it to {}",
                tenant.name,
                tenant.quotas.max_components,
                others + mine
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
        let mut endpoints = self
            .load_blocking(manifest.endpoints.clone(), tenant.name.to_string(), tenant.services.clone(), false)
            .await
            .map_err(|e| ChangeError::Rejected(strip_dir(&e.to_string(), &dir)))?;
        let entities =
            super::super::entity_routes::endpoints(&manifest.entities, &tenant.name, &tenant.services, defaults)
                .map_err(ChangeError::Rejected)?;
        endpoints.extend(entities);
        // Routes checked among themselves: an entity's against the app's own endpoints.
        crate::registry::RouteTable::build(endpoints.clone())?;
        Ok((manifest, endpoints))
    }

    /// Deploys a bundle (a tar) to `tenant`: checked, compiled, migrated,
    /// recorded, then swapped in whole. Requests in flight finish on the
    /// version they started on.
    pub async fn deploy(&self, tenant_name: &str, tar: &[u8]) -> Result<DeployReport, ChangeError> {
        self.deploy_share(tenant_name, tar, None).await
    }

    /// Deploys a bundle as a canary that `percent` of the app's callers get
    /// (a gradual rollout), beside the active version, which keeps the rest.
    /// A rollout already under way is replaced.
    pub async fn deploy_canary(&self, tenant_name: &str, tar: &[u8], percent: u8) -> Result<DeployReport, ChangeError> {
        if !(1..=99).contains(&percent) {
            return Err(ChangeError::Rejected(format!(
                "a gradual rollout's share is 1 to 99 percent, not {percent}; deploy without a percent for all callers"
            )));
        }
        self.deploy_share(tenant_name, tar, Some(percent)).await
    }

    async fn deploy_share(
        &self,
        tenant_name: &str,
        tar: &[u8],
        percent: Option<u8>,
    ) -> Result<DeployReport, ChangeError> {
        let started = Instant::now();
        let bundle = Bundle::from_tar(tar, self.config.deploy.max_bundle_bytes)?;
        let _change = self.lock_tenant(tenant_name).await;
        let tenant = self.live_tenant(tenant_name).await?;
        std::fs::create_dir_all(self.bundles_dir()).map_err(|e| ChangeError::Unavailable(e.to_string()))?;
        let existed = self.bundles_dir().join(bundle.hash()).join(".complete").is_file();
        let dir = bundle.unpack(&self.bundles_dir()).map_err(|e| ChangeError::Unavailable(e.to_string()))?;
        let result = self.deploy_unpacked(&tenant, &bundle, dir.clone(), percent, started).await;
        if result.is_err() && !existed && !self.store.bundle_referenced(&bundle.hash()).await.unwrap_or(true) {
            // A refused upload leaves nothing behind on this node.
            let _ = std::fs::remove_dir_all(&dir);
        }
        result
    }

    /// The checked half of a deploy, once the bundle is unpacked in `dir`.
    pub(super) async fn deploy_unpacked(
        &self,
        tenant: &Tenant,
        bundle: &Bundle,
        dir: PathBuf,
        percent: Option<u8>,
        started: Instant,
    ) -> Result<DeployReport, ChangeError> {
        let tenant_name = &*tenant.name;
        let compiled_before = self.compiled.load(Ordering::Relaxed);
        // Storage first: a bundle over the quota is refused before anything compiles.
        self.check_storage(tenant, bundle).await?;
        let (manifest, endpoints) = self.prepare_app(tenant, dir, None, percent.is_some()).await?;
        let bundle_hash = bundle.hash();
        let active = tenant.apps.get(&manifest.name).cloned();
        let candidate = |version: i64| match (percent, &active) {
            (None, _) => {
                Ok(LiveApp { version, bundle_hash: bundle_hash.clone(), endpoints: endpoints.clone(), canary: None })
            }
            (Some(percent), Some(active)) => Ok(LiveApp {
                version: active.version,
                bundle_hash: active.bundle_hash.clone(),
                endpoints: active.endpoints.clone(),
                canary: Some(Arc::new(Canary {
                    version,
                    bundle_hash: bundle_hash.clone(),
                    percent,
                    endpoints: endpoints.clone(),
                    outcomes: Default::default(),
                })),
            }),
            (Some(_), None) => Err(ChangeError::Rejected(format!(
                "app `{}` is not serving on tenant {tenant_name}, so a share of its callers has no version to \
                 be compared with; deploy it without a percent first",
                manifest.name
            ))),
        };
        let mut apps = tenant.apps.clone();
        apps.insert(manifest.name.clone(), Arc::new(candidate(0)?));
        // Routes checked against the tenant's other apps (and, for a canary,
        // in every caller's view) before anything is written.
        tenant.with_apps(apps)?;
        let check_ms = started.elapsed().as_millis() as u64;
        if let Some(db) = &tenant.services.db
            && !manifest.entities.is_empty()
        {
            let dialect = match db.backend_name() {
                "postgres" => crate::entities::sql::Dialect::Postgres,
                _ => crate::entities::sql::Dialect::Sqlite,
            };
            let files: Vec<(String, String)> =
                manifest.entities.iter().flat_map(|e| crate::entities::sql::migrations(e, dialect)).collect();
            db.migrate_generated(&files, &format!("{}/entities", manifest.name)).await.map_err(|e| {
                ChangeError::Rejected(format!("the generated migration of app `{}`'s entities: {e}", manifest.name))
            })?;
        }
        if let (Some(m), Some(db)) = (&manifest.migrations, &tenant.services.db) {
            db.migrate(m, &manifest.name)
                .await
                .map_err(|e| ChangeError::Rejected(format!("database migration of app `{}`: {e}", manifest.name)))?;
        }
        let files = bundle.file_hashes();
        for (name, data) in &bundle.files {
            self.store.put_blob(&files[name], data).await?;
        }
        let version = self.store.record_deployment(tenant_name, &manifest.name, &bundle_hash, &files, percent).await?;
        self.keep_blobs(bundle, &files).await?;
        let pruned =
            self.store.prune_deployments(tenant_name, &manifest.name, self.config.deploy.keep_versions).await?;
        self.release(pruned).await;
        let live = Arc::new(candidate(version)?);
        let routes: Vec<String> = endpoints.iter().map(|e| e.route.to_string()).collect();
        self.put_app(tenant, &manifest.name, Some(live))?;
        let report = DeployReport {
            tenant: tenant_name.to_string(),
            app: manifest.name.clone(),
            version,
            bundle_hash,
            percent,
            routes,
            compiled: self.compiled.load(Ordering::Relaxed) - compiled_before,
            total_ms: started.elapsed().as_millis() as u64,
            check_ms,
        };
        tracing::info!(
            target: "gatehouse::deploy",
            tenant = tenant_name, app = %report.app, version, hash = &report.bundle_hash[..12],
            ms = report.total_ms, percent = percent.unwrap_or(100), "deployed"
        );
        Ok(report)
    }

    /// Refuses a bundle that would take the tenant past its storage quota
    /// (its database plus the files its deployments keep).
    pub(super) async fn check_storage(&self, tenant: &Tenant, bundle: &Bundle) -> Result<(), ChangeError> {
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
    pub(super) async fn keep_blobs(
        &self,
        bundle: &Bundle,
        files: &BTreeMap<String, String>,
    ) -> Result<(), ChangeError> {
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
    pub(super) async fn release(&self, pruned: Vec<DeploymentRecord>) {
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
        let live = self.load_deployment(&tenant, &record).await?;
        let mut apps = tenant.apps.clone();
        apps.insert(app.to_string(), live.clone());
        tenant.with_apps(apps)?;
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

    /// Swaps one app of one tenant (or removes it), on the tenant as it is now.
    /// The caller holds the tenant's change lock, so nothing else changes it meanwhile.
    pub(super) fn put_app(&self, tenant: &Tenant, app: &str, live: Option<Arc<LiveApp>>) -> Result<(), ChangeError> {
        let current = self.directory.load().tenants.get(&*tenant.name).cloned();
        let tenant = current.as_deref().unwrap_or(tenant);
        let mut apps = tenant.apps.clone();
        match live {
            Some(l) => apps.insert(app.to_string(), l),
            None => apps.remove(app),
        };
        let next = Arc::new(tenant.with_apps(apps)?);
        self.swap(|d| {
            d.tenants.insert(next.name.to_string(), next);
        });
        Ok(())
    }

    pub(super) async fn load_deployment(
        &self,
        tenant: &Tenant,
        d: &DeploymentRecord,
    ) -> Result<Arc<LiveApp>, LoadFailure> {
        let dir = self.materialize(d).await?;
        let (_, endpoints) =
            self.prepare_app(tenant, dir, Some(&d.app), false).await.map_err(|e| LoadFailure::deployment(d, e))?;
        Ok(Arc::new(LiveApp { version: d.version, bundle_hash: d.bundle_hash.clone(), endpoints, canary: None }))
    }
}
