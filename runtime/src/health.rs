//! Whether this node can serve: the checks behind `GET /readyz` on the serving
//! listener and the `ready` of `GET /admin/v1/status` (`gatehouse status`). Each backing service is asked with a short deadline, so
//! a dead one is an answer in seconds, never a hung probe; and one check's
//! answer is kept for a second and shared by every probe that arrives
//! meanwhile, so an anonymous flood of `/readyz` costs the store and Redis at
//! most one query a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::gate::rate_limit::RateLimiter;
use crate::registry::Registry;

/// The longest one backing service may take to answer a probe.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one check's answer serves later probes.
const KEEP_FOR: Duration = Duration::from_secs(1);

/// One thing readiness depends on.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `store`, `redis` or `endpoints`.
    pub name: &'static str,
    /// Whether it is fine.
    pub ok: bool,
    /// What was found: the backend and its answer time, or what is wrong and what to do.
    pub detail: String,
}

/// Every check, and whether they all passed.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// All checks passed: a load balancer may send traffic here.
    pub ready: bool,
    /// Each check, in a fixed order.
    pub checks: Vec<Check>,
}

/// Runs the checks at most once per `KEEP_FOR`, whoever asks.
#[derive(Default)]
pub struct Probe {
    /// The last answer and when it was taken. A tokio mutex, held across the
    /// check: probes that arrive while one runs wait for its answer instead
    /// of each asking the store.
    kept: tokio::sync::Mutex<Option<(Instant, Arc<Readiness>)>>,
}

impl Probe {
    /// This node's readiness, at most `KEEP_FOR` old.
    pub async fn readiness(&self, registry: &Registry, limiter: &RateLimiter) -> Arc<Readiness> {
        let mut kept = self.kept.lock().await;
        if let Some((at, answer)) = kept.as_ref()
            && at.elapsed() < KEEP_FOR
        {
            return answer.clone();
        }
        let answer = Arc::new(check(registry, limiter).await);
        *kept = Some((Instant::now(), answer.clone()));
        answer
    }
}

/// Asks the store and (when configured) Redis at once, and looks at the
/// config tenant's endpoints.
async fn check(registry: &Registry, limiter: &RateLimiter) -> Readiness {
    let store = async {
        let started = Instant::now();
        let backend = registry.store().backend_name();
        match tokio::time::timeout(CHECK_TIMEOUT, registry.store().ping()).await {
            Ok(Ok(())) => Check { name: "store", ok: true, detail: format!("{backend}, answered in {}", ms(started)) },
            Ok(Err(e)) => Check { name: "store", ok: false, detail: format!("{backend}: {e}") },
            Err(_) => Check {
                name: "store",
                ok: false,
                detail: format!("{backend} did not answer within {} s", CHECK_TIMEOUT.as_secs()),
            },
        }
    };
    let redis = async {
        let started = Instant::now();
        match tokio::time::timeout(CHECK_TIMEOUT, limiter.ping()).await {
            Ok(None) => None,
            Ok(Some(Ok(()))) => Some(Check { name: "redis", ok: true, detail: format!("answered in {}", ms(started)) }),
            Ok(Some(Err(e))) => Some(Check { name: "redis", ok: false, detail: e }),
            Err(_) => Some(Check {
                name: "redis",
                ok: false,
                detail: format!("did not answer within {} s", CHECK_TIMEOUT.as_secs()),
            }),
        }
    };
    let (store, redis) = tokio::join!(store, redis);
    let mut checks = vec![store];
    checks.extend(redis);
    checks.push(endpoints(registry));
    Readiness { ready: checks.iter().all(|c| c.ok), checks }
}

/// Every endpoint of platform.toml is compiled and routed.
fn endpoints(registry: &Registry) -> Check {
    let wanted = registry.config().endpoints.len();
    let directory = registry.directory();
    let routed = directory.tenants.get(&registry.config().platform.tenant).map_or(0, |t| t.base.len());
    if routed == wanted {
        Check { name: "endpoints", ok: true, detail: format!("{routed} of {wanted} compiled and routed") }
    } else {
        Check {
            name: "endpoints",
            ok: false,
            detail: format!("{routed} of {wanted} compiled and routed; the log says why the others failed"),
        }
    }
}

fn ms(since: Instant) -> String {
    format!("{:.1} ms", since.elapsed().as_secs_f64() * 1000.0)
}
