//! Where a caller's credential is found: `Authorization: Bearer …` (an API key
//! if it starts with `sk_`, else a session token), `X-API-Key`, or the
//! session cookie.

use http::{HeaderMap, header};

/// What the request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An API key (`sk_live_…` / `sk_test_…`).
    ApiKey(String),
    /// A session token (a JWT).
    Session(String),
    /// Nothing.
    None,
}

/// Finds the credential; `cookie` is the session cookie's name when sessions are configured.
pub fn extract(headers: &HeaderMap, cookie: Option<&str>) -> Credential {
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let token = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer ")).unwrap_or("").trim();
        if token.starts_with("sk_") {
            return Credential::ApiKey(token.to_string());
        }
        if !token.is_empty() {
            return Credential::Session(token.to_string());
        }
    }
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim).filter(|k| !k.is_empty()) {
        return Credential::ApiKey(key.to_string());
    }
    if let Some(name) = cookie {
        for value in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            for pair in value.split(';') {
                if let Some((k, v)) = pair.trim().split_once('=')
                    && k == name
                    && !v.is_empty()
                {
                    return Credential::Session(v.to_string());
                }
            }
        }
    }
    Credential::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        m
    }

    #[test]
    fn finds_each_kind() {
        assert_eq!(extract(&h(&[("authorization", "Bearer sk_live_x")]), None), Credential::ApiKey("sk_live_x".into()));
        assert_eq!(extract(&h(&[("authorization", "Bearer eyJ.a.b")]), None), Credential::Session("eyJ.a.b".into()));
        assert_eq!(extract(&h(&[("x-api-key", "sk_test_y")]), None), Credential::ApiKey("sk_test_y".into()));
        let cookie = h(&[("cookie", "theme=dark; session=eyJ.c.d")]);
        assert_eq!(extract(&cookie, Some("session")), Credential::Session("eyJ.c.d".into()));
        assert_eq!(extract(&cookie, None), Credential::None);
        assert_eq!(extract(&h(&[("authorization", "Basic abc")]), None), Credential::None);
    }
}
