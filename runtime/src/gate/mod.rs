//! Checks that run before any guest, in this order: body limit (declared),
//! CORS, authenticate, scopes, rate limit, then with the body read: signature,
//! validation, upload policy. Each is a small function of (policy, request,
//! principal), testable without a guest. A refused request never instantiates anything.

pub mod auth;
pub mod body_limit;
pub mod cors;
pub mod credentials;
pub mod rate_limit;
pub mod scopes;
pub mod signature;
pub mod upload;
pub mod validate;
