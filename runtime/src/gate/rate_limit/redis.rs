//! The Redis backend: one Lua script judges every rule of a request atomically
//! on Redis's own clock, so any number of nodes sharing the Redis see one exact
//! count. Every call is bounded by a timeout: a dead Redis is an error in
//! milliseconds, never a hang.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::gcra::{Params, Verdict};

/// How long a rate-limit call may take before the request is decided by the fail mode.
pub(crate) const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// GCRA over KEYS with ARGV pairs (interval_us, limit); the same arithmetic as
/// `gcra::judge`. Numbers are formatted with %.0f because Lua's tostring keeps
/// only 14 significant digits and microsecond timestamps have 16. The clock is
/// Redis's own; one more ARGV after the pairs replaces it, which only the test
/// that holds this script to `gcra::judge` passes.
const SCRIPT: &str = r#"
local now
if #ARGV > 2 * #KEYS then
  now = tonumber(ARGV[#ARGV])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local out = {}
local all = 1
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  local window = interval * limit
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  if new_tat - now > window then
    all = 0
    tats[i] = tat
    out[#out + 1] = 0; out[#out + 1] = tat; out[#out + 1] = 0
    out[#out + 1] = tat - now; out[#out + 1] = new_tat - window - now
  else
    tats[i] = new_tat
    out[#out + 1] = 1; out[#out + 1] = new_tat; out[#out + 1] = math.floor((now + window - new_tat) / interval)
    out[#out + 1] = new_tat - now; out[#out + 1] = 0
  end
end
if all == 1 then
  for i = 1, #KEYS do
    local window_ms = math.ceil(tonumber(ARGV[2 * i - 1]) * tonumber(ARGV[2 * i]) / 1000)
    redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', window_ms + 1000)
  end
end
return out
"#;

/// How often a missing connection is retried: between attempts, requests are
/// decided by the fail mode at once instead of each waiting on a dead Redis.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// A connection (reconnecting in the background once established) and the script.
pub(crate) struct RedisLimiter {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    last_attempt: std::sync::Mutex<Option<std::time::Instant>>,
    script: redis::Script,
}

impl RedisLimiter {
    /// Parses `url` and tries to connect once. A Redis that is down now is not
    /// an error: requests follow the fail mode until it answers.
    pub(crate) async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL: {e}"))?;
        let limiter = Self {
            client,
            conn: tokio::sync::Mutex::new(None),
            last_attempt: std::sync::Mutex::new(None),
            script: redis::Script::new(SCRIPT),
        };
        if let Err(e) = limiter.connection().await {
            tracing::warn!(
                "Redis is not answering at startup ({e}); rate-limited requests follow on_backend_error until it does"
            );
        }
        Ok(limiter)
    }

    async fn connection(&self) -> Result<ConnectionManager, String> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        {
            let mut last = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < RECONNECT_EVERY) {
                return Err("Redis is unreachable (retrying every second)".into());
            }
            *last = Some(std::time::Instant::now());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let conn =
            tokio::time::timeout(REDIS_TIMEOUT * 2, ConnectionManager::new_with_config(self.client.clone(), config))
                .await
                .map_err(|_| "Redis did not answer in time".to_string())?
                .map_err(|e| format!("cannot connect to Redis: {e}"))?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// `PING`, within [`REDIS_TIMEOUT`].
    pub(crate) async fn ping(&self) -> Result<(), String> {
        let mut conn = self.connection().await?;
        let ping = redis::cmd("PING");
        tokio::time::timeout(REDIS_TIMEOUT, ping.query_async::<String>(&mut conn))
            .await
            .map_err(|_| format!("Redis did not answer within {} ms", REDIS_TIMEOUT.as_millis()))?
            .map_err(|e| format!("Redis error: {e}"))?;
        Ok(())
    }

    /// Judges every rule atomically on Redis's clock.
    pub(crate) async fn check(&self, checks: &[(String, Params)]) -> Result<Vec<Verdict>, String> {
        self.check_at(checks, None).await
    }

    /// `check`, at `now_us` instead of Redis's clock when given.
    async fn check_at(&self, checks: &[(String, Params)], now_us: Option<u64>) -> Result<Vec<Verdict>, String> {
        let mut invocation = self.script.prepare_invoke();
        for (key, p) in checks {
            invocation.key(key).arg(p.interval_us).arg(p.limit);
        }
        if let Some(now) = now_us {
            invocation.arg(now);
        }
        let mut conn = self.connection().await?;
        let call = invocation.invoke_async::<Vec<i64>>(&mut conn);
        let raw = tokio::time::timeout(REDIS_TIMEOUT, call)
            .await
            .map_err(|_| format!("Redis did not answer within {} ms", REDIS_TIMEOUT.as_millis()))?
            .map_err(|e| format!("Redis error: {e}"))?;
        if raw.len() != checks.len() * 5 {
            return Err(format!("unexpected rate-limit script reply of {} values", raw.len()));
        }
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(raw
            .chunks(5)
            .map(|c| Verdict {
                allowed: c[0] == 1,
                new_tat_us: n(c[1]),
                remaining: n(c[2]),
                reset_us: n(c[3]),
                retry_after_us: n(c[4]),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::rate_limit::memory::MemoryLimiter;

    /// The Redis the tests use, or `None` (with one printed line) where there is none; CI requires it.
    async fn redis() -> Option<RedisLimiter> {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        match RedisLimiter::connect(&url).await {
            Ok(limiter) => Some(limiter),
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("Redis is not reachable at {url} ({e}), and CI requires it")
            }
            Err(e) => {
                println!("skipping: Redis is not reachable at {url} ({e}); set REDIS_URL to run this test");
                None
            }
        }
    }

    #[tokio::test]
    async fn the_redis_script_and_the_in_memory_gcra_judge_every_arrival_alike() {
        let Some(redis) = redis().await else { return };
        let memory = MemoryLimiter::default();
        let run = uuid::Uuid::new_v4();
        // Two rules judged together (all or nothing), with windows far longer
        // than the test runs, so Redis's own key expiry never intervenes.
        let checks = [
            (format!("gcra-test:{run}:burst"), Params::new(5, 60_000_000)),
            (format!("gcra-test:{run}:sustained"), Params::new(12, 600_000_000)),
        ];
        // Arrivals: bursts, pauses and idle stretches, from a fixed
        // pseudo-random sequence (an LCG), at realistic 16-digit timestamps.
        let mut now: u64 = 1_764_000_000_000_000;
        let mut seed: u64 = 42;
        let (mut admitted, mut refused) = (0, 0);
        for i in 0..300 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            now += match (seed >> 33) % 4 {
                0 => 0,
                1 => (seed >> 20) % 2_000_000,
                2 => (seed >> 20) % 15_000_000,
                _ => (seed >> 20) % 90_000_000,
            };
            let expected = memory.check(&checks, now);
            let got = redis.check_at(&checks, Some(now)).await.unwrap();
            assert_eq!(got, expected, "arrival {i} at {now}");
            if expected.iter().all(|v| v.allowed) { admitted += 1 } else { refused += 1 }
        }
        // The sequence exercised both answers.
        assert!(admitted > 20 && refused > 20, "admitted {admitted}, refused {refused}");
    }
}
