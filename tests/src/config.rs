//! A platform.toml for a test, built rather than written by hand: sections
//! and endpoints are added by name, values are quoted by the builder, and the
//! text is assembled in one place, so a test says what it serves and nothing
//! about TOML's syntax.
//!
//! ```ignore
//! let s = Platform::new()
//!     .admin()
//!     .section("outbound", &[("allow_private", r#"["127.0.0.1/32"]"#)])
//!     .endpoint("GET /proxy", guests::WASI_HTTP_PROXY)
//!     .with("limits", "{ cpu_ms = 10000 }")
//!     .start();
//! ```

use crate::Server;

/// A platform.toml under construction.
#[derive(Debug, Clone, Default)]
pub struct Platform {
    /// `[platform]` keys, raw TOML values.
    platform: Vec<(String, String)>,
    /// Other sections, in order: name and `key = value` lines.
    sections: Vec<(String, Vec<(String, String)>)>,
    endpoints: Vec<Endpoint>,
    admin: bool,
}

/// One `[[endpoint]]`.
#[derive(Debug, Clone)]
struct Endpoint {
    route: String,
    component: String,
    keys: Vec<(String, String)>,
}

impl Platform {
    /// An empty platform: the embedded defaults (SQLite, in-memory limiter).
    pub fn new() -> Self {
        Self::default()
    }

    /// With the admin listener on a free port and the test token (`ADMIN_TOKEN`).
    pub fn admin(mut self) -> Self {
        self.admin = true;
        self
    }

    /// A `[platform]` key; `value` is TOML (quote strings: `"\"acme\""`).
    pub fn platform(mut self, key: &str, value: &str) -> Self {
        self.platform.push((key.into(), value.into()));
        self
    }

    /// A section such as `sandbox` or `outbound`, with `key = value` pairs (values are TOML).
    pub fn section(mut self, name: &str, keys: &[(&str, &str)]) -> Self {
        self.sections.push((name.into(), keys.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()));
        self
    }

    /// An endpoint serving `route` with the component (or source folder) at `component`.
    pub fn endpoint(mut self, route: &str, component: &str) -> Self {
        self.endpoints.push(Endpoint { route: route.into(), component: component.into(), keys: Vec::new() });
        self
    }

    /// A key of the endpoint added last (`limits`, `auth`, `schema`…); `value` is TOML.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        let endpoint = self.endpoints.last_mut().expect("`with` follows an `endpoint`");
        endpoint.keys.push((key.into(), value.into()));
        self
    }

    /// The platform.toml text.
    pub fn toml(&self) -> String {
        let mut out = String::from("[platform]\n");
        for (k, v) in &self.platform {
            out += &format!("{k} = {v}\n");
        }
        if self.admin {
            out += &format!("\n{}", crate::ADMIN_SECTION);
        }
        for (name, keys) in &self.sections {
            out += &format!("\n[{name}]\n");
            for (k, v) in keys {
                out += &format!("{k} = {v}\n");
            }
        }
        for e in &self.endpoints {
            out += &format!("\n[[endpoint]]\nroute = {:?}\ncomponent = {:?}\n", e.route, e.component);
            for (k, v) in &e.keys {
                out += &format!("{k} = {v}\n");
            }
        }
        out
    }

    /// Starts a server on it.
    pub fn start(&self) -> Server {
        Server::start(&self.toml())
    }
}

/// A string as a TOML value (quoted and escaped).
pub fn quote(text: &str) -> String {
    format!("{text:?}")
}

#[cfg(test)]
mod tests {
    use super::Platform;

    #[test]
    fn the_text_is_the_platform_toml_a_person_would_write() {
        let text = Platform::new()
            .platform("tenant", "\"acme\"")
            .admin()
            .section("sandbox", &[("max_instances", "4")])
            .endpoint("GET /a", "/x/a.wasm")
            .with("limits", "{ cpu_ms = 10 }")
            .endpoint("POST /b", "/x/b")
            .toml();
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(parsed["platform"]["tenant"].as_str(), Some("acme"));
        assert!(parsed["admin"]["token"].is_str());
        assert_eq!(parsed["sandbox"]["max_instances"].as_integer(), Some(4));
        let endpoints = parsed["endpoint"].as_array().unwrap();
        assert_eq!(endpoints.len(), 2);
        assert_eq!(endpoints[0]["limits"]["cpu_ms"].as_integer(), Some(10));
        assert_eq!(endpoints[1]["component"].as_str(), Some("/x/b"));
    }
}
