//! Webhook signatures over the raw body: Stripe's `t=…,v1=…` scheme and
//! Standard Webhooks (`webhook-id`/`-timestamp`/`-signature`, used by Dodo
//! Payments), both with a replay window, and plain hex HMAC-SHA256.
//! 401 INVALID_SIGNATURE otherwise.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

use crate::config::{SignaturePolicy, SignatureScheme};
use crate::error::{ApiError, ErrorCode};

type HmacSha256 = Hmac<Sha256>;

/// Longest signature header read. Stripe's and Standard Webhooks' headers are a
/// timestamp and one or two signatures (a few hundred bytes); anything longer
/// is refused before any HMAC is computed, so an anonymous caller cannot make
/// the gate parse or hash on its behalf.
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 2048;
/// Signatures one header may offer (key rotation sends two; a few spare).
pub const MAX_SIGNATURE_CANDIDATES: usize = 5;

/// Verifies `body` against the signature header; `now` is unix seconds.
pub fn verify(policy: &SignaturePolicy, headers: &HeaderMap, body: &[u8], now: u64) -> Result<(), ApiError> {
    let refuse =
        |why: &str| Err(ApiError::new(ErrorCode::InvalidSignature, format!("webhook signature refused: {why}")));
    let Some(value) = headers.get(policy.header.as_str()).and_then(|v| v.to_str().ok()) else {
        return refuse(&format!("the {} header is missing", policy.header));
    };
    if value.len() > MAX_SIGNATURE_HEADER_BYTES {
        return refuse(&format!("the {} header is over {MAX_SIGNATURE_HEADER_BYTES} bytes", policy.header));
    }
    let too_many =
        |n: usize| refuse(&format!("the header offers {n} signatures; at most {MAX_SIGNATURE_CANDIDATES} are checked"));
    match policy.scheme {
        SignatureScheme::Stripe => {
            let mut timestamp = None;
            let mut candidates = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
                    Some(("v1", sig)) => candidates.push(sig),
                    _ => {}
                }
            }
            let Some(t) = timestamp else { return refuse("no t= timestamp") };
            if candidates.is_empty() {
                return refuse("no v1= signature");
            }
            if candidates.len() > MAX_SIGNATURE_CANDIDATES {
                return too_many(candidates.len());
            }
            if now.abs_diff(t) > policy.tolerance.as_secs() {
                return refuse(&format!(
                    "its timestamp is {} s from now, outside the {} s tolerance (a replay?)",
                    now.abs_diff(t),
                    policy.tolerance.as_secs()
                ));
            }
            // One HMAC over the body, compared with each candidate.
            let expected = hmac(policy.secret.expose().as_bytes(), &[format!("{t}.").as_bytes(), body]);
            if candidates.iter().any(|c| hex::decode(c).is_ok_and(|c| equal(&expected, &c))) {
                Ok(())
            } else {
                refuse("no v1 signature matches the body")
            }
        }
        SignatureScheme::StandardWebhooks => {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
            let (Some(id), Some(ts)) = (header("webhook-id"), header("webhook-timestamp")) else {
                return refuse("the webhook-id or webhook-timestamp header is missing");
            };
            let Ok(t) = ts.parse::<u64>() else { return refuse("webhook-timestamp is not a number") };
            if now.abs_diff(t) > policy.tolerance.as_secs() {
                return refuse(&format!(
                    "its timestamp is {} s from now, outside the {} s tolerance (a replay?)",
                    now.abs_diff(t),
                    policy.tolerance.as_secs()
                ));
            }
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let secret = policy.secret.expose();
            let key = match secret.strip_prefix("whsec_") {
                Some(k) => b64.decode(k).unwrap_or_else(|_| k.as_bytes().to_vec()),
                None => secret.as_bytes().to_vec(),
            };
            // Several space-separated signatures may be sent during key rotation.
            let candidates: Vec<&str> = value.split(' ').filter_map(|s| s.strip_prefix("v1,")).collect();
            if candidates.len() > MAX_SIGNATURE_CANDIDATES {
                return too_many(candidates.len());
            }
            let expected = hmac(&key, &[format!("{id}.{t}.").as_bytes(), body]);
            let ok = candidates.iter().any(|sig| b64.decode(sig).is_ok_and(|c| equal(&expected, &c)));
            if ok { Ok(()) } else { refuse("no v1 signature matches the body") }
        }
        SignatureScheme::HmacSha256 => {
            let sig = value.trim().strip_prefix("sha256=").unwrap_or(value.trim());
            let expected = hmac(policy.secret.expose().as_bytes(), &[body]);
            if hex::decode(sig).is_ok_and(|c| equal(&expected, &c)) {
                Ok(())
            } else {
                refuse("the signature does not match the body")
            }
        }
    }
}

/// HMAC-SHA256 of the parts, in order, under `key`.
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time comparison of a computed MAC with an offered one.
fn equal(expected: &[u8; 32], offered: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    offered.len() == expected.len() && bool::from(expected.as_slice().ct_eq(offered))
}

/// Signs like Standard Webhooks (Dodo Payments) does: the three header values.
pub fn standard_webhooks_headers(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> [(String, String); 3] {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key =
        secret.strip_prefix("whsec_").and_then(|k| b64.decode(k).ok()).unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    [
        ("webhook-id".into(), id.to_string()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        ("webhook-signature".into(), format!("v1,{}", b64.encode(mac.finalize().into_bytes()))),
    ]
}

/// Signs like Stripe does (for tests and for users testing their endpoints).
pub fn stripe_header(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Signs as the `hmac-sha256` scheme checks (the product docs' Dodo webhook's
/// `x-dodo-signature`): the hex HMAC-SHA256 of the body.
pub fn hmac_sha256_hex(secret: &str, body: &[u8]) -> String {
    hex::encode(hmac(secret.as_bytes(), &[body]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(scheme: SignatureScheme) -> SignaturePolicy {
        SignaturePolicy {
            scheme,
            header: "stripe-signature".into(),
            secret_name: "S".into(),
            secret: crate::config::Secret::new("whsec_test"),
            tolerance: Duration::from_secs(300),
        }
    }

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("stripe-signature", v.parse().unwrap());
        h
    }

    #[test]
    fn stripe_signatures_within_tolerance_pass() {
        let p = policy(SignatureScheme::Stripe);
        let body = br#"{"type":"checkout.session.completed"}"#;
        assert!(verify(&p, &headers(&stripe_header("whsec_test", 1000, body)), body, 1100).is_ok());
        // A second, stale v1 (secret rotation) does not hurt.
        let h = format!("{},v1=deadbeef", stripe_header("whsec_test", 1000, body));
        assert!(verify(&p, &headers(&h), body, 1000).is_ok());
    }

    #[test]
    fn stripe_refusals() {
        let p = policy(SignatureScheme::Stripe);
        let body = b"{}";
        let e = verify(&p, &headers(&stripe_header("whsec_test", 1000, body)), body, 1000 + 301).unwrap_err();
        assert!(e.message.contains("tolerance"));
        let e = verify(&p, &headers(&stripe_header("other", 1000, body)), body, 1000).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidSignature);
        assert!(verify(&p, &headers(&stripe_header("whsec_test", 1000, body)), b"{ }", 1000).is_err());
        assert!(verify(&p, &HeaderMap::new(), body, 1000).unwrap_err().message.contains("missing"));
        assert!(verify(&p, &headers("v1=00"), body, 1000).unwrap_err().message.contains("timestamp"));
    }

    #[test]
    fn standard_webhooks() {
        let mut p = policy(SignatureScheme::StandardWebhooks);
        p.secret = crate::config::Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        p.header = "webhook-signature".into();
        let body = br#"{"type":"payment.succeeded"}"#;
        let mut h = HeaderMap::new();
        for (k, v) in standard_webhooks_headers("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", 1000, body) {
            h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        assert!(verify(&p, &h, body, 1010).is_ok());
        assert!(verify(&p, &h, b"{}", 1010).is_err());
        assert!(verify(&p, &h, body, 2000).unwrap_err().message.contains("tolerance"));
        h.insert("webhook-id", "msg_2".parse().unwrap());
        assert!(verify(&p, &h, body, 1010).is_err(), "the id is signed too");
    }

    #[test]
    fn plain_hmac() {
        let p = policy(SignatureScheme::HmacSha256);
        let mut mac = HmacSha256::new_from_slice(b"whsec_test").unwrap();
        mac.update(b"payload");
        let sig = hex::encode(mac.finalize().into_bytes());
        assert!(verify(&p, &headers(&sig), b"payload", 0).is_ok());
        assert!(verify(&p, &headers(&format!("sha256={sig}")), b"payload", 0).is_ok());
        assert!(verify(&p, &headers(&sig), b"payload2", 0).is_err());
        assert!(verify(&p, &headers("zz"), b"payload", 0).is_err());
    }

    #[test]
    fn candidate_count_and_header_length_are_bounded() {
        let p = policy(SignatureScheme::Stripe);
        let body = b"{}";
        let good = stripe_header("whsec_test", 1000, body);
        let five = format!("{good}{}", ",v1=00".repeat(MAX_SIGNATURE_CANDIDATES - 1));
        assert!(verify(&p, &headers(&five), body, 1000).is_ok());
        let six = format!("{good}{}", ",v1=00".repeat(MAX_SIGNATURE_CANDIDATES));
        assert!(verify(&p, &headers(&six), body, 1000).unwrap_err().message.contains("at most"));
        let long = format!("{good},x={}", "a".repeat(MAX_SIGNATURE_HEADER_BYTES));
        assert!(verify(&p, &headers(&long), body, 1000).unwrap_err().message.contains("bytes"));
    }
}
