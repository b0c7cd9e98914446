//! Secrets set through the admin API, in memory, kept in step with the store
//! by a [`Mirror`], like the API keys.

use std::collections::HashMap;

use crate::config::Secret;
use crate::store::{Boxed, Mirror, Store, StoreError};

/// (tenant, name) → value.
type Secrets = HashMap<(String, String), Secret>;

fn read(store: &Store) -> Boxed<'_, Result<Secrets, StoreError>> {
    Box::pin(async move { Ok(store.all_secrets().await?.into_iter().map(|(t, n, v)| ((t, n), v)).collect()) })
}

/// The set secrets.
pub struct SecretBook {
    secrets: Mirror<Secrets>,
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
        Ok(Self { secrets: Mirror::load(store, "secrets", read).await? })
    }

    /// The store, for the admin API.
    pub fn store(&self) -> &Store {
        self.secrets.store()
    }

    /// The admin-set value of `name` for `tenant`, if any.
    pub async fn get(&self, tenant: &str, name: &str) -> Option<Secret> {
        self.secrets.current().await.get(&(tenant.to_string(), name.to_string())).cloned()
    }
}
