//! Rate limits: an endpoint's `rate_limit` rules and the `[rate_limit]`
//! section (the tenant ceiling, and what to do when Redis does not answer).

use std::time::Duration;

use serde::Deserialize;

use super::parse_duration;
use super::policy::Problem;

/// What a rate limit counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateKey {
    /// The API key (anonymous and session callers fall back to their IP).
    Key,
    /// The user id (an API key's or session's; anonymous callers fall back to their IP).
    User,
    /// The client IP.
    Ip,
    /// The whole tenant.
    Tenant,
}

impl RateKey {
    /// The name used in policies and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::User => "user",
            Self::Ip => "ip",
            Self::Tenant => "tenant",
        }
    }
}

/// `{ limit = 20, window = "1h", by = "user" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitRule {
    /// Requests admitted per window (and the largest burst).
    pub limit: u64,
    /// The window.
    pub window: Duration,
    /// What is counted.
    pub by: RateKey,
}

/// What the rate limiter does when its backend (Redis) does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Admit the request, log the failure.
    Open,
    /// Refuse with 503, log the failure.
    #[default]
    Closed,
}

/// `[rate_limit]`: platform-wide rate-limit settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateLimitSection {
    /// A ceiling over every endpoint of the tenant.
    pub tenant: Option<RateLimitRule>,
    /// Behaviour when Redis is unreachable.
    pub on_backend_error: FailMode,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    limit: u64,
    window: String,
    #[serde(default = "default_rate_key")]
    by: RateKey,
}

fn default_rate_key() -> RateKey {
    RateKey::Ip
}

/// An endpoint's `rate_limit`: one rule or a list of them.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum RawRules {
    One(RawRule),
    Many(Vec<RawRule>),
}

/// `[rate_limit]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimitSection {
    tenant: Option<RawRule>,
    on_backend_error: Option<FailMode>,
}

/// One rule, checked: a limit of at least 1 over a window longer than 0.
pub(super) fn rule(raw: &RawRule, at: &str) -> Result<RateLimitRule, Problem> {
    if raw.limit == 0 {
        return Err((format!("{at}.limit"), "must be at least 1".into()));
    }
    let window = parse_duration(&raw.window).map_err(|p| (format!("{at}.window"), p))?;
    if window.is_zero() {
        return Err((format!("{at}.window"), "must be longer than 0".into()));
    }
    Ok(RateLimitRule { limit: raw.limit, window, by: raw.by })
}

/// An endpoint's rules, each named by its key (`endpoint[0].rate_limit[1]`) if wrong.
pub(super) fn rules(raw: &Option<RawRules>, at: &str) -> Result<Vec<RateLimitRule>, Problem> {
    match raw {
        None => Ok(Vec::new()),
        Some(RawRules::One(r)) => Ok(vec![rule(r, &format!("{at}.rate_limit"))?]),
        Some(RawRules::Many(rs)) => {
            rs.iter().enumerate().map(|(i, r)| rule(r, &format!("{at}.rate_limit[{i}]"))).collect()
        }
    }
}

/// `[rate_limit]`: the tenant ceiling counts the whole tenant; Redis failing closes by default.
pub(super) fn rate_limit_section(raw: &RawRateLimitSection) -> Result<RateLimitSection, Problem> {
    let tenant = match &raw.tenant {
        Some(r) => {
            let mut rule = rule(r, "rate_limit.tenant")?;
            rule.by = RateKey::Tenant;
            Some(rule)
        }
        None => None,
    };
    Ok(RateLimitSection { tenant, on_backend_error: raw.on_backend_error.unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(limit: u64, window: &str) -> RawRule {
        RawRule { limit, window: window.into(), by: default_rate_key() }
    }

    #[test]
    fn rules_count_by_ip_unless_told_and_name_the_rule_at_fault() {
        let one = rules(&Some(RawRules::One(raw(5, "1m"))), "endpoint[0]").unwrap();
        assert_eq!(one, vec![RateLimitRule { limit: 5, window: Duration::from_secs(60), by: RateKey::Ip }]);
        let many = Some(RawRules::Many(vec![raw(5, "1m"), raw(0, "1h")]));
        assert_eq!(rules(&many, "endpoint[0]").unwrap_err().0, "endpoint[0].rate_limit[1].limit");
        assert_eq!(rules(&Some(RawRules::One(raw(1, "0s"))), "e").unwrap_err().0, "e.rate_limit.window");
        assert!(rules(&None, "e").unwrap().is_empty());
    }

    #[test]
    fn the_tenant_ceiling_counts_the_tenant_and_fails_closed_by_default() {
        let section =
            rate_limit_section(&RawRateLimitSection { tenant: Some(raw(100, "1h")), on_backend_error: None }).unwrap();
        assert_eq!(section.tenant.unwrap().by, RateKey::Tenant);
        assert_eq!(section.on_backend_error, FailMode::Closed);
    }
}
