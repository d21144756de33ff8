//! `grpcx call METHOD [DATA]`: one call of any kind, JSON in, JSON out.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::time::Instant;

use prost_reflect::MethodDescriptor;
use tonic::Code;

use crate::cli::{CallArgs, Compression, DataSource, Format, OutputFormat};
use crate::error::{Ended, Error, Outcome, code_name};
use crate::invoke::input::{InputFormat, JsonInput};
use crate::invoke::{self, CallEnd, CallOptions, InputError, Requests, RpcKind, input};
use crate::output::{self, Output, OutputError, diagnostics};
use crate::schema::{Symbol, method_path};
use crate::settings::{self, Settings};
use serde_json::json;

/// When each phase of the call began, for `-vv`.
struct Phases {
    started: Instant,
    connected: Instant,
}

pub async fn run(
    settings: &Settings,
    args: &CallArgs,
    deadline: Option<tokio::time::Instant>,
    out: &mut Output,
) -> Result<Outcome, Error> {
    out.set_format(settings::output_format(
        args.output.or(settings.output),
        output::stdout_is_terminal(),
    ));
    out.set_verbosity(settings.verbosity.clone());
    out.set_text(args.format == Format::Text);
    out.set_color(settings::use_color(
        settings.color,
        output::stdout_is_terminal(),
        std::env::var("NO_COLOR").ok(),
    ));
    out.set_json_options(args.emit_defaults, args.proto_names);

    let started = Instant::now();
    let mut session = super::open(settings, super::Needs::Server).await?;
    let phases = Phases {
        started,
        connected: Instant::now(),
    };
    let result = call(settings, args, deadline, &mut session, out, &phases).await;
    session.schema.save_cache();
    session.explain(result)
}

async fn call(
    settings: &Settings,
    args: &CallArgs,
    deadline: Option<tokio::time::Instant>,
    session: &mut super::Session,
    out: &mut Output,
    phases: &Phases,
) -> Result<Outcome, Error> {
    let verbose = settings.verbosity.level;
    let method = session.schema.resolve_method(&args.method).await?;
    let mut method = session.schema.prepare_call(&method).await?;
    let resolved = Instant::now();
    super::export(&args.export, &[Symbol::Method(method.clone())])?;
    out.expect_responses(&method.output());
    if verbose > 0 {
        diagnostics::info(&format!("schema: {}", source_of(session)));
        describe_method(settings, &method);
    }

    let source = args.data().map(DataSource::from_arg);
    let json = match args.format {
        Format::Json => InputFormat::Json(JsonInput {
            allow_unknown_fields: args.allow_unknown_fields,
        }),
        Format::Text => InputFormat::Text,
    };
    let mut end = invoke_once(
        settings,
        session,
        &method,
        source.as_ref(),
        json,
        deadline,
        out,
    )
    .await?;

    // UNIMPLEMENTED for a method the cache knew: the server may have changed. Ask it again,
    // once, and call again when the request can be read again.
    if let CallEnd::Status(status) = &end
        && status.code() == Code::Unimplemented
        && session.schema.served_from_cache()
    {
        session.schema.forget_cache();
        let fresh = session.schema.resolve_method(&args.method).await?;
        let fresh = session.schema.prepare_call(&fresh).await?;
        if verbose > 0 {
            diagnostics::info("the cached schema may be stale: fetched it again from the server");
        }
        let changed = fresh.parent_file().encode_to_vec() != method.parent_file().encode_to_vec()
            || method_path(&fresh) != method_path(&method);
        let replayable = !matches!(source.as_ref(), Some(DataSource::Stdin))
            && (source.is_some() || !RpcKind::of(&fresh).streams_requests());
        if changed && replayable {
            method = fresh;
            out.expect_responses(&method.output());
            if verbose > 0 {
                describe_method(settings, &method);
            }
            end = invoke_once(
                settings,
                session,
                &method,
                source.as_ref(),
                json,
                deadline,
                out,
            )
            .await?;
        }
    }
    let finished = Instant::now();

    if verbose > 0 {
        match &end {
            CallEnd::Ok => diagnostics::info("status: OK"),
            CallEnd::Status(status) => diagnostics::info(&format!(
                "status: {}: {}",
                code_name(status.code()),
                status.message()
            )),
            CallEnd::Stopped => diagnostics::info("status: cancelled by grpcx (stdout closed)"),
        }
        diagnostics::info(&format!("elapsed: {}", millis(finished - phases.started)));
        if verbose > 1 {
            diagnostics::info(&format!(
                "connect: {}",
                millis(phases.connected - phases.started)
            ));
            diagnostics::info(&format!(
                "reflection: {}",
                millis(resolved - phases.connected)
            ));
            diagnostics::info(&format!("call: {}", millis(finished - resolved)));
        }
    }
    let envelope = args.output.or(settings.output) == Some(OutputFormat::Envelope);
    // The rich details, decoded once for whichever of stderr, --format-error or the envelope
    // shows them.
    let details = match &end {
        CallEnd::Status(status) => crate::schema::details::decode(status, session.schema.pool()),
        _ => Vec::new(),
    };
    if envelope && !matches!(end, CallEnd::Stopped) {
        let status = match &end {
            CallEnd::Status(status) => {
                out.envelope_trailers(status.metadata());
                status_json(status.code(), status.message(), &details)
            }
            _ => status_json(Code::Ok, "", &details),
        };
        let mut call = serde_json::Map::new();
        call.insert("method".into(), json!(method_path(&method)));
        call.insert(
            "requestHeaders".into(),
            output::headers_json(&settings.rpc_headers, &settings.verbosity),
        );
        call.insert("status".into(), status);
        call.insert(
            "elapsedMs".into(),
            json!((finished - phases.started).as_secs_f64() * 1000.0),
        );
        out.finish_envelope(call, output::stdout_is_terminal())?;
    }
    match end {
        CallEnd::Ok => Ok(Outcome::Success),
        CallEnd::Status(status) => {
            if args.format_error && !envelope {
                out.line(&status_json(status.code(), status.message(), &details).to_string())?;
            }
            Ok(Outcome::Status(Box::new(Ended {
                status,
                details,
                on_stdout: args.format_error || envelope,
            })))
        }
        CallEnd::Stopped => Err(out.take_failure().unwrap_or(OutputError::Closed).into()),
    }
}

/// A status as scripts read it: `--format-error` and the envelope's `status`.
fn status_json(code: Code, message: &str, details: &[serde_json::Value]) -> serde_json::Value {
    json!({"code": code as i32, "codeName": code_name(code), "message": message, "details": details})
}

fn source_of(session: &super::Session) -> String {
    let kind = session.schema.source_kind().describe();
    if session.schema.served_from_cache() {
        format!("{kind}, from the cache")
    } else {
        kind.to_string()
    }
}

fn describe_method(settings: &Settings, method: &MethodDescriptor) {
    diagnostics::info(&format!(
        "method: {} ({})",
        method_path(method),
        RpcKind::of(method).describe()
    ));
    diagnostics::info(&format!(
        "request type: {}, response type: {}",
        method.input().full_name(),
        method.output().full_name()
    ));
    diagnostics::info("request metadata:");
    diagnostics::sent_headers(&settings.rpc_headers, &settings.verbosity);
}

/// Reads the requests and makes the call.
async fn invoke_once(
    settings: &Settings,
    session: &super::Session,
    method: &MethodDescriptor,
    source: Option<&DataSource>,
    json: InputFormat,
    deadline: Option<tokio::time::Instant>,
    out: &mut Output,
) -> Result<CallEnd, Error> {
    let requests = if RpcKind::of(method).streams_requests() {
        let source = source.cloned().unwrap_or(DataSource::Stdin);
        if source == DataSource::Stdin && output::stdin_is_terminal() {
            diagnostics::note(&format!(
                "reading {} requests from stdin, JSON values separated by white space; Ctrl-D ends the stream",
                method.input().full_name()
            ));
        }
        Requests::Stream(input::spawn_stream_reader(
            open(&source)?,
            method.input(),
            json,
        ))
    } else {
        let message = match source {
            None => prost_reflect::DynamicMessage::new(method.input()),
            Some(source) => {
                input::read_single(open(source)?, &method.input(), &method_path(method), json)?
            }
        };
        Requests::One(message)
    };
    let options = CallOptions {
        headers: &settings.rpc_headers,
        timeout: deadline
            .map(|deadline| deadline.saturating_duration_since(tokio::time::Instant::now())),
        max_message_size: settings.max_message_size,
        gzip: settings.compress == Some(Compression::Gzip),
    };
    let Some(channel) = session.channel() else {
        return Err(Error::Usage("a call needs a server connection".to_string()));
    };
    Ok(invoke::invoke(channel, method, requests, options, out).await?)
}

fn millis(duration: std::time::Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// Opens the request data.
fn open(source: &DataSource) -> Result<Box<dyn Read + Send>, InputError> {
    Ok(match source {
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
            Box::new(File::open(path).map_err(failed)?)
        }
    })
}
