//! Content-addressed files: what deployments are made of (components,
//! schemas, migrations) by SHA-256, and compiled artifacts by cache key, so a
//! node that did not see an upload fetches it from the shared store.

use sqlx::Row;

use super::{Store, StoreError, on_pool};

impl Store {
    /// Stores a file under its hash (once; the same content is stored once).
    pub async fn put_blob(&self, hash: &str, data: &[u8]) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("INSERT INTO blobs (hash, data) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING")
            .bind(hash)
            .bind(data)
            .execute(p)
            .await
            .map(drop))?;
        Ok(())
    }

    /// A file by hash.
    pub async fn get_blob(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query("SELECT data FROM blobs WHERE hash = $1")
            .bind(hash)
            .fetch_optional(p)
            .await?
            .map(|r| r.get::<Vec<u8>, _>("data"))))
    }

    /// Stores a compiled artifact (same binary, same engine: same key).
    pub async fn put_artifact(&self, key: &str, data: &[u8]) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("INSERT INTO artifacts (key, data) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(data)
            .execute(p)
            .await
            .map(drop))?;
        Ok(())
    }

    /// A compiled artifact by key.
    pub async fn get_artifact(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query("SELECT data FROM artifacts WHERE key = $1")
            .bind(key)
            .fetch_optional(p)
            .await?
            .map(|r| r.get::<Vec<u8>, _>("data"))))
    }
}
