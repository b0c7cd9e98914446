use std::fmt;

/// The HTTP methods an endpoint can be routed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
}

impl Method {
    /// Parses an upper-case method name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "HEAD" => Self::Head,
            "OPTIONS" => Self::Options,
            _ => return None,
        })
    }

    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The serving listener's liveness probe, on every host: no endpoint may route it.
pub const HEALTHZ_PATH: &str = "/healthz";
/// The serving listener's readiness probe, on every host: no endpoint may route it.
pub const READYZ_PATH: &str = "/readyz";

/// Where signed object URLs are served inside every tenant: no endpoint may route under it.
pub const BLOBS_PATH: &str = "/_blobs";

/// `METHOD /path/{param}` as written in `route = "..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    /// The method.
    pub method: Method,
    /// The path pattern, `{name}` marking a parameter that matches one segment.
    pub path: String,
}

impl RoutePattern {
    /// Parses `"GET /api/v1/reports/{reportId}/export"`; the error says what to write instead.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (method, path) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("`{text}` needs a method and a path, like \"GET /api/hello\""))?;
        let method = Method::parse(method).ok_or_else(|| {
            format!("`{method}` is not a method: use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS, in capitals")
        })?;
        let path = path.trim();
        if !path.starts_with('/') {
            return Err(format!("path `{path}` must start with `/`"));
        }
        if path.contains('?') || path.contains('#') {
            return Err(format!("path `{path}` must not contain a query or fragment"));
        }
        if path == HEALTHZ_PATH || path == READYZ_PATH {
            return Err(format!(
                "path `{path}` is reserved for the platform's health probes on every host; route the endpoint elsewhere"
            ));
        }
        if path == BLOBS_PATH || path.starts_with(&format!("{BLOBS_PATH}/")) {
            return Err(format!(
                "path `{path}` is under `{BLOBS_PATH}/`, where the platform serves signed object URLs; route the endpoint elsewhere"
            ));
        }
        let mut seen = Vec::new();
        for segment in path.split('/') {
            if segment.contains('{') || segment.contains('}') {
                let name = segment
                    .strip_prefix('{')
                    .and_then(|s| s.strip_suffix('}'))
                    .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .ok_or_else(|| {
                        format!("segment `{segment}` of `{path}`: a parameter is a whole segment like `{{reportId}}`, letters, digits and _ only")
                    })?;
                if seen.contains(&name) {
                    return Err(format!("parameter `{{{name}}}` appears twice in `{path}`"));
                }
                seen.push(name);
            }
        }
        Ok(Self { method, path: path.to_string() })
    }

    /// Names of the path parameters, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_method_path_and_params() {
        let r = RoutePattern::parse("GET /api/v1/reports/{reportId}/export").unwrap();
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.params().collect::<Vec<_>>(), ["reportId"]);
        assert_eq!(r.to_string(), "GET /api/v1/reports/{reportId}/export");
    }

    #[test]
    fn refuses_what_it_cannot_route() {
        assert!(RoutePattern::parse("/api").unwrap_err().contains("method and a path"));
        assert!(RoutePattern::parse("get /api").unwrap_err().contains("capitals"));
        assert!(RoutePattern::parse("GET api").unwrap_err().contains("start with"));
        assert!(RoutePattern::parse("GET /a/x{id}").unwrap_err().contains("whole segment"));
        assert!(RoutePattern::parse("GET /a/{id}/{id}").unwrap_err().contains("twice"));
        assert!(RoutePattern::parse("GET /a?b").unwrap_err().contains("query"));
        assert!(RoutePattern::parse("GET /healthz").unwrap_err().contains("reserved"));
        assert!(RoutePattern::parse("POST /readyz").unwrap_err().contains("reserved"));
        assert!(RoutePattern::parse("GET /_blobs/{key}").unwrap_err().contains("signed object URLs"));
        assert!(RoutePattern::parse("GET /_blobs").unwrap_err().contains("signed object URLs"));
        assert!(RoutePattern::parse("GET /_blobsy").is_ok());
        assert!(RoutePattern::parse("GET /api/healthz").is_ok());
    }
}
