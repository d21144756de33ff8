//! The one way grpcx opens connections: TCP or a Unix socket, then TLS or plaintext.
//!
//! tonic's own connector cannot skip certificate checks, speak TLS over a Unix socket, or tell
//! a plaintext server from a TLS one. This connector does all three. A plaintext connection
//! watches the first bytes the server sends: a TLS record or an HTTP/1 answer there means the
//! two sides disagree, and grpcx says so at once instead of waiting for a timeout.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tonic::codegen::http::Uri;

use super::Route;

/// Any byte stream the connector can hand to HTTP/2.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// What went wrong below HTTP/2, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("the server speaks TLS, but grpcx connected in plaintext")]
    ServerSpeaksTls,
    #[error("the server speaks plaintext, but grpcx connected with TLS")]
    ServerSpeaksPlaintext,
    #[error("the port speaks HTTP/1.1 (a web server, by its answer), not gRPC over HTTP/2")]
    ServerSpeaksHttp1,
    #[error("the server hung up without a word of HTTP/2: it probably speaks TLS")]
    ClosedWithoutAnswer,
}

impl Mismatch {
    pub fn hint(&self) -> &'static str {
        match self {
            Mismatch::ServerSpeaksTls | Mismatch::ClosedWithoutAnswer => {
                "use an https:// address or --tls"
            }
            Mismatch::ServerSpeaksPlaintext => "use an http:// address or --plaintext",
            Mismatch::ServerSpeaksHttp1 => {
                "point --addr at the gRPC server's own port; neither --tls nor --plaintext makes a web server speak gRPC"
            }
        }
    }
}

/// What a connection learned about why it failed. HTTP/2 passes an I/O failure on to the
/// calls as a bare "broken pipe", losing its cause, so the byte streams record the cause here
/// for the caller to read.
#[derive(Debug, Clone, Default)]
pub struct Probe(Arc<Mutex<Option<Cause>>>);

/// A failure cause found below HTTP/2.
#[derive(Debug, Clone)]
pub enum Cause {
    Mismatch(Mismatch),
    Tls(rustls::Error),
    /// The server hung up before sending a single byte of HTTP/2: over plaintext, most likely
    /// a TLS server; over TLS, most likely a server that refused the client's certificate
    /// (TLS 1.3 checks it after the handshake, and the alert is lost in the reset).
    ClosedBeforeAnswer {
        tls: bool,
    },
}

impl Probe {
    fn record(&self, cause: Cause) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(cause);
        }
    }

    /// The first cause recorded, if any.
    pub fn cause(&self) -> Option<Cause> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    /// Records the cause inside `err`, if it carries one.
    fn inspect(&self, err: &io::Error) {
        if let Some(inner) = err.get_ref() {
            if let Some(mismatch) = inner.downcast_ref::<Mismatch>() {
                self.record(Cause::Mismatch(mismatch.clone()));
            } else if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                self.record(Cause::Tls(tls.clone()));
            }
        }
    }
}

#[derive(Clone)]
pub struct Connector {
    route: Route,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    probe: Probe,
}

impl Connector {
    pub fn new(
        route: Route,
        tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
        probe: Probe,
    ) -> Connector {
        Connector {
            route,
            tls: tls.map(|(config, name)| (tokio_rustls::TlsConnector::from(config), name)),
            probe,
        }
    }

    async fn connect(self) -> io::Result<TokioIo<Box<dyn Io>>> {
        let stream: Box<dyn Io> = match &self.route {
            Route::Tcp { host, port } => {
                let stream = TcpStream::connect((host.as_str(), *port)).await?;
                // Small gRPC frames must not wait for Nagle's algorithm.
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
            Route::Unix(path) => Box::new(UnixStream::connect(path).await?),
        };
        let stream: Box<dyn Io> = match self.tls {
            None => Box::new(Watched::new(stream, true, self.probe)),
            Some((connector, name)) => {
                let first = Arc::new(Mutex::new(Vec::new()));
                let recorded = Recorded {
                    inner: stream,
                    first: first.clone(),
                };
                let tls = connector
                    .connect(name, Box::new(recorded) as Box<dyn Io>)
                    .await
                    .map_err(|err| explain_handshake_error(err, &first))?;
                Box::new(Watched::new(Box::new(tls), false, self.probe))
            }
        };
        Ok(TokioIo::new(stream))
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Box<dyn Io>>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        Box::pin(self.clone().connect())
    }
}

/// A TLS handshake that failed on bytes that are not TLS was talking to a plaintext server:
/// an HTTP/1 one when the bytes are its text, else a plaintext (gRPC) one.
fn explain_handshake_error(err: io::Error, first: &Mutex<Vec<u8>>) -> io::Error {
    let not_tls = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|tls| {
            matches!(
                tls,
                rustls::Error::InvalidMessage(
                    rustls::InvalidMessage::InvalidContentType
                        | rustls::InvalidMessage::UnknownProtocolVersion
                )
            )
        });
    if !not_tls {
        return err;
    }
    let http1 = first
        .lock()
        .map(|first| http1_answer(&first))
        .unwrap_or(false);
    let mismatch = if http1 {
        Mismatch::ServerSpeaksHttp1
    } else {
        Mismatch::ServerSpeaksPlaintext
    };
    io::Error::new(io::ErrorKind::InvalidData, mismatch)
}

/// How many of a server's first bytes are kept to tell what it speaks.
const FIRST_BYTES: usize = 32;

/// The byte stream under TLS, keeping the first bytes the server sends: when the handshake
/// fails on them, they say what the server speaks instead.
struct Recorded {
    inner: Box<dyn Io>,
    first: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Recorded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Ok(mut first)) = (&polled, self.first.lock())
            && first.len() < FIRST_BYTES
        {
            let new = buf.filled().get(before..).unwrap_or_default();
            let room = FIRST_BYTES - first.len();
            first.extend(new.iter().take(room));
        }
        polled
    }
}

impl AsyncWrite for Recorded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Whether a server's first bytes are an HTTP/1 answer: a status line, or (from a server that
/// does not read the version, and answers as HTTP/0.9 would) a page of text. HTTP/2 opens with
/// a binary frame header, whose first byte is not text.
fn http1_answer(first: &[u8]) -> bool {
    first.starts_with(b"HTTP/")
        || (first.len() >= 4
            && first
                .iter()
                .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()))
}

/// A stream that records why it failed. A plaintext one also checks the first bytes the
/// server sends. When a write fails because the server hung up, it reads once more: the
/// server's last words (a TLS alert, a TLS record at a plaintext client) say why.
struct Watched {
    inner: Box<dyn Io>,
    tls: bool,
    /// Whether the server has sent any byte (of HTTP/2, after TLS) yet.
    answered: bool,
    probe: Probe,
}

impl Watched {
    fn new(inner: Box<dyn Io>, plaintext: bool, probe: Probe) -> Watched {
        Watched {
            inner,
            tls: !plaintext,
            answered: false,
            probe,
        }
    }

    fn closed(&self) {
        if !self.answered {
            self.probe
                .record(Cause::ClosedBeforeAnswer { tls: self.tls });
        }
    }

    /// After a failed write, looks for the reason in what the server sent before hanging up.
    fn explain_write_error(&mut self, cx: &mut Context<'_>, err: io::Error) -> io::Error {
        if !matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
        ) {
            return err;
        }
        let mut scratch = [0u8; 1024];
        let mut buf = ReadBuf::new(&mut scratch);
        let explained = match Pin::new(&mut *self).poll_read(cx, &mut buf) {
            Poll::Ready(Err(read_err)) if self.probe.cause().is_some() => read_err,
            _ => err,
        };
        self.closed();
        explained
    }
}

/// How long a second opinion may take.
const SECOND_OPINION_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a plaintext server hung up on HTTP/2 without a word, asked on a connection of its own:
/// an HTTP/1 request draws an HTTP/1 server's status line, or a TLS server's alert. (Some
/// HTTP/1 servers answer the HTTP/2 preface and close at once, and the reset that follows
/// destroys the answer before it is read.) `None` when nothing tells.
pub async fn second_opinion(route: &Route) -> Option<Mismatch> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let ask = async {
        let mut stream: Box<dyn Io> = match route {
            Route::Tcp { host, port } => {
                Box::new(TcpStream::connect((host.as_str(), *port)).await.ok()?)
            }
            Route::Unix(path) => Box::new(UnixStream::connect(path).await.ok()?),
        };
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: grpcx\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut first = [0_u8; FIRST_BYTES];
        let read = stream.read(&mut first).await.ok()?;
        sniff(first.get(..read)?)
    };
    tokio::time::timeout(SECOND_OPINION_LIMIT, ask)
        .await
        .ok()
        .flatten()
}

/// What the first bytes from a server say about the protocol it speaks, if anything.
fn sniff(first: &[u8]) -> Option<Mismatch> {
    match first {
        // A TLS record: handshake (22) or alert (21), version 3.x.
        [21 | 22, 3, ..] => Some(Mismatch::ServerSpeaksTls),
        _ if http1_answer(first) => Some(Mismatch::ServerSpeaksHttp1),
        _ => None,
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                let first_answer = !self.answered;
                self.answered = true;
                if first_answer
                    && !self.tls
                    && let Some(mismatch) = buf.filled().get(before..).and_then(sniff)
                {
                    self.probe.record(Cause::Mismatch(mismatch.clone()));
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, mismatch)));
                }
            }
            Poll::Ready(Ok(())) => self.closed(),
            Poll::Ready(Err(err)) => {
                self.probe.inspect(err);
                self.closed();
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(err)) => Poll::Ready(Err(self.explain_write_error(cx, err))),
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(Err(err)) => Poll::Ready(Err(self.explain_write_error(cx, err))),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Err(err)) => Poll::Ready(Err(self.explain_write_error(cx, err))),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_the_protocol() {
        assert_eq!(sniff(&[22, 3, 1, 0, 5]), Some(Mismatch::ServerSpeaksTls));
        assert_eq!(
            sniff(&[21, 3, 3, 0, 2, 2, 10]),
            Some(Mismatch::ServerSpeaksTls)
        );
        assert_eq!(
            sniff(b"HTTP/1.0 400 Bad Request"),
            Some(Mismatch::ServerSpeaksHttp1)
        );
        assert_eq!(
            sniff(b"<!DOCTYPE HTML>\n<html>"),
            Some(Mismatch::ServerSpeaksHttp1),
            "a page without a status line"
        );
        // An HTTP/2 SETTINGS frame: 3-byte length, type 4.
        assert_eq!(sniff(&[0, 0, 6, 4, 0, 0, 0, 0, 0]), None);
    }
}
