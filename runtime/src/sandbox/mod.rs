//! Runs guests: the engine and its pool, per-request state and budgets, one call.

mod budget;
mod compiler;
mod engine;
mod failure;
mod invoke;
mod linker;
mod output;
mod proxy;
mod share;
mod state;

pub use crate::capabilities::wit;
pub use compiler::{COMPILE_SUBCOMMAND, compile_in_children, run_child as run_compile_child};
pub(crate) use compiler::{child_binary, compile_in_child};
pub use engine::{EPOCH_TICK, Sandbox, SandboxSettings};
pub use invoke::GuestResponse;
pub(crate) use linker::Pre;
pub use linker::{HANDLER_EXPORT, INCOMING_HANDLER_EXPORT, PrepareError, PreparedEndpoint};
pub use share::{Place, ShareRefusal, TenantShare};
pub use state::EndpointGrants;
pub(crate) use state::HostState;
