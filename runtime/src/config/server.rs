//! `[server]`: how the public listener treats connections. Every anonymous
//! client gets a connection before anything else is known about it, so each
//! thing a connection can hold (a slot, a half-read head, an idle socket, a
//! body trickling in) is bounded here, with defaults that a real client never
//! meets.

use std::time::Duration;

use serde::Deserialize;

/// A request head (request line and headers) must arrive whole within this,
/// counted from when the connection is ready for one. Real clients send a head
/// in one packet; ten seconds covers a slow mobile link.
pub(super) const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A kept-alive connection with no request in flight is closed after this.
/// Browsers reuse a connection within seconds or not at all.
pub(super) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A request body must arrive whole within this, once the gate admitted it.
/// At a 1 MiB body limit that allows a client as slow as ~35 KiB/s.
pub(super) const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Open connections at once; past this the listener stops accepting until one
/// closes (the kernel's backlog holds the rest). Each costs a file descriptor
/// and a few KiB.
pub(super) const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// `Server-Timing` on every answer: on, so a developer sees in the browser's
/// devtools (or `curl -i`) where a request's time went. It tells a client how
/// long the gate, the guest and its database took; turn it off where that is
/// more than callers should know.
pub(super) const DEFAULT_SERVER_TIMING: bool = true;

/// `[server]`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSection {
    /// See [`DEFAULT_HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// See [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`DEFAULT_BODY_READ_TIMEOUT`].
    pub body_read_timeout: Duration,
    /// See [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`DEFAULT_SERVER_TIMING`].
    pub server_timing: bool,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            server_timing: DEFAULT_SERVER_TIMING,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    header_read_timeout: Option<String>,
    idle_timeout: Option<String>,
    body_read_timeout: Option<String>,
    max_connections: Option<usize>,
    server_timing: Option<bool>,
}

/// Resolves `[server]`; an error is (dotted key, problem).
pub(super) fn resolve(raw: &RawServer) -> Result<ServerSection, (String, String)> {
    let mut s = ServerSection::default();
    let duration = |key: &str, text: &Option<String>, into: &mut Duration| -> Result<(), (String, String)> {
        if let Some(t) = text {
            let d = super::parse_duration(t).map_err(|p| (format!("server.{key}"), p))?;
            if d.is_zero() {
                return Err((format!("server.{key}"), "must be more than 0".into()));
            }
            *into = d;
        }
        Ok(())
    };
    duration("header_read_timeout", &raw.header_read_timeout, &mut s.header_read_timeout)?;
    duration("idle_timeout", &raw.idle_timeout, &mut s.idle_timeout)?;
    duration("body_read_timeout", &raw.body_read_timeout, &mut s.body_read_timeout)?;
    if let Some(n) = raw.max_connections {
        if n == 0 {
            return Err(("server.max_connections".into(), "must be more than 0".into()));
        }
        s.max_connections = n;
    }
    if let Some(on) = raw.server_timing {
        s.server_timing = on;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(resolve(&RawServer::default()).unwrap(), ServerSection::default());
        let raw: RawServer = toml::from_str("header_read_timeout = \"2s\"\nmax_connections = 5").unwrap();
        let s = resolve(&raw).unwrap();
        assert_eq!(s.header_read_timeout, Duration::from_secs(2));
        assert_eq!(s.max_connections, 5);
        assert_eq!(s.idle_timeout, DEFAULT_IDLE_TIMEOUT);
        assert!(s.server_timing);
        let raw: RawServer = toml::from_str("server_timing = false").unwrap();
        assert!(!resolve(&raw).unwrap().server_timing);
    }

    #[test]
    fn zero_is_refused() {
        let raw: RawServer = toml::from_str("idle_timeout = \"0s\"").unwrap();
        assert_eq!(resolve(&raw).unwrap_err().0, "server.idle_timeout");
        let raw: RawServer = toml::from_str("max_connections = 0").unwrap();
        assert_eq!(resolve(&raw).unwrap_err().0, "server.max_connections");
    }
}
