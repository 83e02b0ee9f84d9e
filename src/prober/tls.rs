//! The TLS client for HTTPS probes and hooks: rustls with the ring provider, TLS 1.2 and 1.3,
//! and **no certificate verification**, because the kubelet dials probe and lifecycle-hook
//! HTTPS endpoints with `tls.Config{InsecureSkipVerify: true}` (pkg/probe/http/http.go `New`,
//! kubelet.go `insecureContainerLifecycleHTTPClient`). As with Go's InsecureSkipVerify, the
//! chain and the name are not checked, but the handshake signature must still be valid for
//! the certificate's key.
//!
//! ALPN offers only `http/1.1`: the client below speaks HTTP/1.1. (The kubelet's probe
//! transport would also offer `h2`; a server that supports both then gets HTTP/2 from the
//! kubelet and HTTP/1.1 from podcheck — same status codes and bodies.)

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::tcp::{Recorded, io_text};

/// The shared client configuration, built on first use.
pub fn client_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG.get_or_init(build).clone()
}

fn build() -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(ring::default_provider());
    // Only fails if the provider lacks suites for the versions, which ring does not.
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("tls: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(SkipVerify { provider }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts any server certificate (the kubelet's `InsecureSkipVerify: true`).
#[derive(Debug)]
struct SkipVerify {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The name to present: SNI for a DNS name; none for an IP address (like Go's
/// `hostnameInSNI`); a name rustls rejects is sent without SNI rather than failing.
pub fn server_name(host: &str) -> ServerName<'static> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return ServerName::IpAddress(ip.into());
    }
    ServerName::try_from(bare.to_string()).unwrap_or(ServerName::IpAddress(
        std::net::IpAddr::from([0, 0, 0, 0]).into(),
    ))
}

/// The client handshake over `tcp`. Errors are Go's text and whether the server answered in
/// plain HTTP (net/http's `ErrSchemeMismatch`, judged like Go from the first 5 bytes).
pub(crate) async fn connect(
    tcp: Recorded,
    hostname: &str,
    local: Option<SocketAddr>,
    peer: SocketAddr,
) -> Result<tokio_rustls::client::TlsStream<Recorded>, (String, bool)> {
    let config = client_config().map_err(|e| (e, false))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let seen = tcp.seen();
    match connector
        .connect(server_name(hostname), tcp)
        .into_fallible()
        .await
    {
        Ok(stream) => Ok(stream),
        Err(_) if seen.first(5) == b"HTTP/" => Err((
            "http: server gave HTTP response to HTTPS client".into(),
            true,
        )),
        Err((e, _)) => {
            let tls = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            Err((
                match tls {
                    Some(rustls::Error::AlertReceived(alert)) => {
                        format!("remote error: tls: {}", words(&format!("{alert:?}")))
                    }
                    Some(rustls::Error::InvalidMessage(_)) => {
                        "tls: first record does not look like a TLS handshake".into()
                    }
                    Some(other) => format!("tls: {other}"),
                    None => io_text(&e, local, peer, "EOF"),
                },
                false,
            ))
        }
    }
}

/// `HandshakeFailure` → `handshake failure` (Go's alert texts).
fn words(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_built_once_and_offers_http11() {
        let a = client_config().unwrap();
        let b = client_config().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn ip_hosts_get_no_sni() {
        assert!(matches!(server_name("127.0.0.1"), ServerName::IpAddress(_)));
        assert!(matches!(server_name("[::1]"), ServerName::IpAddress(_)));
        assert!(matches!(server_name("localhost"), ServerName::DnsName(_)));
    }
}
