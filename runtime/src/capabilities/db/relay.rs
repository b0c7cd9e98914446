//! A loopback relay between a tenant's Postgres pool and the server, which
//! refuses any server message longer than the tenant's result limit before
//! the host reads it.
//!
//! Postgres sends a row as one message, and the driver reads a message whole:
//! a guest's `SELECT repeat('x', 1000000000)` (or a `RAISE` with such a
//! message) would otherwise cost the host that many bytes before any limit
//! could be checked. The relay reads each message's five-byte header, and for
//! one over the limit sends the client an `ErrorResponse` (SQLSTATE 54000,
//! program limit exceeded) in its place and closes the connection, so the
//! guest gets `TooLarge` and the pool opens a fresh connection. Everything
//! else is copied through, client to server untouched.
//!
//! Every tenant connection goes through it, wherever the server is: the pool
//! speaks plain Postgres to the relay on loopback, and the relay reaches the
//! server over TCP or a Unix socket, with TLS where `sslmode` asks for it
//! (`upstream.rs`), so it always sees the protocol.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpListener;

use super::upstream::Upstream;

/// How much longer than the result limit a message may be: a row's framing
/// (column count, a length per value) on top of its values.
const FRAMING_SLACK: usize = 64 << 10;

/// A running relay; it stops when dropped.
#[derive(Debug)]
pub(super) struct Relay {
    /// Where the tenant's pool connects.
    pub(super) addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a relay to `upstream` refusing messages over `max_bytes` (plus framing).
pub(super) async fn start(upstream: Upstream, max_bytes: usize) -> std::io::Result<Relay> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let max = max_bytes.saturating_add(FRAMING_SLACK);
    let task = tokio::spawn(async move {
        loop {
            let client = match listener.accept().await {
                Ok((client, _)) => client,
                Err(_) => {
                    // Out of descriptors and the like: pause rather than spin.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let _ = client.set_nodelay(true);
                let (mut client_read, mut client_write) = client.into_split();
                let server = match upstream.connect().await {
                    Ok(server) => server,
                    Err(e) => {
                        // The driver reads this as the server's answer to its
                        // startup message, so the pool's error says why.
                        let message = format!("the row-size relay cannot reach the Postgres server: {e}");
                        let _ = client_write.write_all(&error_response("08001", &message)).await;
                        return;
                    }
                };
                let (server_read, mut server_write) = tokio::io::split(server);
                let up = tokio::io::copy(&mut client_read, &mut server_write);
                let down = relay_messages(server_read, client_write, max);
                // Either side ending ends the connection.
                tokio::select! {
                    _ = up => {}
                    _ = down => {}
                }
            });
        }
    });
    Ok(Relay { addr, task })
}

/// Copies the server's messages to the client, refusing one longer than `max`.
async fn relay_messages<R, W>(from: R, to: W, max: usize) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut from = BufReader::with_capacity(64 << 10, from);
    let mut to = BufWriter::with_capacity(64 << 10, to);
    loop {
        // Nothing more at hand: hand the client what it has before waiting.
        if from.buffer().is_empty() {
            to.flush().await?;
        }
        let mut header = [0u8; 5];
        if let Err(e) = from.read_exact(&mut header).await {
            to.flush().await?;
            return if e.kind() == std::io::ErrorKind::UnexpectedEof { Ok(()) } else { Err(e) };
        }
        let body = (u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize).saturating_sub(4);
        if body > max {
            let message = format!(
                "a row or message of {body} bytes is over the {max}-byte limit (database.max_result_kb); select less per row"
            );
            to.write_all(&error_response("54000", &message)).await?;
            to.flush().await?;
            return Ok(());
        }
        to.write_all(&header).await?;
        let mut left = body;
        while left > 0 {
            if from.buffer().is_empty() {
                to.flush().await?;
            }
            let chunk = from.fill_buf().await?;
            if chunk.is_empty() {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let take = chunk.len().min(left);
            to.write_all(&chunk[..take]).await?;
            from.consume(take);
            left -= take;
        }
    }
}

/// A Postgres `ErrorResponse`: ERROR with this SQLSTATE and message.
fn error_response(sqlstate: &str, message: &str) -> Vec<u8> {
    let mut fields = Vec::new();
    for (code, value) in [(b'S', "ERROR"), (b'V', "ERROR"), (b'C', sqlstate), (b'M', message)] {
        fields.push(code);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&fields);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[tokio::test]
    async fn messages_within_the_limit_pass_whole_and_a_larger_one_is_replaced_by_an_error() {
        let mut stream = message(b'T', b"row description");
        stream.extend(message(b'D', &[7u8; 100]));
        stream.extend(message(b'D', &vec![b'x'; 5000]));
        stream.extend(message(b'Z', b"I"));
        let mut out = Vec::new();
        relay_messages(&stream[..], &mut out, 1000).await.unwrap();
        let kept = message(b'T', b"row description").len() + message(b'D', &[7u8; 100]).len();
        assert_eq!(&out[..kept], &stream[..kept], "the messages before pass unchanged");
        assert_eq!(out[kept], b'E');
        let text = String::from_utf8_lossy(&out[kept..]);
        assert!(text.contains("54000") && text.contains("5000 bytes"), "{text}");
        assert!(!text.contains("xxxx"), "nothing of the large message was passed on");
    }

    #[tokio::test]
    async fn a_stream_of_small_messages_passes_through_unchanged() {
        let mut stream = Vec::new();
        for i in 0..1000u32 {
            stream.extend(message(b'D', &i.to_be_bytes()));
        }
        let mut out = Vec::new();
        relay_messages(&stream[..], &mut out, 16).await.unwrap();
        assert_eq!(out, stream);
    }
}
