//! What tenants keep in the store, and releasing what nothing references any
//! more: a pruned version's files (blobs) and the compiled artifacts of its
//! components go once no other deployment, of any tenant, names them.

use std::collections::{BTreeMap, HashSet};

use sqlx::Row;

use super::{Store, StoreError, on_pool};

impl Store {
    /// Every blob hash some deployment still names.
    pub async fn referenced_blobs(&self) -> Result<HashSet<String>, StoreError> {
        let lists: Vec<String> = on_pool!(self, p => sqlx::query("SELECT files FROM deployments")
            .fetch_all(p)
            .await?
            .into_iter()
            .map(|r| r.get::<String, _>("files"))
            .collect());
        Ok(lists
            .iter()
            .filter_map(|f| serde_json::from_str::<BTreeMap<String, String>>(f).ok())
            .flat_map(|m| m.into_values())
            .collect())
    }

    /// Whether any deployment, of any tenant, is bundle `hash`.
    pub async fn bundle_referenced(&self, hash: &str) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => sqlx::query("SELECT 1 FROM deployments WHERE bundle_hash = $1 LIMIT 1")
            .bind(hash)
            .fetch_optional(p)
            .await?
            .is_some()))
    }

    /// Deletes the blobs `hashes`, and the compiled artifacts of those that
    /// were components (an artifact's key starts with its component's hash).
    pub async fn delete_blobs(&self, hashes: &[String]) -> Result<(), StoreError> {
        for hash in hashes {
            on_pool!(self, p => {
                sqlx::query("DELETE FROM blobs WHERE hash = $1").bind(hash).execute(p).await?;
                sqlx::query("DELETE FROM artifacts WHERE key LIKE $1").bind(format!("{hash}-%")).execute(p).await?;
            });
        }
        Ok(())
    }

    /// Of `hashes`, those the store does not hold.
    pub async fn missing_blobs(&self, hashes: &[String]) -> Result<Vec<String>, StoreError> {
        let mut missing = Vec::new();
        for hash in hashes {
            let found = on_pool!(self, p => sqlx::query("SELECT 1 FROM blobs WHERE hash = $1")
                .bind(hash)
                .fetch_optional(p)
                .await?
                .is_some());
            if !found {
                missing.push(hash.clone());
            }
        }
        Ok(missing)
    }

    /// Bytes of the distinct files that `tenant`'s deployments name.
    pub async fn tenant_bundle_bytes(&self, tenant: &str) -> Result<u64, StoreError> {
        let lists: Vec<String> = on_pool!(self, p => sqlx::query("SELECT files FROM deployments WHERE tenant = $1")
            .bind(tenant)
            .fetch_all(p)
            .await?
            .into_iter()
            .map(|r| r.get::<String, _>("files"))
            .collect());
        let hashes: HashSet<String> = lists
            .iter()
            .filter_map(|f| serde_json::from_str::<BTreeMap<String, String>>(f).ok())
            .flat_map(|m| m.into_values())
            .collect();
        let mut total = 0u64;
        for hash in &hashes {
            // CAST: Postgres's length() is a 4-byte integer, SQLite's an 8-byte one.
            let size: Option<i64> = on_pool!(self, p => sqlx::query("SELECT CAST(length(data) AS BIGINT) AS n FROM blobs WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(p)
                    .await?
                    .map(|r| r.try_get::<i64, _>("n"))
                    .transpose()?);
            total += size.unwrap_or(0).max(0) as u64;
        }
        Ok(total)
    }
}
