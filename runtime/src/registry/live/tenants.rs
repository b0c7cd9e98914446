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
        if let Some(blobs) = &tenant.services.blobs {
            let quota = settings.resolved_quotas(&self.config).blob_bytes;
            blobs.set_limits(crate::capabilities::blobs::BlobPlatform::limits(&self.config, quota));
        }
        let next =
            self.build_tenant(&record, tenant.services.clone(), tenant.base.clone(), tenant.apps.clone()).await?;
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
        // Its database at hand to archive: the loaded tenant's, or, if it
        // sleeps, opened now (no app is loaded just to be deleted). If it
        // cannot be opened, nothing is deleted: a new tenant of the same name
        // must never find the old one's data.
        let loaded = self.directory.load().tenants.get(name).cloned();
        let services = match loaded {
            Some(t) => t.services.clone(),
            None => {
                let record = self
                    .store
                    .get_tenant(name)
                    .await?
                    .ok_or_else(|| ChangeError::NotFound(format!("no tenant {name}")))?;
                self.open_services(&record, false).await.map_err(|e| {
                    ChangeError::Unavailable(format!(
                        "tenant {name} was not deleted: its database cannot be opened to archive it ({e})"
                    ))
                })?
            }
        };
        if !self.store.delete_tenant(name).await? {
            return Err(ChangeError::NotFound(format!("no tenant {name}")));
        }
        self.swap(|d| {
            d.tenants.remove(name);
            if d.asleep.contains(name) {
                Arc::make_mut(&mut d.asleep).remove(name);
            }
        });
        // Its database and objects are archived, so a new tenant of the same name starts empty.
        let archive = self.config.platform.data_dir.join("archive");
        if let Some(blobs) = &services.blobs {
            match blobs.retire(&archive).await {
                Ok(to) => tracing::info!(tenant = name, archived = %to, "tenant objects retired"),
                Err(e) => tracing::error!(tenant = name, "tenant objects not retired: {e}"),
            }
        }
        if let Some(db) = services.db {
            match db.retire(&archive, self.config.platform.database_url.as_deref()).await {
                Ok(to) => tracing::info!(tenant = name, archived = %to, "tenant database archived"),
                Err(e) => tracing::error!(tenant = name, "tenant database not archived: {e}"),
            }
        }
        Ok(())
    }
}
