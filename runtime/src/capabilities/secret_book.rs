//! Secrets set through the admin API, in memory, kept in step with the store
//! like the API keys: one `pread` of the store's change counter per lookup, a
//! reload when another process (or this one's admin API) committed a change.

use std::collections::HashMap;

use tokio::sync::RwLock;

use crate::config::Secret;
use crate::store::{Store, StoreError};

/// (tenant, name) → value.
type Secrets = HashMap<(String, String), Secret>;

/// The set secrets and the store change counter they were read at.
pub struct SecretBook {
    store: Store,
    state: RwLock<(u64, Secrets)>,
    /// After a failed reload, no retry before then (a dead store must not cost every lookup a timeout).
    retry_at: std::sync::Mutex<Option<std::time::Instant>>,
}

impl std::fmt::Debug for SecretBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values.
        f.debug_struct("SecretBook").finish_non_exhaustive()
    }
}

impl SecretBook {
    /// Loads every set secret.
    pub async fn load(store: Store) -> Result<Self, StoreError> {
        let counter = store.change_counter();
        let map = Self::read(&store).await?;
        Ok(Self { store, state: RwLock::new((counter, map)), retry_at: std::sync::Mutex::new(None) })
    }

    async fn read(store: &Store) -> Result<Secrets, StoreError> {
        Ok(store.all_secrets().await?.into_iter().map(|(t, n, v)| ((t, n), v)).collect())
    }

    /// The store, for the admin API.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The admin-set value of `name` for `tenant`, if any.
    pub async fn get(&self, tenant: &str, name: &str) -> Option<Secret> {
        let now = self.store.change_counter();
        let waiting =
            || self.retry_at.lock().map(|t| t.is_some_and(|t| std::time::Instant::now() < t)).unwrap_or(false);
        if self.state.read().await.0 != now && !waiting() {
            let mut state = self.state.write().await;
            if state.0 != now && !waiting() {
                match Self::read(&self.store).await {
                    Ok(map) => *state = (now, map),
                    Err(e) => {
                        tracing::error!("reloading secrets failed: {e}; using the secrets as last read");
                        if let Ok(mut t) = self.retry_at.lock() {
                            *t = Some(std::time::Instant::now() + std::time::Duration::from_secs(1));
                        }
                    }
                }
            }
        }
        self.state.read().await.1.get(&(tenant.to_string(), name.to_string())).cloned()
    }
}
