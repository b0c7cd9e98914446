//! A tenant: its settings as stored (quotas and how its sessions are
//! verified), and the live form the server routes to (its route table over
//! the platform.toml endpoints it owns plus its deployed apps, its session
//! verifier, its database and secrets).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::rollout::Side;
use super::{Endpoint, RouteConflict, RouteTable, TenantServices};
use crate::config::{JwtAlgorithm, PlatformConfig, RateKey, RateLimitRule, SessionConfig, SessionKey, parse_duration};
use crate::identity::SessionVerifier;

/// What an operator sets for a tenant (`tenants create`, `PUT /admin/v1/tenants/{name}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSettings {
    /// Limits on what the tenant may deploy and use.
    #[serde(default)]
    pub quotas: Quotas,
    /// How the tenant's session tokens (JWTs) are verified; none: API keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSettings>,
}

/// A tenant's quotas; unset ones fall back to the platform's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quotas {
    /// Endpoints its apps may deploy, all apps together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_components: Option<u32>,
    /// Linear memory per instance, at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// Requests over all its endpoints, e.g. `{"limit": 1000, "window": "1m"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateQuota>,
    /// Request body, at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_kb: Option<u64>,
    /// Instances the tenant may run at once, all its endpoints together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// The most guest CPU time any of its endpoints may ask for per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    /// The most wall time any of its endpoints may ask for per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
    /// Its database and its stored bundles together, at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_mb: Option<u64>,
    /// Its objects in object storage (`blobs`), at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobs_mb: Option<u64>,
}

/// A request-rate ceiling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateQuota {
    /// Requests per window.
    pub limit: u64,
    /// `1s`, `1m`, `1h`…
    pub window: String,
}

/// Session verification, inline (no files): one algorithm and its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionSettings {
    /// HS256, RS256 or ES256.
    pub algorithm: JwtAlgorithm,
    /// HS256: the name of one of the tenant's secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// RS256/ES256: the public key in PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_pem: Option<String>,
    /// RS256/ES256: a JWKS document; the token's `kid` picks the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Required `iss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Required `aud`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The session cookie's name (default `session`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
}

/// The quotas in force, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedQuotas {
    /// Endpoints over all apps.
    pub max_components: usize,
    /// Bytes of linear memory per instance.
    pub memory_bytes: usize,
    /// Bytes of request body.
    pub body_bytes: usize,
    /// Instances at once.
    pub max_concurrent: usize,
    /// Guest CPU time per request, at most.
    pub cpu: Duration,
    /// Wall time per request, at most.
    pub wall: Duration,
    /// Bytes of database and stored bundles together.
    pub storage_bytes: u64,
    /// Bytes of objects (`blobs`).
    pub blob_bytes: u64,
}

/// Endpoints a tenant may deploy when its settings do not say.
pub(crate) const DEFAULT_MAX_COMPONENTS: u32 = 50;
/// CPU time an endpoint may ask for when its tenant's settings do not say: an
/// API request that needs more than this belongs in a batch job.
pub(super) const DEFAULT_CPU_MS_CEILING: u64 = 30_000;
/// Wall time an endpoint may ask for when its tenant's settings do not say: a
/// server-sent-events stream may live an hour; the tenant's concurrency share,
/// not this, is what keeps long requests from crowding others out.
pub(super) const DEFAULT_WALL_MS_CEILING: u64 = 3_600_000;
/// Storage (database plus stored bundles) when the settings do not say: room
/// for a real app's data, small enough that a few hostile tenants cannot fill
/// an ordinary disk.
pub(crate) const DEFAULT_STORAGE_MB: u64 = 1024;

impl TenantSettings {
    /// Parses stored or submitted settings.
    pub fn parse(json: &str) -> Result<Self, String> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(json).map_err(|e| format!("invalid tenant settings: {e}"))
    }

    /// Checks every field makes sense (the HS256 secret need not be set yet).
    pub fn check(&self, config: &PlatformConfig) -> Result<(), String> {
        let pool_memory_bytes = config.max_memory_bytes();
        self.rate_ceiling()?;
        if let Some(n) = self.quotas.max_concurrent {
            let most = config.sandbox.max_instances;
            if n == 0 || n > most {
                return Err(format!("quotas.maxConcurrent must be between 1 and {most} (sandbox.max_instances)"));
            }
        }
        if [self.quotas.cpu_ms, self.quotas.wall_ms, self.quotas.storage_mb, self.quotas.blobs_mb].contains(&Some(0)) {
            return Err("quotas.cpuMs, quotas.wallMs, quotas.storageMb and quotas.blobsMb must be more than 0".into());
        }
        if let Some(m) = self.quotas.memory_mb {
            let most = pool_memory_bytes >> 20;
            if m == 0 || m as usize > most {
                return Err(format!("quotas.memoryMb must be between 1 and {most} (sandbox.max_memory_mb)"));
            }
        }
        if self.quotas.body_kb == Some(0) || self.quotas.max_components == Some(0) {
            return Err("quotas must be more than 0".into());
        }
        if let Some(s) = &self.session {
            let keys = [s.secret.is_some(), s.public_key_pem.is_some(), s.jwks.is_some()];
            let ok = match s.algorithm {
                JwtAlgorithm::HS256 => keys == [true, false, false],
                _ => keys == [false, true, false] || keys == [false, false, true],
            };
            if !ok {
                return Err("session: HS256 takes `secret` (a secret's name); RS256/ES256 take exactly one of \
                            `publicKeyPem` or `jwks`"
                    .into());
            }
            if s.secret.is_none() {
                // Build it once to prove the key is usable.
                self.session_verifier(&BTreeMap::new())?;
            }
        }
        Ok(())
    }

    /// The tenant's request-rate ceiling, if any.
    pub fn rate_ceiling(&self) -> Result<Option<RateLimitRule>, String> {
        let Some(r) = &self.quotas.rate_limit else { return Ok(None) };
        let window = parse_duration(&r.window).map_err(|e| format!("quotas.rateLimit.window: {e}"))?;
        if r.limit == 0 || window.is_zero() {
            return Err("quotas.rateLimit: limit and window must be more than 0".into());
        }
        Ok(Some(RateLimitRule { limit: r.limit, window, by: RateKey::Tenant }))
    }

    /// The quotas with the platform's defaults filled in.
    pub fn resolved_quotas(&self, config: &PlatformConfig) -> ResolvedQuotas {
        let (defaults, pool_memory_bytes) = (&config.limits, config.max_memory_bytes());
        let mb = |m: u64| usize::try_from(m.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        ResolvedQuotas {
            max_components: self.quotas.max_components.unwrap_or(DEFAULT_MAX_COMPONENTS) as usize,
            memory_bytes: self.quotas.memory_mb.map(mb).unwrap_or(pool_memory_bytes).min(pool_memory_bytes),
            body_bytes: self
                .quotas
                .body_kb
                .map(|k| usize::try_from(k.saturating_mul(1024)).unwrap_or(usize::MAX))
                .unwrap_or(defaults.body_bytes.max(1 << 20)),
            max_concurrent: self
                .quotas
                .max_concurrent
                .unwrap_or(config.sandbox.max_instances_per_tenant)
                .min(config.sandbox.max_instances) as usize,
            cpu: Duration::from_millis(self.quotas.cpu_ms.unwrap_or(DEFAULT_CPU_MS_CEILING)),
            wall: Duration::from_millis(self.quotas.wall_ms.unwrap_or(DEFAULT_WALL_MS_CEILING)),
            storage_bytes: self.quotas.storage_mb.unwrap_or(DEFAULT_STORAGE_MB).saturating_mul(1 << 20),
            blob_bytes: self.quotas.blobs_mb.map(|m| m.saturating_mul(1 << 20)).unwrap_or(config.blobs.quota_bytes),
        }
    }

    /// The session verifier, with an HS256 secret taken from `secrets` (the tenant's).
    pub fn session_verifier(&self, secrets: &BTreeMap<String, String>) -> Result<Option<SessionVerifier>, String> {
        let Some(s) = &self.session else { return Ok(None) };
        let key = match (&s.secret, &s.public_key_pem, &s.jwks) {
            (Some(name), _, _) => match secrets.get(name) {
                Some(v) => SessionKey::Secret(crate::config::Secret::new(v.clone())),
                None => return Err(format!("session.secret names `{name}`, which is not set for this tenant")),
            },
            (_, Some(pem), _) => SessionKey::Pem(pem.clone()),
            (_, _, Some(jwks)) => SessionKey::Jwks(jwks.to_string()),
            _ => return Err("session: no key".into()),
        };
        let config = SessionConfig {
            algorithm: s.algorithm,
            key,
            issuer: s.issuer.clone(),
            audience: s.audience.clone(),
            cookie: s.cookie.clone().unwrap_or_else(|| "session".into()),
            leeway: Duration::from_secs(30),
        };
        SessionVerifier::new(&config).map(Some).map_err(|e| format!("session: {e}"))
    }
}

/// A tenant as served.
pub struct Tenant {
    /// Its name.
    pub name: Arc<str>,
    /// Its session verifier, if it accepts sessions.
    pub sessions: Option<Arc<SessionVerifier>>,
    /// Its request-rate ceiling, if any.
    pub rate_ceiling: Option<RateLimitRule>,
    /// Its quotas.
    pub quotas: ResolvedQuotas,
    /// Its share of the instance pool (`quotas.max_concurrent` at once).
    pub share: Arc<crate::sandbox::TenantShare>,
    /// Its database and secrets.
    pub services: TenantServices,
    /// Its routes: `base` and every app's endpoints (the active versions').
    pub routes: RouteTable,
    /// The routes callers in canary buckets get, while a rollout is under
    /// way (`rollout::View`); empty otherwise.
    pub canary_views: Vec<super::rollout::View>,
    /// Endpoints declared in platform.toml (the config tenant only).
    pub base: Vec<Arc<Endpoint>>,
    /// Deployed apps by name.
    pub apps: BTreeMap<String, Arc<LiveApp>>,
    /// The stored tenant's revision, to notice a change.
    pub settings_stamp: i64,
    /// Its OpenAPI document, rendered once per base URL (a tenant is rebuilt
    /// whole on any change, and this with it).
    pub openapi: super::openapi::Rendered,
    /// When it last took a request (`clock::monotonic_ms`): the least
    /// recently used idle tenant is the one put to sleep.
    pub last_used: std::sync::atomic::AtomicU64,
}

/// One app as served.
pub struct LiveApp {
    /// Its version.
    pub version: i64,
    /// The bundle's hash.
    pub bundle_hash: String,
    /// Its endpoints.
    pub endpoints: Vec<Arc<Endpoint>>,
    /// A gradual rollout's new version, if one is under way.
    pub canary: Option<Arc<super::rollout::Canary>>,
}

impl LiveApp {
    /// The app as its canary callers see it: the canary's version alone.
    pub fn as_canary(&self, canary: &super::rollout::Canary) -> LiveApp {
        LiveApp {
            version: canary.version,
            bundle_hash: canary.bundle_hash.clone(),
            endpoints: canary.endpoints.clone(),
            canary: None,
        }
    }

    /// Components loaded for it (the active version's and a canary's): a
    /// guest's endpoint each, and an entity once.
    pub fn endpoint_count(&self) -> usize {
        guests(&self.endpoints) + self.canary.as_ref().map_or(0, |c| guests(&c.endpoints))
    }
}

impl Tenant {
    /// The same tenant with `apps` instead of its current apps; fails if routes collide.
    pub fn with_apps(&self, apps: BTreeMap<String, Arc<LiveApp>>) -> Result<Self, RouteConflict> {
        let (routes, canary_views) = routing(&self.base, &apps)?;
        Ok(Self {
            name: self.name.clone(),
            sessions: self.sessions.clone(),
            rate_ceiling: self.rate_ceiling,
            quotas: self.quotas,
            share: self.share.clone(),
            services: self.services.clone(),
            routes,
            canary_views,
            base: self.base.clone(),
            apps,
            settings_stamp: self.settings_stamp,
            // New routes, so a new document.
            openapi: Default::default(),
            last_used: self.last_used.load(std::sync::atomic::Ordering::Relaxed).into(),
        })
    }

    /// Notes a request: it was used now. Written at most every 100 ms (the
    /// LRU needs no finer grain), so the cache line every request of the
    /// tenant reads is not bounced between cores by every request.
    pub fn touch(&self) {
        let now = crate::clock::monotonic_ms();
        if now.saturating_sub(self.last_used.load(std::sync::atomic::Ordering::Relaxed)) >= 100 {
            self.last_used.store(now, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Whether nothing runs or waits for its share of the pool: it may sleep.
    pub fn is_idle(&self) -> bool {
        self.share.in_use() == 0 && self.share.waiting() == 0
    }

    /// Endpoints deployed over all apps (canaries too), for the components quota.
    pub fn app_endpoint_count(&self) -> usize {
        self.apps.values().map(|a| a.endpoint_count()).sum()
    }

    /// The route table for a caller in `bucket` (`rollout::bucket`).
    pub fn routes_for(&self, bucket: u8) -> &RouteTable {
        self.canary_views.iter().find(|v| bucket < v.below).map_or(&self.routes, |v| &v.routes)
    }

    /// The rollout `endpoint` takes part in, if any: its app's name, the
    /// canary, and which side of it the endpoint is.
    pub fn rollout_of(&self, endpoint: &Arc<Endpoint>) -> Option<(&str, &Arc<super::rollout::Canary>, Side)> {
        self.apps.iter().find_map(|(name, app)| {
            let canary = app.canary.as_ref()?;
            let side = if canary.endpoints.iter().any(|e| Arc::ptr_eq(e, endpoint)) {
                Side::Canary
            } else if app.endpoints.iter().any(|e| Arc::ptr_eq(e, endpoint)) {
                Side::Active
            } else {
                return None;
            };
            Some((name.as_str(), canary, side))
        })
    }
}

/// How many components `endpoints` count as, for `quotas.maxComponents`:
/// each guest's endpoint, and each entity once (its list route stands for it).
pub(super) fn guests(endpoints: &[Arc<Endpoint>]) -> usize {
    endpoints
        .iter()
        .filter(|e| {
            matches!(e.handler, super::Handler::Guest(_) | super::Handler::Entity(_, crate::entities::Op::List))
        })
        .count()
}

/// The active route table and the canary views, from the platform.toml
/// endpoints and every app's; any route claimed twice names both owners.
pub(super) fn routing(
    base: &[Arc<Endpoint>],
    apps: &BTreeMap<String, Arc<LiveApp>>,
) -> Result<(RouteTable, Vec<super::rollout::View>), RouteConflict> {
    if apps.values().any(|a| a.canary.is_some()) {
        claimed_once(base, apps)?;
    }
    Ok((assemble(base, apps)?, super::rollout::views(|seen| assemble(base, seen), apps)?))
}

/// During rollouts, every route any version of an app serves belongs to that
/// app alone: then whichever versions end up serving together (a rollout
/// ended, another promoted), no two apps claim one route, and ending or
/// promoting a rollout never meets a conflict the deploy did not check.
fn claimed_once(base: &[Arc<Endpoint>], apps: &BTreeMap<String, Arc<LiveApp>>) -> Result<(), RouteConflict> {
    let mut owners: BTreeMap<String, String> =
        base.iter().map(|e| (e.route.to_string(), "platform.toml".to_string())).collect();
    for (name, app) in apps {
        let canary = app.canary.iter().flat_map(|c| c.endpoints.iter());
        let routes: std::collections::BTreeSet<String> =
            app.endpoints.iter().chain(canary).map(|e| e.route.to_string()).collect();
        let owner = format!("app `{name}`");
        for route in routes {
            if let Some(other) = owners.insert(route.clone(), owner.clone()) {
                return Err(RouteConflict::Claimed { route, owner, other });
            }
        }
    }
    Ok(())
}

/// One route table from the platform.toml endpoints and every app's;
/// a route claimed twice names both owners.
pub(super) fn assemble(
    base: &[Arc<Endpoint>],
    apps: &BTreeMap<String, Arc<LiveApp>>,
) -> Result<RouteTable, RouteConflict> {
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut all = Vec::new();
    for e in base {
        owners.insert(e.route.to_string(), "platform.toml".into());
        all.push(e.clone());
    }
    for (name, app) in apps {
        for e in &app.endpoints {
            if let Some(other) = owners.insert(e.route.to_string(), format!("app `{name}`")) {
                return Err(RouteConflict::Claimed {
                    route: e.route.to_string(),
                    owner: format!("app `{name}`"),
                    other,
                });
            }
            all.push(e.clone());
        }
    }
    RouteTable::build(all)
}
