//! Request messages from JSON text: one value for unary calls, a stream of whitespace-separated
//! values (NDJSON among them) for streaming ones.
//!
//! A stream is parsed on its own thread, reading as the data arrives, so a bidirectional call
//! sends each message as soon as it is complete and a person can type into it.

use std::io::{self, BufReader, Read};

use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("request message {index} is not valid JSON: {source}")]
    Json {
        index: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("request message {index} does not fit {message}: {reason}")]
    Mismatch {
        index: usize,
        message: String,
        reason: String,
    },
    #[error("{method} takes one request message, but the input holds {count}")]
    TooMany { method: String, count: usize },
    #[error("cannot read {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: io::Error,
    },
}

impl InputError {
    pub fn hint(&self) -> Option<String> {
        match self {
            InputError::Json { .. } => Some(
                "give the request as JSON, e.g. '{\"id\": 1}'; a stream is JSON values separated by white space".to_string(),
            ),
            InputError::Mismatch { message, .. } => Some(format!(
                "`grpcx describe {message}` shows the fields the request may have"
            )),
            InputError::TooMany { .. } => Some(
                "send one JSON value; only streaming methods take several".to_string(),
            ),
            InputError::Read { .. } => None,
        }
    }
}

/// Strict, as the proto3 JSON mapping asks: an unknown field is an error, not ignored.
fn options() -> DeserializeOptions {
    DeserializeOptions::new().deny_unknown_fields(true)
}

/// Parses one JSON value into a message of type `descriptor`.
fn to_message(
    descriptor: &MessageDescriptor,
    value: serde_json::Value,
    index: usize,
) -> Result<DynamicMessage, InputError> {
    DynamicMessage::deserialize_with_options(descriptor.clone(), value, &options()).map_err(
        |err: serde_json::Error| InputError::Mismatch {
            index,
            message: descriptor.full_name().to_string(),
            reason: err.to_string(),
        },
    )
}

/// Reads every JSON value from `reader`, for a call that takes one request: none gives the
/// empty message, more than one is an error.
pub fn read_single(
    reader: impl Read,
    descriptor: &MessageDescriptor,
    method: &str,
) -> Result<DynamicMessage, InputError> {
    let mut values = serde_json::Deserializer::from_reader(BufReader::new(reader))
        .into_iter::<serde_json::Value>();
    let first = match values.next() {
        None => return Ok(DynamicMessage::new(descriptor.clone())),
        Some(value) => value.map_err(|source| InputError::Json { index: 1, source })?,
    };
    let mut count = 1;
    for extra in values {
        extra.map_err(|source| InputError::Json {
            index: count + 1,
            source,
        })?;
        count += 1;
    }
    if count > 1 {
        return Err(InputError::TooMany {
            method: method.to_string(),
            count,
        });
    }
    to_message(descriptor, first, 1)
}

/// Starts a thread that parses request messages from `reader` as they arrive and sends them
/// down the returned channel. A parse error is sent as the last item; the channel closes at
/// the end of the input.
pub fn spawn_stream_reader(
    reader: Box<dyn Read + Send>,
    descriptor: MessageDescriptor,
) -> mpsc::Receiver<Result<DynamicMessage, InputError>> {
    let (sender, receiver) = mpsc::channel(64);
    std::thread::spawn(move || {
        let values = serde_json::Deserializer::from_reader(BufReader::new(reader))
            .into_iter::<serde_json::Value>();
        for (offset, value) in values.enumerate() {
            let index = offset + 1;
            let message = value
                .map_err(|source| InputError::Json { index, source })
                .and_then(|value| to_message(&descriptor, value, index));
            let failed = message.is_err();
            if sender.blocking_send(message).is_err() || failed {
                return;
            }
        }
    });
    receiver
}
