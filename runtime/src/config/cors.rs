//! An endpoint's `cors` policy: which origins a browser may call it from, with
//! which methods and headers. `*` with credentials is refused here.

use std::time::Duration;

use serde::Deserialize;

use super::policy::Problem;
use super::{Method, parse_duration};

/// Which origins CORS admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (never with credentials).
    Any,
    /// Exactly these, as `scheme://host[:port]`.
    List(Vec<String>),
}

/// `cors = { origins, methods, headers, expose, credentials, max_age }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPolicy {
    /// Allowed origins.
    pub origins: AllowedOrigins,
    /// Allowed methods (the endpoint's own method is always allowed).
    pub methods: Vec<Method>,
    /// Allowed request headers, lower-case.
    pub headers: Vec<String>,
    /// Response headers exposed to scripts, lower-case.
    pub expose: Vec<String>,
    /// Whether cookies and credentials may be sent.
    pub credentials: bool,
    /// How long a browser may cache a preflight.
    pub max_age: Duration,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCors {
    origins: Vec<String>,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    expose: Vec<String>,
    #[serde(default)]
    credentials: bool,
    max_age: Option<String>,
}

pub(super) fn cors(c: &RawCors, at: &str) -> Result<CorsPolicy, Problem> {
    let origins = if c.origins.iter().any(|o| o == "*") {
        if c.credentials {
            // Browsers refuse `*` with credentials, and echoing any origin with
            // credentials would let every site act as the user.
            return Err((format!("{at}.origins"), "cannot be \"*\" with credentials = true; list the origins".into()));
        }
        AllowedOrigins::Any
    } else {
        for o in &c.origins {
            let ok =
                (o.starts_with("https://") || o.starts_with("http://")) && !o.ends_with('/') && !o[8..].contains('/');
            if !ok {
                return Err((
                    format!("{at}.origins"),
                    format!("`{o}` is not an origin: write scheme://host[:port], no path"),
                ));
            }
        }
        if c.origins.is_empty() {
            return Err((format!("{at}.origins"), "must list at least one origin (or \"*\")".into()));
        }
        AllowedOrigins::List(c.origins.clone())
    };
    let methods = c
        .methods
        .iter()
        .map(|m| Method::parse(m).ok_or_else(|| (format!("{at}.methods"), format!("`{m}` is not a method"))))
        .collect::<Result<Vec<_>, _>>()?;
    let max_age = match &c.max_age {
        Some(t) => parse_duration(t).map_err(|p| (format!("{at}.max_age"), p))?,
        None => Duration::from_secs(600),
    };
    Ok(CorsPolicy {
        origins,
        methods,
        headers: c.headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
        expose: c.expose.iter().map(|h| h.to_ascii_lowercase()).collect(),
        credentials: c.credentials,
        max_age,
    })
}
