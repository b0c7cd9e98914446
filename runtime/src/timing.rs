//! Where one request's time went, for the `Server-Timing` header and the
//! metrics: the capabilities add what each of their calls took (a guard
//! measures a call even if the guest is stopped mid-call), and the server
//! reads the sums, and each call, when it answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Calls of one kind whose own durations are kept for the latency histogram;
/// past this a request's further calls still count in the sum, not one by one
/// (a guest looping over a million statements must not grow host memory).
pub const MAX_CALLS_KEPT: usize = 1024;

/// The time one kind of call took, summed over a request, and each call's.
#[derive(Debug, Default)]
pub struct Meter {
    micros: AtomicU64,
    calls: AtomicU64,
    each: Mutex<Vec<Duration>>,
}

impl Meter {
    /// Adds one call that took `took`.
    pub fn add(&self, took: Duration) {
        self.micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut each = self.each.lock().unwrap_or_else(|p| p.into_inner());
        if each.len() < MAX_CALLS_KEPT {
            each.push(took);
        }
    }

    /// Each call's duration, up to [`MAX_CALLS_KEPT`].
    pub fn each(&self) -> Vec<Duration> {
        self.each.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The total, if any call was made.
    pub fn total(&self) -> Option<Duration> {
        (self.calls.load(Ordering::Relaxed) > 0).then(|| Duration::from_micros(self.micros.load(Ordering::Relaxed)))
    }
}

/// One outbound call, for the metrics: what it took, the host (only once the
/// host passed the endpoint's allowlist) and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCall {
    /// Request to response head (or failure).
    pub took: Duration,
    /// The allowed host it went to; `None` for a call refused before it left.
    pub host: Option<String>,
    /// `ok`, `refused`, `limit`, `too_large`, `timeout` or `unreachable`.
    pub outcome: &'static str,
}

/// A request's capability time: database statements and upstream calls.
#[derive(Debug, Default)]
pub struct Timings {
    /// `db` calls.
    pub db: Meter,
    /// `http-out` calls, body reads included.
    pub upstream: Meter,
    /// `blobs` calls.
    pub blobs: Meter,
    outbound: Mutex<Vec<OutboundCall>>,
}

fn db(t: &Timings) -> &Meter {
    &t.db
}

fn upstream(t: &Timings) -> &Meter {
    &t.upstream
}

fn blobs(t: &Timings) -> &Meter {
    &t.blobs
}

impl Timings {
    /// Records an outbound call's end (kept up to [`MAX_CALLS_KEPT`]).
    pub fn outbound_call(&self, call: OutboundCall) {
        let mut calls = self.outbound.lock().unwrap_or_else(|p| p.into_inner());
        if calls.len() < MAX_CALLS_KEPT {
            calls.push(call);
        }
    }

    /// The outbound calls made so far.
    pub fn outbound_calls(&self) -> Vec<OutboundCall> {
        self.outbound.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Measures a `db` call until the guard drops.
    pub fn time_db(self: &Arc<Self>) -> Timed {
        Timed { timings: self.clone(), meter: db, started: Instant::now() }
    }

    /// Measures a `blobs` call until the guard drops.
    pub fn time_blobs(self: &Arc<Self>) -> Timed {
        Timed { timings: self.clone(), meter: blobs, started: Instant::now() }
    }

    /// Measures an `http-out` call until the guard drops.
    pub fn time_upstream(self: &Arc<Self>) -> Timed {
        Timed { timings: self.clone(), meter: upstream, started: Instant::now() }
    }
}

/// Adds the time from its creation to its drop to one meter.
pub struct Timed {
    timings: Arc<Timings>,
    meter: fn(&Timings) -> &Meter,
    started: Instant,
}

impl Drop for Timed {
    fn drop(&mut self) {
        (self.meter)(&self.timings).add(self.started.elapsed());
    }
}

/// A `Server-Timing` value: `gate;dur=0.210, guest;dur=1.532, db;dur=0.410`
/// (milliseconds, as the header's `dur` is).
#[derive(Debug, Default)]
pub struct ServerTiming {
    metrics: Vec<(&'static str, Duration)>,
}

impl ServerTiming {
    /// Adds a metric, if it was measured.
    pub fn push(&mut self, name: &'static str, took: Option<Duration>) {
        if let Some(took) = took {
            self.metrics.push((name, took));
        }
    }

    /// The header value, if anything was measured.
    pub fn header(&self) -> Option<http::HeaderValue> {
        if self.metrics.is_empty() {
            return None;
        }
        let parts: Vec<String> =
            self.metrics.iter().map(|(name, took)| format!("{name};dur={:.3}", took.as_secs_f64() * 1000.0)).collect();
        http::HeaderValue::from_str(&parts.join(", ")).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meter_sums_its_calls_and_says_nothing_without_one() {
        let t = Arc::new(Timings::default());
        assert_eq!(t.db.total(), None);
        t.db.add(Duration::from_micros(250));
        t.db.add(Duration::from_micros(750));
        assert_eq!(t.db.total(), Some(Duration::from_millis(1)));
        drop(t.time_upstream());
        assert!(t.upstream.total().is_some(), "a guard records its call when dropped");
        assert_eq!(t.db.each(), [Duration::from_micros(250), Duration::from_micros(750)]);
        for _ in 0..MAX_CALLS_KEPT + 5 {
            t.db.add(Duration::ZERO);
        }
        assert_eq!(t.db.each().len(), MAX_CALLS_KEPT, "kept calls are bounded");
    }

    #[test]
    fn the_header_lists_what_was_measured_in_milliseconds() {
        let mut s = ServerTiming::default();
        assert!(s.header().is_none());
        s.push("gate", Some(Duration::from_micros(210)));
        s.push("guest", Some(Duration::from_micros(1532)));
        s.push("db", None);
        assert_eq!(s.header().unwrap(), "gate;dur=0.210, guest;dur=1.532");
    }
}
