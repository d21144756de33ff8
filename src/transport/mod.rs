//! Connections to gRPC servers: targets and listen addresses, channels, TLS and request
//! metadata.
//!
//! This module opens HTTP/2 channels and validates metadata; it never prints and knows nothing
//! of schemas. Connection failures come back as typed errors that name the real cause:
//! "connection refused" stays "connection refused", a TLS client at a plaintext server is told
//! so, a certificate problem says which check failed.

pub mod connector;
pub mod metadata;
pub mod target;
pub mod tls;

use std::error::Error as StdError;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tonic::transport::{Channel, Endpoint};

use connector::{Cause, Connector, Mismatch, Probe};
pub use metadata::{Header, HeaderValue};
pub use target::{ListenAddr, Route, Scheme, Target};
pub use tls::TlsOptions;

/// HTTP/2 flow-control windows. Large windows let a fast peer stream many small messages
/// without h2 closing the connection for too many pending DATA frames, which a fast stream of
/// small messages makes when the window is small.
pub const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;
pub const STREAM_WINDOW: u32 = 4 * 1024 * 1024;

/// grpcx's own user agent; `--user-agent` is appended to it.
pub const USER_AGENT: &str = concat!("grpcx/", env!("CARGO_PKG_VERSION"));

/// Everything needed to open a channel.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub target: Target,
    /// TLS settings when the connection uses TLS, `None` for plaintext.
    pub tls: Option<TlsOptions>,
    /// `:authority` and the name checked on the server's certificate, when not the target's.
    pub authority: Option<String>,
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive pings at this interval.
    pub keepalive: Option<Duration>,
    /// Appended to grpcx's own user agent.
    pub user_agent: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect to {target}: connection refused")]
    Refused { target: Target },
    #[error("cannot connect to {target}: no socket at {}", .path.display())]
    NoSocket { target: Target, path: PathBuf },
    #[error("cannot connect to {target}: no answer within {timeout:?}")]
    ConnectTimeout { target: Target, timeout: Duration },
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: Target, reason: String },
    #[error("cannot talk to {target}: {mismatch}")]
    Mismatch { target: Target, mismatch: Mismatch },
    #[error("TLS with {target} failed: {reason}")]
    Tls {
        target: Target,
        reason: String,
        hint: &'static str,
    },
    #[error("cannot read the {what} {}: {reason}", .path.display())]
    TlsFile {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("cannot set up TLS: {0}")]
    TlsSetup(String),
    #[error("`{0}` is not a valid authority")]
    BadAuthority(String),
}

impl TransportError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            TransportError::Refused { .. } => {
                "is the server running? Start the demo with `grpcx serve-demo`, or point --addr (or GRPCX_ADDR) at your server".to_string()
            }
            TransportError::NoSocket { .. } => {
                "check the socket path; is the server running?".to_string()
            }
            TransportError::ConnectTimeout { .. } => {
                "check the address and that the server is up; --connect-timeout sets how long to wait".to_string()
            }
            TransportError::Connect { .. } => "check the address given with --addr".to_string(),
            TransportError::Mismatch { mismatch, .. } => mismatch.hint().to_string(),
            TransportError::Tls { hint, .. } => hint.to_string(),
            TransportError::TlsFile { .. } => "check the file's path; it must be PEM".to_string(),
            TransportError::TlsSetup(_) => return None,
            TransportError::BadAuthority(_) => {
                "give --authority as HOST or HOST:PORT, e.g. --authority api.example.com".to_string()
            }
        })
    }
}

/// An open channel, and what its connection learns about failures below HTTP/2.
#[derive(Debug, Clone)]
pub struct Connection {
    pub channel: Channel,
    probe: Probe,
    target: Target,
    shown: Shown,
}

/// What grpcx showed the server, for the errors that name it.
#[derive(Debug, Clone, Default)]
struct Shown {
    /// The name `--authority` gave, which the server's certificate is checked against.
    authority: Option<String>,
    /// The client certificate offered, if one was.
    client_certificate: Option<ClientCertificate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientCertificate {
    Version3,
    /// X.509 version 1, which many TLS stacks (rustls, so tonic servers, among them) refuse.
    Version1,
}

impl Shown {
    fn of(options: &ConnectOptions) -> Shown {
        let certificate = options.tls.as_ref().and_then(|tls| tls.cert.as_ref());
        Shown {
            authority: options.authority.clone(),
            client_certificate: certificate.map(|path| {
                if tls::is_version_1_file(path) {
                    ClientCertificate::Version1
                } else {
                    ClientCertificate::Version3
                }
            }),
        }
    }

    /// Why the server refused the client certificate, as far as grpcx can tell.
    fn refusal(&self) -> (String, &'static str) {
        match self.client_certificate {
            Some(ClientCertificate::Version1) => (
                "the server refused grpcx's client certificate, an X.509 version 1 certificate (no extensions), which many TLS stacks refuse".to_string(),
                "make a version 3 certificate: `openssl x509 -req … -extfile` with at least `basicConstraints=CA:FALSE`",
            ),
            _ => (
                "the server refused grpcx's client certificate".to_string(),
                "use a client certificate (--cert, --key) signed by a CA the server trusts",
            ),
        }
    }
}

impl Connection {
    /// Explains a failed call's status when its cause lies below gRPC (a TLS alert, a protocol
    /// mismatch): those surface only on the first request, and HTTP/2 reports them to the call
    /// as a bare "broken pipe".
    pub async fn diagnose(&self, status: &tonic::Status) -> Option<TransportError> {
        let cause = match self.probe.cause() {
            Some(cause) => cause,
            None => {
                let problem = classify(
                    &self.target,
                    &self.shown,
                    Duration::ZERO,
                    StdError::source(status)?,
                )?;
                return matches!(
                    problem,
                    TransportError::Mismatch { .. } | TransportError::Tls { .. }
                )
                .then_some(problem);
            }
        };
        Some(match cause {
            Cause::Mismatch(mismatch) => TransportError::Mismatch {
                target: self.target.clone(),
                mismatch,
            },
            Cause::Tls(err) => tls_problem(&self.target, &self.shown, &err),
            Cause::ClosedBeforeAnswer { tls: false } => TransportError::Mismatch {
                target: self.target.clone(),
                mismatch: connector::second_opinion(&self.target.route)
                    .await
                    .unwrap_or(Mismatch::ClosedWithoutAnswer),
            },
            Cause::ClosedBeforeAnswer { tls: true } => match self.shown.client_certificate {
                Some(_) => {
                    let (reason, hint) = self.shown.refusal();
                    TransportError::Tls {
                        target: self.target.clone(),
                        reason: format!("right after the handshake, {reason} (it hung up)"),
                        hint,
                    }
                }
                None => TransportError::Tls {
                    target: self.target.clone(),
                    reason: "the server hung up right after the handshake: it probably requires a client certificate".to_string(),
                    hint: "give one with --cert FILE --key FILE",
                },
            },
        })
    }
}

/// Opens a channel, waiting at most `connect_timeout` for the connection (and the TLS
/// handshake, if any).
pub async fn connect(options: &ConnectOptions) -> Result<Connection, TransportError> {
    let target = &options.target;
    let authority = options
        .authority
        .clone()
        .unwrap_or_else(|| target.authority());
    let bad_authority = || TransportError::BadAuthority(authority.clone());
    // The connector makes the connection; the URI only names the origin for requests.
    let endpoint =
        Endpoint::from_shared(format!("http://{authority}")).map_err(|_| bad_authority())?;
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let origin = format!("{scheme}://{authority}")
        .parse()
        .map_err(|_| bad_authority())?;
    let user_agent = match &options.user_agent {
        Some(extra) => format!("{USER_AGENT} {extra}"),
        None => USER_AGENT.to_string(),
    };
    let mut endpoint = endpoint
        .origin(origin)
        .connect_timeout(options.connect_timeout)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .initial_stream_window_size(STREAM_WINDOW)
        .user_agent(user_agent)
        .map_err(|_| TransportError::Connect {
            target: target.clone(),
            reason: "the user agent is not a valid header value".to_string(),
        })?;
    if let Some(interval) = options.keepalive {
        endpoint = endpoint
            .http2_keep_alive_interval(interval)
            .keep_alive_while_idle(true);
    }

    let tls = match &options.tls {
        None => None,
        Some(tls_options) => {
            let host = host_of(&authority);
            let name = ServerName::try_from(host.to_string()).map_err(|_| bad_authority())?;
            Some((tls::client_config(tls_options)?, name))
        }
    };
    let probe = Probe::default();
    let connector = Connector::new(target.route.clone(), tls, probe.clone());
    match tokio::time::timeout(
        options.connect_timeout,
        endpoint.connect_with_connector(connector),
    )
    .await
    {
        Err(_) => Err(TransportError::ConnectTimeout {
            target: target.clone(),
            timeout: options.connect_timeout,
        }),
        Ok(Ok(channel)) => Ok(Connection {
            channel,
            probe,
            target: target.clone(),
            shown: Shown::of(options),
        }),
        Ok(Err(err)) => Err(
            classify(target, &Shown::of(options), options.connect_timeout, &err).unwrap_or_else(
                || TransportError::Connect {
                    target: target.clone(),
                    reason: deepest_message(&err),
                },
            ),
        ),
    }
}

/// The host part of an authority: `[::1]:80` → `::1`, `a.b:443` → `a.b`.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// Every error in a chain, looking inside `io::Error`s too (whose `source` skips the error
/// they wrap).
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut all = Vec::new();
    let mut next = Some(err);
    while let Some(current) = next {
        all.push(current);
        next = match current
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => current.source(),
        };
    }
    all
}

fn deepest_message(err: &(dyn StdError + 'static)) -> String {
    chain(err)
        .last()
        .map(|cause| cause.to_string())
        .unwrap_or_default()
}

/// Recognises the causes a person can act on.
fn classify(
    target: &Target,
    shown: &Shown,
    timeout: Duration,
    err: &(dyn StdError + 'static),
) -> Option<TransportError> {
    for cause in chain(err) {
        if let Some(mismatch) = cause.downcast_ref::<Mismatch>() {
            return Some(TransportError::Mismatch {
                target: target.clone(),
                mismatch: mismatch.clone(),
            });
        }
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls_problem(target, shown, tls));
        }
        if let Some(io_err) = cause.downcast_ref::<io::Error>() {
            match (io_err.kind(), &target.route) {
                (io::ErrorKind::ConnectionRefused, _) => {
                    return Some(TransportError::Refused {
                        target: target.clone(),
                    });
                }
                (io::ErrorKind::NotFound, Route::Unix(path)) => {
                    return Some(TransportError::NoSocket {
                        target: target.clone(),
                        path: path.clone(),
                    });
                }
                (io::ErrorKind::TimedOut, _) => {
                    return Some(TransportError::ConnectTimeout {
                        target: target.clone(),
                        timeout,
                    });
                }
                _ => {}
            }
        }
    }
    None
}

/// A TLS failure in words.
fn tls_problem(target: &Target, shown: &Shown, err: &rustls::Error) -> TransportError {
    let authority = shown.authority.as_deref();
    use rustls::{AlertDescription, CertificateError};
    let (reason, hint) = match err {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => (
            "the server's certificate is not signed by a trusted CA".to_string(),
            "trust its CA with --cacert FILE (or skip the check with --insecure, which is unsafe)",
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => match authority {
            Some(authority) => (
                format!(
                    "the server's certificate is not valid for `{}`, the name --authority gives",
                    host_of(authority)
                ),
                "give --authority a name the server's certificate carries (`openssl s_client -connect HOST:PORT` shows them)",
            ),
            None => (
                format!(
                    "the server's certificate is not valid for `{}`",
                    target.host()
                ),
                "set the name the certificate must carry with --authority NAME",
            ),
        },
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => (
            "the server's certificate has expired".to_string(),
            "renew the server's certificate (or skip the check with --insecure, which is unsafe)",
        ),
        rustls::Error::InvalidCertificate(other) => (
            format!("the server's certificate is not acceptable: {other:?}"),
            "check the server's certificate, or pass its CA with --cacert FILE",
        ),
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => (
            "the server requires a client certificate".to_string(),
            "give one with --cert FILE --key FILE",
        ),
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied,
        ) => shown.refusal(),
        other => (
            other.to_string(),
            "check the TLS settings: --cacert, --cert, --key, --authority, --insecure",
        ),
    };
    TransportError::Tls {
        target: target.clone(),
        reason,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_an_authority() {
        assert_eq!(host_of("[::1]:80"), "::1");
        assert_eq!(host_of("api.example.com:443"), "api.example.com");
        assert_eq!(host_of("api.example.com"), "api.example.com");
    }
}
