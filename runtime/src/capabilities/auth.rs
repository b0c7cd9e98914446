//! `gatehouse:endpoint/auth`: who the gate decided the caller is.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use crate::sandbox::wit_auth as wit;

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

/// Per-request state: the principal, shared read-only.
pub(crate) struct AuthState {
    principal: Arc<Principal>,
}

impl AuthState {
    pub(crate) fn new(principal: Arc<Principal>) -> Self {
        Self { principal }
    }
}

impl wit::Host for AuthState {
    fn current(&mut self) -> wit::Context {
        let p = &*self.principal;
        wit::Context {
            kind: match p.kind {
                PrincipalKind::ApiKey => wit::PrincipalKind::ApiKey,
                PrincipalKind::Session => wit::PrincipalKind::Session,
                PrincipalKind::Anonymous => wit::PrincipalKind::Anonymous,
            },
            tenant: p.tenant.to_string(),
            user_id: p.user_id.clone(),
            key_id: p.key_id.clone(),
            scopes: p.scopes.clone(),
            claims_json: p.claims.as_ref().map(|c| c.to_string()),
        }
    }
}

struct AuthData;

impl HasData for AuthData {
    type Data<'a> = &'a mut AuthState;
}

/// Links `gatehouse:endpoint/auth`.
pub(crate) fn add_to_linker(linker: &mut Linker<crate::sandbox::HostState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, AuthData>(linker, |s| &mut s.auth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wit::Host;

    #[test]
    fn anonymous_context_names_the_tenant() {
        let mut state = AuthState::new(Arc::new(Principal::anonymous("acme".into())));
        let ctx = state.current();
        assert_eq!(ctx.kind, wit::PrincipalKind::Anonymous);
        assert_eq!(ctx.tenant, "acme");
        assert!(ctx.scopes.is_empty() && ctx.user_id.is_none());
    }
}
