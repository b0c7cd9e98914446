//! `[sandbox]`: the instance pool every endpoint shares, and how long a
//! request may wait for a place in it.

use std::time::Duration;

use serde::Deserialize;

use super::endpoints::mb;
use super::policy::Problem;

/// The pool's memory slots are sized for this, so no endpoint may ask for more.
pub(crate) const MAX_MEMORY_MB: u64 = 4096;
/// Default pool size: enough concurrency for 2 cores waiting on I/O.
pub(crate) const DEFAULT_MAX_INSTANCES: u32 = 256;
/// Default pool slot size: room for apps deployed later to ask for more than the default.
pub(crate) const DEFAULT_POOL_MEMORY_MB: u64 = 128;
/// Default component size limit.
pub(crate) const DEFAULT_MAX_COMPONENT_MB: u64 = 50;
/// How long a request waits for a free instance by default before 503 OVERLOADED.
const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one uploaded component may compile by default.
const DEFAULT_COMPILE_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest pool a node may be given.
const MOST_INSTANCES: u32 = 10_000;
/// Ready instances a node holds by default (made ahead in idle time for
/// endpoints whose instances are slow to create; see `sandbox/ready.rs`).
const DEFAULT_READY_INSTANCES: u32 = 8;

/// `[sandbox]`: the instance pool shared by every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxSection {
    /// How many instances may exist at once; requests beyond wait for a slot.
    pub max_instances: u32,
    /// How long a request may wait for a free slot before a 503.
    pub queue_timeout: Duration,
    /// The largest component file accepted, in bytes.
    pub max_component_bytes: usize,
    /// The most linear memory any instance may have (pool slots are this big).
    pub max_memory_bytes: usize,
    /// The longest compiling one uploaded component may take.
    pub compile_timeout: Duration,
    /// Instances one tenant may hold at once unless its `quotas.maxConcurrent` says otherwise.
    pub max_instances_per_tenant: u32,
    /// The most ready instances (made ahead, never called) the node holds; 0: none.
    pub ready_instances: u32,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSandbox {
    max_instances: Option<u32>,
    queue_timeout: Option<String>,
    max_component_mb: Option<u64>,
    max_memory_mb: Option<u64>,
    compile_timeout: Option<String>,
    max_instances_per_tenant: Option<u32>,
    ready_instances: Option<u32>,
}

/// `[sandbox]` with its defaults filled in and its bounds checked.
pub(super) fn resolve(raw: &RawSandbox) -> Result<SandboxSection, Problem> {
    let duration = |key: &str, text: &Option<String>, default: Duration| -> Result<Duration, Problem> {
        match text.as_deref() {
            Some(t) => super::parse_duration(t).map_err(|p| (format!("sandbox.{key}"), p)),
            None => Ok(default),
        }
    };
    let queue_timeout = duration("queue_timeout", &raw.queue_timeout, DEFAULT_QUEUE_TIMEOUT)?;
    let compile_timeout = duration("compile_timeout", &raw.compile_timeout, DEFAULT_COMPILE_TIMEOUT)?;
    let max_memory_mb = raw.max_memory_mb.unwrap_or(DEFAULT_POOL_MEMORY_MB);
    if max_memory_mb == 0 || max_memory_mb > MAX_MEMORY_MB {
        return Err(("sandbox.max_memory_mb".into(), format!("must be between 1 and {MAX_MEMORY_MB}")));
    }
    let max_instances = raw.max_instances.unwrap_or(DEFAULT_MAX_INSTANCES);
    if max_instances == 0 || max_instances > MOST_INSTANCES {
        return Err(("sandbox.max_instances".into(), format!("must be between 1 and {MOST_INSTANCES}")));
    }
    // Half the pool by default: one tenant flooding the node leaves the other
    // half to everyone else.
    let per_tenant = raw.max_instances_per_tenant.unwrap_or((max_instances / 2).max(1));
    if per_tenant == 0 || per_tenant > max_instances {
        return Err((
            "sandbox.max_instances_per_tenant".into(),
            format!("must be between 1 and sandbox.max_instances ({max_instances})"),
        ));
    }
    // At most a quarter of the pool: ready instances yield their slots to
    // requests, but they hold memory while they wait.
    let ready_instances = raw.ready_instances.unwrap_or(DEFAULT_READY_INSTANCES.min(max_instances / 4));
    if ready_instances > max_instances / 4 {
        return Err((
            "sandbox.ready_instances".into(),
            format!("must be at most a quarter of sandbox.max_instances ({})", max_instances / 4),
        ));
    }
    Ok(SandboxSection {
        max_instances,
        ready_instances,
        max_instances_per_tenant: per_tenant,
        queue_timeout,
        max_component_bytes: mb(raw.max_component_mb.unwrap_or(DEFAULT_MAX_COMPONENT_MB)),
        max_memory_bytes: mb(max_memory_mb),
        compile_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_gets_half_the_pool_unless_told_and_never_more_than_all() {
        let s = resolve(&RawSandbox { max_instances: Some(8), ..Default::default() }).unwrap();
        assert_eq!((s.max_instances, s.max_instances_per_tenant), (8, 4));
        let s = resolve(&RawSandbox { max_instances: Some(1), ..Default::default() }).unwrap();
        assert_eq!(s.max_instances_per_tenant, 1);
        let e =
            resolve(&RawSandbox { max_instances: Some(4), max_instances_per_tenant: Some(5), ..Default::default() });
        assert_eq!(e.unwrap_err().0, "sandbox.max_instances_per_tenant");
        assert_eq!(
            resolve(&RawSandbox { max_instances: Some(0), ..Default::default() }).unwrap_err().0,
            "sandbox.max_instances"
        );
        assert_eq!(
            resolve(&RawSandbox { max_memory_mb: Some(5000), ..Default::default() }).unwrap_err().0,
            "sandbox.max_memory_mb"
        );
        let e = resolve(&RawSandbox { queue_timeout: Some("soon".into()), ..Default::default() }).unwrap_err();
        assert_eq!(e.0, "sandbox.queue_timeout");
    }

    #[test]
    fn ready_instances_take_at_most_a_quarter_of_the_pool() {
        assert_eq!(resolve(&RawSandbox::default()).unwrap().ready_instances, DEFAULT_READY_INSTANCES);
        let small = resolve(&RawSandbox { max_instances: Some(8), ..Default::default() }).unwrap();
        assert_eq!(small.ready_instances, 2);
        let off = resolve(&RawSandbox { ready_instances: Some(0), ..Default::default() }).unwrap();
        assert_eq!(off.ready_instances, 0);
        let e = resolve(&RawSandbox { max_instances: Some(8), ready_instances: Some(3), ..Default::default() });
        assert_eq!(e.unwrap_err().0, "sandbox.ready_instances");
    }
}
