//! The wasmtime engine shared by every endpoint: pooling allocator with
//! copy-on-write memory images, epoch interruption driven by one ticker thread,
//! and a semaphore so requests queue for a pool slot instead of failing.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::HostState;

/// How often the engine's epoch advances: the granularity of CPU accounting and
/// of how quickly a busy guest yields its thread. 1 ms keeps a 50 ms budget
/// accurate to a few percent for the price of one tiny wake-up per millisecond.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Core instances one component may create: a Rust component has its main
/// module plus a few adapter shims; generous, so real toolchains fit.
pub(crate) const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
/// Linear memories one component may have (main module plus adapters).
pub(crate) const MEMORIES_PER_COMPONENT: u32 = 2;
/// Tables one component may have.
pub(crate) const TABLES_PER_COMPONENT: u32 = 16;
/// Dirty bytes of a linear memory reset in place (not decommitted) when its
/// slot is returned: covers a typical handler's stack, data and heap pages.
/// Costs at most this much resident memory per warm slot.
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;
/// The same for tables, which are small.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// What the sandbox needs from the platform's config.
#[derive(Debug, Clone, Copy)]
pub struct SandboxSettings {
    /// Pool slots: how many instances may exist at once.
    pub max_instances: u32,
    /// The largest memory limit of any endpoint; pool slots are this big.
    pub max_memory_bytes: usize,
    /// How long a request may wait for a slot.
    pub queue_timeout: Duration,
    /// The most ready instances (`ready.rs`) the node holds; 0: none are made.
    pub ready_instances: u32,
}

/// The engine, the linker with every capability, and the slot semaphore.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) engine: Engine,
    pub(crate) linker: Arc<Linker<HostState>>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) queue_timeout: Duration,
    /// Instances created so far: lets tests prove the gate refused before any guest ran.
    pub(crate) instances_started: Arc<std::sync::atomic::AtomicU64>,
    /// What the engine was built from (a compile child rebuilds the same engine).
    pub(crate) settings: SandboxSettings,
    /// Instances kept between requests, for endpoints with `reuse`.
    pub(crate) warm: Arc<super::warm::WarmPool>,
    /// The next `PreparedEndpoint` key: each prepare gets its own.
    pub(crate) next_key: Arc<std::sync::atomic::AtomicU64>,
    /// Requests waiting for a slot now: while any wait, no instance is kept.
    pub(crate) slot_waiters: Arc<std::sync::atomic::AtomicUsize>,
    /// Requests in the sandbox now: ready instances are made only at none.
    pub(crate) in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// Whether a task is making ready instances (one at a time).
    pub(crate) preparing: Arc<std::sync::atomic::AtomicBool>,
    /// Ready instances requests have taken so far.
    pub(crate) ready_taken: Arc<std::sync::atomic::AtomicU64>,
    /// Ready instances made so far.
    pub(crate) ready_made: Arc<std::sync::atomic::AtomicU64>,
    /// The endpoint the preparing thread makes ready instances for next.
    pub(crate) next_job: Arc<std::sync::Mutex<Option<super::ready::Job>>>,
    /// Whether the task that drops idle kept and ready instances runs.
    pub(crate) sweeping: Arc<std::sync::atomic::AtomicBool>,
}

impl Sandbox {
    /// Builds the engine and linker and starts the epoch ticker.
    pub fn new(settings: SandboxSettings) -> wasmtime::Result<Self> {
        let engine = Engine::new(&engine_config(settings))?;
        let linker = super::linker::build(&engine)?;
        start_epoch_ticker(&engine);
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            slots: Arc::new(Semaphore::new(settings.max_instances as usize)),
            queue_timeout: settings.queue_timeout,
            instances_started: Arc::default(),
            settings,
            warm: Arc::default(),
            next_key: Arc::default(),
            slot_waiters: Arc::default(),
            in_flight: Arc::default(),
            preparing: Arc::default(),
            ready_taken: Arc::default(),
            ready_made: Arc::default(),
            next_job: Arc::default(),
            sweeping: Arc::default(),
        })
    }

    /// How many instances have been created since start.
    pub fn instances_started(&self) -> u64 {
        self.instances_started.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many instances are kept between requests now, ready ones included.
    pub fn instances_kept(&self) -> usize {
        self.warm.len()
    }

    /// How many ready instances (made ahead, never called) the node holds now.
    pub fn instances_ready(&self) -> usize {
        self.warm.unused_len()
    }

    /// How many ready instances requests have taken since start.
    pub fn ready_instances_taken(&self) -> u64 {
        self.ready_taken.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many ready instances have been made since start.
    pub fn ready_instances_made(&self) -> u64 {
        self.ready_made.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The engine, for compiling components.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

pub(super) fn engine_config(settings: SandboxSettings) -> Config {
    let n = settings.max_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .total_memories(n.saturating_mul(MEMORIES_PER_COMPONENT))
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .total_tables(n.saturating_mul(TABLES_PER_COMPONENT))
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .total_stacks(n)
        .max_memory_size(settings.max_memory_bytes);
    // Keep a returned slot's pages mapped and reset only the pages the last
    // instance dirtied (found with Linux's PAGEMAP_SCAN, kernel 6.7+), instead
    // of madvise-ing the slot away and page-faulting it back in on the next
    // request. Measured in BENCHMARKS.md: 26 µs -> 10 µs per request. Where the
    // ioctl is missing, `Auto` falls back to wasmtime's default reset.
    pool.linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .pagemap_scan(Enabled::Auto);

    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        // Instances start from a copy-on-write image of the component's memory.
        .memory_init_cow(true)
        .epoch_interruption(true);
    config
}

/// One thread advances the epoch for the whole process. It holds only a weak
/// reference so the engine can be dropped (tests build several).
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("gatehouse-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}
