//! `grpcx call METHOD [DATA]`: one call of any kind, JSON in, JSON out.

use std::fs::File;
use std::io::{self, Cursor, Read};

use crate::cli::{CallArgs, DataSource};
use crate::error::{Error, Outcome};
use crate::invoke::{self, CallEnd, InputError, Requests, RpcKind, input};
use crate::output::{self, Output, OutputError, diagnostics};
use crate::schema::method_path;
use crate::settings::{self, Settings};

pub async fn run(
    settings: &Settings,
    args: &CallArgs,
    deadline: Option<tokio::time::Instant>,
    out: &mut Output,
) -> Result<Outcome, Error> {
    out.set_format(settings::output_format(
        args.output,
        output::stdout_is_terminal(),
    ));
    let (channel, mut schema) = super::connect(settings).await?;
    let method = schema.resolve_method(&args.method).await?;
    let kind = RpcKind::of(&method);
    let source = args.data().map(DataSource::from_arg);

    let requests = if kind.streams_requests() {
        let source = source.unwrap_or(DataSource::Stdin);
        if source == DataSource::Stdin && output::stdin_is_terminal() {
            diagnostics::note(&format!(
                "reading {} requests from stdin, JSON values separated by white space; Ctrl-D ends the stream",
                method.input().full_name()
            ));
        }
        Requests::Stream(input::spawn_stream_reader(open(&source)?, method.input()))
    } else {
        let message = match source {
            None => prost_reflect::DynamicMessage::new(method.input()),
            Some(source) => {
                input::read_single(open(&source)?, &method.input(), &method_path(&method))?
            }
        };
        Requests::One(message)
    };

    let timeout =
        deadline.map(|deadline| deadline.saturating_duration_since(tokio::time::Instant::now()));
    let end = invoke::invoke(channel, &method, requests, &settings.headers, timeout, out).await?;
    match end {
        CallEnd::Ok => Ok(Outcome::Success),
        CallEnd::Status(status) => Ok(Outcome::Status(status)),
        CallEnd::Stopped => Err(out.take_failure().unwrap_or(OutputError::Closed).into()),
    }
}

/// Opens the request data.
fn open(source: &DataSource) -> Result<Box<dyn Read + Send>, InputError> {
    Ok(match source {
        DataSource::Text(text) => Box::new(Cursor::new(text.clone().into_bytes())),
        DataSource::Stdin => Box::new(io::stdin()),
        DataSource::File(path) => {
            Box::new(File::open(path).map_err(|source| InputError::Read {
                what: path.display().to_string(),
                source,
            })?)
        }
    })
}
