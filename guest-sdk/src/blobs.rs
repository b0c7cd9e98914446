//! The tenant's object storage: files under keys such as `uploads/u1/cat.png`,
//! each with its content type, and signed URLs that anyone holding them may
//! fetch until they expire (the platform serves them).
//!
//! ```no_run
//! # fn demo() -> Result<(), gatehouse_sdk::Error> {
//! use gatehouse_sdk::blobs;
//! let info = blobs::put("uploads/ada/cat.png", "image/png", b"\x89PNG...")?;
//! let url = blobs::signed_url(&info.key, 3600)?;
//! let page = blobs::list("uploads/ada/", None, 100)?;
//! if let Some(object) = blobs::get("uploads/ada/cat.png")? {
//!     assert_eq!(object.info.content_type, "image/png");
//! }
//! blobs::delete("uploads/ada/cat.png")?;
//! # let _ = (url, page); Ok(()) }
//! ```
//!
//! A failure converts into the endpoint's error with `?`: the store
//! unreachable is 503 `BLOBS_UNAVAILABLE`, a refused key 500 `BLOB_INVALID`,
//! the tenant's quota used up 413 `BLOB_QUOTA_EXCEEDED`, an object over the
//! platform's largest 413 `BLOB_TOO_LARGE`.

use crate::Error;
use crate::host::blobs as wit;

pub use wit::{BlobError, Listing, Object, ObjectInfo};

/// Stores `data` under `key` with its content type (empty: `application/octet-stream`), replacing what was there.
pub fn put(key: &str, content_type: &str, data: &[u8]) -> Result<ObjectInfo, Error> {
    Ok(wit::put(key, content_type, data)?)
}

/// The object under `key`, with its bytes, if there is one.
pub fn get(key: &str) -> Result<Option<Object>, Error> {
    Ok(wit::get(key)?)
}

/// What is stored under `key` (content type, size, time), without its bytes.
pub fn head(key: &str) -> Result<Option<ObjectInfo>, Error> {
    Ok(wit::head(key)?)
}

/// Removes the object under `key`; whether there was one.
pub fn delete(key: &str) -> Result<bool, Error> {
    Ok(wit::delete(key)?)
}

/// Up to `limit` (1 to 1000) objects whose keys start with `prefix`, in key
/// order, after the key `after`; `Listing::next` is the `after` of the next page.
pub fn list(prefix: &str, after: Option<&str>, limit: u32) -> Result<Listing, Error> {
    Ok(wit::list(prefix, after, limit)?)
}

/// A URL anyone holding it may fetch the object from for `expires_in_seconds`,
/// served by the platform with the object's content type.
pub fn signed_url(key: &str, expires_in_seconds: u32) -> Result<String, Error> {
    Ok(wit::signed_url(key, expires_in_seconds)?)
}

impl From<BlobError> for Error {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::Unavailable(why) => {
                Error::unavailable(format!("object storage is unavailable: {why}")).with_code("BLOBS_UNAVAILABLE")
            }
            BlobError::Invalid(why) => {
                Error::internal(format!("an object storage call was refused: {why}")).with_code("BLOB_INVALID")
            }
            BlobError::QuotaExceeded(why) => {
                Error::payload_too_large(format!("the tenant's object storage quota is used up: {why}"))
                    .with_code("BLOB_QUOTA_EXCEEDED")
            }
            BlobError::TooLarge(why) => {
                Error::payload_too_large(format!("the object is too large: {why}")).with_code("BLOB_TOO_LARGE")
            }
        }
    }
}
