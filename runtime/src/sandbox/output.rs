//! A guest's stdout and stderr, delivered line by line into the platform log
//! with the request's tenant, route and id. Output is bounded per request.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// How much a guest may print per stream per request: enough for diagnostics,
/// not enough to flood the log. Output past it is dropped, and that is logged once.
pub(crate) const MAX_GUEST_OUTPUT_BYTES: usize = 64 * 1024;

/// The longest single line logged; a longer one is cut and continued.
const MAX_LINE_BYTES: usize = 4096;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// A guest output stream; clones share one line buffer.
#[derive(Clone)]
pub(crate) struct GuestOutput {
    sink: Arc<Mutex<LineSink>>,
}

struct LineSink {
    stream: Stream,
    pending: Vec<u8>,
    written: usize,
    truncated: bool,
}

impl GuestOutput {
    pub(crate) fn new(stream: Stream) -> Self {
        let sink = LineSink { stream, pending: Vec::new(), written: 0, truncated: false };
        Self { sink: Arc::new(Mutex::new(sink)) }
    }

    /// A new request on a kept instance: its own output allowance.
    pub(crate) fn begin_request(&self) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        sink.written = 0;
        sink.truncated = false;
    }

    fn write_bytes(&self, bytes: &[u8]) {
        // A std Mutex: nothing awaits while it is held.
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        sink.accept(bytes);
    }
}

impl LineSink {
    fn accept(&mut self, bytes: &[u8]) {
        let room = MAX_GUEST_OUTPUT_BYTES.saturating_sub(self.written);
        let take = bytes.len().min(room);
        self.written += take;
        self.pending.extend_from_slice(&bytes[..take]);
        while let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            self.emit(&line[..line.len() - 1]);
        }
        while self.pending.len() >= MAX_LINE_BYTES {
            let line: Vec<u8> = self.pending.drain(..MAX_LINE_BYTES).collect();
            self.emit(&line);
        }
        if take < bytes.len() && !self.truncated {
            self.truncated = true;
            tracing::warn!(
                target: "gatehouse::guest",
                stream = self.stream.name(), limit_bytes = MAX_GUEST_OUTPUT_BYTES,
                "guest output over the per-request limit; the rest is dropped"
            );
        }
    }

    fn emit(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = crate::capabilities::log::printable(line.trim_end_matches('\r'));
        match self.stream {
            Stream::Stdout => tracing::info!(
                target: "gatehouse::guest",
                stream = "stdout",
                "{line}"
            ),
            Stream::Stderr => tracing::warn!(
                target: "gatehouse::guest",
                stream = "stderr",
                "{line}"
            ),
        }
    }
}

impl Drop for LineSink {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest);
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always writable: output past the limit is dropped rather than
        // blocking or trapping the guest.
        Ok(MAX_LINE_BYTES)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> LineSink {
        LineSink { stream: Stream::Stdout, pending: Vec::new(), written: 0, truncated: false }
    }

    #[test]
    fn keeps_partial_lines_until_their_newline() {
        let mut s = sink();
        s.accept(b"hel");
        assert_eq!(s.pending, b"hel");
        s.accept(b"lo\nwor");
        assert_eq!(s.pending, b"wor");
    }

    #[test]
    fn output_is_bounded() {
        let mut s = sink();
        s.accept(&vec![b'x'; MAX_GUEST_OUTPUT_BYTES + 10]);
        assert_eq!(s.written, MAX_GUEST_OUTPUT_BYTES);
        assert!(s.truncated);
        s.accept(b"more");
        assert_eq!(s.written, MAX_GUEST_OUTPUT_BYTES);
    }
}
