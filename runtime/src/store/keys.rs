//! The `api_keys` table. Only a SHA-256 hash and a display prefix of a key are
//! ever stored.

use sqlx::Row;

use super::{Store, StoreError, on_pool};

/// One API key, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    /// The key's id (also inside the key, for lookup).
    pub id: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// A human label.
    pub name: String,
    /// `sk_live_<id>`: enough to recognise a key, useless to use it.
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    #[serde(skip)]
    pub hash: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The user the key acts for, if any.
    pub user_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; none means it never expires.
    pub expires_at: Option<i64>,
    /// Unix seconds; set once revoked.
    pub revoked_at: Option<i64>,
}

/// Builds a `KeyRecord` from a row of either backend.
macro_rules! key_from_row {
    ($row:expr) => {{
        let row = $row;
        let scopes: String = row.get("scopes");
        KeyRecord {
            id: row.get("id"),
            tenant: row.get("tenant"),
            name: row.get("name"),
            prefix: row.get("prefix"),
            hash: row.get("hash"),
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
            user_id: row.get("user_id"),
            created_at: row.get("created_at"),
            expires_at: row.get("expires_at"),
            revoked_at: row.get("revoked_at"),
        }
    }};
}

impl Store {
    /// Stores a new key record.
    pub async fn insert_key(&self, k: &KeyRecord) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO api_keys (id, tenant, name, prefix, hash, scopes, user_id, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&k.id)
        .bind(&k.tenant)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.hash)
        .bind(k.scopes.join(" "))
        .bind(&k.user_id)
        .bind(k.created_at)
        .bind(k.expires_at)
        .bind(k.revoked_at)
        .execute(p)
        .await
        .map(drop))?;
        self.changed("keys").await
    }

    /// Every key, or a tenant's, newest first.
    pub async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = match tenant {
                Some(t) => {
                    sqlx::query("SELECT * FROM api_keys WHERE tenant = $1 ORDER BY created_at DESC, id")
                        .bind(t)
                        .fetch_all(p)
                        .await?
                }
                None => sqlx::query("SELECT * FROM api_keys ORDER BY created_at DESC, id").fetch_all(p).await?,
            };
            rows.iter().map(|r| key_from_row!(r)).collect()
        }))
    }

    /// Revokes a key; false if no such key. Revoking twice keeps the first time.
    pub async fn revoke_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected());
        if done == 0 {
            return Ok(false);
        }
        self.changed("keys").await?;
        Ok(true)
    }
}
