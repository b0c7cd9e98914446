//! The route table: one matcher per path pattern, one endpoint per method.
//! Built whole and swapped whole (`ArcSwap`), so a request sees one version.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Endpoint;
use crate::config::Method;

/// Routes of one deployment.
#[derive(Default)]
pub struct RouteTable {
    router: matchit::Router<BTreeMap<Method, Arc<Endpoint>>>,
    /// Path patterns, kept to add methods to an existing pattern.
    patterns: Vec<String>,
    /// Every endpoint, by path then method (for the OpenAPI document).
    endpoints: Vec<Arc<Endpoint>>,
}

/// What a request's method and path found.
pub enum Lookup<'a> {
    /// An endpoint, with the route parameters bound.
    Found(&'a Arc<Endpoint>, Vec<(String, String)>),
    /// The path exists for other methods: these.
    MethodNotAllowed(Vec<Method>),
    /// Nothing routes this path.
    NotFound,
}

/// Why a set of endpoints cannot share one route table. Nothing is swapped in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteConflict {
    /// One method and pattern, twice.
    #[error("`{0}` is routed twice")]
    Twice(String),
    /// One route claimed by two owners (platform.toml, or an app).
    #[error("route `{route}` of {owner} is already served by {other}")]
    Claimed {
        /// The route.
        route: String,
        /// Who claims it now.
        owner: String,
        /// Who serves it already.
        other: String,
    },
    /// Two patterns that would match the same paths ambiguously (`/a/{x}` and `/a/{y}`).
    #[error("route path `{path}` conflicts with another route: {reason}")]
    Overlap {
        /// The pattern refused.
        path: String,
        /// The router's explanation.
        reason: String,
    },
}

impl RouteTable {
    /// Builds a table from endpoints; patterns that would overlap ambiguously are refused.
    pub fn build(endpoints: Vec<Arc<Endpoint>>) -> Result<Self, RouteConflict> {
        let mut by_path: BTreeMap<String, BTreeMap<Method, Arc<Endpoint>>> = BTreeMap::new();
        for e in endpoints {
            let methods = by_path.entry(e.route.path.clone()).or_default();
            if methods.insert(e.route.method, e.clone()).is_some() {
                return Err(RouteConflict::Twice(e.route.to_string()));
            }
        }
        let mut table = RouteTable::default();
        for (path, methods) in by_path {
            table.endpoints.extend(methods.values().cloned());
            table
                .router
                .insert(path.clone(), methods)
                .map_err(|err| RouteConflict::Overlap { path: path.clone(), reason: err.to_string() })?;
            table.patterns.push(path);
        }
        Ok(table)
    }

    /// Finds the endpoint for `method path`.
    pub fn lookup(&self, method: &http::Method, path: &str) -> Lookup<'_> {
        let Ok(matched) = self.router.at(path) else {
            return Lookup::NotFound;
        };
        let wanted = Method::parse(method.as_str());
        match wanted.and_then(|m| matched.value.get(&m)) {
            Some(endpoint) => {
                let params = matched.params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                Lookup::Found(endpoint, params)
            }
            None => Lookup::MethodNotAllowed(matched.value.keys().copied().collect()),
        }
    }

    /// Every endpoint, by path then method.
    pub fn endpoints(&self) -> &[Arc<Endpoint>] {
        &self.endpoints
    }

    /// Every route, for the startup log.
    pub fn routes(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(String::as_str)
    }
}
