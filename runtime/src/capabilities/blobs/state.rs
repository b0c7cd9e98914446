//! The per-request state: the tenant's objects, if the platform grants them,
//! and where the request reached the tenant (for signed URLs).

use std::sync::Arc;

use super::TenantBlobs;
use crate::capabilities::wit_blobs as wit;
use crate::context::RequestContext;

/// Per-request state.
pub(crate) struct BlobsState {
    blobs: Option<Arc<TenantBlobs>>,
    pub(super) context: Arc<RequestContext>,
}

impl BlobsState {
    pub(crate) fn new(blobs: Option<Arc<TenantBlobs>>, context: Arc<RequestContext>) -> Self {
        Self { blobs, context }
    }

    pub(super) fn blobs(&self) -> Result<Arc<TenantBlobs>, wit::BlobError> {
        self.blobs.clone().ok_or_else(|| wit::BlobError::Unavailable("this tenant has no object storage".into()))
    }

    /// `{origin}{tenant prefix}`: `blobs.public_url` if set, else the origin
    /// the request came to (its `Host`, over http).
    pub(super) fn url_base(&self, blobs: &TenantBlobs) -> Result<String, wit::BlobError> {
        let reached = self.context.reached_at.as_ref();
        let prefix = reached.and_then(|r| r.prefix.as_deref()).unwrap_or("");
        let origin = match (&blobs.public_url, reached) {
            (Some(origin), _) => origin.to_string(),
            // The client's own Host, given back to that client: only a host
            // and a port, so no header can shape the rest of the URL.
            (None, Some(r)) if r.host.as_bytes().iter().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(b)) => {
                format!("http://{r}")
            }
            (None, _) => {
                return Err(wit::BlobError::Unavailable(
                    "the request has no usable Host to build a URL from; set blobs.public_url".into(),
                ));
            }
        };
        Ok(format!("{origin}{prefix}"))
    }
}
