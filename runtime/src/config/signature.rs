//! An endpoint's `signature = { scheme, header, secret, tolerance }`: which
//! webhook scheme signs its bodies, and the secret that checks them.

use std::time::Duration;

use serde::Deserialize;

use super::parse_duration;
use super::policy::{Problem, SecretSource, resolve_secret};

/// How far a signed timestamp may be from now when `tolerance` is not set:
/// Stripe's own default, wide enough for clock skew and retries.
const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

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

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignature {
    scheme: SignatureScheme,
    header: Option<String>,
    secret: String,
    tolerance: Option<String>,
}

/// The policy, its secret resolved and its header defaulted per scheme.
pub(super) fn signature(raw: &RawSignature, at: &str, secrets: &SecretSource<'_>) -> Result<SignaturePolicy, Problem> {
    let key = |k: &str| format!("{at}.signature.{k}");
    let secret = resolve_secret(&raw.secret, secrets).ok_or_else(|| {
        (
            key("secret"),
            format!("names `{}`, which is neither in [secrets] nor an environment variable; set one", raw.secret),
        )
    })?;
    let header = raw.header.clone().unwrap_or_else(|| match raw.scheme {
        SignatureScheme::Stripe => "stripe-signature".into(),
        SignatureScheme::HmacSha256 => "x-signature".into(),
        SignatureScheme::StandardWebhooks => "webhook-signature".into(),
    });
    let tolerance = match &raw.tolerance {
        Some(t) => parse_duration(t).map_err(|p| (key("tolerance"), p))?,
        None => DEFAULT_TOLERANCE,
    };
    Ok(SignaturePolicy {
        scheme: raw.scheme,
        header: header.to_ascii_lowercase(),
        secret_name: raw.secret.clone(),
        secret,
        tolerance,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn headers_default_per_scheme_and_a_missing_secret_is_named() {
        let table: BTreeMap<String, String> = [("WH".to_string(), "whsec_x".to_string())].into();
        let source = SecretSource { table: &table, env: None };
        let raw = |scheme, secret: &str| RawSignature { scheme, header: None, secret: secret.into(), tolerance: None };
        let s = signature(&raw(SignatureScheme::Stripe, "WH"), "endpoint[0]", &source).unwrap();
        assert_eq!((s.header.as_str(), s.tolerance), ("stripe-signature", DEFAULT_TOLERANCE));
        let s = signature(&raw(SignatureScheme::StandardWebhooks, "WH"), "endpoint[0]", &source).unwrap();
        assert_eq!(s.header, "webhook-signature");
        let e = signature(&raw(SignatureScheme::HmacSha256, "NOPE"), "endpoint[0]", &source).unwrap_err();
        assert_eq!(e.0, "endpoint[0].signature.secret");
    }
}
