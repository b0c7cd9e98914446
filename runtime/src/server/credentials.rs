//! What of the caller's credentials a guest sees, and where its cookies may go.
//!
//! The gate consumes the caller's credential; the guest gets the result
//! (`auth::current()`), not the credential itself, unless its endpoint asks
//! for it with `forward_credentials = true`. On path-prefix routing
//! (`/t/{tenant}/…`) every tenant shares the platform's browser origin, so a
//! guest's `Set-Cookie` is confined to its tenant's path and may not name a
//! `Domain`. Host routing (`{tenant}.{domain}`) gives each tenant an origin of
//! its own and is the mode to use where tenants must not share a browser jar.

use http::{HeaderMap, HeaderValue, header};

/// Removes `Authorization`, `X-API-Key` and the session cookie `session_cookie`
/// (other cookies stay).
pub(super) fn strip(headers: &mut HeaderMap, session_cookie: Option<&str>) {
    headers.remove(header::AUTHORIZATION);
    headers.remove("x-api-key");
    let Some(name) = session_cookie else { return };
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split_once('=').is_none_or(|(k, _)| k.trim() != name))
        .map(str::to_string)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(v) = HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(header::COOKIE, v);
    }
}

/// A guest's `Set-Cookie` confined under `prefix` (its tenant's path): its
/// `Path` is rewritten to lie under the prefix; `None` (the cookie is dropped)
/// if it names a `Domain`, which would reach past this origin's other tenants.
pub(super) fn confine_cookie(value: &str, prefix: &str) -> Option<String> {
    let mut parts = value.split(';');
    let pair = parts.next()?.trim();
    let mut path = "/".to_string();
    let mut rest = Vec::new();
    for attr in parts.map(str::trim).filter(|a| !a.is_empty()) {
        let name = attr.split_once('=').map_or(attr, |(k, _)| k).trim().to_ascii_lowercase();
        match name.as_str() {
            "domain" => return None,
            "path" => path = attr.split_once('=').map(|(_, v)| v.trim().to_string()).unwrap_or_default(),
            _ => rest.push(attr),
        }
    }
    if !path.starts_with('/') {
        path = "/".into();
    }
    let confined = if path == "/" { prefix.to_string() } else { format!("{prefix}{path}") };
    let mut out = format!("{pair}; Path={confined}");
    for attr in rest {
        out.push_str("; ");
        out.push_str(attr);
    }
    Some(out)
}

/// Applies [`confine_cookie`] to every `Set-Cookie` of a response.
pub(super) fn confine_cookies(headers: &mut HeaderMap, prefix: &str) -> usize {
    let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return 0;
    }
    headers.remove(header::SET_COOKIE);
    let mut dropped = 0;
    for c in cookies {
        match c.to_str().ok().and_then(|v| confine_cookie(v, prefix)).and_then(|v| HeaderValue::from_str(&v).ok()) {
            Some(v) => {
                headers.append(header::SET_COOKIE, v);
            }
            None => dropped += 1,
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumed_credentials_are_removed_and_other_cookies_kept() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer sk_live_x".parse().unwrap());
        h.insert("x-api-key", "sk_live_y".parse().unwrap());
        h.insert(header::COOKIE, "theme=dark; session=eyJ; lang=en".parse().unwrap());
        strip(&mut h, Some("session"));
        assert!(h.get(header::AUTHORIZATION).is_none() && h.get("x-api-key").is_none());
        assert_eq!(h.get(header::COOKIE).unwrap(), "theme=dark; lang=en");
        let mut only = HeaderMap::new();
        only.insert(header::COOKIE, "session=eyJ".parse().unwrap());
        strip(&mut only, Some("session"));
        assert!(only.get(header::COOKIE).is_none());
    }

    #[test]
    fn cookies_stay_under_the_tenant_path_and_name_no_domain() {
        assert_eq!(confine_cookie("a=1; HttpOnly", "/t/acme").unwrap(), "a=1; Path=/t/acme; HttpOnly");
        assert_eq!(confine_cookie("a=1; Path=/", "/t/acme").unwrap(), "a=1; Path=/t/acme");
        assert_eq!(confine_cookie("a=1; path=/api; Secure", "/t/acme").unwrap(), "a=1; Path=/t/acme/api; Secure");
        assert_eq!(confine_cookie("a=1; Path=x", "/t/acme").unwrap(), "a=1; Path=/t/acme");
        assert!(confine_cookie("a=1; Domain=example.com", "/t/acme").is_none());
        assert!(confine_cookie("a=1; domain=.x", "/t/acme").is_none());
        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, "a=1".parse().unwrap());
        h.append(header::SET_COOKIE, "b=2; Domain=evil".parse().unwrap());
        assert_eq!(confine_cookies(&mut h, "/t/x"), 1);
        assert_eq!(h.get_all(header::SET_COOKIE).iter().count(), 1);
    }
}
