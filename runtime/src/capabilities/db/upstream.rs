//! How the row-size relay reaches the Postgres server: over TCP or a Unix
//! socket, and over TLS when the URL's `sslmode` asks for it, so the relay
//! sees the protocol in the clear wherever the server is.
//!
//! `sslmode` keeps libpq's meanings: `disable`/`allow` never use TLS, `prefer`
//! uses it when the server offers it, `require` insists on it without
//! checking the certificate, `verify-ca` checks the certificate's chain and
//! `verify-full` its chain and name. The trusted roots are the file the URL
//! names with `sslrootcert` (or `PGSSLROOTCERT`), else the public web roots.
//! Client certificates are not supported.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::WebPkiSupportedAlgorithms;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// A byte stream to the server, plain or encrypted.
pub(super) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// The longest reaching the server may take (connect, TLS handshake): a
/// server that stalls mid-handshake must not hold a relay task for as long as
/// TCP would wait.
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// Postgres's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Where the server is and how to speak to it.
#[derive(Clone)]
pub(super) struct Upstream {
    place: Place,
    tls: Tls,
}

#[derive(Clone)]
enum Place {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

#[derive(Clone)]
enum Tls {
    Off,
    /// TLS when the server offers it, plain when it does not.
    Prefer(TlsConnector, ServerName<'static>),
    /// TLS or no connection.
    Require(TlsConnector, ServerName<'static>),
}

impl Upstream {
    /// The server `options` name, with the TLS its `sslmode` asks for.
    pub(super) fn from_options(options: &PgConnectOptions, root_cert: Option<&Path>) -> Result<Self, String> {
        if let Some(dir) = options.get_socket() {
            let path = dir.join(format!(".s.PGSQL.{}", options.get_port()));
            return Ok(Self { place: Place::Unix(path), tls: Tls::Off });
        }
        let host = options.get_host().trim_matches(['[', ']']).to_string();
        let place = Place::Tcp { host: host.clone(), port: options.get_port() };
        let name = || {
            ServerName::try_from(host.clone())
                .map_err(|e| format!("{host} cannot be checked against a certificate: {e}"))
        };
        let tls = match options.get_ssl_mode() {
            PgSslMode::Disable | PgSslMode::Allow => Tls::Off,
            PgSslMode::Prefer => Tls::Prefer(connector(Check::Nothing, root_cert)?, name()?),
            PgSslMode::Require => Tls::Require(connector(Check::Nothing, root_cert)?, name()?),
            PgSslMode::VerifyCa => Tls::Require(connector(Check::Chain, root_cert)?, name()?),
            PgSslMode::VerifyFull => Tls::Require(connector(Check::ChainAndName, root_cert)?, name()?),
        };
        Ok(Self { place, tls })
    }

    /// Whether connections are encrypted (when the server allows).
    #[cfg(test)]
    fn uses_tls(&self) -> bool {
        !matches!(self.tls, Tls::Off)
    }

    /// A connection to the server, past the TLS handshake where there is one,
    /// within `CONNECT_DEADLINE`.
    pub(super) async fn connect(&self) -> std::io::Result<Box<dyn Stream>> {
        self.connect_within(CONNECT_DEADLINE).await
    }

    async fn connect_within(&self, deadline: Duration) -> std::io::Result<Box<dyn Stream>> {
        tokio::time::timeout(deadline, self.connect_now()).await.unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the Postgres server did not answer within {deadline:?}"),
            ))
        })
    }

    async fn connect_now(&self) -> std::io::Result<Box<dyn Stream>> {
        let (host, port) = match &self.place {
            Place::Unix(path) => return Ok(Box::new(UnixStream::connect(path).await?)),
            Place::Tcp { host, port } => (host, *port),
        };
        let mut tcp = TcpStream::connect((host.as_str(), port)).await?;
        tcp.set_nodelay(true)?;
        let (connector, name, required) = match &self.tls {
            Tls::Off => return Ok(Box::new(tcp)),
            Tls::Prefer(c, n) => (c, n, false),
            Tls::Require(c, n) => (c, n, true),
        };
        tcp.write_all(&SSL_REQUEST).await?;
        // One byte, read unbuffered: anything the server sent after it is TLS.
        let mut answer = [0u8];
        tcp.read_exact(&mut answer).await?;
        match answer[0] {
            b'S' => {
                let tls = connector.connect(name.clone(), tcp).await.map_err(|e| {
                    std::io::Error::other(format!("the TLS handshake with the Postgres server failed: {e}"))
                })?;
                Ok(Box::new(tls))
            }
            b'N' if !required => Ok(Box::new(tcp)),
            b'N' => {
                Err(std::io::Error::other("the Postgres server does not offer TLS, which the URL's sslmode requires"))
            }
            other => {
                Err(std::io::Error::other(format!("the Postgres server answered TLS negotiation with {other:#04x}")))
            }
        }
    }
}

/// What is checked of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

fn connector(check: Check, root_cert: Option<&Path>) -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let chain = match check {
        Check::Nothing => None,
        Check::Chain | Check::ChainAndName => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root_cert)?), provider.clone())
                .build()
                .map_err(|e| format!("TLS setup: {e}"))?,
        ),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier { check, chain, algorithms }))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The roots `sslrootcert` names, else the public web roots.
fn roots(root_cert: Option<&Path>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let Some(path) = root_cert else {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(store);
    };
    let shown = path.display();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| format!("cannot read sslrootcert {shown}: {e}"))? {
        let cert = cert.map_err(|e| format!("sslrootcert {shown}: {e}"))?;
        store.add(cert).map_err(|e| format!("sslrootcert {shown}: {e}"))?;
    }
    if store.is_empty() {
        return Err(format!("sslrootcert {shown} holds no certificate"));
    }
    Ok(store)
}

/// The server's certificate checked as `sslmode` says: not at all (`require`,
/// `prefer`, as in libpq), its chain to a trusted root (`verify-ca`), or its
/// chain and name (`verify-full`). The handshake's signatures are always verified.
#[derive(Debug)]
struct Verifier {
    check: Check,
    /// The chain (and name) check; `None` with `Check::Nothing`.
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.check == Check::Chain => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(url: &str) -> Upstream {
        Upstream::from_options(&crate::postgres_url::connect_options(url).unwrap(), None).unwrap()
    }

    #[test]
    fn sslmode_decides_whether_the_relay_speaks_tls() {
        assert!(!upstream("postgres://u@127.0.0.1:5432/x").uses_tls(), "prefer on loopback is plain");
        assert!(upstream("postgres://u@db.example.com/x").uses_tls(), "prefer elsewhere tries TLS");
        assert!(upstream("postgres://u@127.0.0.1/x?sslmode=require").uses_tls());
        assert!(!upstream("postgres://u@db.example.com/x?sslmode=disable").uses_tls());
        assert!(!upstream("postgres://u@%2Frun%2Fpostgresql/x?sslmode=require").uses_tls(), "sockets are plain");
    }

    #[test]
    fn a_root_certificate_file_that_holds_none_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let options = crate::postgres_url::connect_options("postgres://u@db/x?sslmode=verify-full").unwrap();
        let e = Upstream::from_options(&options, Some(&empty)).err().unwrap();
        assert!(e.contains("holds no certificate"), "{e}");
        let e = Upstream::from_options(&options, Some(&dir.path().join("missing.pem"))).err().unwrap();
        assert!(e.contains("cannot read sslrootcert"), "{e}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_the_tls_request_is_given_up_on() {
        // A listener that never accepts: the kernel completes the TCP
        // handshake, and nothing ever answers the SSLRequest.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let up = upstream(&format!("postgres://u@127.0.0.1:{port}/x?sslmode=require"));
        let e = up.connect_within(Duration::from_millis(200)).await.err().unwrap();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
        assert!(e.to_string().contains("did not answer"), "{e}");
    }
}
