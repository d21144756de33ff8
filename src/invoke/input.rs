//! Request messages from JSON text: one value for unary calls, a stream of whitespace-separated
//! values (NDJSON among them) for streaming ones.
//!
//! A stream is parsed on its own thread, reading as the data arrives, so a bidirectional call
//! sends each message as soon as it is complete and a person can type into it.

use std::io::{self, BufReader, Cursor, Read};
use std::path::PathBuf;

use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use serde::Deserialize as _;
use tokio::sync::mpsc;

use crate::well_known::WellKnown;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("request message {index} is not valid JSON: {source}")]
    Json {
        index: usize,
        #[source]
        source: serde_json::Error,
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
    InputError::Json { index, source }
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
    pub(super) fn options(self) -> DeserializeOptions {
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

/// Reads every JSON value from `reader`, for a call that takes one request: none gives the
/// empty message, more than one is an error.
pub fn read_single(
    mut reader: impl Read,
    descriptor: &MessageDescriptor,
    method: &str,
    format: InputFormat,
) -> Result<DynamicMessage, InputError> {
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
                [] => Ok(DynamicMessage::new(descriptor.clone())),
                [one] => from_text(descriptor, one, 1),
                many => Err(InputError::TooMany {
                    method: method.to_string(),
                    count: many.len(),
                }),
            };
        }
    };
    let mut values = serde_json::Deserializer::from_reader(BufReader::new(reader))
        .into_iter::<serde_json::Value>();
    let first = match values.next() {
        None => return Ok(DynamicMessage::new(descriptor.clone())),
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
    to_message(descriptor, first, 1, json)
}

/// Starts a thread that parses request messages from `reader` as they arrive and sends them
/// down the returned channel. A parse error is sent as the last item; the channel closes at
/// the end of the input.
pub fn spawn_stream_reader(
    reader: Box<dyn Read + Send>,
    descriptor: MessageDescriptor,
    format: InputFormat,
) -> mpsc::Receiver<Result<Vec<DynamicMessage>, InputError>> {
    let (sender, receiver) = mpsc::channel(4);
    let json = match format {
        InputFormat::Json(json) => json,
        InputFormat::Text => {
            std::thread::spawn(move || read_text_stream(reader, &descriptor, &sender));
            return receiver;
        }
    };
    std::thread::spawn(move || read_json_stream(reader, &descriptor, json, sender));
    receiver
}

/// Starts a thread that reads requests a person types: one JSON value or more a line, each
/// message sent as soon as its line ends. A line that is not a valid message is not sent: its
/// error goes down `skipped` and the stream goes on, until the end of the input (Ctrl-D).
pub fn spawn_interactive_reader(
    reader: Box<dyn Read + Send>,
    descriptor: MessageDescriptor,
    json: JsonInput,
) -> (
    mpsc::Receiver<Result<Vec<DynamicMessage>, InputError>>,
    mpsc::UnboundedReceiver<InputError>,
) {
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
                            Ok(message) => batch.push(message),
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

/// The most messages handed over at once.
const BATCH: usize = 256;

/// Messages read but not yet handed over.
struct Pending {
    batch: Vec<DynamicMessage>,
    sender: mpsc::Sender<Result<Vec<DynamicMessage>, InputError>>,
    /// The call is gone: stop reading.
    closed: bool,
}

impl Pending {
    fn hand_over(&mut self) {
        if !self.batch.is_empty() && !self.closed {
            let batch = std::mem::take(&mut self.batch);
            self.closed = self.sender.blocking_send(Ok(batch)).is_err();
        }
    }
}

/// A buffered reader that hands the pending messages over before it waits for more input,
/// so that nothing read is held back while grpcx waits (a person typing into a stream sees
/// each message sent at once), yet everything read from one buffer-full goes over together.
struct HandOverBeforeWaiting<R> {
    inner: BufReader<R>,
    pending: std::rc::Rc<std::cell::RefCell<Pending>>,
}

impl<R: Read> Read for HandOverBeforeWaiting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.inner.buffer().is_empty() {
            self.pending.borrow_mut().hand_over();
        }
        self.inner.read(buf)
    }
}

/// A message from its JSON text: read straight into the message (no intermediate JSON value)
/// when that works; else through a JSON value, where integers in any whole spelling are made
/// plain (see `numbers`) and a mistake is named by its path.
pub(super) fn from_raw(
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

/// Reads JSON requests one after another, each message's text as it arrives, handing them
/// over in batches (see `HandOverBeforeWaiting`).
fn read_json_stream(
    reader: Box<dyn Read + Send>,
    descriptor: &MessageDescriptor,
    json: JsonInput,
    sender: mpsc::Sender<Result<Vec<DynamicMessage>, InputError>>,
) {
    let pending = std::rc::Rc::new(std::cell::RefCell::new(Pending {
        batch: Vec::with_capacity(BATCH),
        sender: sender.clone(),
        closed: false,
    }));
    let mut deserializer = serde_json::Deserializer::from_reader(HandOverBeforeWaiting {
        inner: BufReader::with_capacity(64 * 1024, reader),
        pending: pending.clone(),
    });
    let options = json.options();
    for index in 1.. {
        {
            let mut pending = pending.borrow_mut();
            if pending.closed {
                return;
            }
            if pending.batch.len() >= BATCH {
                pending.hand_over();
            }
        }
        // Only white space left: the stream is over. (`end` looks at the next byte without
        // taking it.)
        if deserializer.end().is_ok() {
            pending.borrow_mut().hand_over();
            return;
        }
        let message = <Box<serde_json::value::RawValue>>::deserialize(&mut deserializer)
            .map_err(|err| json_error(index, err))
            .and_then(|raw| from_raw(descriptor, raw.get(), index, json, &options));
        match message {
            Ok(message) => pending.borrow_mut().batch.push(message),
            Err(error) => {
                // What was read before the mistake goes first; then the error cancels the call.
                pending.borrow_mut().hand_over();
                let _ = sender.blocking_send(Err(error));
                return;
            }
        }
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
    sender: &mpsc::Sender<Result<Vec<DynamicMessage>, InputError>>,
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
        let message = from_text(descriptor, text, index).map(|message| vec![message]);
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
}
