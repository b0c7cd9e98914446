//! `gatehouse:endpoint/blobs`: the tenant's object storage.
//!
//! Two backends behind one interface. Embedded default: a folder per tenant
//! on this node's disk (`local.rs`), its keys in a SQLite index. With
//! `[blobs.s3]`: a prefix per tenant in one S3-compatible bucket (`s3.rs`),
//! which the host alone holds credentials for. Every key is checked the same
//! way on both (`key.rs`), every put is held to the tenant's quota and the
//! largest object (`tenant_blobs.rs`), and objects leave the platform only
//! through a guest or a signed, expiring URL that the platform itself serves
//! (`signed_url.rs`, `server/blob_url.rs`).
//!
//! The shape every capability with state has: `tenant_blobs.rs` is the grant
//! (a tenant's objects, made at load), `state.rs` the per-request state,
//! `host.rs` the `Host` impl over them; the rest are the backends and checks.

mod host;
mod key;
mod local;
mod platform;
mod s3;
mod signed_url;
mod state;
mod tenant_blobs;
mod url_base;

use wasmtime::component::{HasData, Linker};

use crate::capabilities::wit_blobs as wit;

pub use platform::BlobPlatform;
pub use signed_url::{URL_PATH, UrlProblem, UrlSigner, decode_key};
pub(crate) use state::BlobsState;
pub(crate) use tenant_blobs::now_ms;
pub use tenant_blobs::{BlobLimits, ByteStream, MAX_LIST_LIMIT, TenantBlobs};
pub use url_base::UrlSettings;

struct BlobsData;

impl HasData for BlobsData {
    type Data<'a> = &'a mut BlobsState;
}

/// Links `gatehouse:endpoint/blobs`; `get` finds this capability's state in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut BlobsState,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, BlobsData>(linker, get)
}
