//! `allowed_hosts`: which destinations an endpoint may call. An entry is
//! `https://api.example.com`, `*.example.com` (any subdomain, https),
//! `http://localhost:8080` (explicit scheme and port). A bare host means https
//! on port 443. Parsed once; `allows` is checked for every call and redirect hop.

/// One allowed destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: String,
    host: HostPattern,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`: any name ending in `.example.com` (not the apex itself).
    Subdomains(String),
}

impl AllowedHost {
    /// Parses an entry; the error says how to write it.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let (scheme, rest) = match entry.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => ("https".to_string(), entry),
        };
        if scheme != "https" && scheme != "http" {
            return Err(format!("`{entry}`: only http and https destinations can be allowed"));
        }
        if rest.contains('/') && !rest.ends_with('/') || rest.contains('?') || rest.contains('@') {
            return Err(format!("`{entry}`: write a host (and port), no path, query or credentials"));
        }
        let rest = rest.trim_end_matches('/');
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port_of = |p: &str| p.parse::<u16>().map_err(|_| format!("`{entry}`: `{p}` is not a port"));
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            // An IPv6 literal: `[addr]` or `[addr]:port`, kept without brackets in
            // its canonical spelling, the way a URL's host is compared.
            let (addr, after) =
                bracketed.split_once(']').ok_or_else(|| format!("`{entry}`: an IPv6 address needs its closing `]`"))?;
            let ip: std::net::Ipv6Addr =
                addr.parse().map_err(|_| format!("`{entry}`: `{addr}` is not an IPv6 address"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => port_of(p)?,
                None if after.is_empty() => default_port,
                None => return Err(format!("`{entry}`: write `[address]:port`")),
            };
            (ip.to_string(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), port_of(p)?),
                None => (rest.to_string(), default_port),
            }
        };
        let host = host.to_ascii_lowercase();
        if host.is_empty() || host == "*" || host == "*." {
            // "Allow everything" is refused outright: list the hosts you call.
            return Err(format!("`{entry}`: allowing every host is refused; list the hosts this endpoint calls"));
        }
        let pattern = match host.strip_prefix("*.") {
            Some(suffix) if suffix.contains('.') => HostPattern::Subdomains(suffix.to_string()),
            Some(_) => return Err(format!("`{entry}`: a wildcard needs a domain with a dot, like *.example.com")),
            None if host.contains('*') => return Err(format!("`{entry}`: `*` is only allowed as a leading `*.`")),
            None => HostPattern::Exact(host),
        };
        Ok(Self { scheme, host: pattern, port })
    }

    /// Whether a URL's scheme, host and port are this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if scheme != self.scheme || port != self.port {
            return false;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match &self.host {
            HostPattern::Exact(h) => host == *h,
            HostPattern::Subdomains(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_entries_match_the_url_host() {
        let a = AllowedHost::parse("http://[2606:4700:0::0001]:8080").unwrap();
        assert!(a.allows("http", "2606:4700::1", 8080));
        assert!(!a.allows("http", "2606:4700::2", 8080));
        let b = AllowedHost::parse("[2606:4700::1]").unwrap();
        assert!(b.allows("https", "2606:4700::1", 443));
        assert!(AllowedHost::parse("[2606:4700::1").is_err());
        assert!(AllowedHost::parse("[nothex]:80").is_err());
    }

    #[test]
    fn entries_and_matching() {
        let a = AllowedHost::parse("https://api.openai.com").unwrap();
        assert!(a.allows("https", "api.openai.com", 443));
        assert!(a.allows("https", "API.OpenAI.com.", 443));
        assert!(!a.allows("http", "api.openai.com", 80));
        assert!(!a.allows("https", "api.openai.com", 8443));
        assert!(!a.allows("https", "evil-api.openai.com", 443));
        let w = AllowedHost::parse("*.example.com").unwrap();
        assert!(w.allows("https", "a.b.example.com", 443));
        assert!(!w.allows("https", "example.com", 443));
        assert!(!w.allows("https", "example.com.evil.net", 443));
        assert!(!w.allows("https", "notexample.com", 443));
        let p = AllowedHost::parse("http://127.0.0.1:8080").unwrap();
        assert!(p.allows("http", "127.0.0.1", 8080));
        assert!(!p.allows("http", "127.0.0.1", 8081));
    }

    #[test]
    fn footguns_are_refused() {
        assert!(AllowedHost::parse("*").unwrap_err().contains("every host"));
        assert!(AllowedHost::parse("https://*").is_err());
        assert!(AllowedHost::parse("*.com").is_err());
        assert!(AllowedHost::parse("ftp://x.example").is_err());
        assert!(AllowedHost::parse("https://x.example/path").is_err());
        assert!(AllowedHost::parse("https://user@x.example").is_err());
        assert!(AllowedHost::parse("a*.example.com").is_err());
    }
}
