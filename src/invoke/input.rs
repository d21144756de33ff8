//! Request messages from JSON text: one value for unary calls, a stream of whitespace-separated
//! values (NDJSON among them) for streaming ones.
//!
//! A stream is parsed on its own thread, reading as the data arrives, so a bidirectional call
//! sends each message as soon as it is complete and a person can type into it.

use std::io::{self, BufReader, Cursor, Read};
use std::path::PathBuf;

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use tokio::sync::mpsc;

use super::encode::{Encoder, Stop};

use crate::well_known::WellKnown;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("request message {index} is not valid JSON: {reason}{}", at_line(*.line, *.column))]
    Json {
        index: usize,
        /// serde_json's words, without its position.
        reason: String,
        /// Where in the input, counted from 1 (line 0: nowhere in particular).
        line: usize,
        column: usize,
    },
    #[error("request message {index} does not fit {message}: {}{reason}", .path.as_ref().map(|p| format!("at {p}: ")).unwrap_or_default())]
    Mismatch {
        index: usize,
        message: String,
        /// Where in the JSON value, e.g. `.items[2].price`.
        path: Option<String>,
        reason: String,
    },
    #[error("request message {index} is not valid text format for {message}: {reason}")]
    Text {
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
            InputError::Mismatch { message, reason, .. }
                if reason.starts_with("unrecognized field name") =>
            {
                Some(format!(
                    "`grpcx describe {message}` shows the fields the request may have; --allow-unknown-fields ignores the others"
                ))
            }
            InputError::Mismatch { message, .. } => Some(format!(
                "`grpcx describe {message}` shows the fields the request may have"
            )),
            InputError::Text { message, .. } => Some(format!(
                "write the request in protobuf text format, e.g. 'id: 1', messages separated by blank lines; `grpcx describe {message}` shows the fields"
            )),
            InputError::TooMany { .. } => Some(
                "send one JSON value; only streaming methods take several".to_string(),
            ),
            InputError::Read { .. } => None,
        }
    }
}

/// A JSON reading error: the input could not be read, or it is not JSON.
fn json_error(index: usize, source: serde_json::Error) -> InputError {
    if source.is_io() {
        return InputError::Read {
            what: "the request data".to_string(),
            source: std::io::Error::from(source),
        };
    }
    let (line, column) = (source.line(), source.column());
    let words = source.to_string();
    let reason = words
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&words)
        .to_string();
    InputError::Json {
        index,
        reason,
        line,
        column,
    }
}

/// ` at line L column C`, as serde_json words a position, when there is one.
fn at_line(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line} column {column}")
    }
}

impl InputError {
    /// This error, with a position counted from a value's start made one counted from the
    /// start of the input: the value starts on `line`, after `column` bytes of it.
    fn shifted(self, line: usize, column: usize) -> InputError {
        match self {
            InputError::Json {
                index,
                reason,
                line: at,
                column: within,
            } if at > 0 => InputError::Json {
                index,
                reason,
                column: if at == 1 { column + within } else { within },
                line: line + at - 1,
            },
            other => other,
        }
    }
}

/// Where request data comes from: the `DATA` argument decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    Text(String),
    File(PathBuf),
    Stdin,
}

impl DataSource {
    /// `DATA` as the command line gives it: JSON text, `@FILE`, or `-`, `@-` or `@` (as
    /// grpcurl writes it) for stdin.
    pub fn from_arg(arg: &str) -> DataSource {
        match arg {
            "-" | "@-" | "@" => DataSource::Stdin,
            _ => match arg.strip_prefix('@') {
                Some(path) => DataSource::File(PathBuf::from(path)),
                None => DataSource::Text(arg.to_string()),
            },
        }
    }

    /// Opens the data for reading.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, InputError> {
        Ok(match self {
            DataSource::Text(text) => Box::new(Cursor::new(text.clone().into_bytes())),
            DataSource::Stdin => Box::new(io::stdin()),
            DataSource::File(path) => {
                let failed = |source| InputError::Read {
                    what: path.display().to_string(),
                    source,
                };
                if path.is_dir() {
                    return Err(failed(io::Error::other("it is a directory")));
                }
                Box::new(std::fs::File::open(path).map_err(failed)?)
            }
        })
    }
}

/// How requests are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Json(JsonInput),
    /// The protobuf text format; messages in a stream are separated by blank lines or by the
    /// record separator 0x1E (as grpcurl writes them).
    Text,
}

/// How JSON requests are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonInput {
    /// Ignore fields the message does not have, instead of failing (strict is the default,
    /// as the proto3 JSON mapping asks).
    pub allow_unknown_fields: bool,
}

impl JsonInput {
    pub(crate) fn options(self) -> DeserializeOptions {
        DeserializeOptions::new().deny_unknown_fields(!self.allow_unknown_fields)
    }
}

/// Parses one JSON value into a message of type `descriptor`, naming the JSON path of a value
/// that does not fit and the type it should have.
fn to_message(
    descriptor: &MessageDescriptor,
    mut value: serde_json::Value,
    index: usize,
    json: JsonInput,
) -> Result<DynamicMessage, InputError> {
    super::numbers::plain_integers(descriptor, &mut value);
    let mut track = serde_path_to_error::Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(&value, &mut track);
    let result =
        DynamicMessage::deserialize_with_options(descriptor.clone(), deserializer, &json.options());
    result.map_err(|err: serde_json::Error| mismatch(descriptor, track, err, &value, index))
}

/// Explains a value that does not fit: where it is, and what was expected there. A oneof
/// conflict names the members the request `value` sets.
fn mismatch(
    descriptor: &MessageDescriptor,
    track: serde_path_to_error::Track,
    err: serde_json::Error,
    value: &serde_json::Value,
    index: usize,
) -> InputError {
    let path = track.path();
    let segments: Vec<Segment> = path.iter().map(Segment::from).collect();
    let mut reason = err.to_string();
    let target = walk(descriptor, &segments);
    let message = target.as_ref().and_then(Target::message);
    if let Some(unknown) = reason
        .strip_prefix("unrecognized field name '")
        .and_then(|rest| rest.strip_suffix('\''))
    {
        if let Some(close) = message.as_ref().and_then(|m| closest_field(m, unknown)) {
            reason = format!("{reason}; did you mean `{close}`?");
        }
    } else if let Some(message) = &message
        && reason.starts_with("multiple fields provided for oneof")
        && let Some(conflict) = oneof_conflict(message, value_at(value, &segments))
    {
        reason = conflict;
    } else if let Some(message) = &message
        && reason.starts_with("multiple fields provided for oneof")
    {
        // The members set cannot be told from the value: name the oneof's members.
        let name = reason.split('\'').nth(1).unwrap_or_default();
        if let Some(oneof) = message.oneofs().find(|o| o.name() == name) {
            let members: Vec<String> = oneof.fields().map(|f| f.json_name().to_string()).collect();
            reason = format!(
                "more than one of {} is set, but they belong to oneof `{name}`, which holds one at a time",
                members.join(", ")
            );
        }
    } else if let Some(expected) = target.as_ref().map(Target::expected) {
        reason = format!("{reason}; expected {expected}");
    }
    let text = path.to_string();
    InputError::Mismatch {
        index,
        message: descriptor.full_name().to_string(),
        path: (!segments.is_empty()).then(|| {
            if text.starts_with('[') {
                text
            } else {
                format!(".{text}")
            }
        }),
        reason,
    }
}

/// One step of a JSON path.
enum Segment {
    Key(String),
    Index(usize),
}

impl From<&serde_path_to_error::Segment> for Segment {
    fn from(segment: &serde_path_to_error::Segment) -> Segment {
        match segment {
            serde_path_to_error::Segment::Seq { index } => Segment::Index(*index),
            serde_path_to_error::Segment::Map { key } => Segment::Key(key.clone()),
            serde_path_to_error::Segment::Enum { variant } => Segment::Key(variant.clone()),
            serde_path_to_error::Segment::Unknown => Segment::Key(String::new()),
        }
    }
}

/// What a JSON path leads to in a message.
enum Target {
    Message(MessageDescriptor),
    /// A field's value; `whole` is false inside a list or map of it.
    Field {
        field: prost_reflect::FieldDescriptor,
        whole: bool,
    },
    MapValue(prost_reflect::FieldDescriptor),
}

impl Target {
    /// The message a JSON object at this place is read as.
    fn message(&self) -> Option<MessageDescriptor> {
        match self {
            Target::Message(message) => Some(message.clone()),
            Target::Field { field, whole } if !field.is_map() && (!field.is_list() || !whole) => {
                match field.kind() {
                    prost_reflect::Kind::Message(message) => Some(message),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn expected(&self) -> String {
        match self {
            Target::Message(message) => kind_words(&prost_reflect::Kind::Message(message.clone())),
            Target::Field { field, whole: true } if field.is_map() => match field.kind() {
                prost_reflect::Kind::Message(entry) => format!(
                    "an object mapping {} to {}",
                    kind_words(&entry.map_entry_key_field().kind()),
                    kind_words(&entry.map_entry_value_field().kind())
                ),
                _ => "an object".to_string(),
            },
            Target::Field { field, whole: true } if field.is_list() => {
                format!("a list of {}", kind_words(&field.kind()))
            }
            Target::Field { field, .. } => kind_words(&field.kind()),
            Target::MapValue(field) => match field.kind() {
                prost_reflect::Kind::Message(entry) => {
                    kind_words(&entry.map_entry_value_field().kind())
                }
                other => kind_words(&other),
            },
        }
    }
}

/// Follows `segments` from `message` to the field or message they name.
fn walk(message: &MessageDescriptor, segments: &[Segment]) -> Option<Target> {
    let mut target = Target::Message(message.clone());
    for segment in segments {
        target = match (target, segment) {
            (Target::Message(message), Segment::Key(key)) => {
                let field = message
                    .get_field_by_json_name(key)
                    .or_else(|| message.get_field_by_name(key))?;
                Target::Field { field, whole: true }
            }
            (Target::Field { field, whole: true }, Segment::Index(_)) if field.is_list() => {
                Target::Field {
                    field,
                    whole: false,
                }
            }
            (Target::Field { field, whole: true }, Segment::Key(_)) if field.is_map() => {
                Target::MapValue(field)
            }
            (
                Target::Field {
                    field,
                    whole: false,
                }
                | Target::MapValue(field),
                next,
            ) => {
                let inner = match field.kind() {
                    prost_reflect::Kind::Message(m) if field.is_map() => {
                        match m.map_entry_value_field().kind() {
                            prost_reflect::Kind::Message(v) => v,
                            _ => return None,
                        }
                    }
                    prost_reflect::Kind::Message(m) => m,
                    _ => return None,
                };
                walk(&inner, std::slice::from_ref(next))?
            }
            (Target::Field { field, whole: true }, next) => match field.kind() {
                prost_reflect::Kind::Message(m) => walk(&m, std::slice::from_ref(next))?,
                _ => return None,
            },
            _ => return None,
        };
    }
    Some(target)
}

fn value_at<'a>(
    value: &'a serde_json::Value,
    segments: &[Segment],
) -> Option<&'a serde_json::Value> {
    segments
        .iter()
        .try_fold(value, |value, segment| match segment {
            Segment::Key(key) => value.get(key),
            Segment::Index(index) => value.get(index),
        })
}

/// The field of `message` whose JSON name is most like `unknown`, if one is close.
fn closest_field(message: &MessageDescriptor, unknown: &str) -> Option<String> {
    message
        .fields()
        .map(|f| {
            let score = strsim::normalized_damerau_levenshtein(
                &unknown.to_ascii_lowercase(),
                &f.json_name().to_ascii_lowercase(),
            );
            (score, f.json_name().to_string())
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// Names the members of a oneof that are set together in `value`.
fn oneof_conflict(
    message: &MessageDescriptor,
    value: Option<&serde_json::Value>,
) -> Option<String> {
    let object = value?.as_object()?;
    for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
        let set: Vec<String> = oneof
            .fields()
            .filter(|f| {
                object
                    .get(f.json_name())
                    .or_else(|| object.get(f.name()))
                    .is_some_and(|v| !v.is_null())
            })
            .map(|f| f.json_name().to_string())
            .collect();
        if set.len() > 1 {
            let all = if set.len() == 2 { "both" } else { "all" };
            return Some(format!(
                "{} are {all} set, but they belong to oneof `{}`, which holds one at a time",
                set.join(" and "),
                oneof.name()
            ));
        }
    }
    None
}

/// What JSON a kind of value takes, in words.
fn kind_words(kind: &prost_reflect::Kind) -> String {
    use prost_reflect::Kind;
    match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            "a 32-bit integer (a JSON number or a string of digits)".to_string()
        }
        Kind::Uint32 | Kind::Fixed32 => {
            "an unsigned 32-bit integer (a JSON number or a string of digits)".to_string()
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            "a 64-bit integer (a string of digits, or a JSON number)".to_string()
        }
        Kind::Uint64 | Kind::Fixed64 => {
            "an unsigned 64-bit integer (a string of digits, or a JSON number)".to_string()
        }
        Kind::Float | Kind::Double => {
            "a number, or \"NaN\", \"Infinity\" or \"-Infinity\"".to_string()
        }
        Kind::Bool => "true or false".to_string(),
        Kind::String => "a string".to_string(),
        Kind::Bytes => "base64 text (standard or URL-safe)".to_string(),
        Kind::Enum(enumeration) => {
            let names: Vec<String> = enumeration
                .values()
                .map(|v| v.name().to_string())
                .take(8)
                .collect();
            format!("one of {} (or a number)", names.join(", "))
        }
        Kind::Message(message) => match WellKnown::of(message.full_name()) {
            Some(well_known) => well_known.expected().to_string(),
            None => format!("a JSON object for {}", message.full_name()),
        },
    }
}

/// Reads every JSON value from `reader`, for a call that takes one request, and encodes it:
/// none gives the empty message, more than one is an error.
pub fn read_single(
    mut reader: impl Read,
    descriptor: &MessageDescriptor,
    method: &str,
    format: InputFormat,
) -> Result<Bytes, InputError> {
    let json = match format {
        InputFormat::Json(json) => json,
        InputFormat::Text => {
            let mut text = String::new();
            reader
                .read_to_string(&mut text)
                .map_err(|source| InputError::Read {
                    what: "the request".to_string(),
                    source,
                })?;
            let records = text_records(&text);
            return match records.as_slice() {
                [] => Ok(Bytes::new()),
                [one] => {
                    from_text(descriptor, one, 1).map(|message| message.encode_to_vec().into())
                }
                many => Err(InputError::TooMany {
                    method: method.to_string(),
                    count: many.len(),
                }),
            };
        }
    };
    let mut data = Vec::new();
    reader
        .read_to_end(&mut data)
        .map_err(|source| InputError::Read {
            what: "the request data".to_string(),
            source,
        })?;
    read_single_json(
        &data,
        descriptor,
        method,
        json,
        Encoder::new(descriptor, json).as_ref(),
    )
}

/// `read_single` of JSON already in memory, with the fast path's plan made beforehand (the
/// gateway keeps one per method); `None` takes the reference path.
pub fn read_single_json(
    data: &[u8],
    descriptor: &MessageDescriptor,
    method: &str,
    json: JsonInput,
    encoder: Option<&Encoder>,
) -> Result<Bytes, InputError> {
    // The fast path, when it reads the one value there is.
    if let Some(encoder) = encoder {
        let mut out = Vec::new();
        if let Ok(read) = encoder.encode(data, &mut out)
            && data
                .get(read..)
                .unwrap_or_default()
                .iter()
                .all(u8::is_ascii_whitespace)
        {
            return Ok(out.into());
        }
    }
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<serde_json::Value>();
    let first = match values.next() {
        None => return Ok(Bytes::new()),
        Some(value) => value.map_err(|source| json_error(1, source))?,
    };
    let mut count = 1;
    for extra in values {
        extra.map_err(|source| json_error(count + 1, source))?;
        count += 1;
    }
    if count > 1 {
        return Err(InputError::TooMany {
            method: method.to_string(),
            count,
        });
    }
    to_message(descriptor, first, 1, json).map(|message| message.encode_to_vec().into())
}

/// Encodes one JSON value as a request message by the reference path: the errors are
/// `read_single`'s (the gateway puts a request together from a path, a query string and a
/// body, then reads it here).
pub fn encode_value(
    descriptor: &MessageDescriptor,
    value: serde_json::Value,
    json: JsonInput,
) -> Result<Bytes, InputError> {
    to_message(descriptor, value, 1, json).map(|message| message.encode_to_vec().into())
}

/// Request messages, encoded, in batches of what was read together; an error ends them.
pub type RequestBatches = mpsc::Receiver<Result<Vec<Bytes>, InputError>>;

/// Starts a thread that reads request messages from `reader` as they arrive, encodes them and
/// sends them down the returned channel. A parse error is sent as the last item; the channel
/// closes at the end of the input.
pub fn spawn_stream_reader(
    reader: Box<dyn Read + Send>,
    descriptor: MessageDescriptor,
    format: InputFormat,
) -> RequestBatches {
    let (sender, receiver) = mpsc::channel(4);
    let json = match format {
        InputFormat::Json(json) => json,
        InputFormat::Text => {
            std::thread::spawn(move || read_text_stream(reader, &descriptor, &sender));
            return receiver;
        }
    };
    std::thread::spawn(move || read_json_stream(reader, &descriptor, json, &sender));
    receiver
}

/// Starts a thread that reads requests a person types: one JSON value or more a line, each
/// message sent as soon as its line ends. A line that is not a valid message is not sent: its
/// error goes down `skipped` and the stream goes on, until the end of the input (Ctrl-D).
pub fn spawn_interactive_reader(
    reader: Box<dyn Read + Send>,
    descriptor: MessageDescriptor,
    json: JsonInput,
) -> (RequestBatches, mpsc::UnboundedReceiver<InputError>) {
    let (sender, receiver) = mpsc::channel(4);
    let (skip, skipped) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let options = json.options();
        let mut lines = BufReader::new(reader);
        let mut text = String::new();
        let mut index = 0;
        loop {
            let mut line = String::new();
            match io::BufRead::read_line(&mut lines, &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => text.push_str(&line),
            }
            let mut values = serde_json::Deserializer::from_str(&text)
                .into_iter::<Box<serde_json::value::RawValue>>();
            let mut batch = Vec::new();
            let mut unfinished = None;
            loop {
                let at = values.byte_offset();
                match values.next() {
                    None => break,
                    Some(Ok(raw)) => {
                        index += 1;
                        match from_raw(&descriptor, raw.get(), index, json, &options) {
                            Ok(message) => batch.push(message.encode_to_vec().into()),
                            Err(error) => {
                                let _ = skip.send(error);
                            }
                        }
                    }
                    // A value that goes on on the next line.
                    Some(Err(error)) if error.is_eof() => {
                        unfinished = Some(at);
                        break;
                    }
                    Some(Err(error)) => {
                        index += 1;
                        let _ = skip.send(json_error(index, error));
                        break;
                    }
                }
            }
            text = match unfinished {
                Some(at) => text.get(at..).unwrap_or_default().to_string(),
                None => String::new(),
            };
            if !batch.is_empty() && sender.blocking_send(Ok(batch)).is_err() {
                return;
            }
        }
    });
    (receiver, skipped)
}

/// A message from its JSON text: read straight into the message (no intermediate JSON value)
/// when that works; else through a JSON value, where integers in any whole spelling are made
/// plain (see `numbers`) and a mistake is named by its path. The reference path: the
/// encoder's fast path must read what this reads.
pub(crate) fn from_raw(
    descriptor: &MessageDescriptor,
    raw: &str,
    index: usize,
    json: JsonInput,
    options: &DeserializeOptions,
) -> Result<DynamicMessage, InputError> {
    let mut direct = serde_json::Deserializer::from_str(raw);
    if let Ok(message) =
        DynamicMessage::deserialize_with_options(descriptor.clone(), &mut direct, options)
    {
        return Ok(message);
    }
    let value = serde_json::from_str(raw).map_err(|err| json_error(index, err))?;
    to_message(descriptor, value, index, json)
}

/// The most messages handed over at once.
const BATCH: usize = 256;

/// How much is read from the input at once, at least.
const CHUNK: usize = 64 * 1024;

/// Request data as it arrives: what was read and not yet taken, and where that stands in the
/// whole input, for the line and column of a mistake.
struct Arriving {
    reader: Box<dyn Read + Send>,
    /// Room for input, of which `filled` bytes are read; zeroed only when it grows.
    buffer: Vec<u8>,
    filled: usize,
    /// Where the next value starts in `buffer`.
    at: usize,
    /// The input has ended.
    ended: bool,
    /// Lines that ended before `buffer` starts, and the bytes of the line it starts in that
    /// come before it.
    lines_before: usize,
    column_before: usize,
}

impl Arriving {
    fn new(reader: Box<dyn Read + Send>) -> Arriving {
        Arriving {
            reader,
            buffer: vec![0; CHUNK],
            filled: 0,
            at: 0,
            ended: false,
            lines_before: 0,
            column_before: 0,
        }
    }

    fn rest(&self) -> &[u8] {
        self.buffer.get(self.at..self.filled).unwrap_or_default()
    }

    /// Takes white space; whether a value follows in what was read.
    fn skip_white_space(&mut self) -> bool {
        let rest = self.rest();
        let blank = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(rest.len());
        self.at += blank;
        !self.rest().is_empty()
    }

    /// Reads more input after dropping what was taken, into room at least as large as what
    /// is waiting (so that a long value is read in linear time); false at the end of the
    /// input.
    fn read_more(&mut self) -> io::Result<bool> {
        let taken = self.buffer.get(..self.at).unwrap_or_default();
        match taken.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                self.lines_before += newlines(taken);
                self.column_before = taken.len() - last - 1;
            }
            None => self.column_before += taken.len(),
        }
        self.buffer.copy_within(self.at..self.filled, 0);
        self.filled -= self.at;
        self.at = 0;
        if self.buffer.len() - self.filled < CHUNK.max(self.filled) / 2 {
            self.buffer
                .resize(2 * self.buffer.len().max(self.filled), 0);
        }
        let read = loop {
            match self
                .reader
                .read(self.buffer.get_mut(self.filled..).unwrap_or_default())
            {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        };
        self.filled += read;
        self.ended = read == 0;
        Ok(read > 0)
    }

    /// Where the next value starts: its line (from 1), and the bytes before it on that line.
    fn position(&self) -> (usize, usize) {
        let before = self.buffer.get(..self.at).unwrap_or_default();
        match before.iter().rposition(|&b| b == b'\n') {
            Some(last) => (
                1 + self.lines_before + newlines(before),
                before.len() - last - 1,
            ),
            None => (1 + self.lines_before, self.column_before + before.len()),
        }
    }
}

/// How many lines end in `bytes`: counted in byte-wide lanes, a run of 255 bytes at a time,
/// which compiles to vector instructions.
fn newlines(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|run| {
            let count = run
                .iter()
                .fold(0u8, |count, &b| count.wrapping_add(u8::from(b == b'\n')));
            usize::from(count)
        })
        .sum()
}

/// Encoded messages read but not yet handed over, in one buffer.
struct Pending {
    bytes: Vec<u8>,
    /// Where each message ends in `bytes`.
    ends: Vec<usize>,
    sender: mpsc::Sender<Result<Vec<Bytes>, InputError>>,
    /// The call is gone: stop reading.
    closed: bool,
}

impl Pending {
    fn push_end(&mut self) {
        self.ends.push(self.bytes.len());
    }

    /// Hands the messages over, as slices of one shared buffer.
    fn hand_over(&mut self) {
        if self.ends.is_empty() || self.closed {
            return;
        }
        let bytes = Bytes::from(std::mem::replace(
            &mut self.bytes,
            Vec::with_capacity(CHUNK),
        ));
        let mut start = 0;
        let batch = self
            .ends
            .drain(..)
            .map(|end| {
                let message = bytes.slice(start..end);
                start = end;
                message
            })
            .collect();
        self.closed = self.sender.blocking_send(Ok(batch)).is_err();
    }
}

/// What reading one value came to.
enum Read1 {
    /// A message, encoded into the pending buffer, and how much input it took.
    Encoded(usize),
    /// The value goes on past what was read.
    NeedMore,
    /// No value: this much white space.
    Blank(usize),
    Failed(InputError),
}

/// Reads JSON requests one after another as the data arrives, each through the encoder's fast
/// path when it can and the reference path when it cannot, handing them over in batches: when
/// a batch is full, and before waiting for more input (so that a person typing into a stream,
/// or a program writing to it, sees each message sent at once).
fn read_json_stream(
    reader: Box<dyn Read + Send>,
    descriptor: &MessageDescriptor,
    json: JsonInput,
    sender: &mpsc::Sender<Result<Vec<Bytes>, InputError>>,
) {
    let encoder = Encoder::new(descriptor, json);
    let options = json.options();
    let mut input = Arriving::new(reader);
    let mut pending = Pending {
        bytes: Vec::with_capacity(CHUNK),
        ends: Vec::with_capacity(BATCH),
        sender: sender.clone(),
        closed: false,
    };
    let fail = |pending: &mut Pending, error: InputError| {
        // What was read before the mistake goes first; then the error cancels the call.
        pending.hand_over();
        let _ = sender.blocking_send(Err(error));
    };
    let mut index = 1;
    loop {
        if pending.closed {
            return;
        }
        if !input.skip_white_space() {
            if input.ended {
                pending.hand_over();
                return;
            }
            pending.hand_over();
            if let Err(error) = input.read_more() {
                return fail(&mut pending, read_error(error));
            }
            continue;
        }
        let fast = encoder
            .as_ref()
            .map(|encoder| encoder.encode(input.rest(), &mut pending.bytes));
        let read = match fast {
            Some(Ok(read)) => Read1::Encoded(read),
            Some(Err(Stop::Incomplete)) if !input.ended => Read1::NeedMore,
            _ => reference_value(
                &input,
                descriptor,
                index,
                json,
                &options,
                &mut pending.bytes,
            ),
        };
        match read {
            Read1::Encoded(read) => {
                input.at += read;
                pending.push_end();
                index += 1;
                if pending.ends.len() >= BATCH {
                    pending.hand_over();
                }
            }
            Read1::Blank(read) => input.at += read,
            Read1::NeedMore => {
                pending.hand_over();
                if let Err(error) = input.read_more() {
                    return fail(&mut pending, read_error(error));
                }
            }
            Read1::Failed(error) => {
                let (line, column) = input.position();
                return fail(&mut pending, error.shifted(line, column));
            }
        }
    }
}

fn read_error(source: io::Error) -> InputError {
    InputError::Read {
        what: "the request data".to_string(),
        source,
    }
}

/// Reads the next value through the reference path (serde_json, then `from_raw`) and encodes
/// it into `out`. Errors are placed from the value's start.
fn reference_value(
    input: &Arriving,
    descriptor: &MessageDescriptor,
    index: usize,
    json: JsonInput,
    options: &DeserializeOptions,
    out: &mut Vec<u8>,
) -> Read1 {
    let rest = input.rest();
    let mut values =
        serde_json::Deserializer::from_slice(rest).into_iter::<&serde_json::value::RawValue>();
    match values.next() {
        // Only white space: there is no value (the caller takes white space first).
        None => Read1::Blank(rest.len()),
        Some(Err(error)) if error.is_eof() && !input.ended => Read1::NeedMore,
        Some(Err(error)) => Read1::Failed(json_error(index, error)),
        // A value that ends where the data read so far does may go on (a number).
        Some(Ok(_)) if values.byte_offset() == rest.len() && !input.ended => Read1::NeedMore,
        Some(Ok(raw)) => match from_raw(descriptor, raw.get(), index, json, options) {
            Ok(message) => {
                message.encode_raw(out);
                Read1::Encoded(values.byte_offset())
            }
            Err(error) => Read1::Failed(error),
        },
    }
}

/// Splits text-format input into messages at blank lines and record separators (0x1E).
fn text_records(text: &str) -> Vec<String> {
    let mut records = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let separator = line.trim().is_empty() || line.contains('\u{1e}');
        let content = line.replace('\u{1e}', "");
        if !content.trim().is_empty() {
            current.push_str(&content);
            current.push('\n');
        }
        if separator && !current.trim().is_empty() {
            records.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        records.push(current);
    }
    records
}

fn from_text(
    descriptor: &MessageDescriptor,
    text: &str,
    index: usize,
) -> Result<DynamicMessage, InputError> {
    DynamicMessage::parse_text_format(descriptor.clone(), text).map_err(|err| InputError::Text {
        index,
        message: descriptor.full_name().to_string(),
        reason: err.to_string(),
    })
}

/// Reads text-format messages line by line, sending each as soon as its separator (or the end
/// of the input) arrives.
fn read_text_stream(
    reader: Box<dyn Read + Send>,
    descriptor: &MessageDescriptor,
    sender: &mpsc::Sender<Result<Vec<Bytes>, InputError>>,
) {
    use std::io::BufRead as _;
    let mut current = String::new();
    let mut index = 0;
    let mut send = |text: &mut String| -> bool {
        if text.trim().is_empty() {
            text.clear();
            return true;
        }
        index += 1;
        let message = from_text(descriptor, text, index)
            .map(|message| vec![Bytes::from(message.encode_to_vec())]);
        text.clear();
        let failed = message.is_err();
        sender.blocking_send(message).is_ok() && !failed
    };
    for line in BufReader::new(reader).lines() {
        let line = match line {
            Ok(line) => line,
            Err(source) => {
                let _ = sender.blocking_send(Err(InputError::Read {
                    what: "the request stream".to_string(),
                    source,
                }));
                return;
            }
        };
        let separator = line.trim().is_empty() || line.contains('\u{1e}');
        current.push_str(&line.replace('\u{1e}', ""));
        current.push('\n');
        if separator && !send(&mut current) {
            return;
        }
    }
    send(&mut current);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sources() {
        assert_eq!(DataSource::from_arg("-"), DataSource::Stdin);
        assert_eq!(DataSource::from_arg("@-"), DataSource::Stdin);
        assert_eq!(DataSource::from_arg("@"), DataSource::Stdin);
        assert_eq!(
            DataSource::from_arg("@a.json"),
            DataSource::File("a.json".into())
        );
        assert_eq!(DataSource::from_arg("{}"), DataSource::Text("{}".into()));
    }

    #[test]
    fn text_records_split_at_blank_lines_and_record_separators() {
        assert_eq!(
            text_records("id: 1\n\nid: 2\n\u{1e}\nid: 3\n"),
            ["id: 1\n", "id: 2\n", "id: 3\n"]
        );
        assert_eq!(text_records("a: 1\nb: 2\n"), ["a: 1\nb: 2\n"]);
        assert!(text_records("\n\n").is_empty());
    }

    /// A reader that gives its data a few bytes at a time, as a pipe may.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let rest = self.data.get(self.at..).unwrap_or_default();
            let count = rest.len().min(self.step).min(buf.len());
            buf[..count].copy_from_slice(&rest[..count]);
            self.at += count;
            Ok(count)
        }
    }

    fn item() -> MessageDescriptor {
        prost_reflect::DescriptorPool::decode(crate::demo::pb::FILE_DESCRIPTOR_SET)
            .unwrap()
            .get_message_by_name("grpcx.demo.v1.Item")
            .unwrap()
    }

    /// The messages a stream reader sends for `input` given `step` bytes at a time (all at
    /// once for 0), and the error that ended it.
    fn stream(input: &str, step: usize) -> (Vec<Bytes>, Option<String>) {
        let data = input.as_bytes().to_vec();
        let reader: Box<dyn Read + Send> = if step == 0 {
            Box::new(Cursor::new(data))
        } else {
            Box::new(Trickle { data, at: 0, step })
        };
        let mut receiver =
            spawn_stream_reader(reader, item(), InputFormat::Json(JsonInput::default()));
        let (mut messages, mut error) = (Vec::new(), None);
        while let Some(batch) = receiver.blocking_recv() {
            match batch {
                Ok(batch) => messages.extend(batch),
                Err(e) => error = Some(e.to_string()),
            }
        }
        (messages, error)
    }

    /// What the stream reader said before the encoder came (serde_json reading the whole
    /// stream): the same messages before the mistake, the same words, the same line and column
    /// counted from the start of the input. (A lone surrogate was placed within its value;
    /// now it is placed in the input too.)
    #[test]
    fn stream_errors_say_where_in_the_input() {
        for (input, before, error) in [
            (
                "{\"name\":\"a\"}\n{\"name\": }\n",
                1,
                "request message 2 is not valid JSON: expected value at line 2 column 10",
            ),
            (
                "{\"name\":\"a\"}\n{\"name\":\"b\"}\n  {\"id\": 1,\n \"name\": x}",
                2,
                "request message 3 is not valid JSON: expected value at line 4 column 10",
            ),
            (
                "{\"name\":\"a\"} {\"name\":\"b\"} {\"name\"",
                2,
                "request message 3 is not valid JSON: EOF while parsing an object at line 1 column 33",
            ),
            (
                "{\"name\":\"a\"}\n\n\n   [1, 2,\n 3]",
                1,
                "request message 2 does not fit grpcx.demo.v1.Item: invalid type: sequence, expected a map; expected a JSON object for grpcx.demo.v1.Item",
            ),
            (
                "{\"name\":\"é☃\"} {\"name\":\"é\" \"id\":1}",
                1,
                "request message 2 is not valid JSON: expected `,` or `}` at line 1 column 31",
            ),
            (
                "{\"id\":1}\n{\"id\":2}\n{\"id\":\"x\"}\n",
                2,
                "request message 3 does not fit grpcx.demo.v1.Item: at .id: invalid digit found in string; expected a 64-bit integer (a string of digits, or a JSON number)",
            ),
            (
                "{\"id\":1}\r\n{\"nope\":2}\r\n",
                1,
                "request message 2 does not fit grpcx.demo.v1.Item: unrecognized field name 'nope'",
            ),
            (
                "{\"id\":1}x",
                1,
                "request message 2 is not valid JSON: expected value at line 1 column 9",
            ),
            (
                "{\"id\":1}\n123\n",
                1,
                "request message 2 does not fit grpcx.demo.v1.Item: invalid type: integer `123`, expected a map; expected a JSON object for grpcx.demo.v1.Item",
            ),
            (
                "{\"id\":1}\n12345",
                1,
                "request message 2 does not fit grpcx.demo.v1.Item: invalid type: integer `12345`, expected a map; expected a JSON object for grpcx.demo.v1.Item",
            ),
            (
                "{\"id\":1}\n{\"name\":\"\\ud800\"}\n",
                1,
                "request message 2 is not valid JSON: unexpected end of hex escape at line 2 column 16",
            ),
            (
                "{\"id\":1}\n{\"tags\":[1,]}\n",
                1,
                "request message 2 is not valid JSON: expected value at line 2 column 12",
            ),
            (
                "  \n {\"id\":1} \n {",
                1,
                "request message 2 is not valid JSON: EOF while parsing an object at line 3 column 2",
            ),
        ] {
            for step in [0, 1, 2, 3, 7] {
                let (messages, got) = stream(input, step);
                assert_eq!(messages.len(), before, "{input:?} by {step}");
                assert_eq!(got.as_deref(), Some(error), "{input:?} by {step}");
            }
        }
    }

    #[test]
    fn a_stream_given_in_pieces_reads_as_a_whole() {
        let mut input = String::new();
        for n in 0..600 {
            input.push_str(&format!(
                "{{\"id\": {n}, \"name\": \"item {n} \\u00e9\", \"tags\": [\"a\", \"b{n}\"], \"price\": {{\"units\": \"{n}e0\"}}, \"attributes\": {{\"k\": \"v\"}}}}"
            ));
            input.push_str(["\n", " ", "", "\r\n\t"][n % 4]);
            if n % 50 == 0 {
                // A message the reference path reads (a key given twice).
                input.push_str("{\"id\": 1, \"id\": 2}\n");
            }
        }
        let (whole, error) = stream(&input, 0);
        assert_eq!(error, None);
        assert_eq!(whole.len(), 612);
        for step in [1, 5, 64, 4096] {
            let (pieces, error) = stream(&input, step);
            assert_eq!(error, None);
            assert_eq!(pieces, whole, "by {step}");
        }
        let twice = item();
        let message = DynamicMessage::decode(twice, whole[1].as_ref()).unwrap();
        assert_eq!(message.get_field_by_name("id").unwrap().as_i64(), Some(2));
    }

    #[test]
    fn newlines_are_counted_in_runs_of_any_length() {
        for length in [0, 1, 254, 255, 256, 1000] {
            for every in [1, 2, 7] {
                let bytes: Vec<u8> = (0..length)
                    .map(|i| if i % every == 0 { b'\n' } else { b'x' })
                    .collect();
                let expected = bytes.iter().filter(|&&b| b == b'\n').count();
                assert_eq!(newlines(&bytes), expected, "{length} {every}");
            }
        }
    }
}
