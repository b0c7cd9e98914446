//! The per-request state: the tenant's objects, if the platform grants them,
//! and the request's context (where it reached the tenant, for signed URLs;
//! its timings).

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
}
