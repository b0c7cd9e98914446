//! Runs guests: the engine and its pool, per-request state and budgets, one call.

mod bindings;
mod budget;
mod compiler;
mod context;
mod engine;
mod failure;
mod invoke;
mod linker;
mod output;
mod proxy;
mod share;
mod state;

pub use bindings::gatehouse::endpoint::types as wit;
pub(crate) use bindings::gatehouse::endpoint::{
    auth as wit_auth, config as wit_config, db as wit_db, http_out as wit_http_out, log as wit_log,
    streaming as wit_stream,
};
pub use compiler::{COMPILE_SUBCOMMAND, compile_in_children, run_child as run_compile_child};
pub(crate) use compiler::{child_binary, compile_in_child};
pub use context::RequestContext;
pub use engine::{EPOCH_TICK, Sandbox, SandboxSettings};
pub use invoke::GuestResponse;
pub(crate) use invoke::HOP_BY_HOP;
pub(crate) use linker::Pre;
pub use linker::{HANDLER_EXPORT, INCOMING_HANDLER_EXPORT, PrepareError, PreparedEndpoint};
pub use share::{ShareRefusal, TenantShare};
pub use state::EndpointGrants;
pub(crate) use state::HostState;
