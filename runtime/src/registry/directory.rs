//! Which tenant a request is for. Three ways, checked in this order:
//! the host (`{tenant}.{domain}`, e.g. `acme.localhost:8080`), a path prefix
//! (`/t/{tenant}/…`, stripped before routing), else the config's tenant at `/`.
//! The directory is swapped whole on any change, like each tenant's routes.
//!
//! A stored tenant is either loaded here (its database open, its components
//! prepared) or asleep: only its name, loaded on its first request (see
//! `Registry::wake`), so a node carries thousands of idle tenants cheaply.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::Tenant;

/// Every tenant this node serves.
pub struct Directory {
    /// The loaded tenants, by name.
    pub tenants: HashMap<String, Arc<Tenant>>,
    /// The stored tenants not loaded here: loaded on their first request.
    /// A name is in `tenants` or here, never both.
    /// Shared between directories until it changes: most swaps (a deploy, a
    /// tenant loaded) leave it as it is, and it may name many thousands.
    pub asleep: Arc<HashSet<String>>,
    /// The tenant served at `/` (platform.toml's).
    pub default: String,
    /// Host routing: `{tenant}.{domain}`.
    pub domain: Option<String>,
    /// Path routing: `{prefix}/{tenant}/…`.
    pub prefix: String,
}

/// Where a request goes.
pub struct Resolved<'a> {
    /// The tenant.
    pub tenant: Found<'a>,
    /// The path inside the tenant (the prefix removed).
    pub path: &'a str,
}

/// The tenant a request is for.
pub enum Found<'a> {
    /// Loaded: serve it.
    Loaded(&'a Arc<Tenant>),
    /// Asleep: load it first (`Registry::wake`).
    Asleep(&'a str),
}

impl Directory {
    /// Every tenant this node serves, loaded or not.
    pub fn len(&self) -> usize {
        self.tenants.len() + self.asleep.len()
    }

    /// No tenant at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find<'a>(&'a self, name: &str) -> Option<Found<'a>> {
        match self.tenants.get(name) {
            Some(t) => Some(Found::Loaded(t)),
            None => self.asleep.get(name).map(|n| Found::Asleep(n.as_str())),
        }
    }
}

/// Why no tenant takes a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// The host names a tenant that does not exist.
    UnknownHostTenant(String),
}

impl Directory {
    /// The tenant and inner path for a request to `host` (the Host header, if
    /// any) and `path`.
    pub fn resolve<'a>(&'a self, host: Option<&str>, path: &'a str) -> Result<Resolved<'a>, Unresolved> {
        if let (Some(domain), Some(host)) = (&self.domain, host) {
            let host = host_without_port(host);
            if let Some(sub) = host.strip_suffix(domain.as_str()).and_then(|h| h.strip_suffix('.'))
                && !sub.is_empty()
                && !sub.contains('.')
            {
                let name = sub.to_ascii_lowercase();
                return match self.find(&name) {
                    Some(tenant) => Ok(Resolved { tenant, path }),
                    None => Err(Unresolved::UnknownHostTenant(name)),
                };
            }
        }
        if let Some(rest) = path.strip_prefix(self.prefix.as_str()).and_then(|r| r.strip_prefix('/')) {
            let (name, inner) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            if let Some(tenant) = self.find(name) {
                return Ok(Resolved { tenant, path: inner });
            }
        }
        match self.find(&self.default) {
            Some(tenant) => Ok(Resolved { tenant, path }),
            None => Err(Unresolved::UnknownHostTenant(self.default.clone())),
        }
    }
}

fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host; // an IPv6 literal is never a tenant's host
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::tenant::ResolvedQuotas;
    use crate::registry::{RouteTable, TenantServices};

    fn tenant(name: &str) -> Arc<Tenant> {
        Arc::new(Tenant {
            name: name.into(),
            sessions: None,
            rate_ceiling: None,
            quotas: ResolvedQuotas {
                max_components: 1,
                memory_bytes: 1,
                body_bytes: 1,
                max_concurrent: 1,
                cpu: std::time::Duration::from_secs(1),
                wall: std::time::Duration::from_secs(1),
                storage_bytes: 1,
                blob_bytes: 1,
            },
            share: Arc::new(crate::sandbox::TenantShare::new(1, 1)),
            services: TenantServices::default(),
            routes: RouteTable::default(),
            canary_views: Vec::new(),
            base: Vec::new(),
            apps: Default::default(),
            settings_stamp: 0,
            openapi: Default::default(),
            last_used: 0.into(),
        })
    }

    fn dir() -> Directory {
        Directory {
            tenants: [("default", tenant("default")), ("acme", tenant("acme"))]
                .into_iter()
                .map(|(n, t)| (n.to_string(), t))
                .collect(),
            asleep: Arc::new(["sleepy".to_string()].into_iter().collect()),
            default: "default".into(),
            domain: Some("localhost".into()),
            prefix: "/t".into(),
        }
    }

    fn who(d: &Directory, host: Option<&str>, path: &str) -> Result<(String, String), Unresolved> {
        d.resolve(host, path).map(|r| match r.tenant {
            Found::Loaded(t) => (t.name.to_string(), r.path.to_string()),
            Found::Asleep(name) => (format!("asleep:{name}"), r.path.to_string()),
        })
    }

    #[test]
    fn host_then_prefix_then_default() {
        let d = dir();
        let pair = |t: &str, p: &str| Ok((t.to_string(), p.to_string()));
        assert_eq!(who(&d, Some("acme.localhost:8080"), "/api/x"), pair("acme", "/api/x"));
        assert_eq!(who(&d, Some("ACME.localhost"), "/api/x"), pair("acme", "/api/x"));
        assert_eq!(who(&d, Some("127.0.0.1:8080"), "/t/acme/api/x"), pair("acme", "/api/x"));
        assert_eq!(who(&d, None, "/t/acme"), pair("acme", "/"));
        assert_eq!(who(&d, Some("localhost:8080"), "/api/x"), pair("default", "/api/x"));
        // An unknown tenant in the path is just a path of the default tenant.
        assert_eq!(who(&d, None, "/t/nobody/x"), pair("default", "/t/nobody/x"));
        assert_eq!(who(&d, None, "/tx/acme/x"), pair("default", "/tx/acme/x"));
        assert_eq!(who(&d, Some("nobody.localhost"), "/"), Err(Unresolved::UnknownHostTenant("nobody".into())));
        // Deeper subdomains and look-alike domains are not tenants.
        assert_eq!(who(&d, Some("a.acme.localhost"), "/x"), pair("default", "/x"));
        assert_eq!(who(&d, Some("acmelocalhost"), "/x"), pair("default", "/x"));
        assert_eq!(who(&d, Some("[::1]:8080"), "/x"), pair("default", "/x"));
        // A tenant not loaded yet is found all the same, by host or by path.
        assert_eq!(who(&d, Some("sleepy.localhost"), "/x"), pair("asleep:sleepy", "/x"));
        assert_eq!(who(&d, None, "/t/sleepy/x"), pair("asleep:sleepy", "/x"));
    }
}
