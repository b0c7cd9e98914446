//! Change events between nodes sharing a Postgres store: every write is
//! followed by a `NOTIFY` on one channel; each node `LISTEN`s and bumps its
//! change counter, which the registry's sync loop and the key and secret
//! caches watch. A lost connection bumps the counter too (something may have
//! been missed while it was down), then reconnects once a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use super::{Marker, Pool, Store};

impl Store {
    /// On Postgres, starts listening for other nodes' changes (a task that
    /// lives as long as the runtime). On SQLite there is nothing to do: the
    /// file's change counter is shared by every process using it.
    pub fn listen_for_changes(&self) {
        if let (Pool::Postgres(pool), Marker::Counter(counter)) = (&self.pool, &self.marker) {
            tokio::spawn(listen(pool.clone(), counter.clone(), self.channel.clone()));
        }
    }
}

async fn listen(pool: PgPool, counter: Arc<AtomicU64>, channel: String) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(&channel).await {
                Ok(()) => {
                    // Anything committed before LISTEN took effect is picked up by this bump.
                    counter.fetch_add(1, Ordering::AcqRel);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(event)) => {
                                counter.fetch_add(1, Ordering::AcqRel);
                                tracing::debug!(payload = event.payload(), "store event");
                            }
                            Ok(None) => {
                                tracing::warn!("lost the store's event connection; reconnecting");
                                counter.fetch_add(1, Ordering::AcqRel);
                            }
                            Err(e) => {
                                tracing::warn!("store events: {e}; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot LISTEN for store events: {e}"),
            },
            Err(e) => tracing::warn!("cannot connect for store events: {e}"),
        }
        counter.fetch_add(1, Ordering::AcqRel);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
