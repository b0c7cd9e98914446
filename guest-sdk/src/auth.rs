//! Who the caller is, as decided by the platform's gate before the guest ran.

use crate::host::auth as wit;

pub use wit::PrincipalKind;

/// The current request's principal.
#[derive(Debug, Clone)]
pub struct Auth {
    /// API key, session or anonymous.
    pub kind: PrincipalKind,
    /// The tenant that owns this endpoint.
    pub tenant: String,
    /// The user id (a session's `sub`, or the key's owner).
    pub user_id: Option<String>,
    /// The API key's id, never the key.
    pub key_id: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// A session's verified claims.
    pub claims: Option<serde_json::Value>,
}

impl Auth {
    /// Whether the caller holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether anyone authenticated.
    pub fn is_authenticated(&self) -> bool {
        !matches!(self.kind, PrincipalKind::Anonymous)
    }
}

/// Reads the current request's auth context from the platform.
pub fn current() -> Auth {
    let ctx = wit::current();
    Auth {
        kind: ctx.kind,
        tenant: ctx.tenant,
        user_id: ctx.user_id,
        key_id: ctx.key_id,
        scopes: ctx.scopes,
        claims: ctx.claims_json.and_then(|c| serde_json::from_str(&c).ok()),
    }
}

impl PrincipalKind {
    /// `"api-key"`, `"session"` or `"anonymous"`, as in the WIT contract.
    pub fn as_str(&self) -> &'static str {
        match self {
            PrincipalKind::ApiKey => "api-key",
            PrincipalKind::Session => "session",
            PrincipalKind::Anonymous => "anonymous",
        }
    }
}
