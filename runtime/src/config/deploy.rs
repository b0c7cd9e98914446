//! `[deploy]`: how app uploads are bounded, how many versions are kept, and
//! when a gradual rollout rolls itself back.

use serde::Deserialize;

use super::policy::Problem;

/// The largest bundle accepted when `max_bundle_mb` is not set: room for a
/// few components and their assets, small enough to hold in memory while it
/// is checked.
const DEFAULT_MAX_BUNDLE_MB: u64 = 100;
/// Versions kept per app when `keep_versions` is not set: enough to roll back
/// a bad week, few enough that stored bundles stay small.
const DEFAULT_KEEP_VERSIONS: usize = 10;
/// Requests a canary answers on a node before its error rate is judged:
/// enough that one unlucky request is not a verdict, few enough that a bad
/// version at 10 % of a modest API is caught within minutes.
const DEFAULT_ROLLBACK_MIN_REQUESTS: u64 = 100;
/// Percentage points a canary's error rate may be over the active
/// version's before it is rolled back.
const DEFAULT_ROLLBACK_ERROR_MARGIN: f64 = 5.0;

/// `[deploy]`: how app uploads are bounded and kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeploySection {
    /// The largest bundle accepted, in bytes.
    pub max_bundle_bytes: usize,
    /// Versions kept per app for rollback (the active one is always kept).
    pub keep_versions: usize,
    /// A canary is judged once it has answered this many requests on a node.
    pub rollback_min_requests: u64,
    /// Percentage points its error rate may be over the active version's.
    pub rollback_error_margin: f64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeploy {
    max_bundle_mb: Option<u64>,
    keep_versions: Option<usize>,
    rollback_min_requests: Option<u64>,
    rollback_error_margin: Option<f64>,
}

/// `[deploy]` with its defaults filled in.
pub(super) fn resolve(raw: &RawDeploy) -> Result<DeploySection, Problem> {
    let mb = raw.max_bundle_mb.unwrap_or(DEFAULT_MAX_BUNDLE_MB);
    if mb == 0 {
        return Err(("deploy.max_bundle_mb".into(), "must be at least 1".into()));
    }
    let min_requests = raw.rollback_min_requests.unwrap_or(DEFAULT_ROLLBACK_MIN_REQUESTS);
    if min_requests == 0 {
        return Err(("deploy.rollback_min_requests".into(), "must be at least 1".into()));
    }
    let margin = raw.rollback_error_margin.unwrap_or(DEFAULT_ROLLBACK_ERROR_MARGIN);
    if !(0.0..100.0).contains(&margin) {
        return Err((
            "deploy.rollback_error_margin".into(),
            "must be percentage points from 0 up to (not including) 100".into(),
        ));
    }
    Ok(DeploySection {
        max_bundle_bytes: super::endpoints::mb(mb),
        keep_versions: raw.keep_versions.unwrap_or(DEFAULT_KEEP_VERSIONS).max(1),
        rollback_min_requests: min_requests,
        rollback_error_margin: margin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let d = resolve(&RawDeploy::default()).unwrap();
        assert_eq!((d.max_bundle_bytes, d.keep_versions), (100 << 20, 10));
        assert_eq!((d.rollback_min_requests, d.rollback_error_margin), (100, 5.0));
        let d = resolve(&RawDeploy { max_bundle_mb: Some(3), keep_versions: Some(0), ..Default::default() }).unwrap();
        assert_eq!((d.max_bundle_bytes, d.keep_versions), (3 << 20, 1), "the active version is always kept");
        assert_eq!(
            resolve(&RawDeploy { max_bundle_mb: Some(0), ..Default::default() }).unwrap_err().0,
            "deploy.max_bundle_mb"
        );
        assert_eq!(
            resolve(&RawDeploy { rollback_min_requests: Some(0), ..Default::default() }).unwrap_err().0,
            "deploy.rollback_min_requests"
        );
        for bad in [-1.0, 100.0, f64::NAN] {
            assert_eq!(
                resolve(&RawDeploy { rollback_error_margin: Some(bad), ..Default::default() }).unwrap_err().0,
                "deploy.rollback_error_margin"
            );
        }
    }
}
