//! `[auth.session]` and per-tenant session settings: how session tokens (JWTs)
//! are verified, with which key and algorithm.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::files::{NamedPaths, Need};
use super::parse_duration;
use super::policy::{Problem, SecretSource, resolve_secret};

/// JWT algorithms accepted for sessions; `none` and everything else are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    HS256,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
}

/// Where a session verifier's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKey {
    /// HS256: a named secret's value.
    Secret(super::Secret),
    /// RS256/ES256: a PEM public key file.
    PemFile(PathBuf),
    /// RS256/ES256: a JWKS file; the token's `kid` picks the key.
    JwksFile(PathBuf),
    /// RS256/ES256: a PEM public key given inline (a tenant's settings).
    Pem(String),
    /// RS256/ES256: a JWKS document given inline (a tenant's settings).
    Jwks(String),
}

/// `[auth.session]`: how session tokens (JWTs) are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The one accepted algorithm.
    pub algorithm: JwtAlgorithm,
    /// The verification key.
    pub key: SessionKey,
    /// Required `iss`, if set.
    pub issuer: Option<String>,
    /// Required `aud`, if set.
    pub audience: Option<String>,
    /// The session cookie's name.
    pub cookie: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSession {
    algorithm: JwtAlgorithm,
    secret: Option<String>,
    public_key: Option<String>,
    jwks: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    cookie: Option<String>,
    leeway: Option<String>,
}

pub(super) fn session(
    raw: &RawSession,
    base: &std::path::Path,
    secrets: &SecretSource<'_>,
    paths: &mut NamedPaths,
) -> Result<SessionConfig, Problem> {
    let at = "auth.session";
    let key = match (raw.algorithm, &raw.secret, &raw.public_key, &raw.jwks) {
        (JwtAlgorithm::HS256, Some(name), None, None) => {
            SessionKey::Secret(resolve_secret(name, secrets).ok_or_else(|| {
                (
                    format!("{at}.secret"),
                    format!("names `{name}`, which is neither in [secrets] nor an environment variable"),
                )
            })?)
        }
        (JwtAlgorithm::HS256, _, _, _) => {
            return Err((
                format!("{at}.secret"),
                "HS256 needs `secret` (the name of a secret) and no public key".into(),
            ));
        }
        (_, None, Some(p), None) => {
            SessionKey::PemFile(paths.expect(format!("{at}.public_key"), p, base.join(p), Need::File))
        }
        (_, None, None, Some(p)) => {
            SessionKey::JwksFile(paths.expect(format!("{at}.jwks"), p, base.join(p), Need::File))
        }
        // A shared secret with an asymmetric algorithm is how algorithm-confusion attacks start.
        _ => {
            return Err((
                format!("{at}.public_key"),
                "RS256/ES256 need exactly one of `public_key` (PEM file) or `jwks` (JWKS file), and no `secret`".into(),
            ));
        }
    };
    let leeway = match &raw.leeway {
        Some(t) => parse_duration(t).map_err(|p| (format!("{at}.leeway"), p))?,
        None => Duration::from_secs(30),
    };
    Ok(SessionConfig {
        algorithm: raw.algorithm,
        key,
        issuer: raw.issuer.clone(),
        audience: raw.audience.clone(),
        cookie: raw.cookie.clone().unwrap_or_else(|| "session".into()),
        leeway,
    })
}
