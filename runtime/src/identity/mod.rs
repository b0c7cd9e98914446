//! Who a caller can be: API keys (generated here, stored hashed, cached in a
//! ring that notices revocations at once) and sessions (JWTs verified against
//! the tenant's key).

pub mod api_key;
mod key_ring;
mod session;

pub use key_ring::KeyRing;
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

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
