//! Outbound HTTP to the hosts this endpoint's `allowed_hosts` lists.
//!
//! ```no_run
//! # fn demo() -> Result<(), gatehouse_sdk::Error> {
//! use gatehouse_sdk::http;
//! let reply = http::post("https://api.example.com/v1/things")
//!     .header("authorization", "Bearer …")
//!     .json(&serde_json::json!({ "name": "x" }))?
//!     .send()?;
//! let thing: serde_json::Value = reply.json()?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::host::http_out as wit;

/// Why a call failed: refused before any socket opened, or the upstream's fault.
pub use wit::HttpError;

/// An outgoing request, built step by step.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    inner: wit::OutgoingRequest,
}

/// `GET url`.
pub fn get(url: &str) -> OutgoingRequest {
    OutgoingRequest::new("GET", url)
}

/// `POST url`.
pub fn post(url: &str) -> OutgoingRequest {
    OutgoingRequest::new("POST", url)
}

impl OutgoingRequest {
    /// Any method.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            inner: wit::OutgoingRequest {
                method: method.to_string(),
                url: url.to_string(),
                headers: Vec::new(),
                body: None,
                timeout_ms: None,
            },
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets a raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = Some(body.into());
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(value).map_err(|e| Error::internal(format!("cannot serialise the body: {e}")))?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Gives up after `timeout` (at most the platform's outbound timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner.timeout_ms = Some(timeout.as_millis().min(u128::from(u32::MAX)) as u32);
        self
    }

    /// Sends it. The `?` operator turns a failure into a 503 (upstream) or 500 (policy) envelope.
    pub fn send(self) -> Result<IncomingResponse, HttpError> {
        wit::fetch(&self.inner).map(|inner| IncomingResponse { inner })
    }

    /// Sends it and returns as soon as the head arrives; read the body as it comes.
    pub fn send_streaming(self) -> Result<StreamingResponse, HttpError> {
        wit::fetch_streaming(&self.inner).map(|r| StreamingResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
    }
}

/// An upstream response whose body is read as it arrives.
#[derive(Debug)]
pub struct StreamingResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: wit::IncomingBody,
}

impl StreamingResponse {
    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The next chunk of the body (at most 64 KiB), `None` at its end.
    pub fn read(&self) -> Result<Option<Vec<u8>>, HttpError> {
        self.body.read(64 * 1024)
    }

    /// Reads the body as server-sent events.
    pub fn events(self) -> SseReader {
        SseReader { response: self, buffer: String::new(), done: false }
    }
}

/// One upstream server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    /// `event:`, if any.
    pub event: Option<String>,
    /// The `data:` lines, joined with newlines.
    pub data: String,
}

/// Parses an upstream `text/event-stream` body as it arrives.
#[derive(Debug)]
pub struct SseReader {
    response: StreamingResponse,
    buffer: String,
    done: bool,
}

impl SseReader {
    /// The next event, `None` when the upstream has finished.
    pub fn next_event(&mut self) -> Result<Option<SseMessage>, HttpError> {
        loop {
            let normalized = self.buffer.replace("\r\n", "\n");
            if let Some(end) = normalized.find("\n\n") {
                let block = normalized[..end].to_string();
                self.buffer = normalized[end + 2..].to_string();
                let mut message = SseMessage { event: None, data: String::new() };
                let mut lines = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        message.event = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        lines.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                    }
                }
                if lines.is_empty() && message.event.is_none() {
                    continue;
                }
                message.data = lines.join("\n");
                return Ok(Some(message));
            }
            if self.done {
                return Ok(None);
            }
            match self.response.read()? {
                Some(chunk) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                None => {
                    self.done = true;
                    if !self.buffer.trim().is_empty() {
                        self.buffer.push_str("\n\n");
                    }
                }
            }
        }
    }
}

/// An upstream's answer.
#[derive(Debug, Clone)]
pub struct IncomingResponse {
    inner: wit::IncomingResponse,
}

impl IncomingResponse {
    /// The status.
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// The first value of a header (names are lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body.
    pub fn bytes(&self) -> &[u8] {
        &self.inner.body
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.inner.body).into_owned()
    }

    /// The body parsed as JSON; a 503 UPSTREAM_INVALID_RESPONSE envelope if it does not parse.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.inner.body).map_err(|e| {
            Error::unavailable(format!("the upstream answered with JSON this endpoint cannot read: {e}"))
                .with_code("UPSTREAM_INVALID_RESPONSE")
        })
    }
}

impl From<HttpError> for Error {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::NotAllowed(why) => {
                Error::internal(format!("an outbound call was refused: {why}")).with_code("OUTBOUND_NOT_ALLOWED")
            }
            HttpError::InvalidUrl(why) => {
                Error::internal(format!("an outbound URL is invalid: {why}")).with_code("OUTBOUND_INVALID_URL")
            }
            HttpError::TooManyCalls(n) => {
                Error::internal(format!("this request made more than {n} outbound calls")).with_code("OUTBOUND_LIMIT")
            }
            HttpError::ResponseTooLarge(n) => Error::unavailable(format!("the upstream's answer is over {n} bytes"))
                .with_code("UPSTREAM_RESPONSE_TOO_LARGE"),
            HttpError::Timeout => {
                Error::unavailable("the upstream did not answer in time").with_code("UPSTREAM_TIMEOUT")
            }
            HttpError::Connection(why) => {
                Error::unavailable(format!("the upstream is unreachable: {why}")).with_code("UPSTREAM_UNAVAILABLE")
            }
        }
    }
}
