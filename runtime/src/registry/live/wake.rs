//! Tenants loaded when needed: a stored tenant sleeps (only its name in the
//! directory) until a request or a change names it; then its database is
//! opened and its apps prepared, and it serves. Past
//! `platform.max_loaded_tenants`, the least recently used idle tenants go
//! back to sleep, so a node's memory follows the tenants in use, not the
//! tenants that exist.

use super::*;

impl Registry {
    /// The tenant `name`, loaded: at once if it is, else loaded now (waiting
    /// for any change to it under way). For a request to an asleep tenant.
    pub async fn wake(&self, name: &str) -> Result<Arc<Tenant>, ChangeError> {
        if let Some(t) = self.directory.load().tenants.get(name) {
            return Ok(t.clone());
        }
        let _change = self.lock_tenant(name).await;
        self.live_tenant(name).await
    }

    /// The tenant `name`, loaded now from the store if it is not: its
    /// database, its settings and every active app, swapped in whole (no
    /// request ever sees it half loaded). An app that fails to load is
    /// logged and left out, as a sync does. The caller holds the tenant's
    /// change lock.
    pub(super) async fn live_tenant(&self, name: &str) -> Result<Arc<Tenant>, ChangeError> {
        if let Some(t) = self.directory.load().tenants.get(name) {
            return Ok(t.clone());
        }
        let started = Instant::now();
        // A load waits its turn at most as long as a request waits for a pool
        // slot: a flood of requests naming asleep tenants gets 503s, not a queue.
        let wait = self.config.sandbox.queue_timeout;
        let _loading = match tokio::time::timeout(wait, self.loading.acquire()).await {
            Ok(permit) => permit.map_err(|e| ChangeError::Unavailable(e.to_string()))?,
            Err(_) => {
                return Err(ChangeError::Unavailable(format!(
                    "tenant {name} is not loaded on this node and other loads kept it waiting {} ms; try again",
                    wait.as_millis()
                )));
            }
        };
        let not_found =
            || ChangeError::NotFound(format!("no tenant {name}; create it with `gatehouse tenants create {name}`"));
        let record = self.store.get_tenant(name).await?.ok_or_else(not_found)?;
        let deployments = self.store.active_deployments_of(name).await?;
        let canaries = self.store.canary_deployments(Some(name)).await?;
        let read = started.elapsed();
        let services = self.open_services(&record, false).await?;
        let opened = started.elapsed();
        let mut tenant = self.build_tenant(&record, services, Vec::new(), BTreeMap::new()).await?;
        let mut apps = BTreeMap::new();
        for (app, (d, canary)) in sync::wanted(&deployments, &canaries, name) {
            match self.load_app(&tenant, None, d, canary).await {
                Ok(Some(live)) => {
                    apps.insert(app.to_string(), live);
                }
                Ok(None) => {}
                Err(e) => tracing::error!(tenant = name, app = %d.app, version = d.version, "not loaded: {e}"),
            }
        }
        if !apps.is_empty() {
            match tenant.with_apps(apps.clone()) {
                Ok(t) => tenant = t,
                Err(e) => {
                    // Serve the active versions rather than nothing.
                    tracing::error!(tenant = name, "rollouts not served: {e}");
                    let active = apps
                        .into_iter()
                        .map(|(n, a)| {
                            let plain = LiveApp {
                                version: a.version,
                                bundle_hash: a.bundle_hash.clone(),
                                endpoints: a.endpoints.clone(),
                                canary: None,
                            };
                            (n, Arc::new(plain))
                        })
                        .collect();
                    match tenant.with_apps(active) {
                        Ok(t) => tenant = t,
                        Err(e) => tracing::error!(tenant = name, "apps not served: {e}"),
                    }
                }
            }
        }
        let tenant = Arc::new(tenant);
        let next = tenant.clone();
        self.swap(|d| {
            d.tenants.insert(name.to_string(), next);
            if d.asleep.contains(name) {
                Arc::make_mut(&mut d.asleep).remove(name);
            }
        });
        self.loads.fetch_add(1, Ordering::Relaxed);
        // Where a slow load went: the store, the database, the apps.
        let (read, opened, total) =
            (read.as_millis() as u64, opened.as_millis() as u64, started.elapsed().as_millis() as u64);
        tracing::info!(
            tenant = name,
            apps = deployments.len(),
            store_ms = read,
            database_ms = opened - read,
            apps_ms = total - opened,
            ms = total,
            "tenant loaded"
        );
        self.sleep_beyond_cap();
        Ok(tenant)
    }

    /// Puts the least recently used idle tenants to sleep until no more than
    /// `platform.max_loaded_tenants` are loaded (platform.toml's tenant never
    /// sleeps). A tenant with a request running or waiting, or in the middle
    /// of a change, stays loaded; the next load tries again. Requests that
    /// already hold a tenant finish on it; the next one loads it afresh.
    pub(super) fn sleep_beyond_cap(&self) {
        let cap = self.config.platform.max_loaded_tenants;
        let config_tenant = self.config.platform.tenant.as_str();
        let directory = self.directory.load();
        let loaded = directory.tenants.len().saturating_sub(usize::from(directory.tenants.contains_key(config_tenant)));
        if loaded <= cap {
            return;
        }
        let mut idle: Vec<(u64, &String)> = directory
            .tenants
            .iter()
            .filter(|(n, t)| n.as_str() != config_tenant && t.is_idle())
            .map(|(n, t)| (t.last_used.load(Ordering::Relaxed), n))
            .collect();
        idle.sort_unstable();
        let mut held = Vec::new();
        for (_, name) in idle {
            if held.len() == loaded - cap {
                break;
            }
            if let Ok(change) = self.tenant_lock(name).try_lock_owned() {
                held.push((name.clone(), change));
            }
        }
        drop(directory);
        let mut slept = 0;
        self.swap(|d| {
            for (name, _) in &held {
                if d.tenants.get(name).is_some_and(|t| t.is_idle()) {
                    d.tenants.remove(name);
                    Arc::make_mut(&mut d.asleep).insert(name.clone());
                    slept += 1;
                }
            }
        });
        self.sleeps.fetch_add(slept, Ordering::Relaxed);
        self.forget_released_shares();
        if slept > 0 {
            tracing::debug!(tenants = slept, cap, "idle tenants put to sleep");
        }
    }
}
