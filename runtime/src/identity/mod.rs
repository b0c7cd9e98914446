//! Who a caller can be: API keys (generated here, stored hashed, cached in a
//! ring that notices revocations at once) and sessions (JWTs verified against
//! the tenant's key).

pub mod api_key;
mod key_ring;
mod principal;
mod session;

pub use key_ring::KeyRing;
pub use principal::{Principal, PrincipalKind};
pub use session::SessionVerifier;

/// The credentials every tenant shares a store for: API keys (each bound to
/// its tenant). Session verifiers are per tenant (`registry::Tenant`).
pub struct Identity {
    /// API keys.
    pub keys: KeyRing,
}

impl Identity {
    /// Over `keys`.
    pub fn new(keys: KeyRing) -> Self {
        Self { keys }
    }
}
