use serde::Serialize;

use crate::Error;
use crate::bindings::gatehouse::endpoint::types as wit;

/// A whole response: status, headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// `200 {"success": true, "data": data}`.
pub fn ok<T: Serialize>(data: T) -> Result<Response, Error> {
    Response::success(200, data)
}

/// `201 {"success": true, "data": data}`.
pub fn created<T: Serialize>(data: T) -> Result<Response, Error> {
    Response::success(201, data)
}

impl Response {
    /// An empty response with this status.
    pub fn new(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    /// `{"success": true, "data": data}` with this status.
    pub fn success<T: Serialize>(status: u16, data: T) -> Result<Self, Error> {
        // Written by hand so `success` comes first without an ordered map in every guest.
        let mut body = br#"{"success":true,"data":"#.to_vec();
        serde_json::to_writer(&mut body, &data)
            .map_err(|e| Error::internal(format!("the response data could not be serialised: {e}")))?;
        body.push(b'}');
        Ok(Self::new(status).with_header("content-type", "application/json").with_body(body))
    }

    /// Any serialisable value as a JSON body with this status.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::internal(format!("the response could not be serialised: {e}")))?;
        Ok(Self::new(status).with_header("content-type", "application/json").with_body(body))
    }

    /// A body of raw bytes with its content type, e.g. a PDF.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status).with_header("content-type", content_type).with_body(body)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every header, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub(crate) fn into_wit(self) -> wit::Response {
        wit::Response { status: self.status, headers: self.headers, body: self.body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_wraps_data_in_the_success_envelope() {
        let resp = ok(serde_json::json!({"n": 1})).unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.header("Content-Type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(body, serde_json::json!({"success": true, "data": {"n": 1}}));
        assert_eq!(created("x").unwrap().status(), 201);
    }
}
