//! The in-memory backend: one process, one map. Exact for one node.

use std::collections::HashMap;
use std::sync::Mutex;

use super::gcra::{Params, Verdict, judge};

/// TATs by key. A std Mutex: the critical section is a few map operations and
/// never awaits.
#[derive(Default)]
pub(crate) struct MemoryLimiter {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tats: HashMap<String, u64>,
    writes_since_sweep: usize,
}

/// Entries are swept after this many writes: expired TATs (in the past) carry
/// no information, so the map stays as big as the set of active callers.
const SWEEP_EVERY: usize = 10_000;

impl MemoryLimiter {
    /// Judges every rule; stores the new TATs only if all admit.
    pub(crate) fn check(&self, checks: &[(String, Params)], now_us: u64) -> Vec<Verdict> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let verdicts: Vec<Verdict> =
            checks.iter().map(|(key, p)| judge(state.tats.get(key).copied(), now_us, *p)).collect();
        if verdicts.iter().all(|v| v.allowed) {
            for ((key, _), v) in checks.iter().zip(&verdicts) {
                state.tats.insert(key.clone(), v.new_tat_us);
            }
            state.writes_since_sweep += checks.len();
            if state.writes_since_sweep >= SWEEP_EVERY {
                state.tats.retain(|_, tat| *tat > now_us);
                state.writes_since_sweep = 0;
            }
        }
        verdicts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_by_one_rule_consumes_none() {
        let l = MemoryLimiter::default();
        let burst = ("burst".to_string(), Params::new(1, 1_000_000));
        let daily = ("daily".to_string(), Params::new(100, 86_400_000_000));
        assert!(l.check(&[burst.clone(), daily.clone()], 0).iter().all(|v| v.allowed));
        let v = l.check(&[burst, daily.clone()], 0);
        assert!(!v[0].allowed && v[1].allowed);
        // The refused request did not count against the daily rule.
        assert_eq!(l.check(&[daily], 0)[0].remaining, 98);
    }
}
