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

impl RouteTable {
    /// Builds a table from endpoints; patterns that would overlap ambiguously are refused.
    pub fn build(endpoints: Vec<Arc<Endpoint>>) -> Result<Self, String> {
        let mut by_path: BTreeMap<String, BTreeMap<Method, Arc<Endpoint>>> = BTreeMap::new();
        for e in endpoints {
            let methods = by_path.entry(e.route.path.clone()).or_default();
            if methods.insert(e.route.method, e.clone()).is_some() {
                return Err(format!("`{}` is routed twice", e.route));
            }
        }
        let mut table = RouteTable::default();
        for (path, methods) in by_path {
            table
                .router
                .insert(path.clone(), methods)
                .map_err(|err| format!("route path `{path}` conflicts with another route: {err}"))?;
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

    /// Every route, for the startup log.
    pub fn routes(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(String::as_str)
    }
}
