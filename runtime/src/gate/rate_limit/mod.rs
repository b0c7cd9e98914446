//! 429 before the guest: every rate-limit rule of the endpoint (and the
//! tenant's ceiling) judged in one atomic step by the in-memory or Redis
//! backend. Admitted and refused answers carry the same headers:
//! `X-RateLimit-Limit/Remaining/Reset`, the IETF `RateLimit-Policy` and
//! `RateLimit` fields, and `Retry-After` on a 429.

mod gcra;
mod memory;
mod redis;

use std::net::IpAddr;
use std::time::Instant;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;

use self::gcra::{Params, Verdict};
use self::memory::MemoryLimiter;
use self::redis::RedisLimiter;
use crate::config::{FailMode, RateKey, RateLimitRule, RateLimitSection};
use crate::error::{ApiError, ErrorCode};
use crate::identity::Principal;

/// The limiter shared by every endpoint.
pub struct RateLimiter {
    backend: Backend,
    fail_mode: FailMode,
    epoch: Instant,
    backend_errors: std::sync::atomic::AtomicU64,
}

enum Backend {
    Memory(MemoryLimiter),
    // Boxed: the Redis client state is large and the enum lives once per process.
    Redis(Box<RedisLimiter>),
}

/// One rule as applied to one request.
struct Applied {
    name: String,
    rule: RateLimitRule,
    key: String,
}

impl RateLimiter {
    /// In memory, or on Redis when `redis_url` is set (connecting now, failing fast).
    pub async fn new(redis_url: Option<&str>, section: &RateLimitSection) -> Result<Self, String> {
        let backend = match redis_url {
            Some(url) => Backend::Redis(Box::new(RedisLimiter::connect(url).await?)),
            None => Backend::Memory(MemoryLimiter::default()),
        };
        Ok(Self {
            backend,
            fail_mode: section.on_backend_error,
            epoch: Instant::now(),
            backend_errors: Default::default(),
        })
    }

    /// `memory` or `redis`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// Whether anything limits `rules`' endpoint (its own rules or the tenant's ceiling).
    pub fn applies(&self, rules: &[RateLimitRule], tenant_rule: Option<RateLimitRule>) -> bool {
        !rules.is_empty() || tenant_rule.is_some()
    }

    /// Admits (with headers to add to the answer) or refuses with 429.
    pub async fn check(
        &self,
        tenant: &str,
        route: &str,
        rules: &[RateLimitRule],
        tenant_rule: Option<RateLimitRule>,
        principal: &Principal,
        ip: IpAddr,
    ) -> Result<HeaderMap, ApiError> {
        let mut applied: Vec<Applied> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| Applied {
                name: format!("{}-{i}", r.by.as_str()),
                rule: *r,
                key: format!("gatehouse:rl:{tenant}:{route}:{i}:{}", subject(r.by, principal, ip)),
            })
            .collect();
        if let Some(r) = tenant_rule {
            applied.push(Applied { name: "tenant".into(), rule: r, key: format!("gatehouse:rl:{tenant}:tenant") });
        }
        if applied.is_empty() {
            return Ok(HeaderMap::new());
        }
        let checks: Vec<(String, Params)> = applied
            .iter()
            .map(|a| (a.key.clone(), Params::new(a.rule.limit, a.rule.window.as_micros() as u64)))
            .collect();
        let verdicts = match &self.backend {
            Backend::Memory(m) => m.check(&checks, self.epoch.elapsed().as_micros() as u64),
            Backend::Redis(r) => match r.check(&checks).await {
                Ok(v) => v,
                Err(e) => return self.backend_failed(tenant, route, &e),
            },
        };
        decide(&applied, &verdicts)
    }

    /// Whether the backend answers now: `None` in memory (nothing to ask),
    /// else Redis's answer to a `PING`, within the limiter's own timeout.
    pub async fn ping(&self) -> Option<Result<(), String>> {
        match &self.backend {
            Backend::Memory(_) => None,
            Backend::Redis(r) => Some(r.ping().await),
        }
    }

    /// Checks the backend (Redis) could not answer, since start.
    pub fn backend_errors(&self) -> u64 {
        self.backend_errors.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn backend_failed(&self, tenant: &str, route: &str, error: &str) -> Result<HeaderMap, ApiError> {
        self.backend_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.fail_mode {
            FailMode::Open => {
                tracing::warn!(
                    tenant,
                    route,
                    fail_mode = "open",
                    "rate limiter unavailable, request admitted: {error}"
                );
                Ok(HeaderMap::new())
            }
            FailMode::Closed => {
                tracing::error!(
                    tenant,
                    route,
                    fail_mode = "closed",
                    "rate limiter unavailable, request refused: {error}"
                );
                Err(ApiError::new(
                    ErrorCode::RateLimitUnavailable,
                    "the rate limiter is unavailable, so this request cannot be admitted; retry shortly",
                ))
            }
        }
    }
}

/// Who a rule counts: the key, the user, the IP, or the tenant as a whole.
/// Callers without the identity a rule asks for are counted by IP.
fn subject(by: RateKey, p: &Principal, ip: IpAddr) -> String {
    match by {
        RateKey::Key => p.key_id.as_ref().map(|k| format!("key:{k}")).unwrap_or_else(|| format!("ip:{ip}")),
        RateKey::User => p
            .user_id
            .as_ref()
            .map(|u| format!("user:{u}"))
            .or_else(|| p.key_id.as_ref().map(|k| format!("key:{k}")))
            .unwrap_or_else(|| format!("ip:{ip}")),
        RateKey::Ip => format!("ip:{ip}"),
        RateKey::Tenant => "tenant".into(),
    }
}

fn decide(applied: &[Applied], verdicts: &[Verdict]) -> Result<HeaderMap, ApiError> {
    let secs = |us: u64| us.div_ceil(1_000_000);
    // Report the refusing rule that waits longest, else the tightest admitting one.
    let denied = verdicts.iter().enumerate().filter(|(_, v)| !v.allowed).max_by_key(|(_, v)| v.retry_after_us);
    let (i, v) = denied
        .unwrap_or_else(|| verdicts.iter().enumerate().min_by_key(|(_, v)| v.remaining).expect("at least one rule"));
    let rule = applied[i].rule;
    let mut h = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put("x-ratelimit-limit", rule.limit.to_string());
    put("x-ratelimit-remaining", v.remaining.to_string());
    put("x-ratelimit-reset", secs(v.reset_us).to_string());
    let policies: Vec<String> = applied
        .iter()
        .map(|a| format!("\"{}\";q={};w={}", a.name, a.rule.limit, a.rule.window.as_secs().max(1)))
        .collect();
    put("ratelimit-policy", policies.join(", "));
    put("ratelimit", format!("\"{}\";r={};t={}", applied[i].name, v.remaining, secs(v.reset_us)));
    if v.allowed {
        return Ok(h);
    }
    let retry = secs(v.retry_after_us).max(1);
    put("retry-after", retry.to_string());
    let mut e = ApiError::new(
        ErrorCode::RateLimitExceeded,
        format!("rate limit of {} per {} s exceeded; retry in {retry} s", rule.limit, rule.window.as_secs().max(1)),
    )
    .with_details(json!({ "limit": rule.limit, "windowSeconds": rule.window.as_secs(), "by": rule.by.as_str(), "retryAfterSeconds": retry }));
    e.headers.extend(h.iter().map(|(k, v)| (k.clone(), v.clone())));
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::PrincipalKind;
    use std::time::Duration;

    fn principal() -> Principal {
        Principal {
            kind: PrincipalKind::Session,
            tenant: "t".into(),
            user_id: Some("u1".into()),
            key_id: None,
            scopes: vec![],
            claims: None,
        }
    }

    #[tokio::test]
    async fn headers_count_down_then_429_with_retry_after() {
        let section = RateLimitSection::default();
        let limiter = RateLimiter::new(None, &section).await.unwrap();
        let rules = [RateLimitRule { limit: 2, window: Duration::from_secs(60), by: RateKey::User }];
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let h = limiter.check("t", "GET /x", &rules, None, &principal(), ip).await.unwrap();
        assert_eq!(h["x-ratelimit-limit"], "2");
        assert_eq!(h["x-ratelimit-remaining"], "1");
        assert_eq!(h["ratelimit-policy"], "\"user-0\";q=2;w=60");
        assert_eq!(h["ratelimit"], "\"user-0\";r=1;t=30");
        limiter.check("t", "GET /x", &rules, None, &principal(), ip).await.unwrap();
        let e = limiter.check("t", "GET /x", &rules, None, &principal(), ip).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::RateLimitExceeded);
        let get = |n: &str| e.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.to_str().unwrap().to_string());
        assert_eq!(get("retry-after").as_deref(), Some("30"));
        assert_eq!(get("x-ratelimit-remaining").as_deref(), Some("0"));
        // Another user has their own bucket.
        let mut other = principal();
        other.user_id = Some("u2".into());
        assert!(limiter.check("t", "GET /x", &rules, None, &other, ip).await.is_ok());
    }

    #[test]
    fn subjects_fall_back_to_the_ip() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let anon = Principal::anonymous("t".into());
        assert_eq!(subject(RateKey::User, &anon, ip), "ip:10.0.0.1");
        assert_eq!(subject(RateKey::Key, &anon, ip), "ip:10.0.0.1");
        assert_eq!(subject(RateKey::User, &principal(), ip), "user:u1");
        assert_eq!(subject(RateKey::Tenant, &anon, ip), "tenant");
    }
}
