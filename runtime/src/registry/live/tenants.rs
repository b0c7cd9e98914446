//! Tenants: created, changed and deleted, each change prepared before it is
//! stored and swapped in.

use super::*;

impl Registry {
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
        let next =
            self.build_tenant(&record, tenant.services.clone(), tenant.base.clone(), tenant.apps.clone()).await?;
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
        // Loaded first if it sleeps, so its database is at hand to archive.
        if let Err(e) = self.live_tenant(name).await {
            tracing::warn!(tenant = name, "not loaded before its deletion: {e}");
        }
        if !self.store.delete_tenant(name).await? {
            return Err(ChangeError::NotFound(format!("no tenant {name}")));
        }
        let mut retired = None;
        self.swap(|d| {
            retired = d.tenants.remove(name);
            if d.asleep.contains(name) {
                Arc::make_mut(&mut d.asleep).remove(name);
            }
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
}
