//! The `secrets` table: values set through the admin API, per tenant. The
//! platform database is the operator's; guests never reach it.

use sqlx::Row;

use super::{Store, StoreError, on_pool};
use crate::config::Secret;

/// A secret's name and when it was last set (never its value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRecord {
    /// The tenant.
    pub tenant: String,
    /// The name endpoints are granted.
    pub name: String,
    /// Unix seconds.
    pub updated_at: i64,
}

impl Store {
    /// Sets (or replaces) a tenant's secret.
    pub async fn set_secret(&self, tenant: &str, name: &str, value: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO secrets (tenant, name, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(p)
        .await
        .map(drop))?;
        self.touch_tenant(tenant).await?;
        self.changed("secrets").await
    }

    /// Removes a tenant's secret; false if it was not set.
    pub async fn delete_secret(&self, tenant: &str, name: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => sqlx::query("DELETE FROM secrets WHERE tenant = $1 AND name = $2")
            .bind(tenant)
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        if done > 0 {
            self.touch_tenant(tenant).await?;
            self.changed("secrets").await?;
        }
        Ok(done > 0)
    }

    /// Moves a tenant's revision: its secrets changed, and a session verifier may use one.
    async fn touch_tenant(&self, tenant: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("UPDATE tenants SET revision = revision + 1 WHERE name = $1")
            .bind(tenant)
            .execute(p)
            .await
            .map(drop))?;
        Ok(())
    }

    /// The names set for a tenant.
    pub async fn list_secrets(&self, tenant: &str) -> Result<Vec<SecretRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = sqlx::query("SELECT tenant, name, updated_at FROM secrets WHERE tenant = $1 ORDER BY name")
                .bind(tenant)
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|r| SecretRecord { tenant: r.get("tenant"), name: r.get("name"), updated_at: r.get("updated_at") })
                .collect()
        }))
    }

    /// One tenant's secrets, with their values, by name.
    pub(crate) async fn tenant_secret_values(&self, tenant: &str) -> Result<Vec<(String, Secret)>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = sqlx::query("SELECT name, value FROM secrets WHERE tenant = $1").bind(tenant).fetch_all(p).await?;
            rows.iter().map(|r| (r.get("name"), Secret::new(r.get::<String, _>("value")))).collect()
        }))
    }

    /// Every secret, with its value, for the in-memory book.
    pub(crate) async fn all_secrets(&self) -> Result<Vec<(String, String, Secret)>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = sqlx::query("SELECT tenant, name, value FROM secrets").fetch_all(p).await?;
            rows.iter().map(|r| (r.get("tenant"), r.get("name"), Secret::new(r.get::<String, _>("value")))).collect()
        }))
    }
}
