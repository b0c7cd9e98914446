//! Where a signed URL starts: `{origin}{tenant's path}`. A guest may put the
//! URL in an email or a page for someone else, so its origin must never be
//! one a client chose: it is `blobs.public_url` when set; otherwise the
//! request's own `Host` only where that host is known to mean this tenant
//! (`{tenant}.{domain}`) or is a loopback or IP address (a developer's
//! machine). Anything else is refused with the setting to make.

use crate::context::ReachedAt;

/// What every tenant's URLs are built from.
#[derive(Debug, Clone, Default)]
pub struct UrlSettings {
    /// `blobs.public_url`, without a trailing `/`.
    pub public_url: Option<String>,
    /// `platform.domain` (host routing), if on.
    pub domain: Option<String>,
    /// `platform.tenant_path_prefix` (`/t`).
    pub path_prefix: String,
}

/// `host` without its port.
fn hostname(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h)
}

/// The start of `tenant`'s signed URLs for a request that reached it at `reached`.
pub(crate) fn url_base(settings: &UrlSettings, tenant: &str, reached: Option<&ReachedAt>) -> Result<String, String> {
    if let Some(origin) = &settings.public_url {
        return Ok(format!("{origin}{}/{tenant}", settings.path_prefix));
    }
    let unset = "set blobs.public_url to the origin clients reach this platform at";
    let reached = reached.ok_or_else(|| format!("the request has no Host to build a URL from; {unset}"))?;
    let host = reached.host.to_str().unwrap_or("");
    let name = hostname(host);
    let shaped = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    let local = name == "localhost" || name.parse::<std::net::IpAddr>().is_ok();
    let this_tenant = settings.domain.as_deref().is_some_and(|d| name.eq_ignore_ascii_case(&format!("{tenant}.{d}")));
    if !shaped || !(local || this_tenant && reached.prefix.is_none()) {
        return Err(format!("`{}` is not a host known to be this platform's; {unset}", host.escape_debug()));
    }
    Ok(format!("http://{host}{}", reached.prefix.as_deref().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(host: &str, prefix: Option<&str>) -> ReachedAt {
        ReachedAt { host: http::HeaderValue::from_str(host).unwrap(), prefix: prefix.map(Into::into) }
    }

    fn settings(public_url: Option<&str>) -> UrlSettings {
        UrlSettings {
            public_url: public_url.map(Into::into),
            domain: Some("example.com".into()),
            path_prefix: "/t".into(),
        }
    }

    #[test]
    fn the_public_url_wins_and_always_names_the_tenant() {
        let s = settings(Some("https://api.example.com"));
        assert_eq!(url_base(&s, "acme", Some(&at("evil.test", None))).unwrap(), "https://api.example.com/t/acme");
        assert_eq!(url_base(&s, "acme", None).unwrap(), "https://api.example.com/t/acme");
    }

    #[test]
    fn without_it_only_a_host_known_to_be_ours_is_used() {
        let s = settings(None);
        for (host, prefix, want) in [
            ("127.0.0.1:8080", Some("/t/acme"), "http://127.0.0.1:8080/t/acme"),
            ("localhost:8080", None, "http://localhost:8080"),
            ("[::1]:8080", None, "http://[::1]:8080"),
            ("acme.example.com", None, "http://acme.example.com"),
            ("ACME.example.com:8443", None, "http://ACME.example.com:8443"),
        ] {
            assert_eq!(url_base(&s, "acme", Some(&at(host, prefix))).unwrap(), want, "{host}");
        }
        for (host, prefix) in [
            ("evil.test", Some("/t/acme")),
            ("evil.test", None),
            ("other.example.com", None),
            ("acme.example.com", Some("/t/acme")),
            ("127.0.0.1/x?", None),
        ] {
            assert!(url_base(&s, "acme", Some(&at(host, prefix))).unwrap_err().contains("blobs.public_url"), "{host}");
        }
    }
}
