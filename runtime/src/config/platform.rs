use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::admin::RawAdmin;
use super::database::{DatabaseSection, RawDatabase};
use super::deploy::{DeploySection, RawDeploy};
use super::files::{self, NamedPaths};
use super::outbound::RawOutbound;
use super::platform_section::{PlatformSection, RawPlatform};
use super::policy::{self, RawAuthSection};
use super::rate_limit::RawRateLimitSection;
use super::sandbox::{RawSandbox, SandboxSection};
use super::{
    AdminConfig, ConfigError, EndpointPolicy, Limits, Overrides, RateLimitSection, RoutePattern, SessionConfig,
};

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
    /// `[metrics]`: where Prometheus scrapes.
    pub metrics: super::MetricsSection,
    /// `[telemetry]`: where traces go.
    pub telemetry: super::TelemetrySection,
    /// `[blobs]`: the tenants' object storage.
    pub blobs: super::BlobsSection,
    /// The files and folders the keys above name, for [`PlatformConfig::check_paths`].
    pub named_paths: NamedPaths,
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
    /// `reuse`: serve several requests from one instance (off when `None`).
    pub reuse: Option<super::Reuse>,
}

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
    #[serde(default)]
    metrics: super::metrics::RawMetrics,
    #[serde(default)]
    telemetry: super::telemetry::RawTelemetry,
    #[serde(default)]
    blobs: super::blobs::RawBlobs,
    /// Named secrets; a name not here is looked up in the environment.
    #[serde(default)]
    secrets: BTreeMap<String, String>,
}

impl PlatformConfig {
    /// Reads `path`, parses it, then checks the files and folders it names:
    /// the only step that touches the filesystem. Every problem names the file
    /// and the key.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let path = files::absolute(path);
        let config = Self::parse(&path, &files::read(&path)?, overrides)?;
        config.check_paths()?;
        Ok(config)
    }

    /// Parses `text` as if read from `path` (relative paths resolve against its
    /// folder, which should be absolute): each section is resolved by its own
    /// module, and a problem names the file and the dotted key. Pure: no file
    /// is looked at, so the paths it names are checked by [`Self::check_paths`].
    pub fn parse(path: &Path, text: &str, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
        let mut named_paths = NamedPaths::default();
        let invalid =
            |(key, problem): (String, String)| ConfigError::Invalid { path: path.to_path_buf(), key, problem };

        let platform = super::platform_section::resolve(raw.platform, overrides, &base).map_err(invalid)?;
        let secrets = policy::SecretSource { table: &raw.secrets, env: Some(&overrides.vars) };
        let session = match &raw.auth.session {
            Some(s) => Some(super::session::session(s, &base, &secrets, &mut named_paths).map_err(invalid)?),
            None => None,
        };
        let admin = super::admin::admin(&raw.admin, &overrides.vars).map_err(invalid)?;
        let rate_limit = super::rate_limit::rate_limit_section(&raw.rate_limit).map_err(invalid)?;
        let outbound = super::outbound::outbound(&raw.outbound).map_err(invalid)?;
        let database = super::database::resolve(&raw.database, &base, &mut named_paths).map_err(invalid)?;
        let limits = apply_limits(super::limits::defaults(), raw.limits, "limits").map_err(invalid)?;
        let sandbox = super::sandbox::resolve(&raw.sandbox).map_err(invalid)?;
        let deploy = super::deploy::resolve(&raw.deploy).map_err(invalid)?;
        let server = super::server::resolve(&raw.server).map_err(invalid)?;
        let metrics = super::metrics::resolve(&raw.metrics).map_err(invalid)?;
        let otlp_env = overrides.vars.get("GATEHOUSE_OTLP_ENDPOINT").map(String::as_str);
        let telemetry = super::telemetry::resolve(&raw.telemetry, otlp_env).map_err(invalid)?;
        let blobs = super::blobs::resolve(&raw.blobs, &secrets).map_err(invalid)?;
        let endpoints = parse_endpoints(path, raw.endpoint, &base, limits, &secrets, &mut named_paths)?;
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
            metrics,
            telemetry,
            blobs,
            named_paths,
        })
    }

    /// Checks that each file and folder the config names is there (and is a
    /// file or a folder as its key needs); the first that is not is the error.
    pub fn check_paths(&self) -> Result<(), ConfigError> {
        self.named_paths.check(&self.path)
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
use super::endpoints::{RawEndpoint, RawLimits, apply_limits};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::limits::DEFAULT_CPU_MS;
    use std::time::Duration;

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

    #[test]
    fn parsing_looks_at_no_file_and_check_paths_names_the_first_missing_one() {
        let c = parse(
            r#"
            [database]
            migrations = "no-such-migrations"
            [[endpoint]]
            route = "POST /a"
            component = "endpoints/a"
            schema = "no-such-schema.json"
            "#,
        )
        .unwrap();
        assert_eq!(c.database.migrations.as_deref(), Some(Path::new("/srv/no-such-migrations")));
        assert_eq!(c.endpoints[0].policy.schema.as_deref(), Some(Path::new("/srv/no-such-schema.json")));
        let e = c.check_paths().unwrap_err().to_string();
        assert_eq!(e, "/srv/platform.toml: `database.migrations` names no-such-migrations, which is not a folder");
    }
}
