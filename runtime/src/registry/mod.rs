//! What is deployed: tenants, their apps and versions, endpoints built,
//! compiled (once, cached on disk and in the shared store) and prepared, and
//! the route tables that map requests to them.

mod artifact_cache;
mod build;
mod bundle;
mod directory;
mod entity_routes;
mod live;
mod load;
pub mod openapi;
mod rollout;
mod routes;
mod sync;
mod tenant;

pub use artifact_cache::{ArtifactCache, Origin};
pub use build::{BuildError, Language, WASM_TARGET, build_component, ensure_wasm_target};
pub(crate) use bundle::MAX_FILES as MAX_BUNDLE_FILES;
pub use bundle::{Bundle, BundleError};
pub use directory::{Directory, Found, Resolved, Unresolved};
pub use live::{ChangeError, DeployReport, LoadFailure, Registry};
pub use load::{Endpoint, Handler, LoadCounts, LoadError, Loader, TenantServices};
pub use rollout::{Canary, Counts, Outcomes, Side, bucket, judge};
pub use routes::{Lookup, RouteConflict, RouteTable};
pub use sync::{spawn_sync, spawn_watch};
pub(crate) use tenant::{DEFAULT_MAX_COMPONENTS, DEFAULT_STORAGE_MB};
pub use tenant::{LiveApp, Quotas, RateQuota, SessionSettings, Tenant, TenantSettings};
