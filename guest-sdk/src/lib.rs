//! # gatehouse-sdk
//!
//! Write a Gatehouse endpoint in a handful of lines:
//!
//! ```no_run
//! use gatehouse_sdk::{ok, Request, Response, Error};
//!
//! fn handle(req: Request) -> Result<Response, Error> {
//!     let name = req.query("name").unwrap_or("world");
//!     ok(serde_json::json!({ "message": format!("Hello, {name}!") }))
//! }
//!
//! gatehouse_sdk::endpoint!(handle);
//! # fn main() {}
//! ```
//!
//! The README's longer example, kept compiling here:
//!
//! ```no_run
//! use gatehouse_sdk::{Error, Request, Response, config, json, log, ok};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Greeting { name: String }
//!
//! fn handle(req: Request) -> Result<Response, Error> {
//!     let body: Greeting = req.json()?;
//!     if body.name.is_empty() {
//!         return Err(Error::validation("invalid greeting", [("/name", "is required")]));
//!     }
//!     let greeting = config::get("GREETING").unwrap_or_else(|| "Hello".into());
//!     log::info(&format!("greeting {}", body.name));
//!     ok(json!({ "message": format!("{greeting}, {}!", body.name), "id": req.param("id") }))
//! }
//!
//! gatehouse_sdk::endpoint!(handle);
//! # fn main() {}
//! ```
//!
//! # Layout
//!
//! - `request`: [`Request`], the incoming request with lookups by name.
//! - `response`: [`Response`] and the JSON helpers [`ok`] and [`created`].
//! - `error`: [`Error`], which the platform renders as its error envelope.
//! - `auth`, `blobs`, `config`, `db`, `http`, `log`, `stream`: the platform's capabilities, one module each.
//! - `testing` (not in a component): [`testing::TestPlatform`], to unit-test a handler with `cargo test`.
//! - `host`: where the capabilities' calls go (the platform's imports, or `testing`'s stand-ins).
//! - `bindings`: what `wit-bindgen` generates from `wit/`; use the modules above instead.

mod error;
mod host;
mod multipart;
mod request;
mod response;

pub mod auth;
pub mod blobs;
pub mod config;
pub mod db;
pub mod http;
pub mod log;
pub mod stream;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use error::{Error, ErrorKind};
pub use multipart::Part;
pub use request::Request;
pub use response::{Response, created, ok};

/// Re-exported so endpoints can build JSON without naming serde_json themselves.
pub use serde_json::{Value, json};

#[doc(hidden)]
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "gatehouse:endpoint/endpoint",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "gatehouse_sdk::bindings",
    });
}

#[doc(hidden)]
pub mod __private {
    //! Used by [`endpoint!`](crate::endpoint); not a stable API.
    pub use crate::bindings::exports::gatehouse::endpoint::handler::Guest;
    use crate::bindings::gatehouse::endpoint::types as wit;

    /// Converts the WIT request, runs the user's handler, converts its outcome back.
    pub fn dispatch(
        req: wit::Request,
        handler: fn(crate::Request) -> Result<crate::Response, crate::Error>,
    ) -> Result<wit::Response, wit::Error> {
        handler(crate::Request::from_wit(req)).map(crate::Response::into_wit).map_err(crate::Error::into_wit)
    }

    pub use crate::bindings::gatehouse::endpoint::types::{
        Error as WitError, Request as WitRequest, Response as WitResponse,
    };
}

/// Exports `handler` (a `fn(Request) -> Result<Response, Error>`) as this component's endpoint.
#[macro_export]
macro_rules! endpoint {
    ($handler:path) => {
        struct __GatehouseEndpoint;

        impl $crate::__private::Guest for __GatehouseEndpoint {
            fn handle(
                req: $crate::__private::WitRequest,
            ) -> ::core::result::Result<$crate::__private::WitResponse, $crate::__private::WitError> {
                $crate::__private::dispatch(req, $handler)
            }
        }

        $crate::bindings::export!(__GatehouseEndpoint with_types_in $crate::bindings);
    };
}
