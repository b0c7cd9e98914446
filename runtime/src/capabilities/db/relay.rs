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
//! speaks plain Postgres to the relay over a Unix socket in a directory only
//! this process's user can enter, and the relay reaches the server over TCP or
//! a Unix socket, with TLS where `sslmode` asks for it (`upstream.rs`), so it
//! always sees the protocol. A Unix socket rather than loopback TCP: every
//! byte of every statement crosses this hop twice, and a Unix socket skips the
//! TCP stack for both (the Postgres row's profile had most of its kernel time
//! in loopback TCP sends).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::UnixListener;

use super::upstream::Upstream;

/// How much longer than the result limit a message may be: a row's framing
/// (column count, a length per value) on top of its values.
const FRAMING_SLACK: usize = 64 << 10;

/// The port in the socket's name. The driver names a socket
/// `<directory>/.s.PGSQL.<port>`, as libpq does; each relay has a directory
/// of its own, so every relay can use the same port.
pub(super) const SOCKET_PORT: u16 = 5432;

/// A running relay; it stops, and its socket's directory goes, when dropped.
#[derive(Debug)]
pub(super) struct Relay {
    /// The directory holding the socket, for the driver's `socket` option.
    pub(super) directory: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// A new directory for one relay's socket, mode 0700: other users of the
/// machine cannot reach the socket (with loopback TCP they could reach the
/// port, though not past the role's password).
fn private_directory() -> std::io::Result<PathBuf> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(std::io::Error::other)?;
    // The temporary directory, not the data dir: a socket's path must stay
    // under about 100 bytes, and a data dir may be deeper than that.
    let path = std::env::temp_dir().join(format!("gatehouse-relay-{}", hex::encode(random)));
    std::fs::DirBuilder::new().mode(0o700).create(&path)?;
    Ok(path)
}

fn socket_path(directory: &Path) -> PathBuf {
    directory.join(format!(".s.PGSQL.{SOCKET_PORT}"))
}

/// Starts a relay to `upstream` refusing messages over `max_bytes` (plus framing).
pub(super) async fn start(upstream: Upstream, max_bytes: usize) -> std::io::Result<Relay> {
    let directory = private_directory()?;
    let listener = match UnixListener::bind(socket_path(&directory)) {
        Ok(l) => l,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&directory);
            return Err(e);
        }
    };
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
    Ok(Relay { directory, task })
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

    #[test]
    fn the_socket_directory_is_private_to_this_user_and_goes_with_the_relay() {
        use std::os::unix::fs::PermissionsExt;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let upstream = Upstream::from_options(&"postgres://u@127.0.0.1:1/x".parse().unwrap(), None).unwrap();
        let relay = rt.block_on(start(upstream, 1000)).unwrap();
        let mode = std::fs::metadata(&relay.directory).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        assert!(socket_path(&relay.directory).exists());
        let directory = relay.directory.clone();
        drop(relay);
        assert!(!directory.exists(), "the directory is removed with the relay");
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
