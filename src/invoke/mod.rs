//! Dynamic calls: any method of any of the four kinds, with messages built at run time.
//!
//! The invoker never prints. It reports what happens to a [`CallObserver`] (the CLI's output is
//! one; a later HTTP gateway or load generator is another) and returns how the call ended. A
//! non-OK gRPC status is an outcome, returned as data, not an error.

mod codec;
pub mod encode;
pub mod health;
pub mod input;
mod numbers;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use prost_reflect::{MessageDescriptor, MethodDescriptor};
use tokio::sync::{mpsc, oneshot};
use tonic::codec::CompressionEncoding;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Status, Streaming};

use crate::transport::Header;
pub use codec::{DynamicCodec, Response};
pub use input::{InputError, RequestBatches};

/// The four kinds of RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcKind {
    Unary,
    ServerStreaming,
    ClientStreaming,
    Bidirectional,
}

impl RpcKind {
    pub fn of(method: &MethodDescriptor) -> RpcKind {
        match (method.is_client_streaming(), method.is_server_streaming()) {
            (false, false) => RpcKind::Unary,
            (false, true) => RpcKind::ServerStreaming,
            (true, false) => RpcKind::ClientStreaming,
            (true, true) => RpcKind::Bidirectional,
        }
    }

    /// The kind in words.
    pub fn describe(self) -> &'static str {
        match self {
            RpcKind::Unary => "unary",
            RpcKind::ServerStreaming => "server streaming",
            RpcKind::ClientStreaming => "client streaming",
            RpcKind::Bidirectional => "bidirectional streaming",
        }
    }

    /// Whether the client sends a stream of requests.
    pub fn streams_requests(self) -> bool {
        matches!(self, RpcKind::ClientStreaming | RpcKind::Bidirectional)
    }
}

/// What the invoker sends.
pub enum Requests {
    /// The one request of a unary or server-streaming call, encoded.
    One(Bytes),
    /// Requests as they are read, encoded, in batches of what was ready together; an error
    /// cancels the call.
    Stream(RequestBatches),
    /// Requests a person types: as `Stream`, but a line that is not a valid message is
    /// skipped, its error reported to the observer, and the call goes on.
    Typed(RequestBatches, mpsc::UnboundedReceiver<InputError>),
}

/// Receives what happens during a call, in order.
pub trait CallObserver {
    /// Response headers arrived.
    fn on_headers(&mut self, _headers: &MetadataMap) {}
    /// A response message arrived. Returning `Err(Stop)` cancels the call (e.g. stdout closed).
    fn on_message(&mut self, message: Response<'_>) -> Result<(), Stop>;
    /// No response is ready right now: a moment to flush buffered output.
    fn on_idle(&mut self) -> Result<(), Stop>;
    /// Response trailers arrived (also the only metadata of a trailers-only answer).
    fn on_trailers(&mut self, _trailers: &MetadataMap) {}
    /// The call is over; this many request messages went to the server.
    fn on_requests_sent(&mut self, _count: u64) {}
    /// A typed request was not valid, so it was not sent; the call goes on.
    fn on_request_skipped(&mut self, _error: &InputError) {}
    /// Called after `on_message` and `on_idle`: an observer that hands messages on to
    /// something asynchronous (the gateway's HTTP body) returns a wait here, until what it
    /// holds is taken, so that a slow reader slows the call instead of filling memory.
    /// The wait ending in `Err(Stop)` cancels the call (the reader went away).
    fn flush(&mut self) -> Option<Flush<'_>> {
        None
    }
}

/// A wait returned by [`CallObserver::flush`].
pub type Flush<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Stop>> + Send + 'a>>;

/// Runs the observer's flush, if it has one.
async fn flushed(observer: &mut (dyn CallObserver + Send)) -> Result<(), Stop> {
    match observer.flush() {
        Some(wait) => wait.await,
        None => Ok(()),
    }
}

/// An observer's request to stop the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop;

/// How a call ended: the one name for it, from here up to the exit code. A non-OK status is
/// an outcome, not an error.
#[derive(Debug)]
pub enum Outcome {
    /// The server finished with OK.
    Ok,
    /// The server (or the transport) finished with a non-OK status.
    Status(Status),
    /// The observer stopped the call; it was cancelled.
    Stopped,
}

/// Request compression: `--compress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Gzip,
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error(transparent)]
    Input(#[from] InputError),
    /// A request stream that broke off: the call was cancelled after `sent` messages.
    #[error("{error}; {}", sent_before(*.sent))]
    StreamBroke { error: InputError, sent: u64 },
    #[error("the connection is not ready: {0}")]
    NotReady(String),
    #[error("`{0}` cannot be used as a request path")]
    BadPath(String),
}

/// What went before a request that broke a stream off, in words.
fn sent_before(sent: u64) -> String {
    match sent {
        0 => "nothing was sent, and the call was cancelled".to_string(),
        1 => "message 1 before it went to the server, and the call was cancelled".to_string(),
        2 => {
            "messages 1 and 2 before it went to the server, and the call was cancelled".to_string()
        }
        sent => {
            format!("messages 1 to {sent} before it went to the server, and the call was cancelled")
        }
    }
}

/// The HTTP/2 path of a method: `/pkg.Service/Method`.
fn path_of(method: &MethodDescriptor) -> Result<PathAndQuery, InvokeError> {
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    PathAndQuery::try_from(path.as_str()).map_err(|_| InvokeError::BadPath(path))
}

/// How to make a call.
#[derive(Debug, Clone, Copy)]
pub struct CallOptions<'a> {
    /// Request metadata.
    pub headers: &'a [Header],
    /// The time left for the call, sent to the server as its deadline.
    pub timeout: Option<Duration>,
    /// The largest response message accepted.
    pub max_message_size: usize,
    /// How to compress requests, if at all.
    pub compression: Option<Compression>,
}

/// Calls `method` on `channel`, reporting to `observer`.
pub async fn invoke(
    channel: Channel,
    method: &MethodDescriptor,
    requests: Requests,
    options: CallOptions<'_>,
    observer: &mut (dyn CallObserver + Send),
) -> Result<Outcome, InvokeError> {
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(options.max_message_size)
        .accept_compressed(CompressionEncoding::Gzip);
    match options.compression {
        Some(Compression::Gzip) => grpc = grpc.send_compressed(CompressionEncoding::Gzip),
        None => {}
    }
    let started = tokio::time::Instant::now();
    let outcome = call(grpc, method, requests, &options, observer).await?;
    Ok(past_deadline(outcome, options.timeout, started))
}

/// A call that ended CANCELLED after its deadline passed ended with DEADLINE_EXCEEDED, as the
/// gRPC spec has it: tonic cancels a call whose response headers have not come by the
/// deadline (unary and client-streaming calls wait for them until the server answers) and
/// calls that CANCELLED.
fn past_deadline(
    outcome: Outcome,
    timeout: Option<Duration>,
    started: tokio::time::Instant,
) -> Outcome {
    match outcome {
        Outcome::Status(status) => Outcome::Status(deadline_named(status, timeout, started)),
        outcome => outcome,
    }
}

/// `status`, as DEADLINE_EXCEEDED when it is CANCELLED after the deadline passed (the
/// load generator's calls, made without `invoke`, are named by it too).
pub fn deadline_named(
    status: Status,
    timeout: Option<Duration>,
    started: tokio::time::Instant,
) -> Status {
    match timeout {
        Some(timeout)
            if status.code() == tonic::Code::Cancelled && started.elapsed() >= timeout =>
        {
            Status::deadline_exceeded("the call's deadline passed before the server answered")
        }
        _ => status,
    }
}

/// Makes the call once the client is ready.
async fn call(
    mut grpc: tonic::client::Grpc<Channel>,
    method: &MethodDescriptor,
    requests: Requests,
    options: &CallOptions<'_>,
    observer: &mut (dyn CallObserver + Send),
) -> Result<Outcome, InvokeError> {
    let path = path_of(method)?;
    let codec = DynamicCodec;
    let output = &method.output();
    let expected = if method.is_server_streaming() {
        Responses::Stream
    } else {
        Responses::One
    };
    let (headers, timeout) = (options.headers, options.timeout);
    let limit = options.max_message_size;
    grpc.ready()
        .await
        .map_err(|err| InvokeError::NotReady(err.to_string()))?;

    match requests {
        Requests::One(message) => {
            let mut request = tonic::Request::new(message);
            prepare(&mut request, headers, timeout);
            // tonic's `unary` folds the trailers into the headers; its streaming form keeps
            // them apart, so a unary call reads its one response as a stream of one.
            let outcome = match grpc.server_streaming(request, path, codec).await {
                Ok(response) => {
                    read_stream(response, output, expected, limit, &mut None, observer).await
                }
                Err(status) => trailers_only(status, observer),
            };
            observer.on_requests_sent(1);
            Ok(outcome)
        }
        Requests::Stream(receiver) => {
            stream_call(
                grpc, path, codec, receiver, None, options, output, expected, observer,
            )
            .await
        }
        Requests::Typed(receiver, skipped) => {
            let skipped = Some(skipped);
            stream_call(
                grpc, path, codec, receiver, skipped, options, output, expected, observer,
            )
            .await
        }
    }
}

/// A call with a stream of requests: client streaming or bidirectional.
#[allow(clippy::too_many_arguments)]
async fn stream_call(
    mut grpc: tonic::client::Grpc<Channel>,
    path: PathAndQuery,
    codec: DynamicCodec,
    receiver: RequestBatches,
    mut skipped: Option<mpsc::UnboundedReceiver<InputError>>,
    options: &CallOptions<'_>,
    output: &MessageDescriptor,
    expected: Responses,
    observer: &mut (dyn CallObserver + Send),
) -> Result<Outcome, InvokeError> {
    let (failed_tx, failed_rx) = oneshot::channel();
    let sent = Arc::new(AtomicU64::new(0));
    let mut request = tonic::Request::new(RequestStream {
        receiver,
        batch: Vec::new().into_iter(),
        failed: Some(failed_tx),
        sent: sent.clone(),
    });
    prepare(&mut request, options.headers, options.timeout);
    let limit = options.max_message_size;
    let call = async {
        let answer = grpc.streaming(request, path, codec);
        match telling_skipped(answer, &mut skipped, observer).await {
            Ok(response) => {
                read_stream(response, output, expected, limit, &mut skipped, observer).await
            }
            Err(status) => trailers_only(status, observer),
        }
    };
    // An input error wins over the call: dropping the call's future cancels the RPC,
    // so the server never sees a clean end of a stream that was cut short.
    let outcome = tokio::select! {
        biased;
        Ok(error) = failed_rx => {
            return Err(InvokeError::StreamBroke { error, sent: sent.load(Ordering::Relaxed) });
        }
        end = call => end,
    };
    observer.on_requests_sent(sent.load(Ordering::Relaxed));
    Ok(outcome)
}

/// Waits for `work`, telling the observer of each typed request skipped meanwhile.
async fn telling_skipped<T>(
    work: impl std::future::Future<Output = T>,
    skipped: &mut Option<mpsc::UnboundedReceiver<InputError>>,
    observer: &mut (dyn CallObserver + Send),
) -> T {
    let Some(skipped) = skipped else {
        return work.await;
    };
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            Some(error) = skipped.recv() => observer.on_request_skipped(&error),
        }
    }
}

/// A call the server ended before any response: its status, whose metadata are the answer's
/// only headers, shown as the trailers they are.
fn trailers_only(status: Status, observer: &mut (dyn CallObserver + Send)) -> Outcome {
    if !status.metadata().is_empty() {
        observer.on_trailers(status.metadata());
    }
    Outcome::Status(as_clients_say(status, None))
}

/// A status in the words and codes other gRPC clients use, told apart by which side made it.
/// tonic reports a message over a receive limit as OUT_OF_RANGE, on either side, and a broken
/// connection as UNKNOWN; grpc-go, grpcurl and the gRPC spec's own clients say
/// RESOURCE_EXHAUSTED and UNAVAILABLE, and scripts branch on those exit codes. `reading` is
/// grpcx's own receive limit when the status came while responses were read (it may then be
/// grpcx's refusal), `None` when it came before any (then it is the server's).
fn as_clients_say(status: Status, reading: Option<usize>) -> Status {
    if status.code() == tonic::Code::OutOfRange && crate::status::is_message_too_large(&status) {
        let words = status.message().trim_start_matches("Error, ");
        // tonic names the limit: ours, or the server's.
        let ours =
            reading.is_some_and(|limit| words.contains(&format!("the limit is: {limit} bytes")));
        let side = if ours {
            crate::status::RESPONSE_TOO_LARGE
        } else {
            crate::status::REQUEST_TOO_LARGE
        };
        Status::resource_exhausted(format!("{side}: {words}"))
    } else if status.code() == tonic::Code::Unknown && std::error::Error::source(&status).is_some()
    {
        // A status the server sent has no source; one with a source is tonic's word for a
        // connection that broke under the call (the server died, the network went), which
        // every gRPC stack's clients report as UNAVAILABLE.
        Status::unavailable(format!(
            "the connection to the server broke: {}",
            status.message()
        ))
    } else {
        status
    }
}

/// Puts the call's metadata and deadline on a request.
fn prepare<T>(request: &mut tonic::Request<T>, headers: &[Header], timeout: Option<Duration>) {
    for header in headers {
        header.insert_into(request.metadata_mut());
    }
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
}

/// How many responses a method's kind allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Responses {
    /// Unary and client-streaming methods: exactly one.
    One,
    Stream,
}

async fn read_stream(
    response: tonic::Response<Streaming<bytes::Bytes>>,
    descriptor: &MessageDescriptor,
    expected: Responses,
    limit: usize,
    skipped: &mut Option<mpsc::UnboundedReceiver<InputError>>,
    observer: &mut (dyn CallObserver + Send),
) -> Outcome {
    let (metadata, mut stream, _) = response.into_parts();
    observer.on_headers(&metadata);
    let mut received = 0_usize;
    loop {
        // Output is flushed only when no further message is ready, so a fast stream is written
        // in large blocks while an interactive one shows each answer at once.
        let next = match stream.message().now_or_never() {
            Some(next) => next,
            None => {
                if observer.on_idle().is_err() || flushed(observer).await.is_err() {
                    return Outcome::Stopped;
                }
                telling_skipped(stream.message(), skipped, observer).await
            }
        };
        match next {
            Ok(Some(message)) => {
                received += 1;
                if expected == Responses::One && received > 1 {
                    let _ = observer.on_idle();
                    return Outcome::Status(Status::internal(
                        "the server sent more than one response to a method that answers once",
                    ));
                }
                let message = Response {
                    descriptor,
                    bytes: &message,
                };
                if observer.on_message(message).is_err() || flushed(observer).await.is_err() {
                    return Outcome::Stopped;
                }
            }
            Ok(None) if expected == Responses::One && received == 0 => {
                return Outcome::Status(Status::internal(
                    "the server ended the call with OK but sent no response",
                ));
            }
            Ok(None) => break,
            Err(status) => {
                let _ = observer.on_idle();
                if !status.metadata().is_empty() {
                    observer.on_trailers(status.metadata());
                }
                return Outcome::Status(as_clients_say(status, Some(limit)));
            }
        }
    }
    if observer.on_idle().is_err() || flushed(observer).await.is_err() {
        return Outcome::Stopped;
    }
    if let Ok(Some(trailers)) = stream.trailers().await {
        observer.on_trailers(&trailers);
    }
    Outcome::Ok
}

/// The request stream handed to tonic: passes messages through, and on an input error
/// reports it and never ends, so the call is cancelled rather than half-closed.
///
/// Messages come in batches of what the reader had ready together, and a batch is handed out
/// without a pause, so that tonic encodes many messages into one HTTP/2 DATA frame instead of
/// one small frame each: a frame per message makes a long stream slow, and a peer's h2 may
/// close the connection when too many small frames wait unread.
struct RequestStream {
    receiver: RequestBatches,
    batch: std::vec::IntoIter<Bytes>,
    failed: Option<oneshot::Sender<InputError>>,
    /// How many messages went to tonic to send.
    sent: Arc<AtomicU64>,
}

impl tokio_stream::Stream for RequestStream {
    type Item = Bytes;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Bytes>> {
        use std::task::Poll;
        loop {
            if let Some(message) = self.batch.next() {
                self.sent.fetch_add(1, Ordering::Relaxed);
                return Poll::Ready(Some(message));
            }
            match self.receiver.poll_recv(cx) {
                Poll::Ready(Some(Ok(batch))) => self.batch = batch.into_iter(),
                Poll::Ready(Some(Err(error))) => {
                    if let Some(failed) = self.failed.take() {
                        let _ = failed.send(error);
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
