//! `[[endpoint]]` entries (in platform.toml or an app manifest) resolved into
//! `EndpointConfig`s: paths against the file's folder, limits against the
//! defaults they override.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::cors::RawCors;
use super::files::NamedPaths;
use super::limits::Limits;
use super::openapi::RawOpenApi;
use super::platform::EndpointConfig;
use super::policy::{self, RawPolicy};
use super::rate_limit::RawRules;
use super::reuse::{self, RawReuse};
use super::sandbox::MAX_MEMORY_MB;
use super::signature::RawSignature;
use super::upload::RawUpload;
use super::{AuthMode, ConfigError, RoutePattern};

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    cpu_ms: Option<u64>,
    wall_ms: Option<u64>,
    memory_mb: Option<u64>,
    body_kb: Option<u64>,
    stream_idle_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEndpoint {
    route: String,
    component: String,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    auth: AuthMode,
    #[serde(default)]
    scopes: Vec<String>,
    rate_limit: Option<RawRules>,
    schema: Option<String>,
    query_schema: Option<String>,
    signature: Option<RawSignature>,
    cors: Option<RawCors>,
    upload: Option<RawUpload>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    forward_credentials: bool,
    openapi: Option<RawOpenApi>,
    reuse: Option<RawReuse>,
}

impl RawEndpoint {
    /// The files this endpoint names, by key, as written.
    pub(super) fn files(&self) -> [(&'static str, Option<&str>); 4] {
        [
            ("component", Some(self.component.as_str())),
            ("schema", self.schema.as_deref()),
            ("query_schema", self.query_schema.as_deref()),
            ("openapi.response_schema", self.openapi.as_ref().and_then(|o| o.response_schema.as_deref())),
        ]
    }
}

/// `[[endpoint]]` entries, resolved against `base` (the folder of the file
/// they came from) and `limits` (the defaults they override).
pub(super) fn parse_endpoints(
    path: &Path,
    raw: Vec<RawEndpoint>,
    base: &Path,
    limits: Limits,
    secrets: &policy::SecretSource<'_>,
    paths: &mut NamedPaths,
) -> Result<Vec<EndpointConfig>, ConfigError> {
    let invalid = |key: String, problem: String| ConfigError::Invalid { path: path.to_path_buf(), key, problem };
    let mut endpoints = Vec::with_capacity(raw.len());
    for (index, e) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("endpoint[{index}].{k}");
        let route = RoutePattern::parse(&e.route).map_err(|p| invalid(key("route"), p))?;
        if let Some(other) = endpoints.iter().find(|o: &&EndpointConfig| o.route == route) {
            return Err(invalid(
                key("route"),
                format!("`{route}` is already routed to endpoint[{}]; each route belongs to one endpoint", other.index),
            ));
        }
        if e.component.trim().is_empty() {
            return Err(invalid(key("component"), "is empty: name a folder with a Cargo.toml or a .wasm file".into()));
        }
        let limits =
            apply_limits(limits, e.limits, &format!("endpoint[{index}].limits")).map_err(|(k, p)| invalid(k, p))?;
        for name in e.variables.keys() {
            if name.is_empty() {
                return Err(invalid(key("variables"), "has an empty name".into()));
            }
        }
        let reuse = match e.reuse {
            Some(raw) => Some(reuse::parse(raw, &key("reuse")).map_err(|(k, p)| invalid(k, p))?),
            None => None,
        };
        let raw_policy = RawPolicy {
            auth: e.auth,
            scopes: e.scopes,
            rate_limit: e.rate_limit,
            schema: e.schema,
            query_schema: e.query_schema,
            signature: e.signature,
            cors: e.cors,
            upload: e.upload,
            allowed_hosts: e.allowed_hosts,
            secrets: e.secrets,
            forward_credentials: e.forward_credentials,
            openapi: e.openapi,
        };
        let policy = policy::endpoint_policy(&raw_policy, &format!("endpoint[{index}]"), base, secrets, paths)
            .map_err(|(k, p)| invalid(k, p))?;
        if let Some(both) = policy.secrets.keys().find(|n| e.variables.contains_key(*n)) {
            return Err(invalid(key("secrets"), format!("`{both}` is also a variable; a name is one or the other")));
        }
        endpoints.push(EndpointConfig {
            index,
            route,
            component: base.join(&e.component),
            component_as_written: e.component,
            limits,
            variables: e.variables,
            policy,
            reuse,
        });
    }
    Ok(endpoints)
}

pub(super) fn mb(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

pub(super) fn kb(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1024)).unwrap_or(usize::MAX)
}

pub(super) fn apply_limits(base: Limits, raw: RawLimits, at: &str) -> Result<Limits, (String, String)> {
    let positive = |v: Option<u64>, name: &str| -> Result<Option<u64>, (String, String)> {
        match v {
            Some(0) => Err((format!("{at}.{name}"), "must be more than 0".into())),
            v => Ok(v),
        }
    };
    let mut limits = base;
    if let Some(ms) = positive(raw.cpu_ms, "cpu_ms")? {
        limits.cpu = Duration::from_millis(ms);
    }
    if let Some(ms) = positive(raw.wall_ms, "wall_ms")? {
        limits.wall = Duration::from_millis(ms);
    }
    if let Some(m) = positive(raw.memory_mb, "memory_mb")? {
        if m > MAX_MEMORY_MB {
            return Err((
                format!("{at}.memory_mb"),
                format!("is {m}; the most an instance may have is {MAX_MEMORY_MB}"),
            ));
        }
        limits.memory_bytes = mb(m);
    }
    if let Some(k) = positive(raw.body_kb, "body_kb")? {
        limits.body_bytes = kb(k);
    }
    if let Some(ms) = positive(raw.stream_idle_ms, "stream_idle_ms")? {
        limits.stream_idle = Duration::from_millis(ms);
    }
    if limits.cpu > limits.wall {
        return Err((
            format!("{at}.cpu_ms"),
            format!(
                "({} ms) is more than wall_ms ({} ms); CPU time can never exceed wall time",
                limits.cpu.as_millis(),
                limits.wall.as_millis()
            ),
        ));
    }
    Ok(limits)
}
