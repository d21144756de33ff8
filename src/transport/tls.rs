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
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
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
            builder.with_client_auth_cert(chain, key).map_err(|err| {
                TransportError::TlsSetup(format!(
                    "the client certificate and key do not fit together: {err}"
                ))
            })?
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
