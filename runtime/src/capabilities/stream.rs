//! `gatehouse:endpoint/streaming`: a response the guest writes while it runs.
//!
//! The head (status, headers) goes to the server through a oneshot channel;
//! the body through a small bounded channel. A slow client fills the channel
//! and makes the guest's `write` wait: memory stays bounded at
//! `BUFFERED_CHUNKS x MAX_CHUNK_BYTES`. A client that leaves drops the
//! receiver: the next write fails with `closed`, and the server also stops the
//! guest at once (`StreamChannel::client_gone`).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::{HasData, Linker};

use crate::capabilities::wit_stream as wit;

/// Chunks buffered between guest and client.
pub(crate) const BUFFERED_CHUNKS: usize = 8;
/// Writes are cut into chunks of at most this size.
pub(crate) const MAX_CHUNK_BYTES: usize = 64 * 1024;
/// The most one stream may carry.
pub(crate) const MAX_STREAM_BYTES: u64 = 256 << 20;

/// What the guest sent first.
#[derive(Debug)]
pub struct StreamHead {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
}

/// The server's side of one request's stream.
pub struct StreamChannel {
    /// Resolves when the guest starts streaming.
    pub head: oneshot::Receiver<StreamHead>,
    /// The body chunks, in order.
    pub body: mpsc::Receiver<Bytes>,
}

/// Resolves when the client is gone (the body receiver was dropped).
pub struct ClientGone(mpsc::Sender<Bytes>);

impl ClientGone {
    /// Waits until nobody reads the stream any more.
    pub async fn wait(&self) {
        self.0.closed().await;
    }
}

/// When the guest last wrote to its stream, shared between the guest's state
/// and the server's watchdog. Milliseconds since `start`; 0 = not streaming yet.
#[derive(Clone)]
pub struct Activity {
    start: std::time::Instant,
    last_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self { start: std::time::Instant::now(), last_ms: Default::default() }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Resolves once the stream has started and then gone `idle` without a write.
    pub async fn idle_for(&self, idle: std::time::Duration) {
        loop {
            let last = self.last_ms.load(std::sync::atomic::Ordering::Relaxed);
            let now = self.start.elapsed().as_millis() as u64;
            // `last` may be ahead of `now` by a millisecond (`touch` stores at
            // least 1 so that 0 means "not streaming"): saturate, never underflow.
            let since = now.saturating_sub(last);
            let idle_ms = idle.as_millis() as u64;
            let wait = if last == 0 {
                // Not streaming yet: the wall budget covers this part.
                idle
            } else if since >= idle_ms {
                return;
            } else {
                std::time::Duration::from_millis(idle_ms - since)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Per-request state: the guest's side. Detached (no channel) for a guest
/// that does not import `streaming` and so can never call it.
pub struct StreamState {
    head: Option<oneshot::Sender<StreamHead>>,
    body: Option<mpsc::Sender<Bytes>>,
    written: u64,
    activity: Option<Activity>,
}

/// A new stream for one request: the guest's state, the server's channel, and the gone-signal.
pub fn channel() -> (StreamState, StreamChannel, ClientGone, Activity) {
    let (head_tx, head_rx) = oneshot::channel();
    let (body_tx, body_rx) = mpsc::channel(BUFFERED_CHUNKS);
    let gone = ClientGone(body_tx.clone());
    let activity = Activity::new();
    (
        StreamState { head: Some(head_tx), body: Some(body_tx), written: 0, activity: Some(activity.clone()) },
        StreamChannel { head: head_rx, body: body_rx },
        gone,
        activity,
    )
}

impl StreamState {
    /// A state with nowhere to stream to: every call fails with `closed`.
    pub fn detached() -> Self {
        Self { head: None, body: None, written: 0, activity: None }
    }

    fn attached(&self) -> Result<(), wit::StreamError> {
        if self.body.is_some() { Ok(()) } else { Err(wit::StreamError::Closed) }
    }

    fn started(&self) -> bool {
        self.head.is_none()
    }

    fn send_head(&mut self, status: u16, headers: &[(String, String)]) -> Result<(), wit::StreamError> {
        self.attached()?;
        let Some(tx) = self.head.take() else { return Err(wit::StreamError::AlreadyStarted) };
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|s| !s.is_informational())
            .ok_or_else(|| wit::StreamError::Invalid(format!("status {status} is not a final HTTP status")))?;
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| wit::StreamError::Invalid(format!("header name {k:?}")))?;
            // Connection-level headers are the server's, as for whole responses.
            if super::HOP_BY_HOP.contains(&name.as_str()) {
                continue;
            }
            let value = HeaderValue::from_str(v).map_err(|_| wit::StreamError::Invalid(format!("header {k} value")))?;
            map.append(name, value);
        }
        if let Some(a) = &self.activity {
            a.touch();
        }
        tx.send(StreamHead { status, headers: map }).map_err(|_| wit::StreamError::Closed)
    }

    async fn send_body(&mut self, bytes: Vec<u8>) -> Result<(), wit::StreamError> {
        let Some(body) = self.body.as_ref() else { return Err(wit::StreamError::Closed) };
        self.written += bytes.len() as u64;
        if self.written > MAX_STREAM_BYTES {
            return Err(wit::StreamError::TooLarge);
        }
        let bytes = Bytes::from(bytes);
        let mut offset = 0;
        while offset < bytes.len() {
            let end = (offset + MAX_CHUNK_BYTES).min(bytes.len());
            // Waits while the client is slow: this is the backpressure.
            body.send(bytes.slice(offset..end)).await.map_err(|_| wit::StreamError::Closed)?;
            if let Some(a) = &self.activity {
                a.touch();
            }
            offset = end;
        }
        Ok(())
    }
}

/// One event in the text/event-stream format.
fn format_event(e: &wit::SseEvent) -> Vec<u8> {
    let mut out = String::new();
    if let Some(event) = &e.event {
        out.push_str(&format!("event: {}\n", event.replace(['\r', '\n'], " ")));
    }
    if let Some(id) = &e.id {
        out.push_str(&format!("id: {}\n", id.replace(['\r', '\n'], " ")));
    }
    if let Some(retry) = e.retry_ms {
        out.push_str(&format!("retry: {retry}\n"));
    }
    for line in e.data.split('\n') {
        out.push_str(&format!("data: {}\n", line.trim_end_matches('\r')));
    }
    out.push('\n');
    out.into_bytes()
}

impl wit::Host for StreamState {
    async fn start(&mut self, status: u16, headers: Vec<(String, String)>) -> Result<(), wit::StreamError> {
        self.send_head(status, &headers)
    }

    async fn write(&mut self, bytes: Vec<u8>) -> Result<(), wit::StreamError> {
        self.attached()?;
        if !self.started() {
            self.send_head(200, &[("content-type".into(), "application/octet-stream".into())])?;
        }
        self.send_body(bytes).await
    }

    async fn send_event(&mut self, event: wit::SseEvent) -> Result<(), wit::StreamError> {
        self.attached()?;
        if !self.started() {
            self.send_head(
                200,
                &[
                    ("content-type".into(), "text/event-stream".into()),
                    ("cache-control".into(), "no-cache".into()),
                    // Proxies must not buffer events.
                    ("x-accel-buffering".into(), "no".into()),
                ],
            )?;
        }
        self.send_body(format_event(&event)).await
    }
}

struct StreamData;

impl HasData for StreamData {
    type Data<'a> = &'a mut StreamState;
}

/// Links `gatehouse:endpoint/streaming`; `get` finds this capability's state in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut StreamState,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, StreamData>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wit::Host;

    #[test]
    fn events_are_formatted_line_by_line() {
        let e = wit::SseEvent {
            event: Some("tick".into()),
            data: "a\nb".into(),
            id: Some("7".into()),
            retry_ms: Some(1000),
        };
        assert_eq!(
            String::from_utf8(format_event(&e)).unwrap(),
            "event: tick\nid: 7\nretry: 1000\ndata: a\ndata: b\n\n"
        );
    }

    #[tokio::test]
    async fn a_streamed_head_drops_connection_headers() {
        let (mut state, channel, _gone, _activity) = channel();
        let headers = vec![
            ("connection".to_string(), "close".to_string()),
            ("transfer-encoding".to_string(), "chunked".to_string()),
            ("content-length".to_string(), "5".to_string()),
            ("x-kept".to_string(), "1".to_string()),
        ];
        state.start(200, headers).await.unwrap();
        let head = channel.head.await.unwrap();
        assert_eq!(head.headers.len(), 1, "{:?}", head.headers);
        assert_eq!(head.headers["x-kept"], "1");
    }

    #[tokio::test]
    async fn first_event_starts_an_sse_response_and_a_gone_client_closes_the_stream() {
        let (mut state, mut channel, _gone, _activity) = channel();
        state.send_event(wit::SseEvent { event: None, data: "hi".into(), id: None, retry_ms: None }).await.unwrap();
        let head = channel.head.await.unwrap();
        assert_eq!(head.headers["content-type"], "text/event-stream");
        assert_eq!(channel.body.recv().await.unwrap(), "data: hi\n\n");
        assert!(matches!(state.start(200, vec![]).await, Err(wit::StreamError::AlreadyStarted)));
        drop(channel.body);
        assert!(matches!(state.write(b"x".to_vec()).await, Err(wit::StreamError::Closed)));
    }

    #[tokio::test]
    async fn a_slow_client_makes_writes_wait() {
        let (mut state, channel, _gone, _activity) = channel();
        state.start(200, vec![]).await.unwrap();
        for _ in 0..BUFFERED_CHUNKS {
            state.write(vec![0; 10]).await.unwrap();
        }
        // The buffer is full and nobody reads: the next write does not complete.
        let next = tokio::time::timeout(std::time::Duration::from_millis(50), state.write(vec![0; 10])).await;
        assert!(next.is_err(), "a write past the buffer completed without a reader");
        drop(channel);
    }
}
