//! TLS by rustls: trusted roots from the system plus `--cacert`, client certificates for mTLS,
//! and `--insecure` for servers whose certificate cannot be checked.
//!
//! System roots are loaded only when a TLS connection is made, never for plaintext ones: reading
//! the system store costs milliseconds that a plaintext call should not pay.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::TransportError;

/// What the TLS flags asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Extra trusted roots (PEM), added to the system's.
    pub cacert: Option<PathBuf>,
    /// Client certificate chain (PEM), for mTLS.
    pub cert: Option<PathBuf>,
    /// Client private key (PEM), for mTLS.
    pub key: Option<PathBuf>,
    /// Skip verification of the server's certificate.
    pub insecure: bool,
}

/// The rustls client configuration for `options`, speaking HTTP/2 (ALPN `h2`).
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| TransportError::TlsSetup(err.to_string()))?;
    let builder = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider.clone())))
    } else {
        builder.with_root_certificates(roots(options.cacert.as_deref())?)
    };
    let mut config = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => {
            let chain = read_certificates(cert, "client certificate (--cert)")?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|err| TransportError::TlsFile {
                what: "client key (--key)",
                path: key.clone(),
                reason: err.to_string(),
            })?;
            client_auth(builder, &provider, chain, key)?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(TransportError::TlsSetup(
                "--cert and --key go together: give both for mTLS".to_string(),
            ));
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// The client certificate and key, for mutual TLS. rustls checks that the key is the
/// certificate's, and cannot read an X.509 version 1 certificate (no extensions: what `openssl
/// x509 -req` makes without `-extfile`) to check it; such a certificate is sent as it is, for
/// the server to judge, as Go's and OpenSSL's clients do.
fn client_auth(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    provider: &CryptoProvider,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ClientConfig, TransportError> {
    let version_1 = chain.first().is_some_and(|cert| is_version_1(cert));
    if !version_1 {
        return builder
            .with_client_auth_cert(chain, key)
            .map_err(|err| match err {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    TransportError::TlsSetup(
                        "the client key (--key) is not the key of the client certificate (--cert)"
                            .to_string(),
                    )
                }
                other => TransportError::TlsSetup(format!(
                    "the client certificate (--cert) and key (--key) cannot be used: {other}"
                )),
            });
    }
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|err| TransportError::TlsSetup(format!("the client key (--key): {err}")))?;
    let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
    Ok(builder.with_client_cert_resolver(Arc::new(OneClientCertificate(Arc::new(certified)))))
}

/// The one client certificate there is, whatever the server asks for.
#[derive(Debug)]
struct OneClientCertificate(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for OneClientCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Whether the first certificate of a PEM file is X.509 version 1 (false when it cannot be
/// read: that is reported where the file is read).
pub fn is_version_1_file(path: &Path) -> bool {
    CertificateDer::pem_file_iter(path)
        .ok()
        .and_then(|mut certificates| certificates.next())
        .and_then(Result::ok)
        .is_some_and(|certificate| is_version_1(&certificate))
}

/// Whether a DER certificate is X.509 version 1: its TBSCertificate opens with no explicit
/// `[0]` version field. (`Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
/// OPTIONAL, ... } ... }`.)
pub fn is_version_1(certificate: &[u8]) -> bool {
    /// The contents of the DER element at the start of `bytes` if it has tag `tag`.
    fn contents(bytes: &[u8], tag: u8) -> Option<&[u8]> {
        let (&first, rest) = bytes.split_first()?;
        if first != tag {
            return None;
        }
        let (&length, rest) = rest.split_first()?;
        let (length, rest) = if length < 0x80 {
            (usize::from(length), rest)
        } else {
            let count = usize::from(length & 0x7f);
            let (digits, rest) = rest.split_at_checked(count)?;
            let length = digits.iter().try_fold(0_usize, |sum, digit| {
                sum.checked_mul(256)?.checked_add(usize::from(*digit))
            })?;
            (length, rest)
        };
        rest.get(..length)
    }
    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xa0;
    contents(certificate, SEQUENCE)
        .and_then(|certificate| contents(certificate, SEQUENCE))
        .and_then(|tbs| tbs.first())
        .is_some_and(|first| *first != VERSION)
}

/// The system's trusted roots plus the certificates in `cacert`.
fn roots(cacert: Option<&Path>) -> Result<RootCertStore, TransportError> {
    let mut store = RootCertStore::empty();
    // A system store that cannot be read is not fatal: --cacert may be all that is needed.
    for certificate in rustls_native_certs::load_native_certs().certs {
        let _ = store.add(certificate);
    }
    if let Some(path) = cacert {
        for certificate in read_certificates(path, "CA certificate (--cacert)")? {
            store
                .add(certificate)
                .map_err(|err| TransportError::TlsFile {
                    what: "CA certificate (--cacert)",
                    path: path.to_path_buf(),
                    reason: err.to_string(),
                })?;
        }
    }
    Ok(store)
}

fn read_certificates(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let failed = |reason: String| TransportError::TlsFile {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|err| failed(err.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| failed(err.to_string()))?;
    if certificates.is_empty() {
        return Err(failed("it holds no PEM certificate".to_string()));
    }
    Ok(certificates)
}

/// `--insecure`: accepts any certificate, but still checks that the handshake is signed
/// consistently, so the connection is encrypted even if its peer is not authenticated.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
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
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_is_told_by_the_missing_version_field() {
        // A certificate whose TBSCertificate opens with `[0]` (a version) is not version 1;
        // one that opens with anything else (the serial number, an INTEGER) is.
        assert!(!is_version_1(b"\x30\x05\x30\x03\xa0\x01\x02"));
        assert!(is_version_1(b"\x30\x05\x30\x03\x02\x01\x01"));
        assert!(!is_version_1(b"\x30\x03\x30\x01"));
        assert!(!is_version_1(b""));
    }
}
