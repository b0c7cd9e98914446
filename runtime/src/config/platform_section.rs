//! `[platform]`: where the node listens, where it keeps things, which
//! backends it uses, and how tenants are addressed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Overrides;
use super::policy::Problem;

/// Where the node listens when neither `listen` nor `--listen` says.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The data dir, relative to platform.toml, when `data_dir` is not set.
const DEFAULT_DATA_DIR: &str = ".gatehouse";
/// The tenant that owns platform.toml's endpoints when `tenant` is not set.
const DEFAULT_TENANT: &str = "default";
/// Host routing's domain when `domain` is not set: `{tenant}.localhost` works in browsers.
const DEFAULT_DOMAIN: &str = "localhost";
/// Path routing's prefix when `tenant_path_prefix` is not set.
const DEFAULT_TENANT_PATH_PREFIX: &str = "/t";
/// The Postgres schema of the platform's own tables when `store_schema` is not set.
const DEFAULT_STORE_SCHEMA: &str = "gatehouse";
/// Tenants kept loaded at once when `max_loaded_tenants` is not set. A loaded
/// tenant with one small app holds about 0.4 MiB (its database pool, its
/// prepared components, its route table); a thousand of them fit an ordinary
/// node, and the rest sleep at a few hundred bytes each.
pub(crate) const DEFAULT_MAX_LOADED_TENANTS: usize = 1000;
/// The most `max_loaded_tenants` may say: far past any node's memory for loaded tenants.
const MOST_LOADED_TENANTS: usize = 1_000_000;

/// `[platform]`: where to listen and where to keep things.
#[derive(Debug, Clone)]
pub struct PlatformSection {
    /// `listen`, overridden by `GATEHOUSE_LISTEN` or `--listen`.
    pub listen: SocketAddr,
    /// `data_dir`, overridden by `GATEHOUSE_DATA_DIR`.
    pub data_dir: PathBuf,
    /// `build_dir`: cargo's target dir for endpoint sources (`GATEHOUSE_BUILD_DIR`).
    pub build_dir: PathBuf,
    /// `cache_dir`: compiled components (`GATEHOUSE_CACHE_DIR`).
    pub cache_dir: PathBuf,
    /// `tenant`: the tenant that owns the endpoints declared here.
    pub tenant: String,
    /// `log_format`: `text` or `json`.
    pub log_format: LogFormat,
    /// `redis_url` (`GATEHOUSE_REDIS_URL`): shared rate-limit state; in memory when unset.
    pub redis_url: Option<String>,
    /// `database_url` (`GATEHOUSE_DATABASE_URL`): Postgres for the platform store and tenant databases; SQLite when unset.
    pub database_url: Option<String>,
    /// `domain`: tenants are served at `{tenant}.{domain}`; empty turns host routing off.
    pub domain: Option<String>,
    /// `tenant_path_prefix`: tenants are also served at `{prefix}/{tenant}/…`.
    pub tenant_path_prefix: String,
    /// `store_schema` (`GATEHOUSE_STORE_SCHEMA`): the Postgres schema of the platform's own tables.
    pub store_schema: String,
    /// `max_loaded_tenants`: tenants (besides this file's) kept loaded at
    /// once; beyond it the least recently used idle ones sleep until their
    /// next request.
    pub max_loaded_tenants: usize,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlatform {
    listen: Option<String>,
    data_dir: Option<String>,
    build_dir: Option<String>,
    cache_dir: Option<String>,
    tenant: Option<String>,
    log_format: Option<LogFormat>,
    redis_url: Option<String>,
    database_url: Option<String>,
    domain: Option<String>,
    tenant_path_prefix: Option<String>,
    store_schema: Option<String>,
    max_loaded_tenants: Option<usize>,
}

/// `[platform]` with the overrides applied, paths made absolute against
/// `base` (platform.toml's folder) and every value checked.
pub(super) fn resolve(raw: RawPlatform, overrides: &Overrides, base: &Path) -> Result<PlatformSection, Problem> {
    let problem = |key: &str, text: String| (format!("platform.{key}"), text);
    let listen_text = overrides.listen.clone().or(raw.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        problem("listen", format!("`{listen_text}` is not an address: write IP:PORT, like \"127.0.0.1:8080\""))
    })?;
    let data_dir =
        overrides.data_dir.clone().unwrap_or_else(|| base.join(raw.data_dir.as_deref().unwrap_or(DEFAULT_DATA_DIR)));
    let build_dir = overrides
        .build_dir
        .clone()
        .or_else(|| raw.build_dir.as_deref().map(|d| base.join(d)))
        .unwrap_or_else(|| data_dir.join("build"));
    let cache_dir = overrides
        .cache_dir
        .clone()
        .or_else(|| raw.cache_dir.as_deref().map(|d| base.join(d)))
        .unwrap_or_else(|| data_dir.join("cache"));
    let tenant = raw.tenant.unwrap_or_else(|| DEFAULT_TENANT.to_string());
    if tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(problem("tenant", format!("`{tenant}` must be letters, digits, - and _")));
    }
    let platform = PlatformSection {
        listen,
        data_dir,
        build_dir,
        cache_dir,
        tenant,
        log_format: raw.log_format.unwrap_or(LogFormat::Text),
        redis_url: overrides.redis_url.clone().or(raw.redis_url).filter(|u| !u.is_empty()),
        database_url: overrides.database_url.clone().or(raw.database_url).filter(|u| !u.is_empty()),
        domain: match raw.domain {
            None => Some(DEFAULT_DOMAIN.to_string()),
            Some(d) if d.is_empty() => None,
            Some(d) => Some(d.trim_start_matches('.').to_ascii_lowercase()),
        },
        tenant_path_prefix: raw.tenant_path_prefix.unwrap_or_else(|| DEFAULT_TENANT_PATH_PREFIX.to_string()),
        store_schema: overrides
            .store_schema
            .clone()
            .or(raw.store_schema)
            .unwrap_or_else(|| DEFAULT_STORE_SCHEMA.to_string()),
        max_loaded_tenants: raw.max_loaded_tenants.unwrap_or(DEFAULT_MAX_LOADED_TENANTS),
    };
    if !(1..=MOST_LOADED_TENANTS).contains(&platform.max_loaded_tenants) {
        return Err(problem(
            "max_loaded_tenants",
            format!("must be between 1 and {MOST_LOADED_TENANTS}, not {}", platform.max_loaded_tenants),
        ));
    }
    let s = &platform.store_schema;
    if s.is_empty()
        || s.len() > 48
        || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        || s.starts_with("t_")
        || s.starts_with("pg_")
    {
        return Err(problem(
            "store_schema",
            format!("`{s}` must be lower-case letters, digits and _ (and not start with t_ or pg_)"),
        ));
    }
    if !platform.tenant_path_prefix.starts_with('/')
        || platform.tenant_path_prefix.ends_with('/')
        || platform.tenant_path_prefix.contains(['{', '}', '*'])
    {
        return Err(problem(
            "tenant_path_prefix",
            format!("`{}` must start with / and not end with one, like \"/t\"", platform.tenant_path_prefix),
        ));
    }
    if let Some(url) = &platform.database_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        return Err(problem(
            "database_url",
            "must be a postgres:// URL (leave it unset for SQLite files per tenant)".into(),
        ));
    }
    if let Some(url) = &platform.redis_url
        && !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://"))
    {
        return Err(problem("redis_url", format!("`{url}` is not a Redis URL: write redis://host:6379")));
    }
    Ok(platform)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_raw(raw: RawPlatform) -> Result<PlatformSection, Problem> {
        resolve(raw, &Overrides::default(), Path::new("/srv"))
    }

    #[test]
    fn urls_names_and_prefixes_are_checked_by_key() {
        let bad = |raw: RawPlatform| resolve_raw(raw).unwrap_err().0;
        assert_eq!(bad(RawPlatform { listen: Some("nowhere".into()), ..Default::default() }), "platform.listen");
        assert_eq!(bad(RawPlatform { tenant: Some("a b".into()), ..Default::default() }), "platform.tenant");
        assert_eq!(
            bad(RawPlatform { store_schema: Some("pg_x".into()), ..Default::default() }),
            "platform.store_schema"
        );
        assert_eq!(
            bad(RawPlatform { tenant_path_prefix: Some("t/".into()), ..Default::default() }),
            "platform.tenant_path_prefix"
        );
        assert_eq!(
            bad(RawPlatform { database_url: Some("mysql://x".into()), ..Default::default() }),
            "platform.database_url"
        );
        assert_eq!(bad(RawPlatform { redis_url: Some("http://x".into()), ..Default::default() }), "platform.redis_url");
        assert_eq!(
            bad(RawPlatform { max_loaded_tenants: Some(0), ..Default::default() }),
            "platform.max_loaded_tenants"
        );
        let p = resolve_raw(RawPlatform { domain: Some(".Example.COM".into()), ..Default::default() }).unwrap();
        assert_eq!(p.domain.as_deref(), Some("example.com"));
        assert_eq!(
            resolve_raw(RawPlatform { domain: Some(String::new()), ..Default::default() }).unwrap().domain,
            None
        );
        assert_eq!(p.data_dir, Path::new("/srv/.gatehouse"));
    }
}
