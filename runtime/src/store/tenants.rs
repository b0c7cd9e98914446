//! The `tenants` table: each tenant's settings (quotas, session verification)
//! as a JSON document the registry owns, and its database role's password
//! (Postgres), kept so that every node connects with the same one.

use sqlx::Row;

use super::{Store, StoreError, on_pool};

/// One tenant, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// The tenant's name: letters, digits, `-`.
    pub name: String,
    /// Settings as JSON (see `registry::TenantSettings`).
    pub settings: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// Moves on every change to the settings or the tenant's secrets (a
    /// session secret may be one), so a node knows to rebuild the tenant.
    pub revision: i64,
}

macro_rules! tenant_from_row {
    ($row:expr) => {{
        let row = $row;
        TenantRecord {
            name: row.get("name"),
            settings: row.get("settings"),
            created_at: row.get("created_at"),
            updated_at: row.get("updated_at"),
            revision: row.get("revision"),
        }
    }};
}

impl Store {
    /// Creates a tenant; false if one of that name exists.
    pub async fn create_tenant(&self, name: &str, settings: &str) -> Result<bool, StoreError> {
        let now = super::now();
        let done = on_pool!(self, p => sqlx::query(
            "INSERT INTO tenants (name, settings, created_at, updated_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(settings)
        .bind(now)
        .execute(p)
        .await?
        .rows_affected());
        if done > 0 {
            self.changed("tenants").await?;
        }
        Ok(done > 0)
    }

    /// Replaces a tenant's settings; false if there is no such tenant.
    pub async fn update_tenant(&self, name: &str, settings: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => sqlx::query("UPDATE tenants SET settings = $1, updated_at = $2, revision = revision + 1 WHERE name = $3")
            .bind(settings)
            .bind(super::now())
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        if done > 0 {
            self.changed("tenants").await?;
        }
        Ok(done > 0)
    }

    /// Every tenant, by name.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = sqlx::query("SELECT name, settings, created_at, updated_at, revision FROM tenants ORDER BY name")
                .fetch_all(p)
                .await?;
            rows.iter().map(|r| tenant_from_row!(r)).collect()
        }))
    }

    /// One tenant.
    pub async fn get_tenant(&self, name: &str) -> Result<Option<TenantRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let row = sqlx::query("SELECT name, settings, created_at, updated_at, revision FROM tenants WHERE name = $1")
                .bind(name)
                .fetch_optional(p)
                .await?;
            row.as_ref().map(|r| tenant_from_row!(r))
        }))
    }

    /// Deletes a tenant with its apps, deployments, keys and secrets; false if
    /// there was no such tenant. Its database is left for the operator.
    pub fn delete_tenant<'a>(&'a self, name: &'a str) -> super::Boxed<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = on_pool!(self, p => {
                let mut tx = p.begin().await?;
                for sql in [
                    "DELETE FROM deployments WHERE tenant = $1",
                    "DELETE FROM apps WHERE tenant = $1",
                    "DELETE FROM api_keys WHERE tenant = $1",
                    "DELETE FROM secrets WHERE tenant = $1",
                ] {
                    sqlx::query(sql).bind(name).execute(&mut *tx).await?;
                }
                let n = sqlx::query("DELETE FROM tenants WHERE name = $1").bind(name).execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
                n
            });
            self.changed("tenants").await?;
            Ok(done > 0)
        })
    }

    /// The password of a tenant's database role, made (by `make`) and kept on
    /// first use. Concurrent first uses agree: the first insert wins.
    pub async fn tenant_db_password(&self, tenant: &str, make: impl FnOnce() -> String) -> Result<String, StoreError> {
        let candidate = make();
        let now = super::now();
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO tenants (name, settings, created_at, updated_at) VALUES ($1, '{}', $2, $2)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(tenant)
            .bind(now)
            .execute(p)
            .await?;
            sqlx::query("UPDATE tenants SET db_password = $1 WHERE name = $2 AND db_password IS NULL")
                .bind(&candidate)
                .bind(tenant)
                .execute(p)
                .await?;
            let row = sqlx::query("SELECT db_password FROM tenants WHERE name = $1").bind(tenant).fetch_one(p).await?;
            Ok(row.get::<Option<String>, _>("db_password").unwrap_or(candidate))
        })
    }
}
