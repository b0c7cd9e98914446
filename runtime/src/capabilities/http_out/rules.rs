//! What an endpoint may reach: the allow-list and address checks on a URL
//! (`Rules`), and the resolver that hands the connector only addresses that
//! pass them (`GuardedResolver`), so a name cannot be re-pointed at loopback
//! or cloud metadata between check and connect.

use std::net::SocketAddr;
use std::sync::Arc;

use super::address;
use crate::config::{AllowedHost, Cidr};

/// Why a destination is refused; carried through reqwest's error chain.
#[derive(Debug)]
pub(super) struct Refused(pub(super) String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// An endpoint's allow-list and the private ranges the operator opened.
pub(super) struct Rules {
    pub(super) allowed: Vec<AllowedHost>,
    pub(super) private_ok: Vec<Cidr>,
}

impl Rules {
    /// The URL-level check: scheme, allow-list, and IP literals.
    pub(super) fn check(&self, url: &reqwest::Url) -> Result<(), String> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(format!("{scheme}: is not http or https"));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => {
                if let Some(why) = address::refusal(ip.into(), &self.private_ok) {
                    return Err(format!("{ip} is {why}"));
                }
                ip.to_string()
            }
            Some(url::Host::Ipv6(ip)) => {
                if let Some(why) = address::refusal(ip.into(), &self.private_ok) {
                    return Err(format!("{ip} is {why}"));
                }
                format!("[{ip}]")
            }
            None => return Err("the URL has no host".into()),
        };
        let port = url.port_or_known_default().unwrap_or(0);
        if !self.allowed.iter().any(|a| a.allows(scheme, host.trim_start_matches('[').trim_end_matches(']'), port)) {
            return Err(format!("{scheme}://{host}:{port} is not in this endpoint's allowed_hosts"));
        }
        Ok(())
    }
}

/// Resolves names and keeps only the addresses an endpoint may reach.
pub(super) struct GuardedResolver {
    pub(super) rules: Arc<Rules>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.rules.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut why = "no address";
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match address::refusal(a.ip(), &rules.private_ok) {
                    None => true,
                    Some(w) => {
                        why = w;
                        false
                    }
                })
                .collect();
            if ok.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(Refused(format!("{host} resolves only to {why}")));
                return Err(e);
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allowed: &[&str], private_ok: &[&str]) -> Rules {
        Rules {
            allowed: allowed.iter().map(|a| AllowedHost::parse(a).unwrap()).collect(),
            private_ok: private_ok.iter().map(|c| Cidr::parse(c).unwrap()).collect(),
        }
    }

    fn check(r: &Rules, url: &str) -> Result<(), String> {
        r.check(&reqwest::Url::parse(url).unwrap())
    }

    #[test]
    fn ip_literals_in_every_spelling_are_checked() {
        let r = rules(&["http://127.0.0.1:80", "https://api.example.com"], &[]);
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/",
        ] {
            assert!(check(&r, url).is_err(), "{url} was allowed");
        }
        assert!(check(&r, "https://api.example.com/v1").is_ok());
        assert!(check(&r, "http://api.example.com/v1").unwrap_err().contains("allowed_hosts"));
        assert!(check(&r, "ftp://api.example.com/").is_err());
    }

    #[test]
    fn allowed_private_ranges_open_loopback_only_when_listed() {
        let r = rules(&["http://127.0.0.1:8080"], &["127.0.0.0/8"]);
        assert!(check(&r, "http://127.0.0.1:8080/x").is_ok());
        assert!(check(&r, "http://127.0.0.1:8081/x").is_err());
    }
}
