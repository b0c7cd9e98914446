//! `[limits]`: the budgets every endpoint starts from (an endpoint's own
//! `limits = {…}` overrides them, through `endpoints::apply_limits`).

use std::time::Duration;

use super::endpoints::{kb, mb};

/// Default `[limits]`: fit for a JSON API handler.
pub(crate) const DEFAULT_CPU_MS: u64 = 50;
/// Default wall time: long enough for an outbound call.
pub(crate) const DEFAULT_WALL_MS: u64 = 30_000;
/// Default memory per instance.
pub(crate) const DEFAULT_MEMORY_MB: u64 = 64;
/// Default idle budget of a stream: long enough for a slow producer, short
/// enough that a stuck one does not hold a slot.
pub(crate) const DEFAULT_STREAM_IDLE_MS: u64 = 30_000;
/// Default request body limit: 1 MiB, like most API gateways.
pub(crate) const DEFAULT_BODY_KB: u64 = 1024;
/// Per-endpoint budgets (`[limits]` gives defaults, `limits = {...}` overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Guest CPU time per request.
    pub cpu: Duration,
    /// Wall-clock time per request, guest and host together.
    pub wall: Duration,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Request body, in bytes.
    pub body_bytes: usize,
    /// Once streaming, the longest the guest may go without writing.
    pub stream_idle: Duration,
}

/// The budgets when `[limits]` says nothing.
pub(super) fn defaults() -> Limits {
    Limits {
        cpu: Duration::from_millis(DEFAULT_CPU_MS),
        wall: Duration::from_millis(DEFAULT_WALL_MS),
        memory_bytes: mb(DEFAULT_MEMORY_MB),
        body_bytes: kb(DEFAULT_BODY_KB),
        stream_idle: Duration::from_millis(DEFAULT_STREAM_IDLE_MS),
    }
}
