//! An endpoint's gate policy, assembled from one module per concern
//! (`rate_limit`, `signature`, `upload`, `cors`, `allowed_host`) plus what
//! belongs to no other: the auth mode, scopes, schemas, granted secrets and
//! where secrets come from. Footguns (`*` origins with credentials, an auth
//! mode nobody can satisfy) are refused, with the fix in the message.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::cors::{CorsPolicy, RawCors, cors};
use super::files::{NamedPaths, Need};
use super::rate_limit::{RateLimitRule, RawRules};
use super::session::RawSession;
use super::signature::{RawSignature, SignaturePolicy};
use super::upload::{RawUpload, UploadPolicy};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// A valid API key or session is required: 401 otherwise.
    Required,
    /// Credentials are checked if present (bad ones are still 401); absent means anonymous.
    Optional,
    /// Credentials are ignored; the guest sees an anonymous caller.
    #[default]
    None,
}

/// Everything the gate enforces for one endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointPolicy {
    /// `auth`.
    pub auth: AuthMode,
    /// `scopes`: all required.
    pub scopes: Vec<String>,
    /// `rate_limit`: every rule must admit.
    pub rate_limits: Vec<RateLimitRule>,
    /// `schema`: JSON Schema file for the body.
    pub schema: Option<PathBuf>,
    /// `query_schema`: JSON Schema file for the query parameters.
    pub query_schema: Option<PathBuf>,
    /// `signature`.
    pub signature: Option<SignaturePolicy>,
    /// `cors`.
    pub cors: Option<CorsPolicy>,
    /// `upload`.
    pub upload: Option<UploadPolicy>,
    /// `allowed_hosts`: where the guest's outbound HTTP may go.
    pub allowed_hosts: Vec<super::AllowedHost>,
    /// `secrets`: each granted name and its value from `[secrets]` or the
    /// environment (none if unset there; the admin API may set it later).
    pub secrets: BTreeMap<String, Option<super::Secret>>,
    /// `forward_credentials`: the guest also sees the `Authorization` header,
    /// `X-API-Key` and the session cookie that the gate consumed. Off by
    /// default: the guest has `auth::current()`, and a credential it never
    /// sees is one it cannot leak or replay.
    pub forward_credentials: bool,
    /// `openapi`: the endpoint's own words for the generated document.
    pub openapi: super::OpenApiDoc,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthSection {
    pub(super) session: Option<RawSession>,
}

/// The raw per-endpoint policy keys of `[[endpoint]]`.
#[derive(Default, Clone)]
pub(super) struct RawPolicy {
    pub(super) auth: AuthMode,
    pub(super) scopes: Vec<String>,
    pub(super) rate_limit: Option<RawRules>,
    pub(super) schema: Option<String>,
    pub(super) query_schema: Option<String>,
    pub(super) signature: Option<RawSignature>,
    pub(super) cors: Option<RawCors>,
    pub(super) upload: Option<RawUpload>,
    pub(super) allowed_hosts: Vec<String>,
    pub(super) secrets: Vec<String>,
    pub(super) forward_credentials: bool,
    pub(super) openapi: Option<super::openapi::RawOpenApi>,
}

/// Where named secrets come from: platform.toml's `[secrets]` then the
/// environment; for a tenant's app, only the secrets set for that tenant
/// (never the platform's environment).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecretSource<'a> {
    pub(crate) table: &'a BTreeMap<String, String>,
    /// The process environment as the CLI read it; `None` for a tenant's app.
    pub(crate) env: Option<&'a BTreeMap<String, String>>,
}

/// Resolves a named secret from `source`.
pub(super) fn resolve_secret(name: &str, source: &SecretSource<'_>) -> Option<super::Secret> {
    source
        .table
        .get(name)
        .cloned()
        .or_else(|| source.env.and_then(|env| env.get(name)).cloned())
        .filter(|v| !v.is_empty())
        .map(super::Secret::new)
}

/// A config key and what is wrong with it.
pub(super) type Problem = (String, String);

pub(super) fn endpoint_policy(
    raw: &RawPolicy,
    at: &str,
    base: &std::path::Path,
    secrets: &SecretSource<'_>,
    paths: &mut NamedPaths,
) -> Result<EndpointPolicy, Problem> {
    let key = |k: &str| format!("{at}.{k}");
    if raw.auth == AuthMode::None && !raw.scopes.is_empty() {
        return Err((key("scopes"), "need an authenticated caller: set auth = \"required\"".into()));
    }
    for s in &raw.scopes {
        if s.is_empty() || s.contains(char::is_whitespace) {
            return Err((key("scopes"), format!("`{s}` is not a scope: no spaces, not empty")));
        }
    }
    let rate_limits = super::rate_limit::rules(&raw.rate_limit, at)?;
    let mut file = |k: &str, v: &Option<String>| v.as_ref().map(|p| paths.expect(key(k), p, base.join(p), Need::File));
    let schema = file("schema", &raw.schema);
    let query_schema = file("query_schema", &raw.query_schema);
    let signature = raw.signature.as_ref().map(|s| super::signature::signature(s, at, secrets)).transpose()?;
    let cors = match &raw.cors {
        None => None,
        Some(c) => Some(cors(c, &key("cors"))?),
    };
    let upload = raw.upload.as_ref().map(|u| super::upload::upload(u, at)).transpose()?;
    let openapi = match &raw.openapi {
        Some(o) => super::openapi::openapi(o, at, base, paths)?,
        None => super::OpenApiDoc::default(),
    };
    let allowed_hosts = raw
        .allowed_hosts
        .iter()
        .map(|h| super::AllowedHost::parse(h).map_err(|p| (key("allowed_hosts"), p)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut granted = BTreeMap::new();
    for name in &raw.secrets {
        let value = resolve_secret(name, secrets);
        if value.is_none() {
            // Not fatal: the admin API may set it; until then the guest sees it as unset.
            tracing::warn!(
                "{at}.secrets: `{name}` is neither in [secrets] nor an environment variable; unset until the admin API sets it"
            );
        }
        granted.insert(name.clone(), value);
    }
    Ok(EndpointPolicy {
        secrets: granted,
        allowed_hosts,
        auth: raw.auth,
        scopes: raw.scopes.clone(),
        rate_limits,
        schema,
        query_schema,
        signature,
        cors,
        upload,
        forward_credentials: raw.forward_credentials,
        openapi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn secrets_come_from_the_table_then_the_captured_environment_and_apps_never_see_it() {
        let table = env(&[("WH", "from-table")]);
        let vars = env(&[("WH", "from-env"), ("ONLY_ENV", "yes"), ("EMPTY", "")]);
        let platform = SecretSource { table: &table, env: Some(&vars) };
        let app = SecretSource { table: &table, env: None };
        let get = |name: &str, s: &SecretSource<'_>| resolve_secret(name, s).map(|v| v.expose().to_string());
        assert_eq!(get("WH", &platform).as_deref(), Some("from-table"));
        assert_eq!(get("ONLY_ENV", &platform).as_deref(), Some("yes"));
        assert_eq!(get("EMPTY", &platform), None, "an empty value is no secret");
        assert_eq!(get("ONLY_ENV", &app), None, "a tenant's app never reads the platform's environment");
    }
}
