//! A request body read as a stream of request messages: NDJSON (or any white-space-separated
//! JSON values), each one sent upstream as soon as it has arrived, never the whole body first.
//!
//! The messages are read by the same reader thread as `grpcx call`'s standard input
//! (`input::spawn_stream_reader`), so a body line that does not fit is reported with the same
//! words. The body's chunks reach that thread through a small bounded channel: a client that
//! sends faster than the upstream takes is slowed down by HTTP flow control, not buffered.

use std::io::{self, Read};

use axum::body::Body;
use bytes::{Buf as _, Bytes};
use futures_util::StreamExt as _;
use prost_reflect::MessageDescriptor;
use tokio::sync::mpsc;

use crate::invoke::input::{self, InputFormat, JsonInput, RequestBatches};

/// Chunks of the body held between the connection and the reader thread.
const CHUNKS_IN_FLIGHT: usize = 8;

/// The requests of a streaming call, read from `body` as it arrives; a line longer than
/// `line_limit` bytes ends the stream with an error of kind `FileTooLarge`.
pub fn requests(
    body: Body,
    input: MessageDescriptor,
    json: JsonInput,
    line_limit: usize,
) -> RequestBatches {
    let (sender, chunks) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        let mut data = body.into_data_stream();
        while let Some(chunk) = data.next().await {
            let chunk = chunk
                .map_err(|error| io::Error::other(format!("the request body broke off: {error}")));
            let broken = chunk.is_err();
            // The reader is gone (the call ended) or the body broke: stop reading it.
            if sender.send(chunk).await.is_err() || broken {
                break;
            }
        }
    });
    let reader = BodyReader {
        chunks,
        current: Bytes::new(),
        line: 0,
        line_limit,
    };
    input::spawn_stream_reader(Box::new(reader), input, InputFormat::Json(json))
}

/// The body's chunks as a blocking `Read`, for the reader thread.
struct BodyReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    /// Bytes of the current line read so far.
    line: usize,
    line_limit: usize,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let count = buf.len().min(self.current.len());
        let (piece, _) = self.current.split_at(count);
        let mut segments = piece.split(|byte| *byte == b'\n');
        let mut line = self.line + segments.next().map_or(0, <[u8]>::len);
        let mut longest = line;
        for segment in segments {
            line = segment.len();
            longest = longest.max(line);
        }
        if longest > self.line_limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!(
                    "a line of the request body is longer than the gateway reads ({} bytes; --max-body raises it)",
                    self.line_limit
                ),
            ));
        }
        self.line = line;
        if let Some(target) = buf.get_mut(..count) {
            target.copy_from_slice(piece);
        }
        self.current.advance(count);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(chunks: &[&str], limit: usize) -> BodyReader {
        let (sender, receiver) = mpsc::channel(chunks.len().max(1));
        for chunk in chunks {
            sender.try_send(Ok(Bytes::from(chunk.to_string()))).unwrap();
        }
        BodyReader {
            chunks: receiver,
            current: Bytes::new(),
            line: 0,
            line_limit: limit,
        }
    }

    #[test]
    fn chunks_read_as_one_text() {
        let mut text = String::new();
        reader(&["{\"a\"", ":1}\n{", "}\n"], 16)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"a\":1}\n{}\n");
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_wherever_it_falls() {
        for chunks in [
            &["0123456789"][..],
            &["01234", "56789\n"],
            &["ab\n0123456789\ncd"],
        ] {
            let mut text = String::new();
            let error = reader(chunks, 8).read_to_string(&mut text).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::FileTooLarge, "{chunks:?}");
        }
        let mut text = String::new();
        reader(&["0123456\n", "0123456\n"], 8)
            .read_to_string(&mut text)
            .unwrap();
    }
}
