//! A gradual rollout on the request path: which version's routes a caller
//! gets, and what each version's guests answered, which may roll the new
//! one back. Nothing here runs for a tenant with no rollout under way.
//!
//! The caller's bucket comes from the credential it presents (the API key,
//! or a session token's subject) or else its address, read before the gate
//! checks it: the bucket only picks which of the tenant's own versions
//! serves, and the chosen version's endpoint then runs the whole gate. A
//! caller that picks its bucket gains nothing a caller of that version does
//! not have.

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use http::HeaderMap;

use crate::app::App;
use crate::error::ApiError;
use crate::gate::credentials::{Credential, extract};
use crate::registry::{Endpoint, RouteTable, Tenant, bucket, judge};

/// The routes `tenant` serves this caller.
pub(super) fn routes_for<'t>(tenant: &'t Tenant, headers: &HeaderMap, peer: IpAddr) -> &'t RouteTable {
    if tenant.canary_views.is_empty() {
        return &tenant.routes;
    }
    let cookie = tenant.sessions.as_deref().map(|s| s.cookie());
    tenant.routes_for(bucket(&tenant.name, &caller(headers, cookie, peer)))
}

/// Who the caller is, for its bucket: its API key, its session's subject
/// (the same across the tokens of one session's refreshes), or its address.
fn caller(headers: &HeaderMap, session_cookie: Option<&str>, peer: IpAddr) -> Vec<u8> {
    match extract(headers, session_cookie) {
        Credential::ApiKey(key) => [b"key:".as_slice(), key.as_bytes()].concat(),
        Credential::Session(token) => match subject(&token) {
            Some(sub) => [b"user:".as_slice(), sub.as_bytes()].concat(),
            None => [b"token:".as_slice(), token.as_bytes()].concat(),
        },
        Credential::None => format!("ip:{peer}").into_bytes(),
    }
}

/// A JWT's `sub`, unverified (the gate verifies it, after this).
fn subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    // A bound, so a huge forged token costs no more than a real one.
    if payload.len() > 8192 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_string)
}

/// Counts a guest's answer for the rollout its endpoint takes part in (if
/// any); a canary judged too error-prone is rolled back, once, on a task of
/// its own. A failure is a 5xx answer: traps and budget stops are 5xx.
pub(super) fn record(
    app: &Arc<App>,
    tenant: &Tenant,
    endpoint: &Arc<Endpoint>,
    answer: &Result<axum::response::Response, ApiError>,
) {
    if tenant.canary_views.is_empty() {
        return;
    }
    let failed = match answer {
        Ok(r) => r.status().is_server_error(),
        Err(e) => e.status().is_server_error(),
    };
    let Some((app_name, canary, side)) = tenant.rollout_of(endpoint) else { return };
    canary.outcomes.record(side, failed);
    let deploy = &app.config.deploy;
    let Some(why) = judge(canary.outcomes.counts(), deploy.rollback_min_requests, deploy.rollback_error_margin) else {
        return;
    };
    if !canary.outcomes.claim_ending() {
        return;
    }
    let (app, tenant_name, app_name, version, outcomes) =
        (app.clone(), tenant.name.to_string(), app_name.to_string(), canary.version, canary.outcomes.clone());
    tokio::spawn(async move {
        match app.registry.roll_back_canary(&tenant_name, &app_name, version, &why).await {
            Ok(done) => {
                app.metrics.change(&tenant_name, "auto_rollback", if done { "ok" } else { "moved_on" });
            }
            Err(e) => {
                // The store may be down: let a later answer try again.
                outcomes.release_ending();
                app.metrics.change(&tenant_name, "auto_rollback", "unavailable");
                tracing::error!(
                    target: "gatehouse::deploy", tenant = %tenant_name, app = %app_name, version,
                    "the canary should be rolled back ({why}) but could not be: {e}; trying again on a later answer"
                );
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_caller_is_its_key_its_session_subject_or_its_address() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(caller(&headers(&[("x-api-key", "sk_test_a")]), None, ip), b"key:sk_test_a");
        assert_eq!(caller(&headers(&[("authorization", "Bearer sk_live_b")]), None, ip), b"key:sk_live_b");
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"ada","iat":1}"#);
        let token = format!("eyJhbGciOiJIUzI1NiJ9.{claims}.sig");
        let other = format!("eyJhbGciOiJIUzI1NiJ9.{claims}.another-sig");
        // Two tokens of one user: one caller.
        assert_eq!(caller(&headers(&[("authorization", &format!("Bearer {token}"))]), None, ip), b"user:ada");
        assert_eq!(caller(&headers(&[("cookie", &format!("s={other}"))]), Some("s"), ip), b"user:ada");
        assert_eq!(caller(&headers(&[("authorization", "Bearer not-a-jwt")]), None, ip), b"token:not-a-jwt");
        assert_eq!(caller(&HeaderMap::new(), None, ip), b"ip:192.0.2.7");
    }
}
