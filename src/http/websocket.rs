//! Calls over a WebSocket, for every kind of method and the only way to hold a bidirectional
//! conversation from a browser: `GET /<package.Service>/<Method>` with `Upgrade: websocket`.
//!
//! The protocol, in text frames of JSON:
//! - client → gateway: each frame is one request message; an empty frame half-closes (the
//!   request stream ends, answers keep coming). A method that takes one request (unary,
//!   server streaming) needs no half-close: its first frame is all of it. Closing the socket
//!   cancels the call.
//! - gateway → client: `{"headers": {...}}` once the response headers arrive, `{"result": ...}`
//!   per response message, then `{"status": {code, message, details}, "trailers": {...}}`;
//!   then the gateway closes the socket, with code 1000 for OK and 4000 + the gRPC code
//!   otherwise (4005 NOT_FOUND), the status's message as the reason.
//!
//! Frames are read and written by one task that owns the socket; the call runs beside it. A
//! request frame goes upstream as soon as it arrives, an answer goes out as soon as it comes.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use prost_reflect::MethodDescriptor;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tonic::Code;
use tonic::metadata::MetadataMap;

use super::codecs::{MethodCodecs, Writer};
use super::server::{Ending, Gateway, LogLine, metadata_json};
use crate::invoke::encode::Encoder;
use crate::invoke::input::{self, InputError};
use crate::invoke::{self, CallObserver, CallOptions, Flush, Requests, Stop};
use crate::transport::Header;

/// Frames held between the call and the socket: a slow client slows the call down.
const FRAMES_IN_FLIGHT: usize = 16;

/// How long the gateway waits for the client to answer its close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// What a WebSocket call needs besides the socket.
pub(super) struct SocketCall {
    pub(super) gateway: Arc<Gateway>,
    pub(super) codecs: Arc<MethodCodecs>,
    pub(super) method: MethodDescriptor,
    pub(super) headers: Vec<Header>,
    pub(super) timeout: Option<Duration>,
    /// The request's access-log line, written when the socket closes.
    pub(super) log: LogLine,
}

/// Runs the call on `socket` until it ends or the client goes away.
pub(super) async fn run(call: SocketCall, mut socket: WebSocket) {
    let SocketCall {
        gateway,
        codecs,
        method,
        headers,
        timeout,
        mut log,
    } = call;
    let (requests, requests_rx) = mpsc::channel::<Result<Vec<Bytes>, InputError>>(4);
    let (frames, mut frames_rx) = mpsc::channel::<Message>(FRAMES_IN_FLIGHT);
    let (gone, gone_rx) = oneshot::channel::<()>();
    let (ended, mut ended_rx) = oneshot::channel::<(Code, MetadataMap)>();

    let mut observer = SocketObserver {
        json: codecs.writer(),
        frames: frames.clone(),
        pending: Vec::new(),
        scratch: Vec::new(),
        trailers: MetadataMap::new(),
        failure: None,
    };
    let call_gateway = gateway.clone();
    let call_method = method.clone();
    tokio::spawn(async move {
        let options = &call_gateway.options;
        let call = CallOptions {
            headers: &headers,
            timeout,
            max_message_size: options.max_message_size,
            compression: None,
        };
        let outcome = tokio::select! {
            outcome = invoke::invoke(
                call_gateway.channel.clone(),
                &call_method,
                Requests::Stream(requests_rx),
                call,
                &mut observer,
            ) => outcome,
            // The client went away: dropping the call cancels it upstream.
            _ = gone_rx => {
                let _ = ended.send((Code::Cancelled, MetadataMap::new()));
                return;
            }
        };
        let ending = Ending::of(
            &outcome,
            observer.failure.as_deref(),
            &call_gateway.table().pool,
        );
        let mut last = std::mem::take(&mut observer.pending);
        last.push(text_frame(&json!({
            "status": ending.status(),
            "trailers": metadata_json(&observer.trailers),
        })));
        last.push(Message::Close(Some(CloseFrame {
            code: close_code(ending.code),
            reason: Utf8Bytes::from(close_reason(&ending.message)),
        })));
        for frame in last {
            if frames.send(frame).await.is_err() {
                break;
            }
        }
        let _ = ended.send((ending.code, observer.trailers));
    });

    // The pump: request frames in, answer frames out, until the gateway's close frame is out
    // or the client is gone.
    let input = method.input();
    let json = gateway.options.request.json;
    let mut requests = Some(requests);
    let mut gone = Some(gone);
    let mut index = 0_usize;
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        index += 1;
                        if let Some(sender) = requests.take() {
                            let _ = sender.send(Err(InputError::Json {
                                index,
                                reason: "a binary frame; send each request message as a JSON text frame".to_string(),
                                line: 0,
                                column: 0,
                            })).await;
                        }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        if let Some(gone) = gone.take() {
                            let _ = gone.send(());
                        }
                        break;
                    }
                };
                let Some(sender) = &requests else {
                    // After a half-close or a bad frame nothing more is sent upstream.
                    continue;
                };
                if text.is_empty() {
                    requests = None;
                    continue;
                }
                index += 1;
                let encoded = encode(
                    text.as_bytes(),
                    &input,
                    method.full_name(),
                    json,
                    codecs.encoder.as_ref(),
                    index,
                );
                let failed = encoded.is_err();
                // A method that takes one request has it now: its request stream ends.
                let last = failed || !method.is_client_streaming();
                if sender.send(encoded.map(|message| vec![message])).await.is_err() || last {
                    requests = None;
                }
            }
            frame = frames_rx.recv() => {
                let Some(frame) = frame else { break };
                let closing = matches!(frame, Message::Close(_));
                if socket.send(frame).await.is_err() {
                    if let Some(gone) = gone.take() {
                        let _ = gone.send(());
                    }
                    break;
                }
                if closing {
                    // The client's answer to the close frame, briefly; then the socket goes.
                    let _ = tokio::time::timeout(CLOSE_WAIT, async {
                        while let Some(Ok(frame)) = socket.recv().await {
                            if matches!(frame, Message::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                    break;
                }
            }
        }
    }
    if let Ok(Ok((code, trailers))) = tokio::time::timeout(CLOSE_WAIT, &mut ended_rx).await {
        log.code = Some(code);
        log.received(&trailers);
    }
    log.send(&gateway.events, 101, " (WebSocket)");
}

/// One request frame as an encoded message; its errors count messages as the frames came.
fn encode(
    text: &[u8],
    input: &prost_reflect::MessageDescriptor,
    method: &str,
    json: input::JsonInput,
    encoder: Option<&Encoder>,
    index: usize,
) -> Result<Bytes, InputError> {
    input::read_single_json(text, input, method, json, encoder).map_err(|error| match error {
        InputError::Json {
            reason,
            line,
            column,
            ..
        } => InputError::Json {
            index,
            reason,
            line,
            column,
        },
        InputError::Mismatch {
            message,
            path,
            reason,
            ..
        } => InputError::Mismatch {
            index,
            message,
            path,
            reason,
        },
        other => other,
    })
}

/// The close code for a call that ended with `code`: 1000 for OK, 4000 + the code otherwise
/// (the range RFC 6455 leaves to applications).
fn close_code(code: Code) -> u16 {
    match code {
        Code::Ok => 1000,
        code => 4000 + code as u16,
    }
}

/// A close frame's reason holds at most 123 bytes: the message, cut at a character boundary.
fn close_reason(message: &str) -> String {
    let mut end = message.len().min(123);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.get(..end).unwrap_or_default().to_string()
}

fn text_frame(value: &Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

/// Turns the call's events into frames.
struct SocketObserver {
    json: Writer,
    frames: mpsc::Sender<Message>,
    pending: Vec<Message>,
    scratch: Vec<u8>,
    trailers: MetadataMap,
    failure: Option<String>,
}

impl CallObserver for SocketObserver {
    fn on_headers(&mut self, headers: &MetadataMap) {
        self.pending
            .push(text_frame(&json!({ "headers": metadata_json(headers) })));
    }

    fn on_message(&mut self, message: invoke::Response<'_>) -> Result<(), Stop> {
        self.scratch.clear();
        self.scratch.extend_from_slice(b"{\"result\":");
        if let Err(error) = self.json.write(message, &mut self.scratch) {
            self.failure = Some(error.to_string());
            return Err(Stop);
        }
        self.scratch.push(b'}');
        let text = String::from_utf8_lossy(&self.scratch).to_string();
        self.pending.push(Message::Text(Utf8Bytes::from(text)));
        Ok(())
    }

    fn on_idle(&mut self) -> Result<(), Stop> {
        Ok(())
    }

    fn on_trailers(&mut self, trailers: &MetadataMap) {
        self.trailers = trailers.clone();
    }

    fn flush(&mut self) -> Option<Flush<'_>> {
        if self.pending.is_empty() {
            return None;
        }
        let frames = std::mem::take(&mut self.pending);
        let sender = self.frames.clone();
        Some(Box::pin(async move {
            for frame in frames {
                sender.send(frame).await.map_err(|_| Stop)?;
            }
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_and_reasons_fit_the_protocol() {
        assert_eq!(close_code(Code::Ok), 1000);
        assert_eq!(close_code(Code::NotFound), 4005);
        assert_eq!(close_code(Code::Unauthenticated), 4016);
        let long = "é".repeat(100);
        let reason = close_reason(&long);
        assert!(reason.len() <= 123 && long.starts_with(&reason));
    }
}
