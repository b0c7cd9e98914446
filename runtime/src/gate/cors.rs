//! CORS: preflights answered by the gate without the guest, and the
//! `Access-Control-*` headers added to every answer (errors included) for an
//! allowed origin.

use http::{HeaderMap, HeaderValue, header};
use serde_json::json;

use crate::config::{AllowedOrigins, CorsPolicy, Method};
use crate::error::{ApiError, ErrorCode};

/// Whether this is a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
pub fn is_preflight(method: &http::Method, headers: &HeaderMap) -> bool {
    method == http::Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The method a preflight asks about.
pub fn requested_method(headers: &HeaderMap) -> Option<http::Method> {
    headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?.to_str().ok()?.parse().ok()
}

fn origin_allowed(policy: &CorsPolicy, origin: &str) -> bool {
    match &policy.origins {
        AllowedOrigins::Any => true,
        AllowedOrigins::List(list) => list.iter().any(|o| o == origin),
    }
}

/// Answers a preflight for an endpoint routed at `method` with `policy`: the
/// headers of a 204, or 403 CORS_REJECTED naming what is not allowed.
pub fn preflight(policy: &CorsPolicy, method: Method, headers: &HeaderMap) -> Result<HeaderMap, ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let reject = |what: String| {
        Err(ApiError::new(ErrorCode::CorsRejected, format!("CORS preflight refused: {what}"))
            .with_details(json!({ "origin": origin })))
    };
    if !origin_allowed(policy, origin) {
        return reject(format!("origin {origin} is not allowed"));
    }
    let asked = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if asked != method.as_str() && !policy.methods.iter().any(|m| m.as_str() == asked) {
        return reject(format!("method {asked} is not allowed"));
    }
    let asked_headers: Vec<String> = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect())
        .unwrap_or_default();
    for h in &asked_headers {
        if !policy.headers.iter().any(|a| a == h) && !is_safelisted(h) {
            return reject(format!("header {h} is not allowed"));
        }
    }
    let mut out = allow_origin(policy, origin);
    let mut methods: Vec<&str> = vec![method.as_str()];
    methods.extend(policy.methods.iter().map(|m| m.as_str()).filter(|m| *m != method.as_str()));
    insert(&mut out, header::ACCESS_CONTROL_ALLOW_METHODS, &methods.join(", "));
    if !asked_headers.is_empty() {
        insert(&mut out, header::ACCESS_CONTROL_ALLOW_HEADERS, &asked_headers.join(", "));
    }
    insert(&mut out, header::ACCESS_CONTROL_MAX_AGE, &policy.max_age.as_secs().to_string());
    Ok(out)
}

/// Headers for an actual (non-preflight) answer, if the request's origin is allowed.
pub fn response_headers(policy: &CorsPolicy, headers: &HeaderMap) -> HeaderMap {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return HeaderMap::new();
    };
    if !origin_allowed(policy, origin) {
        return HeaderMap::new();
    }
    let mut out = allow_origin(policy, origin);
    if !policy.expose.is_empty() {
        insert(&mut out, header::ACCESS_CONTROL_EXPOSE_HEADERS, &policy.expose.join(", "));
    }
    out
}

fn allow_origin(policy: &CorsPolicy, origin: &str) -> HeaderMap {
    let mut out = HeaderMap::new();
    match &policy.origins {
        // Without credentials `*` is exact and cacheable by any origin.
        AllowedOrigins::Any => insert(&mut out, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        AllowedOrigins::List(_) => {
            insert(&mut out, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            insert(&mut out, header::VARY, "Origin");
        }
    }
    if policy.credentials {
        insert(&mut out, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    out
}

fn insert(map: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        map.insert(name, v);
    }
}

/// Request headers a browser may always send without asking.
fn is_safelisted(h: &str) -> bool {
    matches!(h, "accept" | "accept-language" | "content-language" | "content-type")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(origins: AllowedOrigins, credentials: bool) -> CorsPolicy {
        CorsPolicy {
            origins,
            methods: vec![Method::Put],
            headers: vec!["authorization".into(), "x-trace".into()],
            expose: vec!["x-request-id".into()],
            credentials,
            max_age: Duration::from_secs(600),
        }
    }

    fn req(origin: &str, method: &str, hdrs: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().unwrap());
        h.insert(header::ACCESS_CONTROL_REQUEST_METHOD, method.parse().unwrap());
        if !hdrs.is_empty() {
            h.insert(header::ACCESS_CONTROL_REQUEST_HEADERS, hdrs.parse().unwrap());
        }
        h
    }

    #[test]
    fn preflight_from_a_listed_origin() {
        let p = policy(AllowedOrigins::List(vec!["https://app.example.com".into()]), true);
        let out = preflight(&p, Method::Post, &req("https://app.example.com", "POST", "Authorization, Content-Type"))
            .unwrap();
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_METHODS], "POST, PUT");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_HEADERS], "authorization, content-type");
        assert_eq!(out[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert_eq!(out[header::VARY], "Origin");
    }

    #[test]
    fn preflight_refusals_name_the_problem() {
        let p = policy(AllowedOrigins::List(vec!["https://app.example.com".into()]), false);
        let e = preflight(&p, Method::Post, &req("https://evil.example", "POST", "")).unwrap_err();
        assert_eq!(e.code, ErrorCode::CorsRejected);
        assert!(e.message.contains("origin"));
        let e = preflight(&p, Method::Post, &req("https://app.example.com", "DELETE", "")).unwrap_err();
        assert!(e.message.contains("DELETE"));
        let e = preflight(&p, Method::Post, &req("https://app.example.com", "POST", "x-secret")).unwrap_err();
        assert!(e.message.contains("x-secret"));
    }

    #[test]
    fn actual_responses_get_headers_only_for_allowed_origins() {
        let p = policy(AllowedOrigins::Any, false);
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, "https://anyone.example".parse().unwrap());
        let out = response_headers(&p, &h);
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(out[header::ACCESS_CONTROL_EXPOSE_HEADERS], "x-request-id");
        let listed = policy(AllowedOrigins::List(vec!["https://a.example".into()]), false);
        assert!(response_headers(&listed, &h).is_empty());
        assert!(response_headers(&p, &HeaderMap::new()).is_empty());
    }
}
