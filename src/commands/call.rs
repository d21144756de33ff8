//! `grpcx call METHOD [DATA]`: one call of any kind, JSON in, JSON out.

use std::time::Instant;

use prost_reflect::MethodDescriptor;
use tonic::Code;

use super::session::{self, CallSession};
use crate::cli::{CallArgs, Format};
use crate::error::Error;
use crate::invoke::input::{DataSource, InputFormat, JsonInput};
use crate::invoke::{self, CallOptions, Outcome, Requests, RpcKind, input};
use crate::output::{CallEnd, CallStart, Printer};
use crate::schema::{Symbol, details, method_path};
use crate::settings::Settings;

/// When each phase of the call began, for `-vv`.
struct Phases {
    started: Instant,
    connected: Instant,
}

pub async fn run(
    settings: &Settings,
    args: &CallArgs,
    deadline: Option<tokio::time::Instant>,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    printer.configure(settings.print_options(args));
    let started = Instant::now();
    let mut session = session::open_for_call(settings, printer).await?;
    let phases = Phases {
        started,
        connected: Instant::now(),
    };
    let call = Call {
        settings,
        args,
        deadline,
        source: args.data().map(DataSource::from_arg),
        input: match args.format {
            Format::Json => InputFormat::Json(JsonInput {
                allow_unknown_fields: args.allow_unknown_fields,
            }),
            Format::Text => InputFormat::Text,
        },
    };
    let result = call.make(&mut session, printer, &phases).await;
    session.schema.save_cache();
    match result {
        Err(err) => Err(session::explain(&session.connection, err).await),
        ok => ok,
    }
}

/// One `call` command: what it calls with, and how.
struct Call<'a> {
    settings: &'a Settings,
    args: &'a CallArgs,
    deadline: Option<tokio::time::Instant>,
    /// Where the requests come from; none for the empty request (or stdin, for streams).
    source: Option<DataSource>,
    input: InputFormat,
}

impl Call<'_> {
    /// Resolves the method, makes the call (twice when the cached schema was stale) and
    /// shows how it ended.
    async fn make(
        &self,
        session: &mut CallSession,
        printer: &mut Printer,
        phases: &Phases,
    ) -> Result<Outcome, Error> {
        let method = session.schema.resolve_method(&self.args.method).await?;
        let method = session.schema.prepare_call(&method).await?;
        let resolved = Instant::now();
        session::export(&self.args.export, &[Symbol::Method(method.clone())])?;
        self.starts(session, &method, printer);
        let (method, outcome) = self.invoke_fresh(session, method, printer).await?;
        let finished = Instant::now();

        // A failure below gRPC (a TLS alert, a protocol mismatch) is reported as its cause.
        if let Outcome::Status(status) = &outcome
            && let Some(problem) = session.connection.diagnose(status).await
        {
            return Err(problem.into());
        }
        // The rich details, decoded once for whichever of stderr, --format-error or the
        // envelope shows them.
        let details = match &outcome {
            Outcome::Status(status) => details::decode(status, session.schema.pool()),
            _ => Vec::new(),
        };
        printer.call_ends(&CallEnd {
            method: &method_path(&method),
            request_headers: &self.settings.rpc_headers,
            outcome: &outcome,
            details: &details,
            elapsed: finished - phases.started,
            phases: [
                ("connect", phases.connected - phases.started),
                ("reflection", resolved - phases.connected),
                ("call", finished - resolved),
            ],
        })?;
        match outcome {
            // The call stopped because output failed: that failure is the command's.
            Outcome::Stopped => match printer.take_failure() {
                Some(failure) => Err(failure.into()),
                None => Ok(Outcome::Stopped),
            },
            other => Ok(other),
        }
    }

    /// Makes the call; when it ends UNIMPLEMENTED for a method the cache knew and the server
    /// now describes it otherwise, makes it again with the fresh method if the requests can be
    /// read again (the cache-retry policy is the schema's).
    async fn invoke_fresh(
        &self,
        session: &mut CallSession,
        method: MethodDescriptor,
        printer: &mut Printer,
    ) -> Result<(MethodDescriptor, Outcome), Error> {
        let outcome = self.invoke(session, &method, printer).await?;
        let unimplemented =
            matches!(&outcome, Outcome::Status(status) if status.code() == Code::Unimplemented);
        if !unimplemented {
            return Ok((method, outcome));
        }
        let Some(fresh) = session
            .schema
            .refresh_after_unimplemented(&self.args.method, &method)
            .await?
        else {
            return Ok((method, outcome));
        };
        printer.info("the cached schema may be stale: fetched it again from the server");
        let replayable = !matches!(self.source, Some(DataSource::Stdin))
            && (self.source.is_some() || !RpcKind::of(&fresh).streams_requests());
        if !replayable {
            return Ok((method, outcome));
        }
        self.starts(session, &fresh, printer);
        let outcome = self.invoke(session, &fresh, printer).await?;
        Ok((fresh, outcome))
    }

    /// Shows the call about to be made, with `-v`.
    fn starts(&self, session: &CallSession, method: &MethodDescriptor, printer: &mut Printer) {
        let schema = session.schema.describe_source();
        printer.call_starts(&CallStart {
            schema: &schema,
            method: &method_path(method),
            kind: RpcKind::of(method).describe(),
            request_type: method.input().full_name(),
            response_type: method.output().full_name(),
            headers: &self.settings.rpc_headers,
        });
    }

    /// Reads the requests and makes the call once.
    async fn invoke(
        &self,
        session: &CallSession,
        method: &MethodDescriptor,
        printer: &mut Printer,
    ) -> Result<Outcome, Error> {
        printer.expect_responses(&method.output());
        let requests = self.requests(method, printer)?;
        let options = CallOptions {
            headers: &self.settings.rpc_headers,
            timeout: self
                .deadline
                .map(|deadline| deadline.saturating_duration_since(tokio::time::Instant::now())),
            max_message_size: self.settings.max_message_size,
            compression: self.settings.compress,
        };
        let channel = session.connection.channel.clone();
        Ok(invoke::invoke(channel, method, requests, options, printer).await?)
    }

    /// The requests: one message read whole before anything is sent, or a stream read as it
    /// arrives.
    fn requests(
        &self,
        method: &MethodDescriptor,
        printer: &mut Printer,
    ) -> Result<Requests, Error> {
        if RpcKind::of(method).streams_requests() {
            let source = self.source.clone().unwrap_or(DataSource::Stdin);
            if source == DataSource::Stdin && printer.console().stdin_terminal {
                printer.note(&format!(
                    "reading {} requests from stdin, JSON values separated by white space; Ctrl-D ends the stream",
                    method.input().full_name()
                ));
            }
            // A person typing is told of a mistake and goes on; a pipe's mistake ends the call.
            if source == DataSource::Stdin
                && printer.console().stdin_terminal
                && let InputFormat::Json(json) = self.input
            {
                let (reader, skipped) =
                    input::spawn_interactive_reader(source.open()?, method.input(), json);
                return Ok(Requests::Typed(reader, skipped));
            }
            let reader = input::spawn_stream_reader(source.open()?, method.input(), self.input);
            return Ok(Requests::Stream(reader));
        }
        // Without DATA, a pipe on stdin holds the request, as it holds a stream's; a person at
        // a terminal gets the empty request rather than a wait.
        let source = match &self.source {
            Some(source) => Some(source.clone()),
            None if printer.console().stdin_terminal => None,
            None => Some(DataSource::Stdin),
        };
        let message = match source {
            None => bytes::Bytes::new(),
            Some(source) => input::read_single(
                source.open()?,
                &method.input(),
                &method_path(method),
                self.input,
            )?,
        };
        Ok(Requests::One(message))
    }
}
