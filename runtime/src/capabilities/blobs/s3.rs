//! Objects in an S3-compatible bucket, at `{prefix}{tenant}/{key}`. Each
//! request is signed (SigV4, in the query) by `rusty-s3` and sent with our
//! own HTTP client, with a connect and a total timeout: a slow or dead store
//! costs a guest at most those, and answers `unavailable`. The bucket's
//! credentials stay in the host; a guest never sees them or the bucket's URL.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::tenant_blobs::ByteStream;
use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::capabilities::wit_blobs as wit;
use crate::config::S3Settings;

/// Each request, signed URL included, is valid this long after signing.
const SIGNED_FOR: Duration = Duration::from_secs(60);
/// Connecting to the store, at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One request to the store, body included, at most.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Heads in flight at once while a listing fetches content types.
const HEADS_AT_ONCE: usize = 16;

/// The bucket, shared by every tenant's objects.
pub(crate) struct S3Bucket {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Bucket({})", self.bucket.base_url())
    }
}

fn unavailable(e: impl std::fmt::Display) -> wit::BlobError {
    wit::BlobError::Unavailable(e.to_string())
}

/// A failed exchange with the store, told without its URL: the URL is
/// presigned, and its credential id and signature must not reach a guest.
fn store_failure(e: reqwest::Error) -> wit::BlobError {
    unavailable(format!("object store: {}", e.without_url()))
}

impl S3Bucket {
    pub(crate) fn new(s: &S3Settings) -> Result<Self, String> {
        let style = if s.virtual_host { UrlStyle::VirtualHost } else { UrlStyle::Path };
        let bucket = Bucket::new(s.endpoint.clone(), style, s.bucket.clone(), s.region.clone())
            .map_err(|e| format!("blobs.s3: {e}"))?;
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("blobs.s3: {e}"))?;
        Ok(Self {
            bucket,
            credentials: Credentials::new(s.access_key_id.expose(), s.secret_access_key.expose()),
            prefix: s.prefix.clone(),
            client,
        })
    }

    /// Creates the bucket if it is not there (for a fresh test store).
    pub(super) async fn ensure_bucket(&self) -> Result<(), String> {
        let url = self.bucket.create_bucket(&self.credentials).sign(SIGNED_FOR);
        // An empty body with its length: some stores refuse a PUT without one (411).
        let put = self.client.put(url).header(reqwest::header::CONTENT_LENGTH, 0).body(Vec::<u8>::new());
        let r = put.send().await.map_err(|e| e.without_url().to_string())?;
        // 409: it exists already (owned by us or not; a later call says which).
        if r.status().is_success() || r.status() == 409 {
            Ok(())
        } else {
            Err(format!("creating bucket {}: {}", self.bucket.name(), r.status()))
        }
    }
}

/// One tenant's view of the bucket.
pub(super) struct S3Blobs {
    bucket: Arc<S3Bucket>,
    /// `{prefix}{tenant}/`.
    root: String,
}

impl S3Blobs {
    /// Under `{prefix}{tenant}.{created}/`: a tenant deleted and made again
    /// under the same name (at another second) starts in an empty folder,
    /// even if deleting the old one's objects failed.
    pub(super) fn new(bucket: Arc<S3Bucket>, tenant: &str, created: i64) -> Self {
        let root = format!("{}{tenant}.{created}/", bucket.prefix);
        Self { bucket, root }
    }

    /// Deletes every object under the tenant's folder; how many.
    pub(super) async fn delete_all(&self) -> Result<String, String> {
        let mut deleted = 0u64;
        loop {
            let page = self.list_page(&self.root, None, 1000, None).await.map_err(|e| format!("{e:?}"))?;
            if page.contents.is_empty() {
                return Ok(format!("{deleted} objects deleted from the bucket"));
            }
            for c in &page.contents {
                let url = self.bucket.bucket.delete_object(Some(&self.bucket.credentials), &c.key).sign(SIGNED_FOR);
                let r = self.send(self.bucket.client.delete(url)).await.map_err(|e| format!("{e:?}"))?;
                if !r.status().is_success() && r.status() != 404 {
                    return Err(format!("the object store refused a delete: {}", r.status()));
                }
                deleted += 1;
            }
        }
    }

    fn name(&self, key: &str) -> String {
        format!("{}{key}", self.root)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, wit::BlobError> {
        let r = request.send().await.map_err(store_failure)?;
        if r.status().is_server_error() || r.status() == 403 || r.status() == 401 {
            // A store that refuses our credentials is as unusable as a dead one.
            return Err(unavailable(format!("object store answered {}", r.status())));
        }
        Ok(r)
    }

    /// Bytes and objects stored, counted from a full listing.
    pub(super) async fn usage(&self) -> Result<(u64, u64), wit::BlobError> {
        let (mut bytes, mut count, mut token) = (0u64, 0u64, None::<String>);
        loop {
            let page = self.list_page(&self.root, None, 1000, token.as_deref()).await?;
            for c in &page.contents {
                bytes += c.size;
                count += 1;
            }
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => return Ok((bytes, count)),
            }
        }
    }

    /// Stores an object; `before` (the replaced one's size, as headed just
    /// before) is given back: a bucket does not say what a put replaced.
    pub(super) async fn put(
        &self,
        info: &wit::ObjectInfo,
        data: Vec<u8>,
        before: Option<u64>,
    ) -> Result<Option<u64>, wit::BlobError> {
        let name = self.name(&info.key);
        let url = self.bucket.bucket.put_object(Some(&self.bucket.credentials), &name).sign(SIGNED_FOR);
        let r = self
            .send(self.bucket.client.put(url).header(reqwest::header::CONTENT_TYPE, &info.content_type).body(data))
            .await?;
        if !r.status().is_success() {
            return Err(unavailable(format!("object store refused the put: {}", r.status())));
        }
        Ok(before)
    }

    pub(super) async fn head(&self, key: &str) -> Result<Option<wit::ObjectInfo>, wit::BlobError> {
        let name = self.name(key);
        let url = self.bucket.bucket.head_object(Some(&self.bucket.credentials), &name).sign(SIGNED_FOR);
        let r = self.send(self.bucket.client.head(url)).await?;
        if r.status() == 404 {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(unavailable(format!("object store answered {}", r.status())));
        }
        Ok(Some(info_from_headers(key, r.headers())))
    }

    /// The object's head and its response, body unread.
    async fn fetch(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<(wit::ObjectInfo, reqwest::Response)>, wit::BlobError> {
        let name = self.name(key);
        let url = self.bucket.bucket.get_object(Some(&self.bucket.credentials), &name).sign(SIGNED_FOR);
        let r = self.send(self.bucket.client.get(url)).await?;
        if r.status() == 404 {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(unavailable(format!("object store answered {}", r.status())));
        }
        let info = info_from_headers(key, r.headers());
        // Only this platform writes here, within the largest object; anything
        // bigger was put by someone else and is neither read into a guest nor served.
        if info.size > max_bytes {
            return Err(wit::BlobError::TooLarge(format!("`{key}` is {} bytes, over {max_bytes}", info.size)));
        }
        Ok(Some((info, r)))
    }

    pub(super) async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<wit::Object>, wit::BlobError> {
        let Some((info, mut r)) = self.fetch(key, max_bytes).await? else { return Ok(None) };
        // Read against the bound as it arrives: a length header may be absent or wrong.
        let mut data = Vec::with_capacity(info.size as usize);
        while let Some(piece) = r.chunk().await.map_err(store_failure)? {
            if (data.len() + piece.len()) as u64 > max_bytes {
                return Err(wit::BlobError::TooLarge(format!("`{key}` is over {max_bytes} bytes")));
            }
            data.extend_from_slice(&piece);
        }
        Ok(Some(wit::Object { info: wit::ObjectInfo { size: data.len() as u64, ..info }, data }))
    }

    /// The object as a stream of the pieces the store sends.
    pub(super) async fn open(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<(wit::ObjectInfo, ByteStream)>, wit::BlobError> {
        let Some((info, r)) = self.fetch(key, max_bytes).await? else { return Ok(None) };
        let pieces = futures_util::stream::unfold(Some(r), |r| async move {
            let mut r = r?;
            match r.chunk().await {
                Ok(Some(piece)) => Some((Ok(piece), Some(r))),
                Ok(None) => None,
                Err(e) => Some((Err(std::io::Error::other(e.without_url())), None)),
            }
        });
        Ok(Some((info, pieces.boxed())))
    }

    /// Removes an object; its size, if there was one.
    pub(super) async fn delete(&self, key: &str) -> Result<Option<u64>, wit::BlobError> {
        let Some(old) = self.head(key).await? else { return Ok(None) };
        let name = self.name(key);
        let url = self.bucket.bucket.delete_object(Some(&self.bucket.credentials), &name).sign(SIGNED_FOR);
        let r = self.send(self.bucket.client.delete(url)).await?;
        if !r.status().is_success() && r.status() != 404 {
            return Err(unavailable(format!("object store refused the delete: {}", r.status())));
        }
        Ok(Some(old.size))
    }

    /// Keys from `prefix`, after `after`, in key order: up to `limit`, and
    /// the `after` of the next page if there are more. A listing carries no
    /// content types, so each object is headed, a few at once.
    pub(super) async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<wit::ObjectInfo>, Option<String>), wit::BlobError> {
        let full_prefix = self.name(prefix);
        let start = after.map(|a| self.name(a));
        // One more than asked, to know whether there are more; a store
        // answers at most 1000, and then says so with a continuation token.
        let asked = (limit as usize + 1).min(1000);
        let page = self.list_page(&full_prefix, start.as_deref(), asked, None).await?;
        let mut keys: Vec<String> =
            page.contents.iter().filter_map(|c| c.key.strip_prefix(&self.root).map(str::to_string)).collect();
        let more = keys.len() > limit as usize || page.next_continuation_token.is_some();
        keys.truncate(limit as usize);
        // The next page starts after the last key listed, even if that object
        // is deleted before its head below.
        let next = if more { keys.last().cloned() } else { None };
        let heads: Vec<_> = futures_util::stream::iter(keys.into_iter().map(|k| async move { self.head(&k).await }))
            .buffered(HEADS_AT_ONCE)
            .collect::<Vec<_>>()
            .await;
        // An object deleted between the listing and its head is left out.
        let objects = heads.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
        Ok((objects, next))
    }

    async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        max_keys: usize,
        token: Option<&str>,
    ) -> Result<rusty_s3::actions::ListObjectsV2Response, wit::BlobError> {
        let mut action = self.bucket.bucket.list_objects_v2(Some(&self.bucket.credentials));
        // Keys come back as XML text (our keys hold no control characters),
        // not URL-encoded: one less decoding to get wrong.
        action.query_mut().remove("encoding-type");
        action.with_prefix(prefix);
        action.with_max_keys(max_keys);
        if let Some(s) = start_after {
            action.with_start_after(s);
        }
        if let Some(t) = token {
            action.with_continuation_token(t);
        }
        let url = action.sign(SIGNED_FOR);
        let r = self.send(self.bucket.client.get(url)).await?;
        if !r.status().is_success() {
            return Err(unavailable(format!("object store refused the listing: {}", r.status())));
        }
        let text = r.bytes().await.map_err(store_failure)?;
        ListObjectsV2::parse_response(&text).map_err(|e| unavailable(format!("object store listing: {e}")))
    }
}

fn info_from_headers(key: &str, headers: &reqwest::header::HeaderMap) -> wit::ObjectInfo {
    let text = |name: reqwest::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let modified_ms = text(reqwest::header::LAST_MODIFIED)
        .and_then(|d| jiff::fmt::rfc2822::parse(d).ok())
        .map(|z| z.timestamp().as_millisecond().max(0) as u64)
        .unwrap_or(0);
    wit::ObjectInfo {
        key: key.to_string(),
        content_type: text(reqwest::header::CONTENT_TYPE).unwrap_or(super::key::DEFAULT_CONTENT_TYPE).to_string(),
        size: text(reqwest::header::CONTENT_LENGTH).and_then(|n| n.parse().ok()).unwrap_or(0),
        modified_ms,
    }
}
