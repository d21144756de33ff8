//! The only module that writes to stdout or stderr.
//!
//! stdout carries results only: one locked-in-order, buffered writer, flushed when the call has
//! nothing ready (so interactive streams show each answer at once) and at the end, never once a
//! line in a pipe. A closed stdout (`grpcx … | head -n 1`) is not an error: the writer reports
//! [`OutputError::Closed`] and the caller stops quietly.

mod color;
pub mod transcode;

use std::io::{self, BufWriter, IsTerminal, Write};

use prost_reflect::{DynamicMessage, SerializeOptions};

use crate::cli::OutputFormat;
use crate::invoke::{CallObserver, Response, Stop};
use crate::settings::Verbosity;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The reader of stdout went away; stop quietly.
    #[error("stdout was closed")]
    Closed,
    #[error("cannot write the output: {0}")]
    Write(io::Error),
    #[error("cannot print a response as JSON: {0}")]
    Json(serde_json::Error),
    #[error("a response does not decode as {message}: {reason}")]
    Decode { message: String, reason: String },
}

impl From<io::Error> for OutputError {
    fn from(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::BrokenPipe {
            OutputError::Closed
        } else {
            OutputError::Write(err)
        }
    }
}

/// Whether stdout is a terminal (pretty, colored output) or a pipe or file (compact output).
/// Tests set `GRPCX_PRETEND_TTY=1` to see what a person at a terminal sees.
pub fn stdout_is_terminal() -> bool {
    std::env::var_os("GRPCX_PRETEND_TTY").is_some_and(|v| v == "1") || io::stdout().is_terminal()
}

/// Whether stdin is a terminal, i.e. a person would have to type the input.
pub fn stdin_is_terminal() -> bool {
    io::stdin().is_terminal()
}

/// Results on stdout.
pub struct Output {
    out: BufWriter<io::Stdout>,
    format: OutputFormat,
    json_options: SerializeOptions,
    /// The first write error, kept so that the command can report it after the call stops.
    failure: Option<OutputError>,
    /// What to show of the exchange on stderr.
    verbosity: Verbosity,
    /// Messages in the protobuf text format instead of JSON.
    text: bool,
    /// Messages written so far, to separate text-format ones.
    written: u64,
    /// Color pretty JSON for a terminal.
    color: bool,
    /// With `--output envelope`: what the call brought, kept for the one document.
    envelope: Envelope,
    /// JSON straight from the wire for compact output, when the response type allows it.
    transcoder: Option<transcode::Transcoder>,
    /// Whether JSON options leave the fast path usable (no --emit-defaults).
    fast_path_options: Option<bool>,
    scratch: Vec<u8>,
}

/// What an envelope collects as the call goes.
#[derive(Debug)]
struct Envelope {
    headers: serde_json::Value,
    messages: Vec<serde_json::Value>,
    trailers: serde_json::Value,
}

impl Default for Envelope {
    fn default() -> Self {
        Envelope {
            headers: serde_json::Value::Object(serde_json::Map::new()),
            messages: Vec::new(),
            trailers: serde_json::Value::Object(serde_json::Map::new()),
        }
    }
}

/// Metadata entries as text: binary values in base64, hidden values as `<redacted>`.
fn metadata_entries(
    map: &tonic::metadata::MetadataMap,
    verbosity: &Verbosity,
) -> Vec<(String, String)> {
    use tonic::metadata::KeyAndValueRef;
    map.iter()
        .map(|entry| {
            let (key, value) = match entry {
                KeyAndValueRef::Ascii(key, value) => (
                    key.as_str().to_string(),
                    String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
                ),
                KeyAndValueRef::Binary(key, value) => (
                    key.as_str().to_string(),
                    value
                        .to_bytes()
                        .map(|bytes| crate::transport::metadata::encode_base64(&bytes))
                        .unwrap_or_else(|_| "<invalid base64>".to_string()),
                ),
            };
            let value = if verbosity.shows(&key) {
                value
            } else {
                "<redacted>".to_string()
            };
            (key, value)
        })
        .collect()
}

/// A request header's value as text, as `metadata_entries` shows received ones.
fn header_text(header: &crate::transport::Header, verbosity: &Verbosity) -> String {
    if !verbosity.shows(&header.name) {
        return "<redacted>".to_string();
    }
    match &header.value {
        crate::transport::HeaderValue::Text(text) => text.clone(),
        crate::transport::HeaderValue::Binary(bytes) => {
            crate::transport::metadata::encode_base64(bytes)
        }
    }
}

/// Metadata as a JSON object: a key's value, or its values when it repeats.
pub fn metadata_json(
    map: &tonic::metadata::MetadataMap,
    verbosity: &Verbosity,
) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (key, value) in metadata_entries(map, verbosity) {
        add_value(&mut object, key, value);
    }
    serde_json::Value::Object(object)
}

/// Request metadata as a JSON object, as `metadata_json` shows received metadata.
pub fn headers_json(
    headers: &[crate::transport::Header],
    verbosity: &Verbosity,
) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for header in headers {
        add_value(
            &mut object,
            header.name.clone(),
            header_text(header, verbosity),
        );
    }
    serde_json::Value::Object(object)
}

fn add_value(object: &mut serde_json::Map<String, serde_json::Value>, key: String, value: String) {
    match object.get_mut(&key) {
        None => {
            object.insert(key, serde_json::Value::String(value));
        }
        Some(serde_json::Value::Array(values)) => values.push(serde_json::Value::String(value)),
        Some(first) => {
            let first = first.take();
            object.insert(key, serde_json::json!([first, value]));
        }
    }
}

impl Output {
    pub fn new(format: OutputFormat) -> Output {
        Output {
            out: BufWriter::with_capacity(64 * 1024, io::stdout()),
            format,
            json_options: SerializeOptions::new(),
            failure: None,
            verbosity: Verbosity::default(),
            text: false,
            written: 0,
            color: false,
            envelope: Envelope::default(),
            transcoder: None,
            fast_path_options: Some(false),
            scratch: Vec::new(),
        }
    }

    /// Makes ready for responses of `descriptor`: plans the fast JSON path when the output
    /// settings allow it (compact JSON, no color, no --emit-defaults). Call after the other
    /// settings.
    pub fn expect_responses(&mut self, descriptor: &prost_reflect::MessageDescriptor) {
        self.transcoder = match self.fast_path_options {
            Some(proto_names)
                if self.format == OutputFormat::Ndjson && !self.color && !self.text =>
            {
                transcode::Transcoder::new(descriptor, proto_names)
            }
            _ => None,
        };
    }

    /// Writes one response as it came off the wire: straight to JSON when the fast path covers
    /// it, else through a decoded message.
    pub fn response(&mut self, response: Response<'_>) -> Result<(), OutputError> {
        if let Some(transcoder) = &self.transcoder {
            self.scratch.clear();
            compact_json(transcoder, response, &self.json_options, &mut self.scratch)?;
            self.scratch.push(b'\n');
            self.out.write_all(&self.scratch)?;
            self.written += 1;
            return Ok(());
        }
        let message = response.decode().map_err(|err| OutputError::Decode {
            message: response.descriptor.full_name().to_string(),
            reason: err.to_string(),
        })?;
        self.message(&message)
    }

    /// Records the trailers a failed call ended with (they come with its status).
    pub fn envelope_trailers(&mut self, trailers: &tonic::metadata::MetadataMap) {
        self.envelope.trailers = metadata_json(trailers, &self.verbosity);
    }

    /// Writes the envelope of a call: what it collected, with `call` (method, request
    /// metadata, status, elapsed time) in front.
    pub fn finish_envelope(
        &mut self,
        call: serde_json::Map<String, serde_json::Value>,
        pretty: bool,
    ) -> Result<(), OutputError> {
        let envelope = std::mem::take(&mut self.envelope);
        let mut document = call;
        document.insert("responseHeaders".to_string(), envelope.headers);
        document.insert(
            "messages".to_string(),
            serde_json::Value::Array(envelope.messages),
        );
        document.insert("trailers".to_string(), envelope.trailers);
        let document = serde_json::Value::Object(document);
        let text = if pretty {
            serde_json::to_string_pretty(&document)
        } else {
            serde_json::to_string(&document)
        }
        .map_err(OutputError::Json)?;
        self.line(&text)
    }

    /// Colors JSON (keys, strings, numbers, literals) with ANSI escapes.
    pub fn set_color(&mut self, color: bool) {
        self.color = color;
    }

    /// Writes messages in the protobuf text format, separated by 0x1E lines as grpcurl does.
    pub fn set_text(&mut self, text: bool) {
        self.text = text;
    }

    /// How messages are written as JSON: every field with `emit_defaults`, .proto names with
    /// `proto_names`.
    pub fn set_json_options(&mut self, emit_defaults: bool, proto_names: bool) {
        self.json_options = SerializeOptions::new()
            .skip_default_fields(!emit_defaults)
            .use_proto_field_name(proto_names);
        self.fast_path_options = (!emit_defaults).then_some(proto_names);
    }

    /// Shows the exchange on stderr as `verbosity` says.
    pub fn set_verbosity(&mut self, verbosity: Verbosity) {
        self.verbosity = verbosity;
    }

    /// Chooses pretty or one-line JSON for the messages that follow.
    pub fn set_format(&mut self, format: OutputFormat) {
        self.format = format;
    }

    /// Writes one message as JSON, pretty or one line, as chosen, or as text format.
    pub fn message(&mut self, message: &DynamicMessage) -> Result<(), OutputError> {
        self.written += 1;
        if self.format == OutputFormat::Envelope {
            let value = message
                .serialize_with_options(serde_json::value::Serializer, &self.json_options)
                .map_err(OutputError::Json)?;
            self.envelope.messages.push(value);
            return Ok(());
        }
        if self.text {
            if self.written > 1 {
                self.out.write_all(b"\x1e\n")?;
            }
            let text = message.to_text_format_with_options(
                &prost_reflect::text_format::FormatOptions::new().pretty(true),
            );
            self.out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                self.out.write_all(b"\n")?;
            }
            return Ok(());
        }
        match self.format {
            OutputFormat::Json if self.color => {
                let formatter = color::ColorFormatter::new(serde_json::ser::PrettyFormatter::new());
                let mut serializer =
                    serde_json::Serializer::with_formatter(&mut self.out, formatter);
                message
                    .serialize_with_options(&mut serializer, &self.json_options)
                    .map_err(json_error)?;
            }
            OutputFormat::Json => {
                let mut serializer = serde_json::Serializer::pretty(&mut self.out);
                message
                    .serialize_with_options(&mut serializer, &self.json_options)
                    .map_err(json_error)?;
            }
            OutputFormat::Ndjson if self.color => {
                let formatter = color::ColorFormatter::new(serde_json::ser::CompactFormatter);
                let mut serializer =
                    serde_json::Serializer::with_formatter(&mut self.out, formatter);
                message
                    .serialize_with_options(&mut serializer, &self.json_options)
                    .map_err(json_error)?;
            }
            OutputFormat::Ndjson | OutputFormat::Envelope => {
                let mut serializer = serde_json::Serializer::new(&mut self.out);
                message
                    .serialize_with_options(&mut serializer, &self.json_options)
                    .map_err(json_error)?;
            }
        }
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Writes a line of text.
    pub fn line(&mut self, text: &str) -> Result<(), OutputError> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Writes text as it is.
    pub fn text(&mut self, text: &str) -> Result<(), OutputError> {
        self.out.write_all(text.as_bytes())?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.out.flush()?;
        Ok(())
    }

    /// The write error that stopped a call, if one did.
    pub fn take_failure(&mut self) -> Option<OutputError> {
        self.failure.take()
    }

    fn keep(&mut self, result: Result<(), OutputError>) -> Result<(), Stop> {
        result.map_err(|err| {
            self.failure.get_or_insert(err);
            Stop
        })
    }
}

/// One response as compact JSON, appended to `out`: straight from the wire when `transcoder`
/// covers its bytes, else through a decoded message, as the reference path writes it.
pub(crate) fn compact_json(
    transcoder: &transcode::Transcoder,
    response: Response<'_>,
    options: &SerializeOptions,
    out: &mut Vec<u8>,
) -> Result<(), OutputError> {
    let mark = out.len();
    if transcoder.write(response.bytes, out).is_ok() {
        return Ok(());
    }
    out.truncate(mark);
    let message = response.decode().map_err(|err| OutputError::Decode {
        message: response.descriptor.full_name().to_string(),
        reason: err.to_string(),
    })?;
    message
        .serialize_with_options(&mut serde_json::Serializer::new(&mut *out), options)
        .map_err(json_error)
}

fn json_error(err: serde_json::Error) -> OutputError {
    match err.io_error_kind() {
        Some(io::ErrorKind::BrokenPipe) => OutputError::Closed,
        _ => OutputError::Json(err),
    }
}

impl CallObserver for Output {
    fn on_headers(&mut self, headers: &tonic::metadata::MetadataMap) {
        if self.format == OutputFormat::Envelope {
            self.envelope.headers = metadata_json(headers, &self.verbosity);
        }
        if self.verbosity.level > 0 {
            diagnostics::metadata('<', headers, &self.verbosity);
        }
    }

    fn on_trailers(&mut self, trailers: &tonic::metadata::MetadataMap) {
        if self.format == OutputFormat::Envelope {
            self.envelope.trailers = metadata_json(trailers, &self.verbosity);
        }
        if self.verbosity.level > 0 {
            diagnostics::info("response trailers:");
            diagnostics::metadata('<', trailers, &self.verbosity);
        }
    }

    fn on_message(&mut self, message: Response<'_>) -> Result<(), Stop> {
        let written = self.response(message);
        let flushed = if written.is_ok() && self.format == OutputFormat::Json {
            // Pretty output is for a person watching: show each message at once.
            self.flush()
        } else {
            Ok(())
        };
        self.keep(written.and(flushed))
    }

    fn on_idle(&mut self) -> Result<(), Stop> {
        let flushed = self.flush();
        self.keep(flushed)
    }
}

/// Diagnostics on stderr: errors, hints and notes for people. Failures to write them are
/// ignored, since there is nowhere left to report them.
pub mod diagnostics {
    use std::io::Write as _;

    use tonic::metadata::MetadataMap;

    use crate::settings::Verbosity;
    use crate::transport::Header;

    /// `* <what>`: verbose information about the exchange.
    pub fn info(message: &str) {
        let _ = writeln!(std::io::stderr().lock(), "* {message}");
    }

    /// Metadata received, one `< key: value` line each; binary values in base64, hidden
    /// values as `<redacted>`.
    pub fn metadata(direction: char, map: &MetadataMap, verbosity: &Verbosity) {
        let mut stderr = std::io::stderr().lock();
        for (key, value) in super::metadata_entries(map, verbosity) {
            let _ = writeln!(stderr, "{direction} {key}: {value}");
        }
    }

    /// Metadata sent, one `> key: value` line each.
    pub fn sent_headers(headers: &[Header], verbosity: &Verbosity) {
        let mut stderr = std::io::stderr().lock();
        for header in headers {
            let value = super::header_text(header, verbosity);
            let _ = writeln!(stderr, "> {}: {value}", header.name);
        }
    }

    /// `error: <what>`, then `hint: <how to fix>` when there is one.
    pub fn error(message: &str, hint: Option<&str>) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error: {message}");
        if let Some(hint) = hint {
            let _ = writeln!(stderr, "hint: {hint}");
        }
    }

    /// `hint: <how to fix>`.
    pub fn hint(message: &str) {
        let _ = writeln!(std::io::stderr().lock(), "hint: {message}");
    }

    /// A non-OK gRPC status: `ERROR: <CODE_NAME>: <message>`.
    pub fn status(code_name: &str, message: &str) {
        let mut stderr = std::io::stderr().lock();
        if message.is_empty() {
            let _ = writeln!(stderr, "ERROR: {code_name}");
        } else {
            let _ = writeln!(stderr, "ERROR: {code_name}: {message}");
        }
    }

    /// `warning: <what>`.
    pub fn warning(message: &str) {
        let _ = writeln!(std::io::stderr().lock(), "warning: {message}");
    }

    /// One rich error detail, as one line of JSON under the status.
    pub fn detail(detail: &serde_json::Value) {
        let _ = writeln!(std::io::stderr().lock(), "  detail: {detail}");
    }

    /// A note for the person at the terminal.
    pub fn note(message: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{message}");
    }
}
