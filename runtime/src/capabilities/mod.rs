//! The host side of each WIT import. Every capability has the same shape: its
//! per-request state, its `Host` impl, its limits, and one `add_to_linker` line.

pub mod auth;
pub mod config;
pub mod db;
pub mod http_out;
pub mod log;
pub mod secret_book;
pub mod stream;
pub(crate) mod wasi_http;

pub use auth::{Principal, PrincipalKind};
