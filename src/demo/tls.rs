//! The demo server's TLS identity, and the client CA that turns on mutual TLS.

use std::path::Path;

use super::DemoError;

/// The server's TLS identity, in PEM.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    pub client_ca_pem: Option<Vec<u8>>,
}

impl ServerTls {
    /// Reads the PEM files named on the command line.
    pub fn from_files(
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<ServerTls, DemoError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| DemoError::ReadFile {
                what,
                path: path.to_path_buf(),
                source,
            })
        };
        Ok(ServerTls {
            cert_pem: read("the certificate", cert)?,
            key_pem: read("the key", key)?,
            client_ca_pem: client_ca.map(|ca| read("the client CA", ca)).transpose()?,
        })
    }

    /// How the server is reached, in words: TLS, or mutual TLS when clients need certificates.
    pub fn describe(&self) -> &'static str {
        if self.client_ca_pem.is_some() {
            "mutual TLS"
        } else {
            "TLS"
        }
    }
}
