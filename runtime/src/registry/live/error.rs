//! Why the live registry could not build or refresh a tenant from what the
//! config and the store hold. Each says where (which tenant, which deployed
//! version) and what; whether it is the caller's to fix or a store to wait for
//! decides how a change that hit it is refused (`From<LoadFailure> for ChangeError`).

use crate::registry::RouteConflict;
use crate::store::StoreError;

/// A tenant, or one of its apps, that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    /// The platform store did not answer: retry once it is back.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Two routes of the tenant collide.
    #[error(transparent)]
    Routes(#[from] RouteConflict),
    /// The tenant's settings, session keys or database could not be used.
    #[error("tenant {tenant}: {problem}")]
    Tenant {
        /// The tenant.
        tenant: String,
        /// What is wrong, and how to fix it.
        problem: String,
    },
    /// A deployed version's files are missing from the store or cannot be unpacked here.
    #[error("{app}@{version}: {problem}")]
    Deployment {
        /// The app.
        app: String,
        /// Its version.
        version: i64,
        /// What is wrong.
        problem: String,
    },
    /// An endpoint could not be built, compiled or checked (the message names it and the fix).
    #[error("{0}")]
    Endpoints(String),
    /// What platform.toml declares does not load: the file, then why.
    #[error("{}: {source}", path.display())]
    InConfig {
        /// platform.toml.
        path: std::path::PathBuf,
        /// Why.
        source: Box<LoadFailure>,
    },
}

impl LoadFailure {
    pub(super) fn tenant(tenant: &str, problem: impl std::fmt::Display) -> Self {
        Self::Tenant { tenant: tenant.to_string(), problem: problem.to_string() }
    }

    pub(super) fn deployment(d: &crate::store::DeploymentRecord, problem: impl std::fmt::Display) -> Self {
        Self::Deployment { app: d.app.clone(), version: d.version, problem: problem.to_string() }
    }
}

/// A change that had to load something is refused for the same reason: a
/// store that did not answer is `Unavailable` (503), anything else the
/// caller's to fix (`Rejected`).
impl From<LoadFailure> for super::ChangeError {
    fn from(e: LoadFailure) -> Self {
        match e {
            LoadFailure::Store(e) => Self::Unavailable(e.to_string()),
            LoadFailure::InConfig { source, .. } if matches!(*source, LoadFailure::Store(_)) => {
                Self::Unavailable(source.to_string())
            }
            other => Self::Rejected(other.to_string()),
        }
    }
}
