//! Who a caller can be: API keys (generated here, stored hashed, cached in a
//! ring that notices revocations at once) and sessions (JWTs verified against
//! the tenant's key).

pub mod api_key;
mod key_ring;
mod session;

pub use key_ring::KeyRing;
pub use session::SessionVerifier;

/// The verifiers the gate authenticates with.
pub struct Identity {
    /// API keys.
    pub keys: KeyRing,
    sessions: Option<SessionVerifier>,
}

impl Identity {
    /// API keys, plus sessions if configured.
    pub fn new(keys: KeyRing, sessions: Option<SessionVerifier>) -> Self {
        Self { keys, sessions }
    }

    /// The session verifier, if sessions are accepted.
    pub fn sessions(&self) -> Option<&SessionVerifier> {
        self.sessions.as_ref()
    }

    /// The session cookie's name, if sessions are accepted.
    pub fn session_cookie(&self) -> Option<&str> {
        self.sessions.as_ref().map(SessionVerifier::cookie)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
