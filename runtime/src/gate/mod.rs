//! Checks that run before any guest: each a small function of (policy, request),
//! testable without a guest. A refused request never instantiates anything.

pub mod body_limit;
