//! A tenant's share of the instance pool. The pool (`sandbox.max_instances`)
//! is one for the node; each tenant may hold at most its share of it at once
//! (`quotas.maxConcurrent`, default `sandbox.max_instances_per_tenant`), so a
//! tenant flooding the node with slow requests waits on its own share while
//! every other tenant keeps the rest of the pool.
//!
//! Waiting is bounded twice: a request waits at most the queue timeout, and
//! at most as many requests may wait as the share is large; beyond either the
//! answer is 503 `TENANT_OVERLOADED`, the tenant's own code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests that may wait per place of a share. A waiting request is a parked
/// future and an open connection, far cheaper than one refused and retried at
/// once (a flood then spins through the whole HTTP path); ten per place rides
/// out a burst, and keeps a default share's waiters (128 × 10) well under the
/// default connection cap (`server.max_connections`, 10,000).
const WAITERS_PER_PLACE: usize = 10;

/// One tenant's share: permits for instances at once, and counts of the
/// places held and the requests waiting (read by the metrics).
#[derive(Debug)]
pub struct TenantShare {
    /// `None`: the share is the whole pool.
    permits: Option<Arc<Semaphore>>,
    size: usize,
    max_waiting: usize,
    waiting: AtomicUsize,
    in_use: Arc<AtomicUsize>,
}

/// A request's place in its tenant's share: held while its guest runs,
/// given back when dropped.
#[derive(Debug)]
pub struct Place {
    _permit: Option<OwnedSemaphorePermit>,
    in_use: Arc<AtomicUsize>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a request got no place in its tenant's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareRefusal {
    /// As many requests as the share is large are waiting already.
    QueueFull,
    /// No place came free within the queue timeout.
    TimedOut,
}

impl TenantShare {
    /// A share of `size` instances at once (at least one) of a pool of `pool`.
    pub fn new(size: usize, pool: usize) -> Self {
        Self::with_waiters(size, pool, size.max(1) * WAITERS_PER_PLACE)
    }

    fn with_waiters(size: usize, pool: usize, max_waiting: usize) -> Self {
        let size = size.max(1);
        let permits = (size < pool).then(|| Arc::new(Semaphore::new(size)));
        Self { permits, size, max_waiting, waiting: AtomicUsize::new(0), in_use: Arc::default() }
    }

    /// How many instances the tenant may hold at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Places held now (requests past the gate whose guest runs or is about to).
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }

    /// Requests waiting for a place now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    fn place(&self, permit: Option<OwnedSemaphorePermit>) -> Place {
        self.in_use.fetch_add(1, Ordering::AcqRel);
        Place { _permit: permit, in_use: self.in_use.clone() }
    }

    /// A place in the share (no permit needed if the share is the whole pool),
    /// waiting at most `timeout` behind a bounded number of others.
    pub async fn admit(&self, timeout: Duration) -> Result<Place, ShareRefusal> {
        let Some(permits) = &self.permits else { return Ok(self.place(None)) };
        if let Ok(p) = permits.clone().try_acquire_owned() {
            return Ok(self.place(Some(p)));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ShareRefusal::QueueFull);
        }
        let got = tokio::time::timeout(timeout, permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match got {
            Ok(Ok(p)) => Ok(self.place(Some(p))),
            _ => Err(ShareRefusal::TimedOut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_share_of_the_whole_pool_admits_at_once() {
        let share = TenantShare::new(4, 4);
        let mut places = Vec::new();
        for _ in 0..10 {
            places.push(share.admit(Duration::ZERO).await.unwrap());
        }
        assert_eq!(share.in_use(), 10);
        drop(places);
        assert_eq!(share.in_use(), 0);
    }

    #[tokio::test]
    async fn a_full_share_queues_a_bounded_number_then_refuses() {
        let share = Arc::new(TenantShare::with_waiters(2, 8, 2));
        let a = share.admit(Duration::from_secs(1)).await.unwrap();
        let _b = share.admit(Duration::from_secs(1)).await.unwrap();
        // Two may wait; the third is refused at once.
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let s = share.clone();
                tokio::spawn(async move { s.admit(Duration::from_millis(300)).await })
            })
            .collect();
        while share.waiting.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(share.admit(Duration::from_secs(1)).await.unwrap_err(), ShareRefusal::QueueFull);
        // A place freed goes to a waiter; the other times out.
        drop(a);
        let mut outcomes = Vec::new();
        for w in waiters {
            outcomes.push(w.await.unwrap());
        }
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
        assert_eq!(outcomes.iter().filter(|o| matches!(o, Err(ShareRefusal::TimedOut))).count(), 1);
    }
}
