use serde::de::DeserializeOwned;

use crate::Error;
use crate::bindings::gatehouse::endpoint::types as wit;

/// The request as the platform admitted it.
#[derive(Debug, Clone)]
pub struct Request {
    inner: wit::Request,
}

impl Request {
    pub(crate) fn from_wit(inner: wit::Request) -> Self {
        Self { inner }
    }

    /// Builds a request by hand, for unit-testing a handler without the platform.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            inner: wit::Request {
                method: method.to_string(),
                path: path.to_string(),
                params: Vec::new(),
                query: Vec::new(),
                headers: Vec::new(),
                body: Vec::new(),
                request_id: String::new(),
            },
        }
    }

    /// Sets a route parameter (builder style, for tests).
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.inner.params.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets a header (builder style, for tests).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.inner.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// Sets a query parameter (builder style, for tests).
    pub fn with_query(mut self, name: &str, value: &str) -> Self {
        self.inner.query.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body (builder style, for tests).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = body.into();
        self
    }

    /// Sets a JSON body and its `content-type` (builder style, for tests).
    pub fn with_json(self, value: &serde_json::Value) -> Self {
        self.with_header("content-type", "application/json").with_body(value.to_string())
    }

    /// Sets the request id, as the platform does before the handler runs.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn set_request_id(&mut self, id: &str) {
        self.inner.request_id = id.to_string();
    }

    /// `GET`, `POST`, ...
    pub fn method(&self) -> &str {
        &self.inner.method
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The platform's id for this request, as in `X-Request-Id`.
    pub fn request_id(&self) -> &str {
        &self.inner.request_id
    }

    /// A route parameter: `param("reportId")` for `/reports/{reportId}`.
    pub fn param(&self, name: &str) -> Option<&str> {
        lookup(&self.inner.params, name)
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        lookup(&self.inner.query, name)
    }

    /// Every value of a query parameter, in order.
    pub fn query_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.inner.query.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of a header; names compare case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }

    /// The body as UTF-8 text; a 400 envelope if it is not.
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.inner.body).map_err(|_| Error::bad_request("the request body is not valid UTF-8"))
    }

    /// The body parsed as JSON into `T`; a 400 envelope naming the problem if it does not parse.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        if self.inner.body.is_empty() {
            return Err(Error::bad_request("the request body is empty; send a JSON document"));
        }
        serde_json::from_slice(&self.inner.body).map_err(|e| {
            Error::bad_request(format!("the request body is not valid JSON: {e}")).with_code("INVALID_JSON")
        })
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_by_name() {
        let req = Request::new("GET", "/r/7")
            .with_param("id", "7")
            .with_query("tag", "a")
            .with_query("tag", "b")
            .with_header("Content-Type", "application/json");
        assert_eq!(req.param("id"), Some("7"));
        assert_eq!(req.query("tag"), Some("a"));
        assert_eq!(req.query_all("tag").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.header("CONTENT-TYPE"), Some("application/json"));
        assert_eq!(req.param("missing"), None);
    }

    #[test]
    fn json_errors_are_bad_requests() {
        let req = Request::new("POST", "/").with_body("{nope");
        let err = req.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
        assert_eq!(err.code(), Some("INVALID_JSON"));
        let empty = Request::new("POST", "/").json::<serde_json::Value>().unwrap_err();
        assert!(empty.message().contains("empty"));
    }
}
