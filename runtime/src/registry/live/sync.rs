//! Keeping this node in step: `sync` rebuilds the tenants whose stored state
//! changed (on any node, or through the CLI), and `reload_source` swaps in an
//! endpoint rebuilt from its source folder (`serve --watch`).

use std::collections::HashSet;

use super::*;

/// Up to this many loaded tenants, a sync asks for each one's deployments
/// rather than for every tenant's.
const FEW_LOADED: usize = 8;

/// A tenant's apps as the store wants them: each one's active deployment
/// and its rollout's canary, if one is under way.
pub(super) type Wanted<'a> = BTreeMap<&'a str, (&'a DeploymentRecord, Option<&'a CanaryRecord>)>;

/// `tenant`'s part of the stored deployments and rollouts.
pub(super) fn wanted<'a>(active: &'a [DeploymentRecord], canaries: &'a [CanaryRecord], tenant: &str) -> Wanted<'a> {
    active
        .iter()
        .filter(|d| d.tenant == tenant)
        .map(|d| {
            let canary = canaries.iter().find(|c| c.deployment.tenant == tenant && c.deployment.app == d.app);
            (d.app.as_str(), (d, canary))
        })
        .collect()
}

impl Registry {
    /// Notes that this node is in step with the store now (see `last_sync`).
    pub fn in_step(&self) {
        self.last_sync.store(crate::clock::unix_now(), Ordering::Relaxed);
    }

    /// Brings this node in step with the store: tenants added, changed or
    /// deleted, apps deployed, rolled back or undeployed elsewhere. An app that
    /// fails to load here keeps its previous version serving (and is logged).
    /// Each tenant is brought in step under its own change lock and swapped on
    /// its own; a tenant in the middle of a change here is skipped. Returns
    /// whether every tenant was brought in step (else: try again later).
    pub async fn sync(&self) -> Result<bool, LoadFailure> {
        let _syncing = self.syncing.lock().await;
        // What this node served before the store was read. Only that is
        // brought in step or removed: a tenant loaded, changed, created or
        // put to sleep here since is already at least as new as the store.
        let before = self.directory.load_full();
        let records = self.store.list_tenants().await?;
        let config_tenant = self.config.platform.tenant.clone();
        // Tenants not loaded here sleep: only their names are kept, and a
        // request or a change loads them from the store as it is then.
        let loaded: Vec<&TenantRecord> = records.iter().filter(|r| before.tenants.contains_key(&r.name)).collect();
        // The loaded tenants' deployments: one query each while they are few
        // (a start loads only platform.toml's, on a node that may store
        // thousands), else one query for all.
        let (active, canaries) = if loaded.len() <= FEW_LOADED {
            let (mut active, mut canaries) = (Vec::new(), Vec::new());
            for record in &loaded {
                active.extend(self.store.active_deployments_of(&record.name).await?);
                canaries.extend(self.store.canary_deployments(Some(&record.name)).await?);
            }
            (active, canaries)
        } else {
            (self.store.active_deployments().await?, self.store.canary_deployments(None).await?)
        };
        let unchanged = |name: &str| {
            let now = self.directory.load();
            match (now.tenants.get(name), before.tenants.get(name)) {
                (Some(now), Some(then)) => Arc::ptr_eq(now, then),
                _ => false,
            }
        };
        let mut complete = true;
        for record in loaded {
            let Ok(_change) = self.tenant_lock(&record.name).try_lock_owned() else {
                complete = false;
                continue;
            };
            if !unchanged(&record.name) {
                continue;
            }
            let wanted = wanted(&active, &canaries, &record.name);
            self.sync_tenant(record, &wanted).await;
        }
        let stored: HashSet<&str> = records.iter().map(|r| r.name.as_str()).collect();
        let new: Vec<&str> = records
            .iter()
            .map(|r| r.name.as_str())
            .filter(|n| *n != config_tenant && !before.tenants.contains_key(*n) && !before.asleep.contains(*n))
            .collect();
        let gone_asleep: Vec<&String> = before.asleep.iter().filter(|n| !stored.contains(n.as_str())).collect();
        if !new.is_empty() || !gone_asleep.is_empty() {
            self.swap(|d| {
                let Directory { tenants, asleep, .. } = d;
                let asleep = Arc::make_mut(asleep);
                for name in &gone_asleep {
                    asleep.remove(*name);
                }
                // Checked inside the swap: a load may have taken one meanwhile.
                for name in &new {
                    if !tenants.contains_key(*name) {
                        asleep.insert(name.to_string());
                    }
                }
            });
        }
        let gone: Vec<&String> =
            before.tenants.keys().filter(|k| **k != config_tenant && !stored.contains(k.as_str())).collect();
        for name in gone {
            let Ok(_change) = self.tenant_lock(name).try_lock_owned() else {
                complete = false;
                continue;
            };
            if unchanged(name) {
                self.swap(|d| {
                    d.tenants.remove(name);
                });
            }
        }
        Ok(complete)
    }

    /// Brings one tenant in step with its stored record and active
    /// deployments. The caller holds the tenant's change lock.
    pub(super) async fn sync_tenant(&self, record: &TenantRecord, wanted: &Wanted<'_>) {
        let existing = self.directory.load().tenants.get(&record.name).cloned();
        let mut changed = false;
        let mut tenant = match existing {
            Some(t) if t.settings_stamp == record.revision => t,
            Some(t) => {
                changed = true;
                match self.build_tenant(record, t.services.clone(), t.base.clone(), t.apps.clone()).await {
                    Ok(n) => Arc::new(n),
                    Err(e) => {
                        tracing::error!(tenant = %record.name, "new settings not applied: {e}");
                        t
                    }
                }
            }
            // Asleep (or put to sleep meanwhile): loaded afresh when next needed.
            None => return,
        };
        let mut apps = tenant.apps.clone();
        apps.retain(|name, _| {
            let keep = wanted.contains_key(name.as_str());
            changed |= !keep;
            keep
        });
        for (name, (d, canary)) in wanted {
            match self.load_app(&tenant, apps.get(*name), d, *canary).await {
                Ok(Some(live)) => {
                    apps.insert(name.to_string(), live);
                    changed = true;
                }
                Ok(None) => {}
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

    /// Replaces the config tenant's platform.toml endpoints that came from
    /// `component` (a rebuilt source folder, for `serve --watch`).
    pub async fn reload_source(&self, component: &std::path::Path) -> Result<usize, ChangeError> {
        let name = self.config.platform.tenant.clone();
        let _change = self.lock_tenant(&name).await;
        let tenant = self.live_tenant(&name).await?;
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
        let (routes, canary_views) = routing(&base, &tenant.apps)?;
        let next = Arc::new(Tenant {
            name: tenant.name.clone(),
            sessions: tenant.sessions.clone(),
            rate_ceiling: tenant.rate_ceiling,
            quotas: tenant.quotas,
            share: tenant.share.clone(),
            services: tenant.services.clone(),
            routes,
            canary_views,
            base,
            apps: tenant.apps.clone(),
            settings_stamp: tenant.settings_stamp,
            // New routes, so a new document.
            openapi: Default::default(),
            last_used: crate::clock::monotonic_ms().into(),
        });
        self.swap(|d| {
            d.tenants.insert(name, next);
        });
        Ok(fresh.len())
    }
}
