//! API keys in memory, kept in step with the store by a [`Mirror`]: a
//! revocation, by this server's admin API or by the CLI, applies from the
//! next request on.

use std::collections::HashMap;
use std::sync::Arc;

use subtle::ConstantTimeEq;

use super::api_key;
use crate::clock::unix_now;
use crate::identity::{Principal, PrincipalKind};
use crate::store::{Boxed, KeyRecord, Mirror, Store, StoreError};

/// The keys by id.
type ById = HashMap<String, KeyRecord>;

fn read(store: &Store) -> Boxed<'_, Result<ById, StoreError>> {
    Box::pin(async move { Ok(store.list_keys(None).await?.into_iter().map(|k| (k.id.clone(), k)).collect()) })
}

/// The cache of keys by id.
pub struct KeyRing {
    keys: Mirror<ById>,
}

impl KeyRing {
    /// Loads every key from `store`.
    pub async fn load(store: Store) -> Result<Self, StoreError> {
        Ok(Self { keys: Mirror::load(store, "API keys", read).await? })
    }

    /// The store behind the ring (for the admin API).
    pub fn store(&self) -> &Store {
        self.keys.store()
    }

    /// The principal for a presented key on an endpoint of `tenant`. Errors
    /// never contain the key.
    pub async fn authenticate(&self, presented: &str, tenant: &Arc<str>) -> Result<Principal, String> {
        const INVALID: &str = "the API key is not valid";
        let id = api_key::id_of(presented).ok_or(INVALID)?;
        let keys = self.keys.current().await;
        let record = keys.get(id).ok_or(INVALID)?;
        // Compare the hashes in constant time: timing must not tell how much matched.
        let presented_hash = api_key::hash(presented);
        if !bool::from(presented_hash.as_bytes().ct_eq(record.hash.as_bytes())) {
            return Err(INVALID.into());
        }
        if record.revoked_at.is_some() {
            return Err(format!("the API key {} was revoked", record.prefix));
        }
        if let Some(exp) = record.expires_at
            && exp <= unix_now()
        {
            return Err(format!("the API key {} has expired", record.prefix));
        }
        if record.tenant != **tenant {
            return Err(INVALID.into());
        }
        Ok(Principal {
            kind: PrincipalKind::ApiKey,
            tenant: tenant.clone(),
            user_id: record.user_id.clone(),
            key_id: Some(record.id.clone()),
            scopes: record.scopes.clone(),
            claims: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::api_key::{KeySpec, generate};

    async fn ring() -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        (dir, KeyRing::load(store).await.unwrap())
    }

    fn spec(tenant: &str, expires_at: Option<i64>) -> KeySpec {
        KeySpec {
            tenant: tenant.into(),
            name: "n".into(),
            scopes: vec!["read".into()],
            user_id: Some("u".into()),
            expires_at,
            test: false,
        }
    }

    #[tokio::test]
    async fn keys_work_until_revoked_and_the_ring_notices_at_once() {
        let (dir, ring) = ring().await;
        let t: Arc<str> = "acme".into();
        let k = generate(spec("acme", None), unix_now()).unwrap();
        // Written by another handle on the same file, like the CLI does.
        let other = Store::open_sqlite(dir.path()).await.unwrap();
        other.insert_key(&k.record).await.unwrap();
        let p = ring.authenticate(&k.key, &t).await.unwrap();
        assert_eq!(p.key_id.as_deref(), Some(k.record.id.as_str()));
        assert_eq!(p.scopes, ["read"]);
        other.revoke_key(&k.record.id, unix_now()).await.unwrap();
        let e = ring.authenticate(&k.key, &t).await.unwrap_err();
        assert!(e.contains("revoked") && !e.contains(&k.key), "{e}");
    }

    #[tokio::test]
    async fn wrong_secret_other_tenant_and_expiry_are_refused() {
        let (_dir, ring) = ring().await;
        let t: Arc<str> = "acme".into();
        let k = generate(spec("acme", None), unix_now()).unwrap();
        ring.store().insert_key(&k.record).await.unwrap();
        let mut forged = k.key.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'a' { 'b' } else { 'a' });
        assert_eq!(ring.authenticate(&forged, &t).await.unwrap_err(), "the API key is not valid");
        assert!(ring.authenticate(&k.key, &"other".into()).await.is_err());
        let old = generate(spec("acme", Some(unix_now() - 1)), unix_now() - 100).unwrap();
        ring.store().insert_key(&old.record).await.unwrap();
        assert!(ring.authenticate(&old.key, &t).await.unwrap_err().contains("expired"));
    }
}
