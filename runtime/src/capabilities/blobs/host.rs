//! The `Host` impl: what a guest's `blobs` calls do with the request's state.
//! Each call is timed for `Server-Timing` and is a `blobs` span for traces.

use tracing::Instrument;

use super::state::BlobsState;
use crate::capabilities::wit_blobs as wit;

/// Runs a write to the end on a task of its own: a guest stopped mid-call
/// (its wall time, its client gone) drops the call, and a write cut there
/// would leave a file no index names, or a reservation never given back.
async fn to_the_end<T: Send + 'static>(
    write: impl std::future::Future<Output = Result<T, wit::BlobError>> + Send + 'static,
) -> Result<T, wit::BlobError> {
    tokio::spawn(write.in_current_span())
        .await
        .unwrap_or_else(|e| Err(wit::BlobError::Unavailable(format!("the write did not finish: {e}"))))
}

fn logged<T>(what: &str, result: Result<T, wit::BlobError>) -> Result<T, wit::BlobError> {
    if let Err(e) = &result {
        tracing::debug!("blobs {what} failed: {e:?}");
    }
    result
}

impl wit::Host for BlobsState {
    async fn put(
        &mut self,
        key: String,
        content_type: String,
        data: Vec<u8>,
    ) -> Result<wit::ObjectInfo, wit::BlobError> {
        let _timed = self.context.timings.time_blobs();
        let blobs = self.blobs()?;
        let put = async move { blobs.put(&key, &content_type, data).await };
        logged("put", to_the_end(put).instrument(tracing::debug_span!("blobs", operation = "put")).await)
    }

    async fn get(&mut self, key: String) -> Result<Option<wit::Object>, wit::BlobError> {
        let _timed = self.context.timings.time_blobs();
        let blobs = self.blobs()?;
        logged("get", blobs.get(&key).instrument(tracing::debug_span!("blobs", operation = "get")).await)
    }

    async fn head(&mut self, key: String) -> Result<Option<wit::ObjectInfo>, wit::BlobError> {
        let _timed = self.context.timings.time_blobs();
        let blobs = self.blobs()?;
        logged("head", blobs.head(&key).instrument(tracing::debug_span!("blobs", operation = "head")).await)
    }

    async fn delete(&mut self, key: String) -> Result<bool, wit::BlobError> {
        let _timed = self.context.timings.time_blobs();
        let blobs = self.blobs()?;
        let delete = async move { blobs.delete(&key).await };
        logged("delete", to_the_end(delete).instrument(tracing::debug_span!("blobs", operation = "delete")).await)
    }

    async fn list(
        &mut self,
        prefix: String,
        after: Option<String>,
        limit: u32,
    ) -> Result<wit::Listing, wit::BlobError> {
        let _timed = self.context.timings.time_blobs();
        let blobs = self.blobs()?;
        let listing = blobs.list(&prefix, after.as_deref(), limit);
        logged("list", listing.instrument(tracing::debug_span!("blobs", operation = "list")).await)
    }

    async fn signed_url(&mut self, key: String, expires_in_seconds: u32) -> Result<String, wit::BlobError> {
        let blobs = self.blobs()?;
        let path = blobs.signed_path(&key, expires_in_seconds)?;
        Ok(format!("{}{path}", blobs.url_base(self.context.reached_at.as_ref())?))
    }
}
