//! What every tenant's objects share: where they live (this node's disk or
//! one bucket), the key URLs are signed with, and the origin URLs start with.
//! Made once at start; each tenant's grant is opened from it at load.

use std::path::PathBuf;
use std::sync::Arc;

use super::local::LocalBlobs;
use super::s3::{S3Blobs, S3Bucket};
use super::signed_url::UrlSigner;
use super::tenant_blobs::{Backend, BlobLimits, TenantBlobs};
use super::url_base::UrlSettings;
use crate::config::PlatformConfig;

/// The name of the generated signing key in the platform store.
const SIGNING_KEY_SETTING: &str = "blob_url_key";

/// The platform's object storage.
pub struct BlobPlatform {
    signer: Arc<UrlSigner>,
    urls: Arc<UrlSettings>,
    s3: Option<Arc<S3Bucket>>,
    /// `data_dir/tenants`: each tenant's objects are in `{tenant}/blobs`.
    tenants_dir: PathBuf,
}

impl std::fmt::Debug for BlobPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.s3.is_some() { "BlobPlatform(s3)" } else { "BlobPlatform(local)" })
    }
}

impl BlobPlatform {
    /// From `[blobs]`: the signing key is `blobs.signing_secret`, or one made
    /// once and kept in the platform store (so every node sharing the store
    /// signs alike). A bucket that is not there is created; one that cannot
    /// be reached now is logged, and its calls answer `unavailable` until it
    /// can.
    pub async fn start(config: &PlatformConfig, store: &crate::store::Store) -> Result<Self, String> {
        let key = match &config.blobs.signing_secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => {
                let fresh = crate::identity::api_key::random_base62(48)
                    .map_err(|e| format!("the signing key for object URLs: {e}"))?;
                store
                    .platform_setting_or_insert(SIGNING_KEY_SETTING, || fresh)
                    .await
                    .map_err(|e| format!("the signing key for object URLs: {e}"))?
                    .into_bytes()
            }
        };
        let s3 = match &config.blobs.s3 {
            Some(settings) => {
                let bucket = S3Bucket::new(settings)?;
                if let Err(e) = bucket.ensure_bucket().await {
                    tracing::warn!("object storage: {e}; object calls answer 503 until the bucket is reachable");
                }
                Some(Arc::new(bucket))
            }
            None => None,
        };
        Ok(Self {
            signer: Arc::new(UrlSigner::new(&key)),
            urls: Arc::new(UrlSettings {
                public_url: config.blobs.public_url.clone(),
                domain: config.platform.domain.clone(),
                path_prefix: config.platform.tenant_path_prefix.clone(),
            }),
            s3,
            tenants_dir: config.platform.data_dir.join("tenants"),
        })
    }

    /// Which backend: `local` or `s3`.
    pub fn backend_name(&self) -> &'static str {
        if self.s3.is_some() { "s3" } else { "local" }
    }

    /// The limits for a tenant whose quota is `quota_bytes`.
    pub fn limits(config: &PlatformConfig, quota_bytes: u64) -> BlobLimits {
        BlobLimits {
            max_object_bytes: config.blobs.max_object_bytes,
            quota_bytes,
            max_objects: config.blobs.max_objects,
            max_url_expiry: config.blobs.max_url_expiry,
        }
    }

    /// A tenant's objects (`created`: when the tenant was made, Unix seconds).
    pub fn open(&self, tenant: &str, created: i64, limits: BlobLimits) -> TenantBlobs {
        let backend = match &self.s3 {
            Some(bucket) => Backend::S3(S3Blobs::new(bucket.clone(), tenant, created)),
            // A folder per tenant made at `created`: one made again under the
            // same name never shares it, even with a request of the old one
            // still finishing.
            None => Backend::Local(LocalBlobs::new(self.tenants_dir.join(tenant).join(format!("blobs-{created}")))),
        };
        TenantBlobs::new((tenant.into(), created), backend, limits, self.signer.clone(), self.urls.clone())
    }
}
