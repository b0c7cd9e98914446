//! Rows of the platform store mirrored in memory (the API keys, the secrets),
//! kept in step the same way for each: before a lookup the store's change
//! counter is read (one `pread` on SQLite); if any process (this server's
//! admin API, the CLI, another node) committed a change since the last read,
//! the rows are read again. If the store cannot be read, the rows as last read
//! stay in force and the reload waits a second before it is tried again, so a
//! dead store never costs every request a timeout.

use std::time::{Duration, Instant};

use tokio::sync::{RwLock, RwLockReadGuard};

use super::{Boxed, Store, StoreError};

/// How long a failed reload is not retried.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Reads the mirrored rows from the store.
pub type Reader<T> = for<'a> fn(&'a Store) -> Boxed<'a, Result<T, StoreError>>;

/// Rows of type `T`, as the store held them at `counter`.
pub struct Mirror<T> {
    store: Store,
    /// What the rows are, for the log line of a failed reload ("API keys").
    what: &'static str,
    read: Reader<T>,
    state: RwLock<State<T>>,
}

struct State<T> {
    counter: u64,
    rows: T,
    retry_at: Option<Instant>,
}

impl<T: Send + Sync> Mirror<T> {
    /// Reads the rows once.
    pub async fn load(store: Store, what: &'static str, read: Reader<T>) -> Result<Self, StoreError> {
        let counter = store.change_counter();
        let rows = read(&store).await?;
        Ok(Self { store, what, read, state: RwLock::new(State { counter, rows, retry_at: None }) })
    }

    /// The store behind the mirror (for the admin API's writes).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The rows, read again first if the store changed since.
    pub async fn current(&self) -> RwLockReadGuard<'_, T> {
        self.refresh_if_changed().await;
        RwLockReadGuard::map(self.state.read().await, |s| &s.rows)
    }

    async fn refresh_if_changed(&self) {
        let now = self.store.change_counter();
        let fresh = |s: &State<T>| s.counter == now || s.retry_at.is_some_and(|t| Instant::now() < t);
        if fresh(&*self.state.read().await) {
            return;
        }
        let mut state = self.state.write().await;
        if fresh(&state) {
            return;
        }
        match (self.read)(&self.store).await {
            Ok(rows) => *state = State { counter: now, rows, retry_at: None },
            Err(e) => {
                tracing::error!("reloading {} failed: {e}; using the {} as last read", self.what, self.what);
                state.retry_at = Some(Instant::now() + RETRY_AFTER);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_names(store: &Store) -> Boxed<'_, Result<Vec<String>, StoreError>> {
        Box::pin(async move { Ok(store.list_tenants().await?.into_iter().map(|t| t.name).collect()) })
    }

    #[tokio::test]
    async fn a_change_committed_by_another_handle_is_seen_at_the_next_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let mirror = Mirror::load(store, "tenants", tenant_names).await.unwrap();
        let before = mirror.current().await.clone();
        // Another handle on the same file, as the CLI or another process would write.
        let other = Store::open_sqlite(dir.path()).await.unwrap();
        other.create_tenant("mirrored", "{}").await.unwrap();
        let after = mirror.current().await.clone();
        assert!(!before.contains(&"mirrored".to_string()));
        assert!(after.contains(&"mirrored".to_string()), "{after:?}");
    }
}
