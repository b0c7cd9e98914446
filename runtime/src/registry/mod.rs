//! What is deployed: endpoints built, compiled (once, cached on disk) and
//! prepared, and the route table that maps requests to them.

mod artifact_cache;
mod build;
mod load;
mod routes;

pub use artifact_cache::ArtifactCache;
pub use build::{BuildError, WASM_TARGET, build_component, ensure_wasm_target};
pub use load::{Endpoint, LoadError, TenantServices, load_endpoints};
pub use routes::{Lookup, RouteTable};
