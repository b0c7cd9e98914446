//! `[deploy]`: how app uploads are bounded and how many versions are kept.

use serde::Deserialize;

use super::policy::Problem;

/// The largest bundle accepted when `max_bundle_mb` is not set: room for a
/// few components and their assets, small enough to hold in memory while it
/// is checked.
const DEFAULT_MAX_BUNDLE_MB: u64 = 100;
/// Versions kept per app when `keep_versions` is not set: enough to roll back
/// a bad week, few enough that stored bundles stay small.
const DEFAULT_KEEP_VERSIONS: usize = 10;

/// `[deploy]`: how app uploads are bounded and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeploySection {
    /// The largest bundle accepted, in bytes.
    pub max_bundle_bytes: usize,
    /// Versions kept per app for rollback (the active one is always kept).
    pub keep_versions: usize,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeploy {
    max_bundle_mb: Option<u64>,
    keep_versions: Option<usize>,
}

/// `[deploy]` with its defaults filled in.
pub(super) fn resolve(raw: &RawDeploy) -> Result<DeploySection, Problem> {
    let mb = raw.max_bundle_mb.unwrap_or(DEFAULT_MAX_BUNDLE_MB);
    if mb == 0 {
        return Err(("deploy.max_bundle_mb".into(), "must be at least 1".into()));
    }
    Ok(DeploySection {
        max_bundle_bytes: super::endpoints::mb(mb),
        keep_versions: raw.keep_versions.unwrap_or(DEFAULT_KEEP_VERSIONS).max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let d = resolve(&RawDeploy::default()).unwrap();
        assert_eq!((d.max_bundle_bytes, d.keep_versions), (100 << 20, 10));
        let d = resolve(&RawDeploy { max_bundle_mb: Some(3), keep_versions: Some(0) }).unwrap();
        assert_eq!((d.max_bundle_bytes, d.keep_versions), (3 << 20, 1), "the active version is always kept");
        assert_eq!(
            resolve(&RawDeploy { max_bundle_mb: Some(0), keep_versions: None }).unwrap_err().0,
            "deploy.max_bundle_mb"
        );
    }
}
