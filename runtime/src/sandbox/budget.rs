//! Per-request budgets: memory through wasmtime's `ResourceLimiter`, CPU time
//! through epoch interruption. Wall time is a tokio timeout in `invoke`.

use std::time::{Duration, Instant};

use wasmtime::{ResourceLimiter, UpdateDeadline};

use super::engine::EPOCH_TICK;

/// The most table elements an instance may grow to: far above what compilers
/// emit for indirect calls, far below what would hurt the host.
pub(crate) const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// A budget the guest ran out of; raised from inside wasmtime as the trap's error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Exceeded {
    /// Guest CPU time ran out.
    #[error("the guest used {used_ms} ms of CPU, over its budget of {limit_ms} ms")]
    Cpu {
        /// The budget.
        limit_ms: u64,
        /// What it had used when stopped.
        used_ms: u64,
    },
}

/// Tracks one request's memory and CPU against its limits.
pub(crate) struct Budget {
    memory_limit: usize,
    /// Set when the guest asked for more memory than its limit: the size it asked for.
    memory_refused: Option<usize>,
    /// The largest linear memory the instance has been given, in bytes.
    largest_memory: usize,
    cpu_limit: Duration,
    cpu_used: Duration,
    last_tick: Instant,
}

impl Budget {
    pub(crate) fn new(memory_limit: usize, cpu_limit: Duration) -> Self {
        Self {
            memory_limit,
            memory_refused: None,
            largest_memory: 0,
            cpu_limit,
            cpu_used: Duration::ZERO,
            last_tick: Instant::now(),
        }
    }

    /// A new request on a kept instance: its own CPU budget (the memory
    /// budget is the instance's, across every request it serves). The first
    /// request of a ready instance keeps what instantiating it used, as a
    /// fresh instance's request pays for its instantiation.
    pub(crate) fn begin_request(&mut self, first: bool) {
        if !first {
            self.cpu_used = Duration::ZERO;
        }
        self.last_tick = Instant::now();
    }

    /// The memory size the guest was refused, if it hit its limit.
    pub(crate) fn memory_refused(&self) -> Option<usize> {
        self.memory_refused
    }

    /// The largest linear memory the instance has been given (its initial
    /// size counts: wasmtime asks the limiter for it too).
    pub(crate) fn largest_memory(&self) -> usize {
        self.largest_memory
    }

    pub(crate) fn memory_limit(&self) -> usize {
        self.memory_limit
    }

    /// Called by wasmtime each time the epoch passes the store's deadline while
    /// guest code runs. The time since the last call counts as guest CPU, capped
    /// at two ticks: a longer gap means the guest was suspended (awaiting the
    /// host or the scheduler), and that is not its CPU time.
    pub(crate) fn on_epoch(&mut self) -> wasmtime::Result<UpdateDeadline> {
        let now = Instant::now();
        self.cpu_used += now.duration_since(self.last_tick).min(EPOCH_TICK * 2);
        self.last_tick = now;
        if self.cpu_used > self.cpu_limit {
            return Err(wasmtime::Error::new(Exceeded::Cpu {
                limit_ms: self.cpu_limit.as_millis() as u64,
                used_ms: self.cpu_used.as_millis() as u64,
            }));
        }
        // Yield so a busy guest never keeps a worker thread from other requests.
        Ok(UpdateDeadline::Yield(1))
    }
}

impl ResourceLimiter for Budget {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            // Refuse the growth (memory.grow returns -1) and remember why, so the
            // trap that usually follows (an allocator abort) is reported as memory.
            self.memory_refused = Some(desired);
            return Ok(false);
        }
        self.largest_memory = self.largest_memory.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_over_the_limit_is_refused_and_remembered() {
        let mut b = Budget::new(1 << 20, Duration::from_millis(10));
        assert!(b.memory_growing(0, 1 << 20, None).unwrap());
        assert_eq!(b.memory_refused(), None);
        assert_eq!(b.largest_memory(), 1 << 20);
        assert!(!b.memory_growing(1 << 20, 2 << 20, None).unwrap());
        assert_eq!(b.memory_refused(), Some(2 << 20));
    }

    #[test]
    fn cpu_is_counted_per_tick_and_capped() {
        let mut b = Budget::new(0, Duration::from_millis(5));
        b.last_tick = Instant::now() - Duration::from_secs(10);
        // A long suspension counts as at most two ticks.
        assert!(matches!(b.on_epoch(), Ok(UpdateDeadline::Yield(1))));
        assert!(b.cpu_used <= EPOCH_TICK * 2);
        for _ in 0..10 {
            b.last_tick = Instant::now() - EPOCH_TICK * 2;
            if let Err(e) = b.on_epoch() {
                assert!(matches!(e.downcast_ref::<Exceeded>(), Some(Exceeded::Cpu { limit_ms: 5, .. })));
                return;
            }
        }
        panic!("the CPU budget was never enforced");
    }
}
