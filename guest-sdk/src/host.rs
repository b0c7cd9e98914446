//! Where the capabilities' calls go. In a component (wasm32) they are the
//! platform's imports, as wit-bindgen generates them; anywhere else (a
//! `cargo test` on a laptop) they are [`testing`](crate::testing)'s stand-ins,
//! with the same functions, types and failures, so a handler runs unchanged.

#[cfg(target_arch = "wasm32")]
pub(crate) use crate::bindings::gatehouse::endpoint::{auth, blobs, config, db, http_out, log, streaming};
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::standin::{auth, blobs, config, db, http_out, log, streaming};
