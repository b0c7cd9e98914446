//! Runs guests: the engine and its pool, per-request state and budgets, one call.

mod budget;
mod compiler;
mod engine;
mod failure;
mod invoke;
mod linker;
mod output;
mod proxy;
mod ready;
mod share;
mod state;
mod warm;

pub use crate::capabilities::wit;
pub(crate) use budget::MAX_TABLE_ELEMENTS;
pub use compiler::{COMPILE_SUBCOMMAND, compile_in_children, run_child as run_compile_child};
pub(crate) use compiler::{child_binary, compile_in_child};
pub(crate) use engine::{CORE_INSTANCES_PER_COMPONENT, MEMORIES_PER_COMPONENT, TABLES_PER_COMPONENT};
pub use engine::{EPOCH_TICK, Sandbox, SandboxSettings};
pub use invoke::GuestResponse;
pub(crate) use linker::Pre;
pub use linker::{HANDLER_EXPORT, INCOMING_HANDLER_EXPORT, PrepareError, PreparedEndpoint};
pub(crate) use output::MAX_GUEST_OUTPUT_BYTES;
pub use share::{Place, ShareRefusal, TenantShare};
pub use state::EndpointGrants;
pub(crate) use state::HostState;
