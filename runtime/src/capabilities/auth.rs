//! `gatehouse:endpoint/auth`: who the gate decided the caller is.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use crate::capabilities::wit_auth as wit;
use crate::identity::{Principal, PrincipalKind};

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

/// Links `gatehouse:endpoint/auth`; `get` finds this capability's state in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut AuthState,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, AuthData>(linker, get)
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
