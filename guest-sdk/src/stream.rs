//! Streaming responses and server-sent events. The first event starts a
//! `text/event-stream` response; every write reaches the client as it is
//! made. A write fails with `StreamError::Closed` once the client has left:
//! stop then.
//!
//! ```no_run
//! # fn demo() -> Result<(), gatehouse_sdk::Error> {
//! use gatehouse_sdk::stream::{self, Event};
//! stream::send(&Event::new("{\"progress\":50}").name("progress").id("1"))?;
//! stream::send(&Event::new("done"))?;
//! # Ok(()) }
//! ```

use crate::Error;
use crate::host::streaming as wit;

pub use wit::StreamError;

/// A server-sent event.
#[derive(Debug, Clone)]
pub struct Event {
    inner: wit::SseEvent,
}

impl Event {
    /// An event with this data (newlines become several `data:` lines).
    pub fn new(data: impl Into<String>) -> Self {
        Self { inner: wit::SseEvent { event: None, data: data.into(), id: None, retry_ms: None } }
    }

    /// An event whose data is `value` as JSON.
    pub fn json<T: serde::Serialize>(value: &T) -> Result<Self, Error> {
        let data =
            serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot serialise the event: {e}")))?;
        Ok(Self::new(data))
    }

    /// The event's name (`event:`).
    pub fn name(mut self, name: &str) -> Self {
        self.inner.event = Some(name.to_string());
        self
    }

    /// The event's id (`id:`), for `Last-Event-ID` on reconnect.
    pub fn id(mut self, id: &str) -> Self {
        self.inner.id = Some(id.to_string());
        self
    }

    /// How long a client waits before reconnecting (`retry:`).
    pub fn retry_ms(mut self, ms: u32) -> Self {
        self.inner.retry_ms = Some(ms);
        self
    }
}

/// Sends an event (starting the SSE response if needed).
pub fn send(event: &Event) -> Result<(), StreamError> {
    wit::send_event(&event.inner)
}

/// Starts a streamed response with this status and headers.
pub fn start(status: u16, headers: &[(&str, &str)]) -> Result<(), StreamError> {
    let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    wit::start(status, &headers)
}

/// Writes a chunk of the body (starting a 200 octet-stream response if needed).
pub fn write(bytes: &[u8]) -> Result<(), StreamError> {
    wit::write(bytes)
}

impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        Error::internal(format!("the response stream failed: {e:?}")).with_code("STREAM_ERROR")
    }
}
