//! `[blobs]`: the tenants' object storage. On this node's disk by default
//! (`data_dir/tenants/{tenant}/blobs`); in an S3-compatible bucket with
//! `[blobs.s3]`, which several nodes must share to serve the same objects.
//! Every tenant is held to a quota of bytes and of objects, and no object may
//! be larger than `max_object_mb`: a guest writes objects on behalf of
//! anonymous clients, so each bound is what one hostile tenant can take.

use std::time::Duration;

use serde::Deserialize;

use super::Secret;
use super::policy::{Problem, SecretSource, resolve_secret};

/// The largest object, when `max_object_mb` is not set: a photo or a
/// document. Every object passes through a guest's memory, so it is also
/// bounded by the endpoint's `memory_mb`.
const DEFAULT_MAX_OBJECT_MB: u64 = 10;
/// A tenant's bytes of objects when neither its settings nor `quota_mb` say.
const DEFAULT_QUOTA_MB: u64 = 1024;
/// A tenant's objects when `max_objects` is not set: many empty objects
/// cost files (inodes) and index rows even when they hold no bytes.
const DEFAULT_MAX_OBJECTS: u64 = 100_000;
/// The longest a signed URL may be valid when `max_url_expiry` is not set.
const DEFAULT_MAX_URL_EXPIRY: Duration = Duration::from_secs(7 * 86_400);

/// `[blobs]`, resolved.
#[derive(Debug, Clone)]
pub struct BlobsSection {
    /// Bytes in one object, at most.
    pub max_object_bytes: u64,
    /// A tenant's bytes, at most, unless its settings say (`quotas.blobsMb`).
    pub quota_bytes: u64,
    /// A tenant's objects, at most.
    pub max_objects: u64,
    /// How long a signed URL may be valid, at most.
    pub max_url_expiry: Duration,
    /// The origin signed URLs start with (`https://files.example.com`);
    /// unset: the origin the guest's request came to.
    pub public_url: Option<String>,
    /// The key signed URLs are signed with; unset: one made once and kept in
    /// the platform store, so every node that shares it agrees.
    pub signing_secret: Option<Secret>,
    /// The bucket, if objects live in one; else this node's disk.
    pub s3: Option<S3Settings>,
}

impl Default for BlobsSection {
    fn default() -> Self {
        Self {
            max_object_bytes: DEFAULT_MAX_OBJECT_MB << 20,
            quota_bytes: DEFAULT_QUOTA_MB << 20,
            max_objects: DEFAULT_MAX_OBJECTS,
            max_url_expiry: DEFAULT_MAX_URL_EXPIRY,
            public_url: None,
            signing_secret: None,
            s3: None,
        }
    }
}

/// `[blobs.s3]`: an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…).
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `http(s)://host[:port]`.
    pub endpoint: url::Url,
    /// The bucket; it must exist.
    pub bucket: String,
    /// Its region (`us-east-1` unless said).
    pub region: String,
    /// Prepended to every key, before the tenant's name (`gatehouse/`).
    pub prefix: String,
    /// `bucket.host` (virtual-host style) instead of `host/bucket` (path style, the default).
    pub virtual_host: bool,
    /// The access key id's value.
    pub access_key_id: Secret,
    /// The secret access key's value.
    pub secret_access_key: Secret,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBlobs {
    max_object_mb: Option<u64>,
    quota_mb: Option<u64>,
    max_objects: Option<u64>,
    max_url_expiry: Option<String>,
    public_url: Option<String>,
    signing_secret: Option<String>,
    s3: Option<RawS3>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawS3 {
    endpoint: String,
    bucket: String,
    region: Option<String>,
    prefix: Option<String>,
    virtual_host: Option<bool>,
    /// Names of secrets (in `[secrets]` or the environment), never values.
    access_key_id: String,
    secret_access_key: String,
}

/// Resolves `[blobs]`; an error is (dotted key, problem).
pub(super) fn resolve(raw: &RawBlobs, secrets: &SecretSource<'_>) -> Result<BlobsSection, Problem> {
    let mut s = BlobsSection::default();
    let positive = |key: &str, v: Option<u64>| -> Result<Option<u64>, Problem> {
        match v {
            Some(0) => Err((format!("blobs.{key}"), "must be more than 0".into())),
            v => Ok(v),
        }
    };
    if let Some(mb) = positive("max_object_mb", raw.max_object_mb)? {
        s.max_object_bytes = mb.saturating_mul(1 << 20);
    }
    if let Some(mb) = positive("quota_mb", raw.quota_mb)? {
        s.quota_bytes = mb.saturating_mul(1 << 20);
    }
    if let Some(n) = positive("max_objects", raw.max_objects)? {
        s.max_objects = n;
    }
    if let Some(t) = &raw.max_url_expiry {
        let d = super::parse_duration(t).map_err(|p| ("blobs.max_url_expiry".to_string(), p))?;
        if d < Duration::from_secs(1) {
            return Err(("blobs.max_url_expiry".into(), "must be at least 1s".into()));
        }
        s.max_url_expiry = d;
    }
    if let Some(u) = &raw.public_url {
        let parsed = url::Url::parse(u)
            .ok()
            .filter(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some() && p.query().is_none());
        if parsed.is_none() {
            return Err((
                "blobs.public_url".into(),
                format!("`{u}` is not an http(s) origin; write it like \"https://files.example.com\""),
            ));
        }
        s.public_url = Some(u.trim_end_matches('/').to_string());
    }
    let secret = |key: &str, name: &str| {
        resolve_secret(name, secrets).ok_or_else(|| {
            (
                format!("blobs.{key}"),
                format!("names `{name}`, which is neither in [secrets] nor an environment variable"),
            )
        })
    };
    if let Some(name) = &raw.signing_secret {
        let value = secret("signing_secret", name)?;
        if value.expose().len() < 32 {
            return Err(("blobs.signing_secret".into(), format!("`{name}` must be at least 32 characters")));
        }
        s.signing_secret = Some(value);
    }
    if let Some(r) = &raw.s3 {
        let endpoint = url::Url::parse(&r.endpoint)
            .ok()
            .filter(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some())
            .ok_or_else(|| {
                (
                    "blobs.s3.endpoint".to_string(),
                    format!(
                        "`{}` is not an http(s) URL; write it like \"https://s3.eu-west-1.amazonaws.com\"",
                        r.endpoint
                    ),
                )
            })?;
        if r.bucket.is_empty() {
            return Err(("blobs.s3.bucket".into(), "must name a bucket".into()));
        }
        s.s3 = Some(S3Settings {
            endpoint,
            bucket: r.bucket.clone(),
            region: r.region.clone().unwrap_or_else(|| "us-east-1".into()),
            prefix: r.prefix.clone().unwrap_or_default(),
            virtual_host: r.virtual_host.unwrap_or(false),
            access_key_id: secret("s3.access_key_id", &r.access_key_id)?,
            secret_access_key: secret("s3.secret_access_key", &r.secret_access_key)?,
        });
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn parse(text: &str) -> Result<BlobsSection, Problem> {
        let table: BTreeMap<String, String> =
            [("KEY_ID".to_string(), "id".to_string()), ("KEY".to_string(), "k".repeat(40))].into();
        let raw: RawBlobs = toml::from_str(text).unwrap();
        resolve(&raw, &SecretSource { table: &table, env: None })
    }

    #[test]
    fn defaults_and_overrides() {
        let d = parse("").unwrap();
        assert_eq!((d.max_object_bytes, d.quota_bytes, d.max_objects), (10 << 20, 1 << 30, 100_000));
        assert!(d.s3.is_none() && d.public_url.is_none());
        let s = parse(
            "max_object_mb = 2\nmax_url_expiry = \"1h\"\npublic_url = \"https://f.example.com/\"\nsigning_secret = \"KEY\"\n\
             [s3]\nendpoint = \"http://127.0.0.1:9000\"\nbucket = \"b\"\naccess_key_id = \"KEY_ID\"\nsecret_access_key = \"KEY\"",
        )
        .unwrap();
        assert_eq!(s.max_object_bytes, 2 << 20);
        assert_eq!(s.max_url_expiry, Duration::from_secs(3600));
        assert_eq!(s.public_url.as_deref(), Some("https://f.example.com"));
        let s3 = s.s3.unwrap();
        assert_eq!((s3.bucket.as_str(), s3.region.as_str(), s3.access_key_id.expose()), ("b", "us-east-1", "id"));
    }

    #[test]
    fn problems_name_the_key() {
        assert_eq!(parse("quota_mb = 0").unwrap_err().0, "blobs.quota_mb");
        assert_eq!(parse("public_url = \"files.example.com\"").unwrap_err().0, "blobs.public_url");
        assert_eq!(parse("signing_secret = \"NOPE\"").unwrap_err().0, "blobs.signing_secret");
        assert_eq!(parse("signing_secret = \"KEY_ID\"").unwrap_err().0, "blobs.signing_secret");
        let e = parse(
            "[s3]\nendpoint = \"ftp://x\"\nbucket = \"b\"\naccess_key_id = \"KEY_ID\"\nsecret_access_key = \"KEY\"",
        );
        assert_eq!(e.unwrap_err().0, "blobs.s3.endpoint");
        let e = parse(
            "[s3]\nendpoint = \"http://x\"\nbucket = \"b\"\naccess_key_id = \"GONE\"\nsecret_access_key = \"KEY\"",
        );
        assert_eq!(e.unwrap_err().0, "blobs.s3.access_key_id");
    }
}
