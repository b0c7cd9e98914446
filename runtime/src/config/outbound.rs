//! `[outbound]`: what every endpoint's outbound calls are held to.

use std::time::Duration;

use serde::Deserialize;

use super::Cidr;
use super::parse_duration;
use super::policy::Problem;

/// Platform-wide outbound settings (`[outbound]`).
#[derive(Debug, Clone)]
pub struct OutboundSettings {
    /// Private ranges callable anyway (tests need loopback; production rarely should).
    pub allow_private: Vec<Cidr>,
    /// Calls one request may make.
    pub max_calls: u32,
    /// Largest response body read.
    pub max_response_bytes: u64,
    /// Longest a call may take.
    pub timeout: Duration,
    /// Redirects followed per call.
    pub max_redirects: usize,
}

/// Default `[outbound]`: generous for API calls, small enough to stop abuse.
impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            allow_private: Vec::new(),
            max_calls: 10,
            max_response_bytes: 10 << 20,
            timeout: Duration::from_secs(10),
            max_redirects: 5,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbound {
    #[serde(default)]
    allow_private: Vec<String>,
    max_calls: Option<u32>,
    max_response_kb: Option<u64>,
    timeout: Option<String>,
}

pub(super) fn outbound(raw: &RawOutbound) -> Result<super::OutboundSettings, Problem> {
    let allow_private = raw
        .allow_private
        .iter()
        .map(|c| super::Cidr::parse(c).map_err(|p| ("outbound.allow_private".to_string(), p)))
        .collect::<Result<_, _>>()?;
    let mut s = super::OutboundSettings { allow_private, ..Default::default() };
    if let Some(n) = raw.max_calls {
        s.max_calls = n;
    }
    if let Some(kb) = raw.max_response_kb {
        s.max_response_bytes = kb.saturating_mul(1024);
    }
    if let Some(t) = &raw.timeout {
        s.timeout = parse_duration(t).map_err(|p| ("outbound.timeout".to_string(), p))?;
    }
    Ok(s)
}
