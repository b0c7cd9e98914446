//! Sessions: a JWT in `Authorization: Bearer` or the session cookie, verified
//! with the tenant's HS256 secret or RS256/ES256 public key (PEM or JWKS).
//! Exactly one algorithm is accepted, so `alg: none` and algorithm confusion
//! (an HS256 token "signed" with a public key) are refused before any
//! signature check. `exp`, `nbf`, `iss` and `aud` are checked; `sub` is the user.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::config::{JwtAlgorithm, SessionConfig, SessionKey};
use crate::identity::{Principal, PrincipalKind};

/// Verifies one tenant's session tokens.
pub struct SessionVerifier {
    algorithm: Algorithm,
    keys: Keys,
    validation: Validation,
    cookie: String,
}

enum Keys {
    One(DecodingKey),
    /// (kid, key) from a JWKS file.
    Set(Vec<(Option<String>, DecodingKey)>),
}

fn pem_key(pem: &[u8], algorithm: Algorithm, label: &str) -> Result<Keys, String> {
    let key = match algorithm {
        Algorithm::RS256 => DecodingKey::from_rsa_pem(pem),
        _ => DecodingKey::from_ec_pem(pem),
    }
    .map_err(|e| format!("{label} is not a {algorithm:?} public key in PEM: {e}"))?;
    Ok(Keys::One(key))
}

fn jwks_keys(text: &str, label: &str) -> Result<Keys, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("{label} is not a JWKS document: {e}"))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("{label}: a key is unusable: {e}"))?;
        keys.push((jwk.common.key_id.clone(), key));
    }
    if keys.is_empty() {
        return Err(format!("{label} has no keys"));
    }
    Ok(Keys::Set(keys))
}

impl SessionVerifier {
    /// Builds the verifier; errors name the key file and the problem.
    pub fn new(config: &SessionConfig) -> Result<Self, String> {
        let algorithm = match config.algorithm {
            JwtAlgorithm::HS256 => Algorithm::HS256,
            JwtAlgorithm::RS256 => Algorithm::RS256,
            JwtAlgorithm::ES256 => Algorithm::ES256,
        };
        let keys = match &config.key {
            SessionKey::Secret(s) => Keys::One(DecodingKey::from_secret(s.expose().as_bytes())),
            SessionKey::PemFile(path) => {
                let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                pem_key(&pem, algorithm, &path.display().to_string())?
            }
            SessionKey::Pem(pem) => pem_key(pem.as_bytes(), algorithm, "the session public key")?,
            SessionKey::JwksFile(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                jwks_keys(&text, &path.display().to_string())?
            }
            SessionKey::Jwks(text) => jwks_keys(text, "the session JWKS")?,
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.required_spec_claims = ["exp".to_string()].into_iter().collect();
        match &config.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &config.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Ok(Self { algorithm, keys, validation, cookie: config.cookie.clone() })
    }

    /// The session cookie's name.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// The principal a valid token stands for; the error says why a token is refused.
    pub fn verify(&self, token: &str, tenant: &Arc<str>) -> Result<Principal, String> {
        // An unknown `alg` (including "none") fails to parse here.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| "the session token is malformed or uses an unknown algorithm")?;
        if header.alg != self.algorithm {
            return Err(format!(
                "the session token is signed with {:?}; only {:?} is accepted",
                header.alg, self.algorithm
            ));
        }
        let key = match &self.keys {
            Keys::One(k) => k,
            Keys::Set(set) => match &header.kid {
                Some(kid) => set.iter().find(|(k, _)| k.as_deref() == Some(kid)).map(|(_, k)| k),
                None if set.len() == 1 => Some(&set[0].1),
                None => None,
            }
            .ok_or("the session token's kid matches no key in the JWKS")?,
        };
        let data = jsonwebtoken::decode::<Value>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => "the session has expired".to_string(),
                K::ImmatureSignature => "the session is not valid yet (nbf)".to_string(),
                K::InvalidSignature => "the session token's signature is invalid".to_string(),
                K::InvalidIssuer => "the session token has the wrong issuer".to_string(),
                K::InvalidAudience => "the session token has the wrong audience".to_string(),
                K::MissingRequiredClaim(c) => format!("the session token lacks the `{c}` claim"),
                _ => "the session token is invalid".to_string(),
            }
        })?;
        let claims = data.claims;
        let scopes = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(s)), _) => s.split_whitespace().map(str::to_string).collect(),
            (_, Some(Value::Array(a))) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            (_, Some(Value::String(s))) => s.split_whitespace().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        Ok(Principal {
            kind: PrincipalKind::Session,
            tenant: tenant.clone(),
            user_id: claims.get("sub").and_then(Value::as_str).map(str::to_string),
            key_id: None,
            scopes,
            claims: Some(claims),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;
    use std::time::Duration;

    fn config(secret: &str) -> SessionConfig {
        SessionConfig {
            algorithm: JwtAlgorithm::HS256,
            key: SessionKey::Secret(crate::config::Secret::new(secret)),
            issuer: Some("https://auth.example.com".into()),
            audience: Some("gatehouse".into()),
            cookie: "session".into(),
            leeway: Duration::from_secs(0),
        }
    }

    fn token(secret: &str, claims: Value) -> String {
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    fn now() -> i64 {
        crate::clock::unix_now()
    }

    fn good() -> Value {
        json!({"sub": "user-7", "exp": now() + 600, "iss": "https://auth.example.com", "aud": "gatehouse", "scope": "read write"})
    }

    #[test]
    fn a_valid_session_names_the_user_and_scopes() {
        let v = SessionVerifier::new(&config("s3cret")).unwrap();
        let p = v.verify(&token("s3cret", good()), &"t".into()).unwrap();
        assert_eq!(p.user_id.as_deref(), Some("user-7"));
        assert_eq!(p.scopes, ["read", "write"]);
        assert_eq!(p.kind, PrincipalKind::Session);
        let mut scp = good();
        scp["scope"] = Value::Null;
        scp["scp"] = json!(["a", "b"]);
        assert_eq!(v.verify(&token("s3cret", scp), &"t".into()).unwrap().scopes, ["a", "b"]);
    }

    #[test]
    fn refusals() {
        let v = SessionVerifier::new(&config("s3cret")).unwrap();
        let t: Arc<str> = "t".into();
        let mut expired = good();
        expired["exp"] = json!(now() - 10);
        assert_eq!(v.verify(&token("s3cret", expired), &t).unwrap_err(), "the session has expired");
        assert!(v.verify(&token("other", good()), &t).unwrap_err().contains("signature"));
        let mut iss = good();
        iss["iss"] = json!("https://evil.example");
        assert!(v.verify(&token("s3cret", iss), &t).unwrap_err().contains("issuer"));
        let mut early = good();
        early["nbf"] = json!(now() + 600);
        assert!(v.verify(&token("s3cret", early), &t).unwrap_err().contains("nbf"));
        let mut no_exp = good();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(v.verify(&token("s3cret", no_exp), &t).unwrap_err().contains("exp"));
        // alg: none, unsigned.
        use base64::Engine as _;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good()));
        assert!(v.verify(&none, &t).is_err());
        // A token of another algorithm family.
        let hs384 = encode(&Header::new(Algorithm::HS384), &good(), &EncodingKey::from_secret(b"s3cret")).unwrap();
        assert!(v.verify(&hs384, &t).unwrap_err().contains("only HS256"));
    }
}
