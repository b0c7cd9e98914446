use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::outbound::RawOutbound;
use super::policy::{self, RawAdmin, RawAuthSection, RawRateLimitSection};
use super::{AdminConfig, ConfigError, EndpointPolicy, RateLimitSection, RoutePattern, SessionConfig};

/// The whole of `platform.toml`, resolved: paths are absolute, defaults filled in.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// The file this came from (for error messages).
    pub path: PathBuf,
    /// `[platform]`.
    pub platform: PlatformSection,
    /// `[limits]`: the defaults every endpoint starts from.
    pub limits: Limits,
    /// `[sandbox]`.
    pub sandbox: SandboxSection,
    /// `[[endpoint]]`, in file order.
    pub endpoints: Vec<EndpointConfig>,
    /// `[auth.session]`: how session tokens are verified, if sessions are accepted.
    pub session: Option<SessionConfig>,
    /// `[admin]`.
    pub admin: AdminConfig,
    /// `[rate_limit]`.
    pub rate_limit: RateLimitSection,
    /// `[outbound]`: limits and private-range exceptions for outbound HTTP.
    pub outbound: super::OutboundSettings,
    /// `[database]`: the tenant database's migrations and limits.
    pub database: DatabaseSection,
    /// `[deploy]`: app uploads.
    pub deploy: DeploySection,
    /// `[server]`: connection timeouts and limits of the public listener.
    pub server: super::ServerSection,
}

/// `[deploy]`: how app uploads are bounded and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeploySection {
    /// The largest bundle accepted, in bytes.
    pub max_bundle_bytes: usize,
    /// Versions kept per app for rollback (the active one is always kept).
    pub keep_versions: usize,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDeploy {
    max_bundle_mb: Option<u64>,
    keep_versions: Option<usize>,
}

/// `[database]`.
#[derive(Debug, Clone, Default)]
pub struct DatabaseSection {
    /// A folder of ordered `*.sql` files applied once to each tenant database.
    pub migrations: Option<PathBuf>,
    /// Per-statement limits.
    pub limits: super::DbLimits,
    /// `isolation`: on Postgres, a schema or a database per tenant.
    pub isolation: super::PgIsolation,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    migrations: Option<String>,
    statement_timeout: Option<String>,
    migration_timeout: Option<String>,
    isolation: Option<String>,
    max_rows: Option<usize>,
    max_result_kb: Option<usize>,
}

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

/// Per-endpoint budgets (`[limits]` gives defaults, `limits = {...}` overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Guest CPU time per request.
    pub cpu: Duration,
    /// Wall-clock time per request, guest and host together.
    pub wall: Duration,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Request body, in bytes.
    pub body_bytes: usize,
    /// Once streaming, the longest the guest may go without writing.
    pub stream_idle: Duration,
}

/// `[sandbox]`: the instance pool shared by every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxSection {
    /// How many instances may exist at once; requests beyond wait for a slot.
    pub max_instances: u32,
    /// How long a request may wait for a free slot before a 503.
    pub queue_timeout: Duration,
    /// The largest component file accepted, in bytes.
    pub max_component_bytes: usize,
    /// The most linear memory any instance may have (pool slots are this big).
    pub max_memory_bytes: usize,
    /// The longest compiling one uploaded component may take.
    pub compile_timeout: Duration,
    /// Instances one tenant may hold at once unless its `quotas.maxConcurrent` says otherwise.
    pub max_instances_per_tenant: u32,
}

/// One `[[endpoint]]`.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Position in the file, for messages (`endpoint[2]`).
    pub index: usize,
    /// `route`.
    pub route: RoutePattern,
    /// `component`: a folder holding a Cargo.toml, or a `.wasm` file; absolute.
    pub component: PathBuf,
    /// `component` as written, for messages.
    pub component_as_written: String,
    /// Effective limits.
    pub limits: Limits,
    /// `variables`: values the guest reads through `config.get`.
    pub variables: BTreeMap<String, String>,
    /// What the gate enforces before the guest runs.
    pub policy: EndpointPolicy,
}

/// Default `[limits]`: fit for a JSON API handler.
pub(crate) const DEFAULT_CPU_MS: u64 = 50;
/// Default wall time: long enough for an outbound call.
pub(crate) const DEFAULT_WALL_MS: u64 = 30_000;
/// Default memory per instance.
pub(crate) const DEFAULT_MEMORY_MB: u64 = 64;
/// Default idle budget of a stream: long enough for a slow producer, short
/// enough that a stuck one does not hold a slot.
pub(crate) const DEFAULT_STREAM_IDLE_MS: u64 = 30_000;
/// Default request body limit: 1 MiB, like most API gateways.
pub(crate) const DEFAULT_BODY_KB: u64 = 1024;
/// The pool's memory slots are sized for this, so no endpoint may ask for more.
pub(crate) const MAX_MEMORY_MB: u64 = 4096;
/// Default pool size: enough concurrency for 2 cores waiting on I/O.
pub(crate) const DEFAULT_MAX_INSTANCES: u32 = 256;
/// Default pool slot size: room for apps deployed later to ask for more than the default.
pub(crate) const DEFAULT_POOL_MEMORY_MB: u64 = 128;
/// Default component size limit.
pub(crate) const DEFAULT_MAX_COMPONENT_MB: u64 = 50;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    platform: RawPlatform,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    sandbox: RawSandbox,
    #[serde(default)]
    endpoint: Vec<RawEndpoint>,
    #[serde(default)]
    auth: RawAuthSection,
    #[serde(default)]
    admin: RawAdmin,
    #[serde(default)]
    rate_limit: RawRateLimitSection,
    #[serde(default)]
    outbound: RawOutbound,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    deploy: RawDeploy,
    #[serde(default)]
    server: super::server::RawServer,
    /// Named secrets; a name not here is looked up in the environment.
    #[serde(default)]
    secrets: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPlatform {
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
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSandbox {
    max_instances: Option<u32>,
    queue_timeout: Option<String>,
    max_component_mb: Option<u64>,
    max_memory_mb: Option<u64>,
    compile_timeout: Option<String>,
    max_instances_per_tenant: Option<u32>,
}

/// What loading takes from the process environment, read once (by the CLI,
/// through [`Overrides::from_env`]) and passed in, so parsing itself never
/// reads the environment. Its `Debug` names the variables, never their values.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `GATEHOUSE_LISTEN` or `--listen`.
    pub listen: Option<String>,
    /// `GATEHOUSE_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `GATEHOUSE_BUILD_DIR`.
    pub build_dir: Option<PathBuf>,
    /// `GATEHOUSE_CACHE_DIR`.
    pub cache_dir: Option<PathBuf>,
    /// `GATEHOUSE_REDIS_URL`.
    pub redis_url: Option<String>,
    /// `GATEHOUSE_DATABASE_URL`.
    pub database_url: Option<String>,
    /// `GATEHOUSE_STORE_SCHEMA`.
    pub store_schema: Option<String>,
    /// Every variable (UTF-8 ones), for platform.toml secrets not set in
    /// `[secrets]`, `admin.token_env` and `GATEHOUSE_ADMIN_TOKEN`.
    pub vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Overrides {
    /// Reads the `GATEHOUSE_*` variables and captures the rest.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Self {
            listen: var("GATEHOUSE_LISTEN").map(|v| v.to_string_lossy().into_owned()),
            data_dir: var("GATEHOUSE_DATA_DIR").map(PathBuf::from),
            build_dir: var("GATEHOUSE_BUILD_DIR").map(PathBuf::from),
            cache_dir: var("GATEHOUSE_CACHE_DIR").map(PathBuf::from),
            redis_url: var("GATEHOUSE_REDIS_URL").map(|v| v.to_string_lossy().into_owned()),
            database_url: var("GATEHOUSE_DATABASE_URL").map(|v| v.to_string_lossy().into_owned()),
            store_schema: var("GATEHOUSE_STORE_SCHEMA").map(|v| v.to_string_lossy().into_owned()),
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }
}

impl PlatformConfig {
    /// Reads and checks `path`; every problem names the file and key.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::parse(path, &text, overrides)
    }

    /// Parses `text` as if read from `path` (relative paths resolve against its folder).
    pub fn parse(path: &Path, text: &str, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
        let base = std::path::absolute(&base).unwrap_or(base);
        let invalid = |key: String, problem: String| ConfigError::Invalid { path: path.to_path_buf(), key, problem };

        let listen_text =
            overrides.listen.clone().or(raw.platform.listen).unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            invalid(
                "platform.listen".into(),
                format!("`{listen_text}` is not an address: write IP:PORT, like \"127.0.0.1:8080\""),
            )
        })?;
        let data_dir = overrides
            .data_dir
            .clone()
            .unwrap_or_else(|| base.join(raw.platform.data_dir.as_deref().unwrap_or(".gatehouse")));
        let build_dir = overrides
            .build_dir
            .clone()
            .or_else(|| raw.platform.build_dir.as_deref().map(|d| base.join(d)))
            .unwrap_or_else(|| data_dir.join("build"));
        let cache_dir = overrides
            .cache_dir
            .clone()
            .or_else(|| raw.platform.cache_dir.as_deref().map(|d| base.join(d)))
            .unwrap_or_else(|| data_dir.join("cache"));
        let tenant = raw.platform.tenant.unwrap_or_else(|| "default".to_string());
        if tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(invalid("platform.tenant".into(), format!("`{tenant}` must be letters, digits, - and _")));
        }
        let platform = PlatformSection {
            listen,
            data_dir,
            build_dir,
            cache_dir,
            tenant,
            log_format: raw.platform.log_format.unwrap_or(LogFormat::Text),
            redis_url: overrides.redis_url.clone().or(raw.platform.redis_url).filter(|u| !u.is_empty()),
            database_url: overrides.database_url.clone().or(raw.platform.database_url).filter(|u| !u.is_empty()),
            domain: match raw.platform.domain {
                None => Some("localhost".to_string()),
                Some(d) if d.is_empty() => None,
                Some(d) => Some(d.trim_start_matches('.').to_ascii_lowercase()),
            },
            tenant_path_prefix: raw.platform.tenant_path_prefix.unwrap_or_else(|| "/t".to_string()),
            store_schema: overrides
                .store_schema
                .clone()
                .or(raw.platform.store_schema)
                .unwrap_or_else(|| "gatehouse".to_string()),
        };
        let s = &platform.store_schema;
        if s.is_empty()
            || s.len() > 48
            || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || s.starts_with("t_")
            || s.starts_with("pg_")
        {
            return Err(invalid(
                "platform.store_schema".into(),
                format!("`{s}` must be lower-case letters, digits and _ (and not start with t_ or pg_)"),
            ));
        }
        if !platform.tenant_path_prefix.starts_with('/')
            || platform.tenant_path_prefix.ends_with('/')
            || platform.tenant_path_prefix.contains(['{', '}', '*'])
        {
            return Err(invalid(
                "platform.tenant_path_prefix".into(),
                format!("`{}` must start with / and not end with one, like \"/t\"", platform.tenant_path_prefix),
            ));
        }
        if let Some(url) = &platform.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "platform.database_url".into(),
                "must be a postgres:// URL (leave it unset for SQLite files per tenant)".into(),
            ));
        }
        if let Some(url) = &platform.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://"))
        {
            return Err(invalid(
                "platform.redis_url".into(),
                format!("`{url}` is not a Redis URL: write redis://host:6379"),
            ));
        }
        let session = match &raw.auth.session {
            Some(s) => Some(
                super::session::session(
                    s,
                    &base,
                    &policy::SecretSource { table: &raw.secrets, env: Some(&overrides.vars) },
                )
                .map_err(|(k, p)| invalid(k, p))?,
            ),
            None => None,
        };
        let admin = policy::admin(&raw.admin, &overrides.vars).map_err(|(k, p)| invalid(k, p))?;
        let rate_limit = policy::rate_limit_section(&raw.rate_limit).map_err(|(k, p)| invalid(k, p))?;
        let outbound = super::outbound::outbound(&raw.outbound).map_err(|(k, p)| invalid(k, p))?;
        let mut database = DatabaseSection::default();
        if let Some(m) = &raw.database.migrations {
            let dir = base.join(m);
            if !dir.is_dir() {
                return Err(invalid("database.migrations".into(), format!("names {m}, which is not a folder")));
            }
            database.migrations = Some(dir);
        }
        if let Some(t) = &raw.database.statement_timeout {
            database.limits.statement_timeout =
                super::parse_duration(t).map_err(|p| invalid("database.statement_timeout".into(), p))?;
        }
        if let Some(t) = &raw.database.migration_timeout {
            database.limits.migration_timeout =
                super::parse_duration(t).map_err(|p| invalid("database.migration_timeout".into(), p))?;
        }
        database.isolation = match raw.database.isolation.as_deref() {
            None | Some("schema") => super::PgIsolation::Schema,
            Some("database") => super::PgIsolation::Database,
            Some(other) => {
                return Err(invalid(
                    "database.isolation".into(),
                    format!(
                        "`{other}` is neither \"schema\" (one schema per tenant) nor \"database\" (one database per tenant)"
                    ),
                ));
            }
        };
        if let Some(n) = raw.database.max_rows {
            database.limits.max_rows = n;
        }
        if let Some(kb) = raw.database.max_result_kb {
            database.limits.max_result_bytes = kb.saturating_mul(1024);
        }

        let defaults = Limits {
            cpu: Duration::from_millis(DEFAULT_CPU_MS),
            wall: Duration::from_millis(DEFAULT_WALL_MS),
            memory_bytes: mb(DEFAULT_MEMORY_MB),
            body_bytes: kb(DEFAULT_BODY_KB),
            stream_idle: Duration::from_millis(DEFAULT_STREAM_IDLE_MS),
        };
        let limits = apply_limits(defaults, raw.limits, "limits").map_err(|(k, p)| invalid(k, p))?;

        let queue_timeout = match raw.sandbox.queue_timeout.as_deref() {
            Some(t) => super::parse_duration(t).map_err(|p| invalid("sandbox.queue_timeout".into(), p))?,
            None => Duration::from_secs(5),
        };
        let compile_timeout = match raw.sandbox.compile_timeout.as_deref() {
            Some(t) => super::parse_duration(t).map_err(|p| invalid("sandbox.compile_timeout".into(), p))?,
            None => Duration::from_secs(60),
        };
        let max_memory_mb = raw.sandbox.max_memory_mb.unwrap_or(DEFAULT_POOL_MEMORY_MB);
        if max_memory_mb == 0 || max_memory_mb > MAX_MEMORY_MB {
            return Err(invalid("sandbox.max_memory_mb".into(), format!("must be between 1 and {MAX_MEMORY_MB}")));
        }
        let max_instances = raw.sandbox.max_instances.unwrap_or(DEFAULT_MAX_INSTANCES);
        let sandbox = SandboxSection {
            max_instances,
            // Half the pool by default: one tenant flooding the node leaves the
            // other half to everyone else.
            max_instances_per_tenant: raw.sandbox.max_instances_per_tenant.unwrap_or((max_instances / 2).max(1)),
            queue_timeout,
            max_component_bytes: mb(raw.sandbox.max_component_mb.unwrap_or(DEFAULT_MAX_COMPONENT_MB)),
            max_memory_bytes: mb(max_memory_mb),
            compile_timeout,
        };
        let deploy = DeploySection {
            max_bundle_bytes: mb(raw.deploy.max_bundle_mb.unwrap_or(100)),
            keep_versions: raw.deploy.keep_versions.unwrap_or(10).max(1),
        };
        if sandbox.max_instances == 0 || sandbox.max_instances > 10_000 {
            return Err(invalid("sandbox.max_instances".into(), "must be between 1 and 10000".into()));
        }
        if sandbox.max_instances_per_tenant == 0 || sandbox.max_instances_per_tenant > sandbox.max_instances {
            return Err(invalid(
                "sandbox.max_instances_per_tenant".into(),
                format!("must be between 1 and sandbox.max_instances ({})", sandbox.max_instances),
            ));
        }

        let server = super::server::resolve(&raw.server).map_err(|(k, p)| invalid(k, p))?;
        let secrets = policy::SecretSource { table: &raw.secrets, env: Some(&overrides.vars) };
        let endpoints = parse_endpoints(path, raw.endpoint, &base, limits, &secrets)?;
        Ok(Self {
            path: path.to_path_buf(),
            platform,
            limits,
            sandbox,
            endpoints,
            session,
            admin,
            rate_limit,
            outbound,
            database,
            deploy,
            server,
        })
    }

    /// The largest memory any endpoint may use: the pool's slots are sized for it.
    pub fn max_memory_bytes(&self) -> usize {
        self.endpoints
            .iter()
            .map(|e| e.limits.memory_bytes)
            .chain([self.limits.memory_bytes, self.sandbox.max_memory_bytes])
            .max()
            .unwrap_or(0)
    }
}

pub(super) use super::endpoints::parse_endpoints;
use super::endpoints::{RawEndpoint, RawLimits, apply_limits, kb, mb};

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PlatformConfig, ConfigError> {
        PlatformConfig::parse(Path::new("/srv/platform.toml"), text, &Overrides::default())
    }

    #[test]
    fn empty_file_runs_on_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.platform.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.platform.data_dir, Path::new("/srv/.gatehouse"));
        assert_eq!(c.platform.cache_dir, Path::new("/srv/.gatehouse/cache"));
        assert_eq!(c.limits.cpu, Duration::from_millis(DEFAULT_CPU_MS));
        assert!(c.endpoints.is_empty());
    }

    #[test]
    fn endpoint_limits_override_defaults() {
        let c = parse(
            r#"
            [limits]
            cpu_ms = 20
            [[endpoint]]
            route = "GET /a/{id}"
            component = "endpoints/a"
            limits = { memory_mb = 8 }
            variables = { GREETING = "hi" }
            "#,
        )
        .unwrap();
        let e = &c.endpoints[0];
        assert_eq!(e.limits.cpu, Duration::from_millis(20));
        assert_eq!(e.limits.memory_bytes, 8 << 20);
        assert_eq!(e.component, Path::new("/srv/endpoints/a"));
        assert_eq!(e.variables["GREETING"], "hi");
    }

    #[test]
    fn overrides_win() {
        let o = Overrides { listen: Some("127.0.0.1:0".into()), data_dir: Some("/tmp/d".into()), ..Default::default() };
        let c = PlatformConfig::parse(Path::new("p.toml"), "[platform]\nlisten = \"0.0.0.0:1\"", &o).unwrap();
        assert_eq!(c.platform.listen.port(), 0);
        assert_eq!(c.platform.build_dir, Path::new("/tmp/d/build"));
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let e = parse("[platform]\nlisten = \"nope\"").unwrap_err().to_string();
        assert!(e.contains("platform.listen") && e.contains("IP:PORT"), "{e}");
        let e = parse("[[endpoint]]\nroute = \"GET /a\"\ncomponent = \"x\"\nlimits = { cpu_ms = 0 }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("endpoint[0].limits.cpu_ms"), "{e}");
        let e = parse(
            "[[endpoint]]\nroute = \"GET /a\"\ncomponent = \"x\"\n[[endpoint]]\nroute = \"GET /a\"\ncomponent = \"y\"",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("endpoint[1].route") && e.contains("endpoint[0]"), "{e}");
        let e = parse("[platform]\nlisen = \"x\"").unwrap_err().to_string();
        assert!(e.contains("lisen") && e.contains("/srv/platform.toml"), "{e}");
        let e = parse("[[endpoint]]\nroute = \"GET /a\"").unwrap_err().to_string();
        assert!(e.contains("component"), "{e}");
        let e = parse("[limits]\ncpu_ms = 100\nwall_ms = 50").unwrap_err().to_string();
        assert!(e.contains("wall"), "{e}");
    }
}
