//! The generic cell rate algorithm, in integer microseconds. One stored value
//! per key, the theoretical arrival time (TAT). `limit` requests fit in an empty
//! bucket at once, and one more every `window / limit`. A window edge can never
//! double the limit: the bucket refills at the sustained rate, not all at once.
//! The same arithmetic runs in Redis as a Lua script (`redis.rs`).

/// One rule's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    /// `window / limit`: the time one request "costs".
    pub(crate) interval_us: u64,
    /// Requests per window.
    pub(crate) limit: u64,
}

impl Params {
    pub(crate) fn new(limit: u64, window_us: u64) -> Self {
        Self { interval_us: (window_us / limit).max(1), limit }
    }

    fn window_us(&self) -> u64 {
        self.interval_us * self.limit
    }
}

/// What one rule says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) allowed: bool,
    /// The TAT to store if every rule admits.
    pub(crate) new_tat_us: u64,
    /// Requests that would still be admitted right now.
    pub(crate) remaining: u64,
    /// Until the bucket is full again.
    pub(crate) reset_us: u64,
    /// Until this request would be admitted (0 when allowed).
    pub(crate) retry_after_us: u64,
}

/// Judges one request at `now` against the stored `tat`.
pub(crate) fn judge(tat: Option<u64>, now: u64, p: Params) -> Verdict {
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat + p.interval_us;
    if new_tat - now > p.window_us() {
        Verdict {
            allowed: false,
            new_tat_us: tat,
            remaining: 0,
            reset_us: tat - now,
            retry_after_us: new_tat - p.window_us() - now,
        }
    } else {
        Verdict {
            allowed: true,
            new_tat_us: new_tat,
            remaining: (now + p.window_us() - new_tat) / p.interval_us,
            reset_us: new_tat - now,
            retry_after_us: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000;

    #[test]
    fn a_burst_of_exactly_the_limit_then_one_per_interval() {
        let p = Params::new(5, 10 * SEC);
        let mut tat = None;
        for i in 0..5 {
            let v = judge(tat, 0, p);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 4 - i);
            tat = Some(v.new_tat_us);
        }
        let v = judge(tat, 0, p);
        assert!(!v.allowed);
        assert_eq!(v.retry_after_us, 2 * SEC);
        assert_eq!(v.reset_us, 10 * SEC);
        // One interval later exactly one more fits.
        let v = judge(tat, 2 * SEC, p);
        assert!(v.allowed);
        assert!(!judge(Some(v.new_tat_us), 2 * SEC, p).allowed);
    }

    #[test]
    fn no_window_edge_lets_twice_the_limit_through() {
        // Hammer for three windows: at most limit + elapsed/interval are admitted
        // by any time, so a window edge never admits a second full burst.
        let p = Params::new(10, 60 * SEC);
        let mut tat = None;
        let mut admitted_at = Vec::new();
        let mut now = 0;
        while now < 180 * SEC {
            let v = judge(tat, now, p);
            if v.allowed {
                tat = Some(v.new_tat_us);
                admitted_at.push(now);
            }
            now += SEC / 10;
        }
        for (i, &t0) in admitted_at.iter().enumerate() {
            let in_window = admitted_at[i..].iter().take_while(|&&t| t < t0 + 60 * SEC).count();
            assert!(in_window < 2 * 10, "{in_window} admitted in the window from {t0}");
        }
        // Sustained: 10 up front, then one per 6 s.
        assert_eq!(admitted_at.len(), 10 + 180 / 6 - 1);
        // Across the first window edge (t = 60 s) no more than limit + 1 within one interval of it.
        let near_edge = admitted_at.iter().filter(|&&t| (54 * SEC..66 * SEC).contains(&t)).count();
        assert!(near_edge <= 2, "{near_edge} admitted around the edge");
    }

    #[test]
    fn an_idle_bucket_refills_completely() {
        let p = Params::new(3, 3 * SEC);
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(judge(tat, 0, p).new_tat_us);
        }
        assert!(!judge(tat, 0, p).allowed);
        let v = judge(tat, 100 * SEC, p);
        assert!(v.allowed);
        assert_eq!(v.remaining, 2);
    }
}
