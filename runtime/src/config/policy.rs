//! Per-endpoint gate policy and the platform sections the gate needs, parsed
//! once into small types. Footguns (`*` origins with credentials, an auth mode
//! nobody can satisfy) are refused here, with the fix in the message.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::cors::{CorsPolicy, RawCors, cors};
use super::parse_duration;
use super::session::RawSession;

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

/// Webhook signature schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureScheme {
    /// Stripe: `t=<unix>,v1=<hex hmac of "t.body">`, timestamp checked against the tolerance.
    Stripe,
    /// Hex HMAC-SHA256 of the raw body (optionally prefixed `sha256=`).
    HmacSha256,
    /// Standard Webhooks (Dodo Payments, Svix, ...): `webhook-id`,
    /// `webhook-timestamp` and `webhook-signature: v1,<base64>` over
    /// `"{id}.{timestamp}.{body}"`, keyed with the base64 after `whsec_`.
    StandardWebhooks,
}

/// `signature = { scheme, header, secret, tolerance }`, the secret resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// The scheme.
    pub scheme: SignatureScheme,
    /// The header carrying the signature, lower-case.
    pub header: String,
    /// The secret's name (for messages; never its value).
    pub secret_name: String,
    /// The secret's value.
    pub secret: super::Secret,
    /// How far a signed timestamp may be from now.
    pub tolerance: Duration,
}

/// `upload = { max_kb, content_types }`: a multipart/form-data policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPolicy {
    /// Largest single file.
    pub max_file_bytes: usize,
    /// Allowed content types of the files (`image/*` allowed).
    pub content_types: Vec<String>,
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
}

/// `[admin]`: the admin API's own listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Where it listens (loopback by default).
    pub listen: SocketAddr,
    /// The bearer token; without one the admin API is off.
    pub token: Option<String>,
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

// ---- raw forms, as written in TOML ----

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

#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum RawRules {
    One(RawRule),
    Many(Vec<RawRule>),
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignature {
    scheme: SignatureScheme,
    header: Option<String>,
    secret: String,
    tolerance: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpload {
    max_kb: u64,
    content_types: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthSection {
    pub(super) session: Option<RawSession>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    listen: Option<String>,
    token: Option<String>,
    token_env: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimitSection {
    tenant: Option<RawRule>,
    on_backend_error: Option<FailMode>,
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

pub(super) fn endpoint_policy(
    raw: &RawPolicy,
    at: &str,
    base: &std::path::Path,
    secrets: &SecretSource<'_>,
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
    let rate_limits = match &raw.rate_limit {
        None => Vec::new(),
        Some(RawRules::One(r)) => vec![rule(r, &key("rate_limit"))?],
        Some(RawRules::Many(rs)) => {
            rs.iter().enumerate().map(|(i, r)| rule(r, &format!("{at}.rate_limit[{i}]"))).collect::<Result<_, _>>()?
        }
    };
    let file = |k: &str, v: &Option<String>| -> Result<Option<PathBuf>, Problem> {
        match v {
            None => Ok(None),
            Some(p) => {
                let path = base.join(p);
                if path.is_file() { Ok(Some(path)) } else { Err((key(k), format!("names {p}, which does not exist"))) }
            }
        }
    };
    let schema = file("schema", &raw.schema)?;
    let query_schema = file("query_schema", &raw.query_schema)?;
    let signature = match &raw.signature {
        None => None,
        Some(s) => {
            let secret = resolve_secret(&s.secret, secrets).ok_or_else(|| {
                (
                    key("signature.secret"),
                    format!("names `{}`, which is neither in [secrets] nor an environment variable; set one", s.secret),
                )
            })?;
            let header = s.header.clone().unwrap_or_else(|| match s.scheme {
                SignatureScheme::Stripe => "stripe-signature".into(),
                SignatureScheme::HmacSha256 => "x-signature".into(),
                SignatureScheme::StandardWebhooks => "webhook-signature".into(),
            });
            let tolerance = match &s.tolerance {
                Some(t) => parse_duration(t).map_err(|p| (key("signature.tolerance"), p))?,
                None => Duration::from_secs(300),
            };
            Some(SignaturePolicy {
                scheme: s.scheme,
                header: header.to_ascii_lowercase(),
                secret_name: s.secret.clone(),
                secret,
                tolerance,
            })
        }
    };
    let cors = match &raw.cors {
        None => None,
        Some(c) => Some(cors(c, &key("cors"))?),
    };
    let upload = match &raw.upload {
        None => None,
        Some(u) => {
            if u.content_types.is_empty() {
                return Err((key("upload.content_types"), "must list at least one type, like \"image/png\"".into()));
            }
            Some(UploadPolicy {
                max_file_bytes: usize::try_from(u.max_kb.saturating_mul(1024)).unwrap_or(usize::MAX),
                content_types: u.content_types.iter().map(|t| t.to_ascii_lowercase()).collect(),
            })
        }
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
    })
}

pub(super) fn admin(raw: &RawAdmin, env: &BTreeMap<String, String>) -> Result<AdminConfig, Problem> {
    let listen_text = raw.listen.clone().unwrap_or_else(|| "127.0.0.1:8081".into());
    let listen = listen_text
        .parse()
        .map_err(|_| ("admin.listen".to_string(), format!("`{listen_text}` is not an address: write IP:PORT")))?;
    let token = match (&raw.token, &raw.token_env) {
        (Some(_), Some(_)) => return Err(("admin.token".into(), "set `token` or `token_env`, not both".into())),
        (Some(t), None) => Some(t.clone()),
        (None, Some(var)) => env.get(var).filter(|v| !v.is_empty()).cloned(),
        (None, None) => env.get("GATEHOUSE_ADMIN_TOKEN").filter(|v| !v.is_empty()).cloned(),
    };
    if let Some(t) = &token
        && t.len() < 16
    {
        return Err(("admin.token".into(), "is shorter than 16 characters; use a long random token".into()));
    }
    Ok(AdminConfig { listen, token })
}

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

    #[test]
    fn the_admin_token_comes_from_the_file_the_named_variable_or_gatehouse_admin_token() {
        let raw = |token: Option<&str>, token_env: Option<&str>| RawAdmin {
            listen: None,
            token: token.map(String::from),
            token_env: token_env.map(String::from),
        };
        let vars =
            env(&[("MY_TOKEN", "a-token-from-my-variable"), ("GATEHOUSE_ADMIN_TOKEN", "the-default-variable-token")]);
        let token = |r: RawAdmin| admin(&r, &vars).map(|a| a.token);
        assert_eq!(
            token(raw(Some("written-in-the-file-itself"), None)).unwrap().as_deref(),
            Some("written-in-the-file-itself")
        );
        assert_eq!(token(raw(None, Some("MY_TOKEN"))).unwrap().as_deref(), Some("a-token-from-my-variable"));
        assert_eq!(token(raw(None, None)).unwrap().as_deref(), Some("the-default-variable-token"));
        assert_eq!(admin(&raw(None, None), &BTreeMap::new()).unwrap().token, None);
        assert!(token(raw(Some("x"), Some("MY_TOKEN"))).unwrap_err().1.contains("not both"));
        assert!(token(raw(Some("short"), None)).unwrap_err().1.contains("16 characters"));
    }
}
