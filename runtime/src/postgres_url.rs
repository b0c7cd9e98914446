//! What a Postgres URL (`platform.database_url`) says, read the same way by
//! the platform store and by tenants' databases: its connect options, where
//! to find the root certificate it trusts, and a form safe to log.
//!
//! `sslmode` has libpq's meanings. One exception: `prefer` (the default) to a
//! server on a loopback address connects without TLS, since on loopback TLS
//! protects nothing and costs every connection a handshake; name `require`
//! (or `verify-ca`, `verify-full`) to have TLS there too.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// The URL's connect options.
pub(crate) fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    if matches!(options.get_ssl_mode(), PgSslMode::Prefer) && is_loopback(options.get_host()) {
        return Ok(options.ssl_mode(PgSslMode::Disable));
    }
    Ok(options)
}

/// The root certificate file the URL names (`sslrootcert=`), or `PGSSLROOTCERT`.
pub(crate) fn root_cert(url: &str) -> Option<PathBuf> {
    let from_url = url::Url::parse(url)
        .ok()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "sslrootcert").map(|(_, v)| v.into_owned()));
    from_url.or_else(|| std::env::var("PGSSLROOTCERT").ok()).filter(|p| !p.is_empty()).map(PathBuf::from)
}

/// Whether `host` (as a URL spells it: IPv6 in brackets) is this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The URL without its credentials, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_on_loopback_is_plain_and_anything_named_is_kept() {
        let mode = |url: &str| connect_options(url).unwrap().get_ssl_mode();
        assert!(matches!(mode("postgres://u@127.0.0.1/x"), PgSslMode::Disable));
        assert!(matches!(mode("postgres://u@localhost/x"), PgSslMode::Disable));
        assert!(matches!(mode("postgres://u@[::1]/x"), PgSslMode::Disable));
        assert!(matches!(mode("postgres://u@db.example.com/x"), PgSslMode::Prefer));
        assert!(matches!(mode("postgres://u@127.0.0.1/x?sslmode=require"), PgSslMode::Require));
        assert!(matches!(mode("postgres://u@localhost/x?sslmode=verify-full"), PgSslMode::VerifyFull));
    }

    #[test]
    fn the_root_certificate_comes_from_the_url() {
        assert_eq!(
            root_cert("postgres://u@h/x?sslmode=verify-ca&sslrootcert=%2Fetc%2Fca.pem"),
            Some(PathBuf::from("/etc/ca.pem"))
        );
    }

    #[test]
    fn credentials_are_not_shown() {
        assert_eq!(redact("postgres://u:secret@db:5432/x"), "postgres://…@db:5432/x");
        assert_eq!(redact("sqlite://x"), "sqlite://x");
    }
}
