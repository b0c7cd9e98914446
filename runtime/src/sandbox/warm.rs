//! Instances kept between requests, for the endpoints that opt in (`reuse`).
//!
//! An instance is keyed by the `PreparedEndpoint` it came from: one endpoint
//! of one tenant, as one load made it, so a kept instance never serves another
//! tenant, another endpoint, or another version (a deploy or a rollback loads
//! anew, under a new key, and the old key's instances are never asked for
//! again: they age out). An instance is taken out for one request at a time
//! and put back only if that request ended cleanly (see `invoke`).
//!
//! A kept instance holds its pool slot, so kept instances never make the
//! allocator fail. They are a cache that yields: a request that finds no free
//! slot evicts the least recently used kept instance of any endpoint first,
//! and one idle longer than its endpoint's `idle` is dropped when next seen.
//!
//! The same pool holds ready instances (`ready.rs`): instantiated in idle
//! time and never called, marked `unused`. A request of an endpoint without
//! `reuse` takes only such a one, so it still gets an instance no request
//! has touched.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;

use super::HostState;
use crate::capabilities::bindings::Endpoint;

/// One kept instance and what it has served.
pub(crate) struct Warm {
    pub(crate) store: Store<HostState>,
    pub(crate) instance: Endpoint,
    /// Requests served so far.
    pub(crate) served: u32,
    /// The pool slot it occupies, released when it is dropped.
    pub(crate) slot: OwnedSemaphorePermit,
    /// Set while the instance is ready and never called: counts it among its
    /// endpoint's ready instances until it is taken or dropped.
    pub(crate) unused: Option<ReadyMark>,
}

/// One ready instance counted in its endpoint's `ready` figure, for as long as
/// the mark lives: the request path reads that figure, not this pool's lock.
pub(crate) struct ReadyMark(Arc<AtomicU32>);

impl ReadyMark {
    pub(crate) fn new(count: &Arc<AtomicU32>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count.clone())
    }
}

impl Drop for ReadyMark {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Idle {
    key: u64,
    since: Instant,
    idle_limit: Duration,
    warm: Warm,
}

/// The kept instances of the whole node, least recently used first.
#[derive(Default)]
pub(crate) struct WarmPool {
    idle: Mutex<Vec<Idle>>,
}

impl WarmPool {
    /// The most recently kept instance of `key`, if one is still fresh.
    pub(crate) fn take(&self, key: u64) -> Option<Warm> {
        let now = Instant::now();
        let (found, expired) = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let expired = drain_expired(&mut idle, now);
            let found = idle.iter().rposition(|i| i.key == key).map(|at| idle.remove(at).warm);
            (found, expired)
        };
        // Stores are dropped outside the lock: freeing a slot is not free.
        drop(expired);
        found.map(|mut warm| {
            warm.unused = None;
            warm
        })
    }

    /// The most recently made ready (never called) instance of `key`, marked used.
    pub(crate) fn take_unused(&self, key: u64) -> Option<Warm> {
        let now = Instant::now();
        let (found, expired) = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let expired = drain_expired(&mut idle, now);
            let found =
                idle.iter().rposition(|i| i.key == key && i.warm.unused.is_some()).map(|at| idle.remove(at).warm);
            (found, expired)
        };
        drop(expired);
        found.map(|mut warm| {
            warm.unused = None;
            warm
        })
    }

    /// How many ready (never called) instances the node holds.
    pub(crate) fn unused_len(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|i| i.warm.unused.is_some()).count()
    }

    /// Drops the least recently made ready instance of an endpoint other
    /// than `key`'s; false if there is none.
    pub(crate) fn evict_oldest_unused_except(&self, key: u64) -> bool {
        let oldest = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.iter().position(|i| i.warm.unused.is_some() && i.key != key).map(|at| idle.remove(at))
        };
        oldest.is_some()
    }

    /// Drops the instances idle past their limit.
    pub(crate) fn sweep(&self) {
        let expired = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            drain_expired(&mut idle, Instant::now())
        };
        drop(expired);
    }

    /// Keeps `warm` for `key`'s next request, for at most `idle_limit`.
    pub(crate) fn give(&self, key: u64, warm: Warm, idle_limit: Duration) {
        let now = Instant::now();
        let expired = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let expired = drain_expired(&mut idle, now);
            idle.push(Idle { key, since: now, idle_limit, warm });
            expired
        };
        drop(expired);
    }

    /// Drops one instance, freeing its slot: the least recently made ready
    /// one (never called: nobody loses state), else the least recently used
    /// kept one; false if none is kept.
    pub(crate) fn evict_one(&self) -> bool {
        let oldest = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let at = idle.iter().position(|i| i.warm.unused.is_some()).unwrap_or(0);
            if idle.is_empty() { None } else { Some(idle.remove(at)) }
        };
        oldest.is_some()
    }

    /// How many instances are kept now (ready ones included).
    pub(crate) fn len(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Removes the instances idle past their limit, for the caller to drop.
fn drain_expired(idle: &mut Vec<Idle>, now: Instant) -> Vec<Idle> {
    if idle.iter().all(|i| now.duration_since(i.since) <= i.idle_limit) {
        return Vec::new();
    }
    let (expired, kept): (Vec<Idle>, Vec<Idle>) =
        std::mem::take(idle).into_iter().partition(|i| now.duration_since(i.since) > i.idle_limit);
    *idle = kept;
    expired
}
