//! Authenticate: turn the presented credential into a `Principal`, as the
//! endpoint's `auth` mode asks. 401 UNAUTHORIZED with `WWW-Authenticate`
//! for a missing (when required) or bad credential.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, header};

use super::credentials::{Credential, extract};
use crate::config::AuthMode;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Principal;
use crate::identity::{Identity, SessionVerifier};

/// Decides who the caller is for an endpoint of `tenant` with `mode`.
pub async fn authenticate(
    mode: AuthMode,
    headers: &HeaderMap,
    identity: &Identity,
    sessions: Option<&SessionVerifier>,
    tenant: &Arc<str>,
) -> Result<Principal, ApiError> {
    if mode == AuthMode::None {
        return Ok(Principal::anonymous(tenant.clone()));
    }
    let credential = extract(headers, sessions.map(SessionVerifier::cookie));
    let result = match credential {
        Credential::None if mode == AuthMode::Optional => return Ok(Principal::anonymous(tenant.clone())),
        Credential::None => {
            return Err(unauthorized(
                "this endpoint needs an API key (Authorization: Bearer sk_… or X-API-Key) or a session",
                None,
            ));
        }
        Credential::ApiKey(key) => identity.keys.authenticate(&key, tenant).await,
        Credential::Session(token) => match sessions {
            Some(verifier) => verifier.verify(&token, tenant),
            None => Err("this tenant accepts no session tokens; use an API key".to_string()),
        },
    };
    result.map_err(|why| unauthorized(&why, Some("invalid_token")))
}

fn unauthorized(message: &str, error: Option<&str>) -> ApiError {
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"gatehouse\", error=\"{e}\""),
        None => "Bearer realm=\"gatehouse\"".to_string(),
    };
    ApiError::new(ErrorCode::Unauthorized, message)
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).expect("a plain ASCII challenge"))
}
