//! Connections to gRPC servers: targets, channels and request metadata.
//!
//! This module opens HTTP/2 channels and validates metadata; it never prints and knows nothing
//! of schemas. Connection failures come back as typed errors whose message names the real cause
//! ("connection refused" stays "connection refused", never a schema problem).

pub mod metadata;
pub mod target;

use std::error::Error as _;
use std::io;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

pub use metadata::{Header, HeaderValue};
pub use target::{Scheme, Target};

/// HTTP/2 flow-control windows. Large windows let a fast peer stream many small messages
/// without h2 closing the connection for too many pending DATA frames (see the GUIDE's pitfalls).
pub const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;
pub const STREAM_WINDOW: u32 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect to {target}: connection refused")]
    Refused { target: Target },
    #[error("cannot connect to {target}: no answer within {timeout:?}")]
    ConnectTimeout { target: Target, timeout: Duration },
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: Target, reason: String },
    #[error("cannot connect to {target}: TLS is not supported yet")]
    TlsUnsupported { target: Target },
}

impl TransportError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            TransportError::Refused { .. } => {
                "is the server running? Start the demo with `grpcx serve-demo`, or point --addr (or GRPCX_ADDR) at your server".to_string()
            }
            TransportError::ConnectTimeout { .. } => {
                "check the address and that the server is up; --connect-timeout sets how long to wait".to_string()
            }
            TransportError::Connect { .. } => "check the address given with --addr".to_string(),
            TransportError::TlsUnsupported { target } => format!(
                "for a plaintext server use http://{}; TLS arrives in a later version",
                target.authority
            ),
        })
    }
}

/// Opens a channel to `target`, waiting at most `connect_timeout` for the connection.
pub async fn connect(
    target: &Target,
    connect_timeout: Duration,
) -> Result<Channel, TransportError> {
    if target.scheme == Scheme::Https {
        return Err(TransportError::TlsUnsupported {
            target: target.clone(),
        });
    }
    let endpoint = Endpoint::from_shared(target.uri())
        .map_err(|err| TransportError::Connect {
            target: target.clone(),
            reason: err.to_string(),
        })?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .initial_stream_window_size(STREAM_WINDOW)
        .user_agent(concat!("grpcx/", env!("CARGO_PKG_VERSION")))
        .map_err(|err| TransportError::Connect {
            target: target.clone(),
            reason: err.to_string(),
        })?;
    match tokio::time::timeout(connect_timeout, endpoint.connect()).await {
        Err(_) => Err(TransportError::ConnectTimeout {
            target: target.clone(),
            timeout: connect_timeout,
        }),
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(err)) => Err(classify(target, connect_timeout, &err)),
    }
}

/// Turns tonic's layered connection error into the root cause a person recognises.
fn classify(target: &Target, timeout: Duration, err: &tonic::transport::Error) -> TransportError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
    let mut deepest = err.to_string();
    while let Some(cause) = source {
        if let Some(io_err) = cause.downcast_ref::<io::Error>() {
            match io_err.kind() {
                io::ErrorKind::ConnectionRefused => {
                    return TransportError::Refused {
                        target: target.clone(),
                    };
                }
                io::ErrorKind::TimedOut => {
                    return TransportError::ConnectTimeout {
                        target: target.clone(),
                        timeout,
                    };
                }
                _ => {}
            }
        }
        if cause.to_string().contains("timed out") {
            return TransportError::ConnectTimeout {
                target: target.clone(),
                timeout,
            };
        }
        deepest = cause.to_string();
        source = cause.source();
    }
    TransportError::Connect {
        target: target.clone(),
        reason: deepest,
    }
}
