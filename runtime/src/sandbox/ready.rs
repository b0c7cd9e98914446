//! Ready instances: fresh instances of a hot endpoint made in idle time, so
//! its next request finds one instantiated instead of paying for it.
//!
//! A Python instance costs about 1.5 ms to create, a Rust one about 10 µs
//! (a JavaScript one about 0.1 ms: its cost is in its first call, which no
//! one may make ahead). When a request of an endpoint whose instances cost
//! more than `WORTH_PREPARING` has just ended and no other request is in the
//! sandbox (the node is idle), one task instantiates up to `PER_ENDPOINT` of
//! it into the kept pool (`warm.rs`), marked unused. The endpoint's next
//! request takes one (`Sandbox::invoke`): an instance no request has called,
//! exactly what a fresh instance per request promises, with its caller,
//! context and budgets set for that request as a new store's would be.
//!
//! What bounds them: at most `sandbox.ready_instances` on the node (the least
//! recently made goes first to make room), one preparation at a time, none
//! while any request runs or waits for a slot, only a free pool slot (a
//! request that finds none evicts kept and ready instances first), each
//! dropped after `IDLE` unused. A preparation runs under the endpoint's own
//! memory, CPU and wall budgets, as an anonymous caller: guest code that runs
//! while instantiating sees no caller and no request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::state::{EndpointGrants, HostState};
use super::warm::{ReadyMark, Warm};
use super::{Pre, PreparedEndpoint, Sandbox};
use crate::context::RequestContext;
use crate::identity::Principal;

/// Instances cheaper than this to create are not prepared ahead: a Rust
/// hello's 10 µs is less than handing one over costs in locks and a task.
const WORTH_PREPARING: Duration = Duration::from_micros(200);
/// Ready instances one endpoint may have.
const PER_ENDPOINT: u32 = 2;
/// How long a ready instance waits for a request before it is dropped: an
/// endpoint not asked for that long is not hot.
const IDLE: Duration = Duration::from_secs(60);

/// One prepared endpoint's figures for ready instances.
#[derive(Debug, Default)]
pub(crate) struct Readiness {
    /// Ready instances it has now (each `ReadyMark` counts one).
    ready: Arc<AtomicU32>,
    /// What its instantiations take, in µs: a moving average (an eighth of
    /// each new figure), so one slow or fast outlier decides nothing.
    instantiate_us: AtomicU64,
}

impl Readiness {
    /// Whether a request should look for a ready instance at all: the common
    /// case (none) costs one atomic load, not the pool's lock.
    pub(crate) fn has_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) > 0
    }

    /// Records what an instantiation took. Concurrent updates may lose one
    /// figure; an average does not need them all.
    pub(crate) fn instantiated_in(&self, took: Duration) {
        let new = took.as_micros().min(u128::from(u32::MAX)) as i64;
        let old = self.instantiate_us.load(Ordering::Relaxed) as i64;
        let average = if old == 0 { new } else { old + (new - old) / 8 };
        self.instantiate_us.store(average.max(1) as u64, Ordering::Relaxed);
    }

    fn worth_preparing(&self) -> bool {
        self.instantiate_us.load(Ordering::Relaxed) >= WORTH_PREPARING.as_micros() as u64
            && self.ready.load(Ordering::Acquire) < PER_ENDPOINT
    }
}

impl Sandbox {
    /// Whether the node is idle: no request in the sandbox, none waiting.
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && self.slot_waiters.load(Ordering::Acquire) == 0
    }

    /// After a request of `endpoint` ended: if the node is idle and the
    /// endpoint is worth it, prepares ready instances for it in a task.
    pub(crate) fn prepare_ready(&self, endpoint: &PreparedEndpoint, grants: &EndpointGrants, context: &RequestContext) {
        if self.settings.ready_instances == 0
            || !matches!(endpoint.pre, Pre::Endpoint(_))
            || !endpoint.readiness.worth_preparing()
            || !self.idle()
            // One preparation at a time on the whole node.
            || self.preparing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let sandbox = self.clone();
        let (endpoint, grants) = (endpoint.clone(), grants.clone());
        let (tenant, route) = (context.tenant.clone(), context.route.clone());
        // On a thread of its own, not a worker: an instantiation is a
        // millisecond or two of CPU that never yields, and a task spawned
        // here would run on this worker before the answer that made it
        // idle is written (measured: no gain at all at light load).
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            runtime.block_on(async {
                while endpoint.readiness.worth_preparing() && sandbox.idle() {
                    if !sandbox.prepare_one(&endpoint, &grants, &tenant, &route).await {
                        break;
                    }
                }
            });
            sandbox.preparing.store(false, Ordering::Release);
        });
    }

    /// Makes one ready instance of `endpoint`; false if it could not (no free
    /// slot, or the instantiation failed or ran out of budget).
    async fn prepare_one(
        &self,
        endpoint: &PreparedEndpoint,
        grants: &EndpointGrants,
        tenant: &Arc<str>,
        route: &Arc<str>,
    ) -> bool {
        let Pre::Endpoint(pre) = &endpoint.pre else { return false };
        if self.warm.unused_len() >= self.settings.ready_instances as usize {
            self.warm.evict_oldest_unused();
        }
        let Ok(slot) = self.slots.clone().try_acquire_owned() else { return false };
        let context = Arc::new(RequestContext {
            request_id: "ready-instance".into(),
            tenant: tenant.clone(),
            route: route.clone(),
            raw_query: None,
            timings: Arc::default(),
        });
        let principal = Arc::new(Principal::anonymous(tenant.clone()));
        let state = HostState::new(grants, principal, context, crate::capabilities::stream::StreamState::detached());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.budget);
        store.epoch_deadline_callback(|mut cx| cx.data_mut().budget.on_epoch());
        store.set_epoch_deadline(1);
        let started = Instant::now();
        let instance = match tokio::time::timeout(grants.limits.wall, pre.instantiate_async(&mut store)).await {
            Ok(Ok(instance)) => instance,
            Ok(Err(e)) => {
                tracing::debug!("a ready instance could not be made: {e:#}");
                return false;
            }
            Err(_) => return false,
        };
        endpoint.readiness.instantiated_in(started.elapsed());
        if !store.data().ended_cleanly() {
            return false;
        }
        let unused = Some(ReadyMark::new(&endpoint.readiness.ready));
        self.warm.give(endpoint.key, Warm { store, instance, served: 0, slot, unused }, IDLE);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_outlier_does_not_make_a_cheap_endpoint_worth_preparing() {
        let r = Readiness::default();
        assert!(!r.worth_preparing(), "not measured yet");
        for _ in 0..20 {
            r.instantiated_in(Duration::from_micros(20));
        }
        r.instantiated_in(Duration::from_micros(900));
        assert!(!r.worth_preparing(), "{r:?}");
        for _ in 0..30 {
            r.instantiated_in(Duration::from_micros(1500));
        }
        assert!(r.worth_preparing(), "{r:?}");
        let marks: Vec<ReadyMark> = (0..PER_ENDPOINT).map(|_| ReadyMark::new(&r.ready)).collect();
        assert!(r.has_ready() && !r.worth_preparing(), "it has its ready instances");
        drop(marks);
        assert!(!r.has_ready() && r.worth_preparing(), "taken or dropped, they no longer count");
    }
}
