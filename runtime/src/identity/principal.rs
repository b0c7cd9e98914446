//! Who the gate decided the caller is: what a guest reads through `auth::current()`.

use std::sync::Arc;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An API key.
    ApiKey,
    /// A session token.
    Session,
    /// Nobody in particular.
    Anonymous,
}

/// The caller, as the gate established before the guest ran.
#[derive(Debug, Clone)]
pub struct Principal {
    /// How the caller authenticated.
    pub kind: PrincipalKind,
    /// The tenant that owns the endpoint.
    pub tenant: Arc<str>,
    /// The user id, if known.
    pub user_id: Option<String>,
    /// The API key's id, if a key was used.
    pub key_id: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// A session's verified claims.
    pub claims: Option<serde_json::Value>,
}

impl Principal {
    /// Nobody authenticated, on `tenant`'s endpoint.
    pub fn anonymous(tenant: Arc<str>) -> Self {
        Self { kind: PrincipalKind::Anonymous, tenant, user_id: None, key_id: None, scopes: Vec::new(), claims: None }
    }
}
