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
//! recently made of another endpoint goes first to make room), one
//! preparation at a time, none while any request runs or waits for a slot,
//! only a free pool slot (a request that finds none drops ready instances
//! first), each dropped after `IDLE` unused (a sweep every `SWEEP_EVERY`).
//! A preparation runs under the endpoint's memory and CPU budgets, for at
//! most `MAX_PREPARATION`, as an anonymous caller with no database, outbound
//! calls or secrets: guest code that runs while instantiating sees no caller
//! and no request. Its CPU counts against the budget of the request that
//! takes the instance, as a fresh instance's instantiation would.

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
/// The longest one preparation may take (less if the endpoint's `wall_ms`
/// is less): one slow endpoint must not hold up every other's.
const MAX_PREPARATION: Duration = Duration::from_secs(1);
/// How often instances idle past their limit are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

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

    /// Whether the endpoint is slow to instantiate and has fewer than
    /// `wanted` ready instances.
    fn worth_preparing(&self, wanted: u32) -> bool {
        self.instantiate_us.load(Ordering::Relaxed) >= WORTH_PREPARING.as_micros() as u64
            && self.ready.load(Ordering::Acquire) < wanted
    }
}

/// What one preparation is for: an endpoint as a request of it found it.
pub(crate) struct Job {
    endpoint: PreparedEndpoint,
    grants: EndpointGrants,
    tenant: Arc<str>,
    route: Arc<str>,
}

/// Clears `Sandbox::preparing` however the preparing thread ends, a panic included.
struct Preparing<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Preparing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Sandbox {
    /// Whether the node is idle: no request in the sandbox, none waiting.
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && self.slot_waiters.load(Ordering::Acquire) == 0
    }

    /// Ready instances one endpoint may have on this node.
    fn per_endpoint(&self) -> u32 {
        PER_ENDPOINT.min(self.settings.ready_instances)
    }

    /// After a request of `endpoint` ended: if the node is idle and the
    /// endpoint is worth it, has ready instances made for it. One thread
    /// makes them, one at a time; a request that ends while it works leaves
    /// its endpoint as the next job (the latest request's wins), so none is
    /// lost between the thread's last look and its end.
    pub(crate) fn prepare_ready(&self, endpoint: &PreparedEndpoint, grants: &EndpointGrants, context: &RequestContext) {
        if self.settings.ready_instances == 0
            || !matches!(endpoint.pre, Pre::Endpoint(_))
            || !endpoint.readiness.worth_preparing(self.per_endpoint())
            || !self.idle()
        {
            return;
        }
        let job = Job {
            endpoint: endpoint.clone(),
            grants: grants.clone(),
            tenant: context.tenant.clone(),
            route: context.route.clone(),
        };
        *self.next_job.lock().unwrap_or_else(|e| e.into_inner()) = Some(job);
        if self.preparing.swap(true, Ordering::AcqRel) {
            return; // the thread at work takes the job next
        }
        self.start_sweeping();
        let sandbox = self.clone();
        // On a thread of its own, not a worker: an instantiation is a
        // millisecond or two of CPU that never yields, and a task spawned
        // here would run on this worker before the answer that made it
        // idle is written (measured: no gain at all at light load).
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            loop {
                {
                    let _preparing = Preparing(&sandbox.preparing);
                    loop {
                        // Its own statement: the lock is let go before the
                        // work (a request's `prepare_ready` takes it too).
                        let job = sandbox.next_job.lock().unwrap_or_else(|e| e.into_inner()).take();
                        let Some(job) = job else { break };
                        runtime.block_on(sandbox.prepare_for(&job));
                    }
                }
                // A job left after the last look, by a request that saw this
                // thread still at work: take it up again, unless another
                // thread already has.
                let left = sandbox.next_job.lock().unwrap_or_else(|e| e.into_inner()).is_some();
                if !left || sandbox.preparing.swap(true, Ordering::AcqRel) {
                    break;
                }
            }
        });
    }

    /// Makes ready instances for `job`'s endpoint while it wants them and the node stays idle.
    async fn prepare_for(&self, job: &Job) {
        use tracing::Instrument;
        // Its log lines (a start function's output too) name the tenant and route.
        let span = tracing::info_span!("ready_instance", tenant = %job.tenant, route = %job.route);
        async {
            while job.endpoint.readiness.worth_preparing(self.per_endpoint()) && self.idle() {
                if !self.prepare_one(job).await {
                    break;
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Makes one ready instance; false if it could not (no room, no free slot,
    /// a request now waiting, or the instantiation failed or ran out of budget).
    async fn prepare_one(&self, job: &Job) -> bool {
        let Job { endpoint, grants, tenant, route } = job;
        let Pre::Endpoint(pre) = &endpoint.pre else { return false };
        // Room on the node: the least recently made ready instance of another
        // endpoint goes; never the endpoint's own (it would only be made again).
        if self.warm.unused_len() >= self.settings.ready_instances as usize
            && !self.warm.evict_oldest_unused_except(endpoint.key)
        {
            return false;
        }
        let Ok(slot) = self.slots.clone().try_acquire_owned() else { return false };
        let context = Arc::new(RequestContext {
            request_id: "ready-instance".into(),
            tenant: tenant.clone(),
            route: route.clone(),
            raw_query: None,
            timings: Arc::default(),
            reached_at: None,
        });
        let principal = Arc::new(Principal::anonymous(tenant.clone()));
        // No database, outbound calls or secrets while no request is there:
        // guest code run at instantiation (a start function) gets them only
        // with a request, as the request that takes the instance sets them.
        let bare = EndpointGrants {
            outbound: None,
            secrets: Arc::default(),
            secret_book: None,
            db: None,
            blobs: None,
            ..grants.clone()
        };
        let state = HostState::new(&bare, principal, context, crate::capabilities::stream::StreamState::detached());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.budget);
        store.epoch_deadline_callback(|mut cx| cx.data_mut().budget.on_epoch());
        store.set_epoch_deadline(1);
        let started = Instant::now();
        let deadline = grants.limits.wall.min(MAX_PREPARATION);
        let instance = match tokio::time::timeout(deadline, pre.instantiate_async(&mut store)).await {
            Ok(Ok(instance)) => instance,
            Ok(Err(e)) => {
                tracing::debug!("a ready instance could not be made: {e:#}");
                return false;
            }
            Err(_) => return false,
        };
        endpoint.readiness.instantiated_in(started.elapsed());
        // A request came while it was made and waits for a slot: this one's.
        if !store.data().ended_cleanly() || self.slot_waiters.load(Ordering::Acquire) > 0 {
            return false;
        }
        let unused = Some(ReadyMark::new(&endpoint.readiness.ready));
        self.warm.give(endpoint.key, Warm { store, instance, served: 0, slot, unused }, IDLE);
        self.ready_made.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Starts (once per sandbox) the task that drops kept and ready instances
    /// idle past their limit, so a quiet node gives their slots and memory
    /// back rather than only when the pool is next used.
    fn start_sweeping(&self) {
        if self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let warm = Arc::downgrade(&self.warm);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SWEEP_EVERY).await;
                let Some(warm) = warm.upgrade() else { return };
                warm.sweep();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_outlier_does_not_make_a_cheap_endpoint_worth_preparing() {
        let r = Readiness::default();
        assert!(!r.worth_preparing(PER_ENDPOINT), "not measured yet");
        for _ in 0..20 {
            r.instantiated_in(Duration::from_micros(20));
        }
        r.instantiated_in(Duration::from_micros(900));
        assert!(!r.worth_preparing(PER_ENDPOINT), "{r:?}");
        for _ in 0..30 {
            r.instantiated_in(Duration::from_micros(1500));
        }
        assert!(r.worth_preparing(PER_ENDPOINT), "{r:?}");
        let marks: Vec<ReadyMark> = (0..PER_ENDPOINT).map(|_| ReadyMark::new(&r.ready)).collect();
        assert!(r.has_ready() && !r.worth_preparing(PER_ENDPOINT), "it has its ready instances");
        drop(marks);
        assert!(!r.has_ready() && r.worth_preparing(PER_ENDPOINT), "taken or dropped, they no longer count");
    }
}
