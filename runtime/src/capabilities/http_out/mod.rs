//! `gatehouse:endpoint/http-out`: outbound HTTP to allow-listed hosts only.
//!
//! Every call is checked twice before a socket opens. The URL's scheme, host
//! and port must match `allowed_hosts`, and an IP written in the URL (in any
//! form the URL parser accepts: decimal, octal, IPv4-in-IPv6) must be a
//! public address. Names are resolved by `GuardedResolver`, which hands the
//! connector only public addresses, so a name cannot be re-pointed at
//! loopback or cloud metadata between check and connect. Redirects are
//! followed only to destinations that pass the same checks. Proxies from the
//! environment are ignored, since they would bypass all of this.
//!
//! The shape every capability with state has: `client.rs` is the grant (what
//! an endpoint was given at load), `state.rs` the per-request state, `host.rs`
//! the `Host` impl over them; `rules.rs` and `address.rs` are the checks.

mod address;
mod client;
mod host;
mod rules;
mod state;

use wasmtime::component::{HasData, Linker};

pub use crate::config::{AllowedHost, Cidr, OutboundSettings};
pub(crate) use client::redact_query;
pub use client::{HttpOut, IncomingBody};
pub(crate) use host::HttpOutView;
pub(crate) use state::HttpOutState;

use crate::capabilities::wit_http_out as wit;

struct HttpOutData;

impl HasData for HttpOutData {
    type Data<'a> = HttpOutView<'a>;
}

/// Links `gatehouse:endpoint/http-out`; `get` finds this capability's state (and
/// the store's resource table) in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> HttpOutView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, HttpOutData>(linker, get)
}
