//! The test file format of `gatehouse test`: `tests/*.toml` beside the app or
//! platform.toml, declarative so that an author in any language can write it.
//!
//! ```toml
//! [[mock]]                      # an upstream on a loopback port
//! name = "weather"
//! variable = "WEATHER_URL"      # every endpoint's config variable, set to the mock's URL
//! route = [{ method = "GET", path = "/v1/today", json = { temp = 21 } }]
//!
//! [[test]]
//! name = "greets by name"
//! request = { method = "GET", path = "/api/greet", query = { name = "Ada" } }
//! auth = { scopes = ["read"], user = "ada" }   # sent as a fresh API key with these
//! expect = { status = 200, json = { data = { message = "Hello, Ada!" } } }
//! ```
//!
//! `{{mock.NAME}}` in a request's path, query, headers or body is the mock's
//! base URL. `expect.json` matches as a subset: every key it names must be
//! there with a matching value; arrays match element by element.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One `tests/*.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TestFile {
    #[serde(default)]
    pub(super) mock: Vec<Mock>,
    #[serde(default)]
    pub(super) test: Vec<Case>,
}

/// An upstream the endpoints may call during the file's tests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Mock {
    pub(super) name: String,
    /// A config variable every endpoint sees, set to the mock's base URL.
    pub(super) variable: Option<String>,
    #[serde(default)]
    pub(super) route: Vec<MockRoute>,
}

/// What a mock answers to one method and path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MockRoute {
    #[serde(default = "get")]
    pub(super) method: String,
    pub(super) path: String,
    #[serde(default = "ok")]
    pub(super) status: u16,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    pub(super) json: Option<toml::Value>,
    pub(super) body: Option<String>,
}

/// One test: a request, who sends it, and what must come back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Case {
    pub(super) name: String,
    pub(super) request: Request,
    pub(super) auth: Option<Auth>,
    #[serde(default)]
    pub(super) expect: Expect,
}

/// The request, as a client sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Request {
    #[serde(default = "get")]
    pub(super) method: String,
    pub(super) path: String,
    #[serde(default)]
    pub(super) query: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    /// A JSON body (sent with `content-type: application/json`).
    pub(super) json: Option<toml::Value>,
    /// A body as written.
    pub(super) body: Option<String>,
}

/// An API key made for the test, with these scopes, acting for `user`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Auth {
    #[serde(default)]
    pub(super) scopes: Vec<String>,
    pub(super) user: Option<String>,
}

/// What must come back; what it does not name is not checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Expect {
    pub(super) status: Option<u16>,
    /// Headers that must be there with these values (names in any case).
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    /// A subset of the JSON body.
    pub(super) json: Option<toml::Value>,
    /// Text the body must contain.
    pub(super) body_contains: Option<String>,
}

fn get() -> String {
    "GET".into()
}

fn ok() -> u16 {
    200
}

/// TOML as JSON (what bodies are made of).
pub(super) fn json(value: &toml::Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

impl TestFile {
    /// Parses a test file; the error names the file and what is wrong.
    pub(super) fn parse(name: &str, text: &str) -> Result<Self, String> {
        let file: TestFile = toml::from_str(text).map_err(|e| format!("{name}: {}", e.to_string().trim_end()))?;
        let mut seen = Vec::new();
        for mock in &file.mock {
            if mock.name.is_empty() || !mock.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(format!("{name}: mock name `{}`: letters, digits, - and _", mock.name));
            }
            if seen.contains(&&mock.name) {
                return Err(format!("{name}: two mocks are named {}", mock.name));
            }
            seen.push(&mock.name);
        }
        if file.test.is_empty() {
            return Err(format!("{name}: no [[test]] in it"));
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example_and_refuses_typos() {
        let text = r#"
[[mock]]
name = "weather"
variable = "WEATHER_URL"
route = [{ method = "GET", path = "/v1/today", json = { temp = 21 } }]

[[test]]
name = "greets by name"
request = { method = "GET", path = "/api/greet", query = { name = "Ada" } }
auth = { scopes = ["read"], user = "ada" }
expect = { status = 200, json = { data = { message = "Hello, Ada!" } } }
"#;
        let file = TestFile::parse("t.toml", text).unwrap();
        assert_eq!(file.mock[0].route[0].status, 200);
        assert_eq!(file.test[0].request.query["name"], "Ada");
        assert_eq!(json(file.test[0].expect.json.as_ref().unwrap())["data"]["message"], "Hello, Ada!");
        let typo = "[[test]]\nname = \"x\"\nrequest = { path = \"/\" }\nexpect = { stauts = 200 }\n";
        assert!(TestFile::parse("t.toml", typo).unwrap_err().contains("stauts"));
        assert!(TestFile::parse("t.toml", "").unwrap_err().contains("no [[test]]"));
    }
}
