//! The printer: every byte a command writes for a person or a pipe goes through one [`Printer`]
//! (results, the envelope, `--format-error`, the status line, verbose metadata, errors and
//! hints). Nothing else in grpcx writes to stdout or stderr.
//!
//! stdout carries results only: one buffered writer, flushed when the call has nothing ready
//! (so interactive streams show each answer at once) and at the end, never once a line in a
//! pipe. A closed stdout (`grpcx … | head -n 1`) is not an error: the writer reports
//! [`OutputError::Closed`] and the caller stops quietly. stderr carries everything else, one
//! whole line at a time.
//!
//! The printer is generic over its two writers and told whether they are terminals
//! ([`Console`]), so what a person at a terminal sees is tested without a terminal.

mod color;
mod envelope;
pub mod metadata;
pub mod transcode;

use std::io::{self, BufWriter, IsTerminal, Write};
use std::time::Duration;

use clap::builder::styling::{Style, Styles};
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::invoke::{CallObserver, Outcome, Response, Stop};
use crate::status::{self, code_name};
use crate::transport::Header;
use envelope::{Envelope, status_json};

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

fn json_error(err: serde_json::Error) -> OutputError {
    match err.io_error_kind() {
        Some(io::ErrorKind::BrokenPipe) => OutputError::Closed,
        _ => OutputError::Json(err),
    }
}

/// How results are written: `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Indented JSON, one value after another.
    Json,
    /// One compact JSON value a line.
    Ndjson,
    /// One JSON document for the whole call: request and response metadata, every response,
    /// trailers, status (with details) and elapsed time.
    Envelope,
}

/// When to color: `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// What verbose output shows.
#[derive(Debug, Clone, Default)]
pub struct Verbosity {
    /// 0 quiet, 1 the exchange, 2 also per-phase timings.
    pub level: u8,
    /// Lower-cased keys whose values are hidden.
    pub redacted: Vec<String>,
}

impl Verbosity {
    /// Whether the value of metadata key `key` is shown.
    pub fn shows(&self, key: &str) -> bool {
        !self
            .redacted
            .iter()
            .any(|hidden| hidden.eq_ignore_ascii_case(key))
    }
}

/// Everything that decides how a command's results are written, set once per command.
#[derive(Debug, Clone, Default)]
pub struct PrintOptions {
    /// Pretty, one line, or one envelope; `None`: pretty on a terminal, one a line elsewhere.
    pub format: Option<OutputFormat>,
    /// Messages in the protobuf text format instead of JSON.
    pub text: bool,
    /// Every field, zero values included (`--emit-defaults`).
    pub emit_defaults: bool,
    /// Field names as the .proto file writes them (`--proto-names`).
    pub proto_names: bool,
    /// A non-OK status as JSON on stdout rather than a line on stderr (`--format-error`).
    pub format_error: bool,
    pub verbosity: Verbosity,
}

/// What the printer writes to: which streams are terminals, and which get color.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Console {
    /// A person would type the requests.
    pub stdin_terminal: bool,
    /// A person reads the results: pretty JSON unless chosen otherwise.
    pub stdout_terminal: bool,
    pub stdout_color: bool,
    pub stderr_color: bool,
}

impl Console {
    /// This process's streams. Color follows `choice`; `auto` follows the usual conventions, in
    /// this order: `NO_COLOR` (set and not empty) turns it off, `CLICOLOR_FORCE` (other than
    /// `0`) on, `CLICOLOR=0` off; otherwise a stream is colored when it is a terminal and `TERM`
    /// is set and not `dumb`. Unlike anstream's rule, a `CI` variable does not turn color on: a
    /// dumb terminal in a CI job stays plain.
    pub fn detect(choice: ColorChoice) -> Console {
        let stdout_terminal = io::stdout().is_terminal();
        let stderr_terminal = io::stderr().is_terminal();
        let environment = ColorEnvironment::read();
        let stdout_color = environment.colors(choice, stdout_terminal);
        let stderr_color = environment.colors(choice, stderr_terminal);
        // clap prints its own errors and help through anstream: tell it what was decided for
        // stderr, so that a usage error and grpcx's own lines agree.
        colorchoice::ColorChoice::write_global(if stderr_color {
            colorchoice::ColorChoice::Always
        } else {
            colorchoice::ColorChoice::Never
        });
        Console {
            stdin_terminal: io::stdin().is_terminal(),
            stdout_terminal,
            stdout_color,
            stderr_color,
        }
    }
}

/// The environment variables that decide `--color auto`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ColorEnvironment {
    no_color: Option<String>,
    clicolor: Option<String>,
    clicolor_force: Option<String>,
    term: Option<String>,
}

impl ColorEnvironment {
    fn read() -> ColorEnvironment {
        let var = |name| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned());
        ColorEnvironment {
            no_color: var("NO_COLOR"),
            clicolor: var("CLICOLOR"),
            clicolor_force: var("CLICOLOR_FORCE"),
            term: var("TERM"),
        }
    }

    /// Whether a stream gets color under `choice`.
    fn colors(&self, choice: ColorChoice, terminal: bool) -> bool {
        match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if self
                    .no_color
                    .as_deref()
                    .is_some_and(|value| !value.is_empty())
                {
                    false
                } else if self
                    .clicolor_force
                    .as_deref()
                    .is_some_and(|value| !value.is_empty() && value != "0")
                {
                    true
                } else if self.clicolor.as_deref() == Some("0") {
                    false
                } else {
                    terminal && self.term.as_deref().is_some_and(|term| term != "dumb")
                }
            }
        }
    }
}

/// A call about to be made, for `-v`.
#[derive(Debug)]
pub struct CallStart<'a> {
    /// Where the schema came from, in words.
    pub schema: &'a str,
    /// `pkg.Service/Method`.
    pub method: &'a str,
    /// The kind of RPC, in words.
    pub kind: &'a str,
    pub request_type: &'a str,
    pub response_type: &'a str,
    pub headers: &'a [Header],
}

/// A call that ended, for the envelope, `--format-error`, the status line and `-v`.
#[derive(Debug)]
pub struct CallEnd<'a> {
    /// `pkg.Service/Method`.
    pub method: &'a str,
    pub request_headers: &'a [Header],
    pub outcome: &'a Outcome,
    /// The status's rich error details, decoded.
    pub details: &'a [Value],
    pub elapsed: Duration,
    /// For `-vv`: how long connecting, reading the schema and the call itself took.
    pub phases: [(&'static str, Duration); 3],
}

/// The printer of one grpcx process (or of a test): results on `O`, the rest on `E`.
pub struct Printer<O: Write = Box<dyn Write + Send>, E: Write = Box<dyn Write + Send>> {
    out: BufWriter<O>,
    err: E,
    console: Console,
    options: PrintOptions,
    /// `options` as prost-reflect's serializer takes them.
    json_options: SerializeOptions,
    /// The first write error, kept so that the command can report it after the call stops.
    failure: Option<OutputError>,
    /// Messages written so far, to separate text-format ones.
    written: u64,
    /// The call's request messages sent, and response messages received, for `-v`.
    sent: u64,
    received: u64,
    /// With `--output envelope`: what the call brought, kept for the one document.
    envelope: Envelope,
    /// JSON straight from the wire for compact output, when the response type allows it.
    transcoder: Option<transcode::Transcoder>,
    scratch: Vec<u8>,
    /// Styles for `error:`, `hint:` and `warning:`, as clap styles its own errors.
    styles: Styles,
}

impl Printer {
    /// The printer of this process: stdout and stderr, color as `choice` and the
    /// environment say.
    pub fn stdio(choice: ColorChoice) -> Printer {
        Printer::new(
            Box::new(io::stdout()),
            Box::new(io::stderr()),
            Console::detect(choice),
        )
    }
}

impl<O: Write, E: Write> Printer<O, E> {
    pub fn new(out: O, err: E, console: Console) -> Printer<O, E> {
        Printer {
            out: BufWriter::with_capacity(64 * 1024, out),
            err,
            console,
            options: PrintOptions::default(),
            json_options: SerializeOptions::new(),
            failure: None,
            written: 0,
            sent: 0,
            received: 0,
            envelope: Envelope::default(),
            transcoder: None,
            scratch: Vec::new(),
            styles: Styles::styled(),
        }
    }

    /// Sets how the command's results are written.
    pub fn configure(&mut self, options: PrintOptions) {
        self.json_options = SerializeOptions::new()
            .skip_default_fields(!options.emit_defaults)
            .use_proto_field_name(options.proto_names);
        self.options = options;
        self.transcoder = None;
        self.envelope = Envelope::default();
        self.written = 0;
        self.sent = 0;
        self.received = 0;
    }

    pub fn console(&self) -> Console {
        self.console
    }

    /// The output format in effect: the chosen one, else pretty for a terminal and one value
    /// a line for a pipe.
    pub fn format(&self) -> OutputFormat {
        self.options
            .format
            .unwrap_or(if self.console.stdout_terminal {
                OutputFormat::Json
            } else {
                OutputFormat::Ndjson
            })
    }

    /// Flushes stdout and hands back both writers.
    pub fn into_writers(mut self) -> Result<(O, E), OutputError> {
        self.out.flush()?;
        let out = self.out.into_parts().0;
        Ok((out, self.err))
    }

    // ---- results on stdout ----

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

    /// Writes a JSON document, indented, on its own lines.
    pub fn pretty_json(&mut self, value: &Value) -> Result<(), OutputError> {
        let mut serializer = serde_json::Serializer::pretty(&mut self.out);
        value.serialize(&mut serializer).map_err(json_error)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Writes a JSON document for a script: indented at a terminal, one line in a pipe.
    pub fn document(&mut self, value: &Value) -> Result<(), OutputError> {
        if self.console.stdout_terminal {
            self.pretty_json(value)
        } else {
            self.line(&value.to_string())
        }
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.out.flush()?;
        Ok(())
    }

    /// Makes ready for responses of `descriptor`: plans the fast JSON path when the output
    /// allows it (compact JSON, no color, no `--emit-defaults`, not text).
    pub fn expect_responses(&mut self, descriptor: &MessageDescriptor) {
        let fast = self.format() == OutputFormat::Ndjson
            && !self.console.stdout_color
            && !self.options.text
            && !self.options.emit_defaults;
        self.transcoder = fast
            .then(|| transcode::Transcoder::new(descriptor, self.options.proto_names))
            .flatten();
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
        let message = decode(response)?;
        self.message(&message)
    }

    /// Writes one message as JSON, pretty or one line, as chosen, or as text format.
    pub fn message(&mut self, message: &DynamicMessage) -> Result<(), OutputError> {
        self.written += 1;
        let format = self.format();
        if format == OutputFormat::Envelope {
            let value = message
                .serialize_with_options(serde_json::value::Serializer, &self.json_options)
                .map_err(OutputError::Json)?;
            self.envelope.messages.push(value);
            return Ok(());
        }
        if self.options.text {
            return self.text_format(message);
        }
        let options = &self.json_options;
        let out = &mut self.out;
        match (format, self.console.stdout_color) {
            (OutputFormat::Json, true) => {
                let formatter = color::ColorFormatter::new(serde_json::ser::PrettyFormatter::new());
                let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
                message.serialize_with_options(&mut serializer, options)
            }
            (OutputFormat::Json, false) => {
                let mut serializer = serde_json::Serializer::pretty(&mut *out);
                message.serialize_with_options(&mut serializer, options)
            }
            (_, true) => {
                let formatter = color::ColorFormatter::new(serde_json::ser::CompactFormatter);
                let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
                message.serialize_with_options(&mut serializer, options)
            }
            (_, false) => {
                let mut serializer = serde_json::Serializer::new(&mut *out);
                message.serialize_with_options(&mut serializer, options)
            }
        }
        .map_err(json_error)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// A message in the protobuf text format; messages after the first are separated by a
    /// 0x1E line, as grpcurl does.
    fn text_format(&mut self, message: &DynamicMessage) -> Result<(), OutputError> {
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

    // ---- a call's beginning and end ----

    /// Shows a call about to be made, with `-v`.
    pub fn call_starts(&mut self, call: &CallStart<'_>) {
        if self.options.verbosity.level == 0 {
            return;
        }
        self.info(&format!("schema: {}", call.schema));
        self.info(&format!("method: {} ({})", call.method, call.kind));
        self.info(&format!(
            "request type: {}, response type: {}",
            call.request_type, call.response_type
        ));
        if call.headers.is_empty() {
            self.info("request metadata: none");
        } else {
            self.info("request metadata:");
        }
        for (key, value) in metadata::sent(call.headers, &self.options.verbosity) {
            self.stderr_line(&format!("> {key}: {value}"));
        }
    }

    /// Shows how a call ended: with `-v` the status and the times; then, for a non-OK status,
    /// the status as the options say (in the envelope, as JSON on stdout with
    /// `--format-error`, or as the `ERROR:` line on stderr). The envelope is written here.
    pub fn call_ends(&mut self, call: &CallEnd<'_>) -> Result<(), OutputError> {
        if self.options.verbosity.level > 0 {
            self.verbose_ending(call);
        }
        let envelope = self.format() == OutputFormat::Envelope;
        match call.outcome {
            Outcome::Stopped => Ok(()),
            Outcome::Ok if envelope => {
                let status = status_json(tonic::Code::Ok, "", call.details);
                self.write_envelope(call, status)
            }
            Outcome::Ok => Ok(()),
            Outcome::Status(found) if envelope => {
                self.envelope.trailers = metadata::json(metadata::received(
                    found.metadata(),
                    &self.options.verbosity,
                ));
                let status = status_json(found.code(), found.message(), call.details);
                self.write_envelope(call, status)
            }
            Outcome::Status(found) => self.status(found, call.details),
        }
    }

    fn verbose_ending(&mut self, call: &CallEnd<'_>) {
        match call.outcome {
            Outcome::Ok => self.info("status: OK"),
            Outcome::Status(status) => self.info(&format!(
                "status: {}: {}",
                code_name(status.code()),
                status.message()
            )),
            Outcome::Stopped => self.info("status: cancelled by grpcx (stdout closed)"),
        }
        self.info(&format!(
            "messages: {} sent, {} received",
            self.sent, self.received
        ));
        self.info(&format!("elapsed: {}", millis(call.elapsed)));
        if self.options.verbosity.level > 1 {
            for (phase, took) in call.phases {
                self.info(&format!("{phase}: {}", millis(took)));
            }
        }
    }

    fn write_envelope(&mut self, call: &CallEnd<'_>, status: Value) -> Result<(), OutputError> {
        let mut head = Map::new();
        head.insert("method".into(), json!(call.method));
        head.insert(
            "requestHeaders".into(),
            metadata::json(metadata::sent(
                call.request_headers,
                &self.options.verbosity,
            )),
        );
        head.insert("status".into(), status);
        head.insert(
            "elapsedMs".into(),
            json!(call.elapsed.as_secs_f64() * 1000.0),
        );
        let document = std::mem::take(&mut self.envelope).document(head);
        if self.console.stdout_terminal {
            self.pretty_json(&document)
        } else {
            self.line(&document.to_string())
        }
    }

    /// A non-OK status: as JSON on stdout with `--format-error`, else the `ERROR:` line on
    /// stderr with each rich error detail under it and a hint when a flag is the fix.
    pub fn status(&mut self, status: &tonic::Status, details: &[Value]) -> Result<(), OutputError> {
        if self.options.format_error {
            let json = status_json(status.code(), status.message(), details);
            return self.line(&json.to_string());
        }
        let mut text = code_name(status.code()).to_string();
        if !status.message().is_empty() {
            text.push_str(": ");
            text.push_str(status.message());
        }
        let style = *self.styles.get_error();
        self.labelled(style, "ERROR:", &text);
        for detail in details {
            self.stderr_line(&format!("  detail: {detail}"));
        }
        if status::is_response_too_large(status) {
            self.hint(status::MESSAGE_TOO_LARGE_HINT);
        } else if status::is_request_too_large(status) {
            self.hint(status::REQUEST_TOO_LARGE_HINT);
        }
        Ok(())
    }

    // ---- diagnostics on stderr ----

    /// `error: <what>`, then `hint: <how to fix>` when there is one.
    pub fn error(&mut self, message: &str, hint: Option<&str>) {
        let style = *self.styles.get_error();
        self.labelled(style, "error:", message);
        if let Some(hint) = hint {
            self.hint(hint);
        }
    }

    /// `hint: <how to fix>`.
    pub fn hint(&mut self, message: &str) {
        let style = *self.styles.get_valid();
        self.labelled(style, "hint:", message);
    }

    /// `warning: <what>`.
    pub fn warning(&mut self, message: &str) {
        let style = self.styles.get_invalid().bold();
        self.labelled(style, "warning:", message);
    }

    /// `* <what>`: information about the exchange, shown with `-v`.
    pub fn info(&mut self, message: &str) {
        if self.options.verbosity.level > 0 {
            self.stderr_line(&format!("* {message}"));
        }
    }

    /// A note for the person at the terminal.
    pub fn note(&mut self, message: &str) {
        self.stderr_line(message);
    }

    /// Text a library rendered for stderr as it is (clap's errors, styled or not).
    pub fn stderr_text(&mut self, text: &str) {
        let _ = self.err.write_all(text.as_bytes());
        let _ = self.err.flush();
    }

    fn labelled(&mut self, style: Style, label: &str, message: &str) {
        let label = if self.console.stderr_color {
            format!("{}{label}{}", style.render(), style.render_reset())
        } else {
            label.to_string()
        };
        self.stderr_line(&format!("{label} {message}"));
    }

    /// Notes, a line each, in one write: for a server's log under load.
    pub fn notes(&mut self, lines: &[String]) {
        self.stderr_lines(lines.iter().map(String::as_str));
    }

    /// One line on stderr in one write.
    fn stderr_line(&mut self, text: &str) {
        self.stderr_lines([text]);
    }

    /// Lines on stderr in one write. Failures are ignored: there is nowhere left to report
    /// them.
    fn stderr_lines<'a>(&mut self, lines: impl IntoIterator<Item = &'a str> + Clone) {
        let size = lines.clone().into_iter().map(|line| line.len() + 1).sum();
        let mut text = String::with_capacity(size);
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        let _ = self.err.write_all(text.as_bytes());
        let _ = self.err.flush();
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn decode(response: Response<'_>) -> Result<DynamicMessage, OutputError> {
    response.decode().map_err(|err| OutputError::Decode {
        message: response.descriptor.full_name().to_string(),
        reason: err.to_string(),
    })
}

/// Responses of one type as compact JSON, for front ends other than the command line's (the
/// gateway): the fast path where it covers the options, prost-reflect's serde otherwise.
#[derive(Debug)]
pub struct MessageJson {
    transcoder: Option<transcode::Transcoder>,
    options: SerializeOptions,
}

impl MessageJson {
    pub fn new(descriptor: &MessageDescriptor, emit_defaults: bool, proto_names: bool) -> Self {
        MessageJson {
            transcoder: (!emit_defaults)
                .then(|| transcode::Transcoder::new(descriptor, proto_names))
                .flatten(),
            options: SerializeOptions::new()
                .skip_default_fields(!emit_defaults)
                .use_proto_field_name(proto_names),
        }
    }

    /// Appends `response` as compact JSON to `out`.
    pub fn write(&self, response: Response<'_>, out: &mut Vec<u8>) -> Result<(), OutputError> {
        match &self.transcoder {
            Some(transcoder) => compact_json(transcoder, response, &self.options, out),
            None => decode(response)?
                .serialize_with_options(&mut serde_json::Serializer::new(&mut *out), &self.options)
                .map_err(json_error),
        }
    }

    /// `response` as a JSON value.
    pub fn value(&self, response: Response<'_>) -> Result<Value, OutputError> {
        decode(response)?
            .serialize_with_options(serde_json::value::Serializer, &self.options)
            .map_err(json_error)
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
    let message = decode(response)?;
    message
        .serialize_with_options(&mut serde_json::Serializer::new(&mut *out), options)
        .map_err(json_error)
}

impl<O: Write, E: Write> CallObserver for Printer<O, E> {
    fn on_headers(&mut self, headers: &tonic::metadata::MetadataMap) {
        let received = metadata::received(headers, &self.options.verbosity);
        if self.options.verbosity.level > 0 {
            self.info("response headers:");
            for (key, value) in &received {
                self.stderr_line(&format!("< {key}: {value}"));
            }
        }
        if self.format() == OutputFormat::Envelope {
            self.envelope.headers = metadata::json(received);
        }
    }

    fn on_trailers(&mut self, trailers: &tonic::metadata::MetadataMap) {
        let received = metadata::received(trailers, &self.options.verbosity);
        if self.options.verbosity.level > 0 {
            self.info("response trailers:");
            for (key, value) in &received {
                self.stderr_line(&format!("< {key}: {value}"));
            }
        }
        if self.format() == OutputFormat::Envelope {
            self.envelope.trailers = metadata::json(received);
        }
    }

    fn on_requests_sent(&mut self, count: u64) {
        self.sent = count;
    }

    fn on_request_skipped(&mut self, error: &crate::invoke::InputError) {
        self.error(
            &error.to_string(),
            Some("that one was not sent; the stream goes on (Ctrl-D ends it)"),
        );
    }

    fn on_message(&mut self, message: Response<'_>) -> Result<(), Stop> {
        self.received += 1;
        let written = self.response(message);
        let flushed = if written.is_ok() && self.format() == OutputFormat::Json {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A printer into memory, for a console of this shape.
    fn printer(console: Console, options: PrintOptions) -> Printer<Vec<u8>, Vec<u8>> {
        let mut printer = Printer::new(Vec::new(), Vec::new(), console);
        printer.configure(options);
        printer
    }

    #[test]
    fn auto_color_follows_the_environment_conventions_in_order() {
        let environment = |no_color: Option<&str>,
                           clicolor: Option<&str>,
                           force: Option<&str>,
                           term: Option<&str>| {
            ColorEnvironment {
                no_color: no_color.map(str::to_owned),
                clicolor: clicolor.map(str::to_owned),
                clicolor_force: force.map(str::to_owned),
                term: term.map(str::to_owned),
            }
        };
        let xterm = environment(None, None, None, Some("xterm"));
        assert!(xterm.colors(ColorChoice::Auto, true));
        assert!(
            !xterm.colors(ColorChoice::Auto, false),
            "a pipe stays plain"
        );
        assert!(!xterm.colors(ColorChoice::Never, true));
        assert!(xterm.colors(ColorChoice::Always, false));
        // A dumb or unknown terminal stays plain, whatever else the environment says (a CI
        // job's `CI=true` is not read at all).
        assert!(!environment(None, None, None, Some("dumb")).colors(ColorChoice::Auto, true));
        assert!(!environment(None, None, None, None).colors(ColorChoice::Auto, true));
        assert!(!environment(Some("1"), None, None, Some("xterm")).colors(ColorChoice::Auto, true));
        assert!(
            environment(Some(""), None, None, Some("xterm")).colors(ColorChoice::Auto, true),
            "an empty NO_COLOR is not set"
        );
        assert!(!environment(None, Some("0"), None, Some("xterm")).colors(ColorChoice::Auto, true));
        assert!(environment(None, Some("1"), None, Some("xterm")).colors(ColorChoice::Auto, true));
        assert!(environment(None, None, Some("1"), Some("dumb")).colors(ColorChoice::Auto, false));
        assert!(environment(None, Some("0"), Some("1"), None).colors(ColorChoice::Auto, false));
        assert!(!environment(None, None, Some("0"), None).colors(ColorChoice::Auto, false));
        assert!(
            !environment(Some("1"), None, Some("1"), Some("xterm")).colors(ColorChoice::Auto, true),
            "NO_COLOR wins over CLICOLOR_FORCE"
        );
    }

    fn written(printer: Printer<Vec<u8>, Vec<u8>>) -> (String, String) {
        let (out, err) = printer.into_writers().unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn item() -> DynamicMessage {
        let pool =
            prost_reflect::DescriptorPool::decode(crate::demo::pb::FILE_DESCRIPTOR_SET).unwrap();
        let item = pool.get_message_by_name("grpcx.demo.v1.Item").unwrap();
        let mut message = DynamicMessage::new(item);
        message.set_field_by_name("id", prost_reflect::Value::I64(1));
        message.set_field_by_name("name", prost_reflect::Value::String("Pen".into()));
        message
    }

    const TERMINAL: Console = Console {
        stdin_terminal: true,
        stdout_terminal: true,
        stdout_color: true,
        stderr_color: true,
    };

    #[test]
    fn a_terminal_gets_pretty_colored_json_and_a_pipe_one_plain_line() {
        let mut at_terminal = printer(TERMINAL, PrintOptions::default());
        at_terminal.message(&item()).unwrap();
        let (out, _) = written(at_terminal);
        assert_eq!(
            out,
            "{\n  \x1b[1;34m\"id\"\x1b[0m: \x1b[32m\"1\"\x1b[0m,\n  \x1b[1;34m\"name\"\x1b[0m: \x1b[32m\"Pen\"\x1b[0m\n}\n"
        );

        let mut in_pipe = printer(Console::default(), PrintOptions::default());
        in_pipe.message(&item()).unwrap();
        in_pipe.message(&item()).unwrap();
        let (out, _) = written(in_pipe);
        assert_eq!(out, "{\"id\":\"1\",\"name\":\"Pen\"}\n".repeat(2));

        let chosen = PrintOptions {
            format: Some(OutputFormat::Ndjson),
            proto_names: true,
            emit_defaults: true,
            ..PrintOptions::default()
        };
        let uncolored = Console {
            stdout_color: false,
            ..TERMINAL
        };
        let mut compact = printer(uncolored, chosen);
        compact.message(&item()).unwrap();
        let (out, _) = written(compact);
        assert!(
            out.starts_with("{\"id\":\"1\",\"name\":\"Pen\",\"category\":"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 1, "{out}");
    }

    #[test]
    fn errors_and_hints_are_styled_as_clap_styles_its_own_only_when_stderr_is_colored() {
        let mut colored = printer(TERMINAL, PrintOptions::default());
        colored.error("no such thing", Some("try another"));
        let (_, err) = written(colored);
        assert_eq!(
            err,
            "\x1b[1m\x1b[31merror:\x1b[0m no such thing\n\x1b[32mhint:\x1b[0m try another\n"
        );
        let mut plain = printer(Console::default(), PrintOptions::default());
        plain.error("no such thing", Some("try another"));
        plain.warning("careful");
        let (out, err) = written(plain);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: no such thing\nhint: try another\nwarning: careful\n"
        );
    }

    #[test]
    fn a_status_goes_to_stderr_or_as_json_to_stdout() {
        let status = tonic::Status::resource_exhausted(
            "the response is larger than grpcx accepts: decoded message length too large",
        );
        let details = [serde_json::json!({"@type": "type.googleapis.com/google.rpc.RetryInfo"})];
        let mut on_stderr = printer(Console::default(), PrintOptions::default());
        on_stderr.status(&status, &details).unwrap();
        let (out, err) = written(on_stderr);
        assert_eq!(out, "");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines[0],
            "ERROR: RESOURCE_EXHAUSTED: the response is larger than grpcx accepts: decoded message length too large"
        );
        assert!(lines[1].starts_with("  detail: {\"@type\""), "{err}");
        assert!(
            lines[2].starts_with("hint: ") && lines[2].contains("--max-msg-sz"),
            "{err}"
        );

        let format_error = PrintOptions {
            format_error: true,
            ..PrintOptions::default()
        };
        let mut on_stdout = printer(Console::default(), format_error);
        on_stdout.status(&status, &details).unwrap();
        let (out, err) = written(on_stdout);
        assert_eq!(err, "");
        let json: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["code"], 8);
        assert_eq!(json["codeName"], "RESOURCE_EXHAUSTED");
        assert_eq!(json["details"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_envelope_holds_the_whole_call_and_verbose_output_hides_secrets() {
        let options = PrintOptions {
            format: Some(OutputFormat::Envelope),
            verbosity: Verbosity {
                level: 1,
                redacted: vec!["authorization".into()],
            },
            ..PrintOptions::default()
        };
        let mut printer = printer(Console::default(), options);
        let headers: Vec<Header> = ["authorization: Bearer s3cret", "x-team: core"]
            .iter()
            .map(|h| h.parse().unwrap())
            .collect();
        printer.call_starts(&CallStart {
            schema: "files",
            method: "grpcx.demo.v1.ItemService/GetItem",
            kind: "unary",
            request_type: "grpcx.demo.v1.GetItemRequest",
            response_type: "grpcx.demo.v1.Item",
            headers: &headers,
        });
        printer.message(&item()).unwrap();
        let outcome = Outcome::Ok;
        printer
            .call_ends(&CallEnd {
                method: "grpcx.demo.v1.ItemService/GetItem",
                request_headers: &headers,
                outcome: &outcome,
                details: &[],
                elapsed: Duration::from_millis(3),
                phases: [("connect", Duration::ZERO); 3],
            })
            .unwrap();
        let (out, err) = written(printer);
        let document: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(document["method"], "grpcx.demo.v1.ItemService/GetItem");
        assert_eq!(
            document["requestHeaders"],
            json!({"authorization": "<redacted>", "x-team": "core"})
        );
        assert_eq!(document["status"]["codeName"], "OK");
        assert_eq!(document["messages"][0]["name"], "Pen");
        assert_eq!(document["elapsedMs"], 3.0);
        assert!(
            err.contains("* method: grpcx.demo.v1.ItemService/GetItem (unary)\n"),
            "{err}"
        );
        assert!(err.contains("> authorization: <redacted>\n"), "{err}");
        assert!(err.contains("> x-team: core\n"), "{err}");
        assert!(err.contains("* status: OK\n"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
