//! The grant: one tenant's objects, on whichever backend the platform uses,
//! held to the tenant's quota. Every call checks its key first; every put
//! reserves its bytes and one object against the quota before it writes, so
//! concurrent puts cannot together pass it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::key;
use super::local::LocalBlobs;
use super::s3::S3Blobs;
use super::signed_url::{UrlProblem, UrlSigner};
use super::url_base::UrlSettings;
use crate::capabilities::wit_blobs as wit;

/// Objects one listing page returns, at most.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// How often a shared bucket's usage is counted again: other nodes write to
/// it too, so this node's own count drifts.
const RECOUNT_SHARED_EVERY: Duration = Duration::from_secs(60);

/// What a tenant's objects are held to.
#[derive(Debug, Clone, Copy)]
pub struct BlobLimits {
    /// Bytes in one object.
    pub max_object_bytes: u64,
    /// The tenant's bytes.
    pub quota_bytes: u64,
    /// The tenant's objects.
    pub max_objects: u64,
    /// The longest a signed URL may be valid.
    pub max_url_expiry: Duration,
}

/// Where one tenant's objects are.
pub(super) enum Backend {
    /// On this node's disk.
    Local(LocalBlobs),
    /// Under the tenant's folder in a shared bucket.
    S3(S3Blobs),
}

/// Stored bytes and objects as counted, and what puts in flight reserved.
#[derive(Default)]
struct Usage {
    counted: Option<(u64, u64, Instant)>,
    reserved_bytes: u64,
    reserved_objects: u64,
}

/// An object's bytes as they are read, a piece at a time.
pub type ByteStream = futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// A tenant's object storage, shared by its endpoints.
pub struct TenantBlobs {
    tenant: Arc<str>,
    /// `{tenant}.{created}`: what URLs are signed for, so a URL made for a
    /// deleted tenant opens nothing of a new one of the same name.
    identity: String,
    backend: Backend,
    /// Replaced when the operator changes the tenant's quota: endpoints
    /// already loaded hold this same grant.
    limits: Mutex<BlobLimits>,
    usage: Mutex<Usage>,
    /// Signs the URLs `signed-url` answers.
    signer: Arc<UrlSigner>,
    /// Where those URLs start.
    urls: Arc<UrlSettings>,
}

impl std::fmt::Debug for TenantBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TenantBlobs({})", self.tenant)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl TenantBlobs {
    pub(super) fn new(
        (tenant, created): (Arc<str>, i64),
        backend: Backend,
        limits: BlobLimits,
        signer: Arc<UrlSigner>,
        urls: Arc<UrlSettings>,
    ) -> Self {
        let identity = format!("{tenant}.{created}");
        Self { tenant, identity, backend, limits: Mutex::new(limits), usage: Mutex::default(), signer, urls }
    }

    /// The tenant's name.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The limits it is held to.
    pub fn limits(&self) -> BlobLimits {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds it to new limits from now on (a changed quota).
    pub fn set_limits(&self, limits: BlobLimits) {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// Removes every object of a deleted tenant: on disk the folder moves to
    /// `archive` (beside its database); in a bucket the objects are deleted.
    pub async fn retire(&self, archive: &std::path::Path) -> Result<String, String> {
        match &self.backend {
            Backend::Local(b) => b.retire(archive, &self.identity).await,
            Backend::S3(b) => b.delete_all().await,
        }
    }

    fn usage(&self) -> std::sync::MutexGuard<'_, Usage> {
        self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stored bytes and objects, counted if not yet (or, on a shared bucket, a while ago).
    async fn counted(&self) -> Result<(u64, u64), wit::BlobError> {
        let stale = |at: Instant| matches!(self.backend, Backend::S3(_)) && at.elapsed() > RECOUNT_SHARED_EVERY;
        if let Some((bytes, objects, at)) = self.usage().counted
            && !stale(at)
        {
            return Ok((bytes, objects));
        }
        let (bytes, objects) = match &self.backend {
            Backend::Local(b) => b.usage().await?,
            Backend::S3(b) => b.usage().await?,
        };
        self.usage().counted = Some((bytes, objects, Instant::now()));
        Ok((bytes, objects))
    }

    /// Bytes and objects the tenant stores now.
    pub async fn used(&self) -> Result<(u64, u64), wit::BlobError> {
        self.counted().await
    }

    /// Stores an object.
    pub async fn put(&self, key: &str, content_type: &str, data: Vec<u8>) -> Result<wit::ObjectInfo, wit::BlobError> {
        key::check_key(key).map_err(wit::BlobError::Invalid)?;
        let content_type = key::content_type(content_type).map_err(wit::BlobError::Invalid)?;
        let size = data.len() as u64;
        if size > self.limits().max_object_bytes {
            return Err(wit::BlobError::TooLarge(format!(
                "{size} bytes, over the largest object of {} bytes (blobs.max_object_mb)",
                self.limits().max_object_bytes
            )));
        }
        self.counted().await?;
        // What it replaces frees room: the bytes it grows by, and one more
        // object only if it is new, are what must fit.
        let before = self.head(key).await?.map(|i| i.size);
        let (grows, adds) = (size.saturating_sub(before.unwrap_or(0)), u64::from(before.is_none()));
        self.reserve(grows, adds)?;
        let info = wit::ObjectInfo { key: key.to_string(), content_type, size, modified_ms: now_ms() };
        let stored = match &self.backend {
            Backend::Local(b) => b.put(&info, data).await,
            Backend::S3(b) => b.put(&info, data, before).await,
        };
        let mut usage = self.usage();
        usage.reserved_bytes -= grows;
        usage.reserved_objects -= adds;
        if let (Ok(old), Some((bytes, objects, _))) = (&stored, &mut usage.counted) {
            *bytes = (*bytes + size).saturating_sub(old.unwrap_or(0));
            *objects += u64::from(old.is_none());
        }
        stored.map(|_| info)
    }

    /// Reserves `size` more bytes and `adds` (0 or 1) more objects, or says
    /// which quota that would pass.
    fn reserve(&self, size: u64, adds: u64) -> Result<(), wit::BlobError> {
        let mut usage = self.usage();
        let (bytes, objects, _) = usage.counted.unwrap_or((0, 0, Instant::now()));
        let bytes_after = bytes + usage.reserved_bytes + size;
        if bytes_after > self.limits().quota_bytes {
            return Err(wit::BlobError::QuotaExceeded(format!(
                "{} of {} bytes used; this object needs {size} more",
                bytes + usage.reserved_bytes,
                self.limits().quota_bytes
            )));
        }
        if adds > 0 && objects + usage.reserved_objects + adds > self.limits().max_objects {
            return Err(wit::BlobError::QuotaExceeded(format!(
                "{} objects stored, the most a tenant may keep (blobs.max_objects)",
                self.limits().max_objects
            )));
        }
        usage.reserved_bytes += size;
        usage.reserved_objects += adds;
        Ok(())
    }

    /// The object under `key`.
    pub async fn get(&self, key: &str) -> Result<Option<wit::Object>, wit::BlobError> {
        key::check_key(key).map_err(wit::BlobError::Invalid)?;
        match &self.backend {
            Backend::Local(b) => b.get(key).await,
            Backend::S3(b) => b.get(key, self.limits().max_object_bytes).await,
        }
    }

    /// What is stored under `key`.
    pub async fn head(&self, key: &str) -> Result<Option<wit::ObjectInfo>, wit::BlobError> {
        key::check_key(key).map_err(wit::BlobError::Invalid)?;
        match &self.backend {
            Backend::Local(b) => b.head(key).await,
            Backend::S3(b) => b.head(key).await,
        }
    }

    /// Removes the object under `key`; whether there was one.
    pub async fn delete(&self, key: &str) -> Result<bool, wit::BlobError> {
        key::check_key(key).map_err(wit::BlobError::Invalid)?;
        let old = match &self.backend {
            Backend::Local(b) => b.delete(key).await?,
            Backend::S3(b) => b.delete(key).await?,
        };
        if let (Some(size), Some((bytes, objects, _))) = (old, &mut self.usage().counted) {
            *bytes = bytes.saturating_sub(size);
            *objects = objects.saturating_sub(1);
        }
        Ok(old.is_some())
    }

    /// A page of objects under `prefix`, after `after`.
    pub async fn list(&self, prefix: &str, after: Option<&str>, limit: u32) -> Result<wit::Listing, wit::BlobError> {
        key::check_prefix(prefix).map_err(wit::BlobError::Invalid)?;
        if let Some(a) = after {
            key::check_prefix(a).map_err(wit::BlobError::Invalid)?;
        }
        if limit == 0 || limit > MAX_LIST_LIMIT {
            return Err(wit::BlobError::Invalid(format!(
                "limit must be between 1 and {MAX_LIST_LIMIT}; it is {limit}"
            )));
        }
        let (objects, next) = match &self.backend {
            Backend::Local(b) => b.list(prefix, after, limit).await?,
            Backend::S3(b) => b.list(prefix, after, limit).await?,
        };
        Ok(wit::Listing { objects, next })
    }

    /// The path and query of a signed URL for `key`, valid `seconds` from now.
    pub fn signed_path(&self, key: &str, seconds: u32) -> Result<String, wit::BlobError> {
        key::check_key(key).map_err(wit::BlobError::Invalid)?;
        let most = self.limits().max_url_expiry.as_secs();
        if seconds == 0 || u64::from(seconds) > most {
            return Err(wit::BlobError::Invalid(format!(
                "a signed URL may be valid between 1 and {most} seconds (blobs.max_url_expiry); asked for {seconds}"
            )));
        }
        let expires = now_ms() / 1000 + u64::from(seconds);
        Ok(self.signer.path_and_query(&self.identity, key, expires))
    }

    /// Checks a signed URL's query for `key` at `now` (Unix seconds).
    pub fn verify(&self, key: &str, query: Option<&str>, now: u64) -> Result<(), UrlProblem> {
        self.signer.verify(&self.identity, key, query, now)
    }

    /// Where this tenant's signed URLs start, for a request that reached it at `reached`.
    pub(crate) fn url_base(&self, reached: Option<&crate::context::ReachedAt>) -> Result<String, wit::BlobError> {
        super::url_base::url_base(&self.urls, &self.tenant, reached).map_err(wit::BlobError::Unavailable)
    }

    /// The object under `key` as a stream, for serving it: only a piece at a
    /// time is in memory, however many clients fetch it at once.
    pub async fn open(&self, key: &str) -> Result<Option<(wit::ObjectInfo, ByteStream)>, wit::BlobError> {
        key::check_key(key).map_err(wit::BlobError::Invalid)?;
        match &self.backend {
            Backend::Local(b) => b.open(key).await,
            Backend::S3(b) => b.open(key, self.limits().max_object_bytes).await,
        }
    }
}
