//! The host side of each WIT import. Every capability has the same shape: its
//! per-request state, its `Host` impl, its limits, and one `add_to_linker` line.

pub mod auth;
pub(crate) mod bindings;
pub mod blobs;
pub mod config;
pub mod db;
pub mod http_out;
pub mod log;
pub mod secret_book;
pub mod stream;
pub(crate) mod wasi_http;

pub use bindings::gatehouse::endpoint::types as wit;
pub(crate) use bindings::gatehouse::endpoint::{
    auth as wit_auth, blobs as wit_blobs, config as wit_config, db as wit_db, http_out as wit_http_out, log as wit_log,
    streaming as wit_stream,
};

/// Headers that describe one connection, not the message; the server sets its own.
pub(crate) const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
];
