//! Gradual rollouts as served. While an app has a canary, each caller falls
//! in a bucket (0 to 99, a stable hash of who it is) and a caller whose
//! bucket is under the canary's percent is routed to the canary's endpoints;
//! everyone else gets the active version. Each side's answers are counted on
//! this node, and once the canary has answered enough requests its error
//! rate is judged against the active version's (`judge`, a pure check).
//!
//! A tenant's route tables for canary callers are built with its other
//! tables (`views`), so choosing one is an index, not a rebuild.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::tenant::LiveApp;
use super::{Endpoint, RouteConflict, RouteTable};

/// An app's canary: the version a share of its callers get.
pub struct Canary {
    /// Its version.
    pub version: i64,
    /// Its bundle's hash.
    pub bundle_hash: String,
    /// Callers whose bucket is under this get it: 1 to 99.
    pub percent: u8,
    /// Its endpoints.
    pub endpoints: Vec<Arc<Endpoint>>,
    /// Both sides' answers on this node since the rollout began. Shared by
    /// every form of the canary (a new percent keeps the counts).
    pub outcomes: Arc<Outcomes>,
}

/// Which version answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The active version.
    Active,
    /// The canary.
    Canary,
}

/// Answers counted on this node during a rollout.
#[derive(Default)]
pub struct Outcomes {
    active: Tally,
    canary: Tally,
    /// Set once by whoever rolls the canary back, so it is done once.
    ending: AtomicBool,
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    errors: AtomicU64,
}

/// The counts at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Requests the active version's guests answered.
    pub active_requests: u64,
    /// Of those, 5xx answers (traps and budget stops among them).
    pub active_errors: u64,
    /// Requests the canary's guests answered.
    pub canary_requests: u64,
    /// Of those, 5xx answers.
    pub canary_errors: u64,
}

impl Outcomes {
    /// Counts one answer of a guest: `failed` if it was a 5xx (a trap, a
    /// budget stop or the guest's own error).
    pub fn record(&self, side: Side, failed: bool) {
        let tally = match side {
            Side::Active => &self.active,
            Side::Canary => &self.canary,
        };
        tally.requests.fetch_add(1, Ordering::Relaxed);
        if failed {
            tally.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts now.
    pub fn counts(&self) -> Counts {
        Counts {
            active_requests: self.active.requests.load(Ordering::Relaxed),
            active_errors: self.active.errors.load(Ordering::Relaxed),
            canary_requests: self.canary.requests.load(Ordering::Relaxed),
            canary_errors: self.canary.errors.load(Ordering::Relaxed),
        }
    }

    /// True for the first caller only: it ends the rollout.
    pub fn claim_ending(&self) -> bool {
        !self.ending.swap(true, Ordering::AcqRel)
    }

    /// The ending failed (the store was down): a later caller may claim it.
    pub fn release_ending(&self) {
        self.ending.store(false, Ordering::Release);
    }
}

/// Whether a canary should be rolled back, and why: once it has answered
/// `min_requests`, its error rate may be over the active version's by at
/// most `margin` percentage points.
pub fn judge(c: Counts, min_requests: u64, margin: f64) -> Option<String> {
    if c.canary_requests < min_requests.max(1) {
        return None;
    }
    let rate = |errors: u64, requests: u64| if requests == 0 { 0.0 } else { errors as f64 * 100.0 / requests as f64 };
    let (canary, active) = (rate(c.canary_errors, c.canary_requests), rate(c.active_errors, c.active_requests));
    (canary > active + margin).then(|| {
        format!(
            "its error rate was {canary:.1} % ({} of {} requests) against {active:.1} % ({} of {}) for the active \
             version, over the margin of {margin} points (deploy.rollback_error_margin)",
            c.canary_errors, c.canary_requests, c.active_errors, c.active_requests
        )
    })
}

/// A caller's bucket, 0 to 99: the same for the same caller of the same
/// tenant, spread evenly over callers. FNV-1a: fixed (no per-process seed,
/// so every node and every restart agrees) and cheap.
pub fn bucket(tenant: &str, caller: &[u8]) -> u8 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tenant.as_bytes().iter().chain([0u8].iter()).chain(caller) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A final mix, so callers differing only in their last bytes (key-17,
    // key-18) spread over all buckets.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h % 100) as u8
}

/// The route tables of callers in canary buckets. Callers under the lowest
/// percent get every app's canary; those between it and the next get the
/// canaries of apps with a higher percent, and so on: one table per distinct
/// percent, the lowest first. A caller at or over every percent gets the
/// active table.
pub struct View {
    /// For buckets under this.
    pub below: u8,
    /// Base endpoints, the active version of apps whose percent is under
    /// `below`, and the canary of the rest.
    pub routes: RouteTable,
}

/// Builds the canary views of a tenant's apps (none if no rollout is under way).
pub(super) fn views(
    assemble: impl Fn(&BTreeMap<String, Arc<LiveApp>>) -> Result<RouteTable, RouteConflict>,
    apps: &BTreeMap<String, Arc<LiveApp>>,
) -> Result<Vec<View>, RouteConflict> {
    let mut percents: Vec<u8> = apps.values().filter_map(|a| a.canary.as_ref().map(|c| c.percent)).collect();
    percents.sort_unstable();
    percents.dedup();
    percents
        .into_iter()
        .map(|below| {
            let seen: BTreeMap<String, Arc<LiveApp>> = apps
                .iter()
                .map(|(name, app)| match &app.canary {
                    Some(c) if c.percent >= below => (name.clone(), Arc::new(app.as_canary(c))),
                    _ => (name.clone(), app.clone()),
                })
                .collect();
            Ok(View { below, routes: assemble(&seen)? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(active: (u64, u64), canary: (u64, u64)) -> Counts {
        Counts {
            active_requests: active.0,
            active_errors: active.1,
            canary_requests: canary.0,
            canary_errors: canary.1,
        }
    }

    #[test]
    fn a_canary_is_judged_only_past_the_minimum_and_only_over_the_margin() {
        // Every request failed, but too few to judge.
        assert_eq!(judge(counts((500, 0), (99, 99)), 100, 5.0), None);
        let why = judge(counts((900, 9), (100, 50)), 100, 5.0).unwrap();
        assert!(why.contains("50.0 % (50 of 100 requests) against 1.0 % (9 of 900)"), "{why}");
        // Exactly at the margin stays; over it goes.
        assert_eq!(judge(counts((100, 10), (100, 15)), 100, 5.0), None);
        assert!(judge(counts((100, 10), (100, 16)), 100, 5.0).is_some());
        // As bad as the active version: kept.
        assert_eq!(judge(counts((1000, 200), (100, 20)), 100, 5.0), None);
        // No active traffic: judged against 0 %.
        assert!(judge(counts((0, 0), (10, 1)), 10, 5.0).is_some());
        assert_eq!(judge(counts((0, 0), (10, 0)), 10, 0.0), None);
    }

    #[test]
    fn buckets_are_stable_and_spread_evenly() {
        assert_eq!(bucket("acme", b"key-1"), bucket("acme", b"key-1"));
        let mut per_bucket = [0u32; 100];
        for i in 0..100_000 {
            per_bucket[bucket("acme", format!("caller-{i}").as_bytes()) as usize] += 1;
        }
        // 1000 expected in each; a fixed hash, so this is not a matter of luck.
        assert!(per_bucket.iter().all(|n| (850..1150).contains(n)), "{per_bucket:?}");
        let under_10 = (0..1000).filter(|i| bucket("acme", format!("k{i}").as_bytes()) < 10).count();
        assert!((70..130).contains(&under_10), "{under_10} of 1000 under 10");
        // Another tenant's buckets are not the same callers.
        let same = (0..1000)
            .filter(|i| {
                let c = format!("k{i}");
                (bucket("acme", c.as_bytes()) < 10) == (bucket("other", c.as_bytes()) < 10)
            })
            .count();
        assert!(same < 1000);
    }

    #[test]
    fn the_first_claim_ends_the_rollout_once() {
        let o = Outcomes::default();
        o.record(Side::Canary, true);
        o.record(Side::Active, false);
        assert_eq!(o.counts(), counts((1, 0), (1, 1)));
        assert!(o.claim_ending());
        assert!(!o.claim_ending());
    }
}
