//! `reuse = { requests = 1000, idle = "30s" }`: an endpoint's opt-in to serve
//! several requests, one at a time, from one instance. Off by default: a fresh
//! instance per request is the platform's promise unless the endpoint's owner
//! says otherwise, because whatever the guest keeps in memory (a global, a
//! cache) is seen by the next request it serves.

use std::time::Duration;

use serde::Deserialize;

/// Requests one instance serves when `requests` is not given.
pub(crate) const DEFAULT_REUSE_REQUESTS: u32 = 1000;
/// The most requests one instance may serve.
pub(crate) const MAX_REUSE_REQUESTS: u32 = 100_000;
/// How long an idle instance is kept when `idle` is not given.
pub(crate) const DEFAULT_REUSE_IDLE: Duration = Duration::from_secs(30);
/// The longest an idle instance may be kept.
pub(crate) const MAX_REUSE_IDLE: Duration = Duration::from_secs(600);

/// `reuse = {…}` as written.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReuse {
    requests: Option<u64>,
    idle: Option<String>,
}

/// An endpoint's instance reuse: at most `requests` requests per instance, and
/// an instance idle for `idle` is discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    /// Requests one instance serves before it is discarded.
    pub requests: u32,
    /// How long an instance may wait for its next request.
    pub idle: Duration,
}

/// Checks `reuse` at `at` (`endpoint[2].reuse`).
pub(super) fn parse(raw: RawReuse, at: &str) -> Result<Reuse, (String, String)> {
    let requests = match raw.requests {
        None => DEFAULT_REUSE_REQUESTS,
        Some(n) if (1..=u64::from(MAX_REUSE_REQUESTS)).contains(&n) => n as u32,
        Some(n) => {
            return Err((format!("{at}.requests"), format!("is {n}; it must be between 1 and {MAX_REUSE_REQUESTS}")));
        }
    };
    let idle = match raw.idle.as_deref() {
        None => DEFAULT_REUSE_IDLE,
        Some(text) => {
            let d = super::parse_duration(text).map_err(|p| (format!("{at}.idle"), p))?;
            if d.is_zero() || d > MAX_REUSE_IDLE {
                return Err((
                    format!("{at}.idle"),
                    format!("is {text}; it must be more than 0 and at most {} s", MAX_REUSE_IDLE.as_secs()),
                ));
            }
            d
        }
    };
    Ok(Reuse { requests, idle })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bounds_and_errors() {
        assert_eq!(
            parse(RawReuse::default(), "e").unwrap(),
            Reuse { requests: DEFAULT_REUSE_REQUESTS, idle: DEFAULT_REUSE_IDLE }
        );
        let r = parse(RawReuse { requests: Some(5), idle: Some("2s".into()) }, "e").unwrap();
        assert_eq!(r, Reuse { requests: 5, idle: Duration::from_secs(2) });
        assert_eq!(parse(RawReuse { requests: Some(0), idle: None }, "e").unwrap_err().0, "e.requests");
        assert_eq!(parse(RawReuse { requests: Some(1_000_000), idle: None }, "e").unwrap_err().0, "e.requests");
        assert_eq!(parse(RawReuse { requests: None, idle: Some("1h".into()) }, "e").unwrap_err().0, "e.idle");
        assert_eq!(parse(RawReuse { requests: None, idle: Some("soon".into()) }, "e").unwrap_err().0, "e.idle");
    }
}
