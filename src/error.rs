//! The one place that turns errors and call outcomes into messages and exit codes.
//!
//! Exit codes (grpcurl's convention, so scripts move over unchanged):
//! 0 success · 1 a failure outside the call · 2 usage (clap) · 64 + the gRPC status code when
//! the call ends with a non-OK status (NOT_FOUND = 69, DEADLINE_EXCEEDED = 68) · 130 interrupted.

use std::process::ExitCode;

use tonic::Code;

use crate::config::ConfigError;
use crate::invoke::InvokeError;
use crate::output::{OutputError, diagnostics};
use crate::schema::SchemaError;
use crate::server::ServerError;
use crate::settings::SettingsError;
use crate::transport::TransportError;

/// Exit code for a failure outside the call.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a usage error (clap uses it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when a call ends with a non-OK status: this plus the status code.
pub const EXIT_STATUS_BASE: u8 = 64;
/// Exit code after Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Invoke(#[from] InvokeError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("interrupted")]
    Interrupted,
}

impl From<crate::invoke::InputError> for Error {
    fn from(err: crate::invoke::InputError) -> Self {
        Error::Invoke(InvokeError::Input(err))
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::Settings(err) if err.is_usage() => EXIT_USAGE,
            Error::Interrupted => EXIT_INTERRUPTED,
            _ => EXIT_FAILURE,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Transport(err) => err.hint(),
            Error::Schema(err) => err.hint(),
            Error::Invoke(InvokeError::Input(err)) => err.hint(),
            Error::Invoke(_) => None,
            Error::Output(_) => None,
            Error::Server(err) => err.hint(),
            Error::Settings(err) => err.hint(),
            Error::Config(err) => err.hint(),
            Error::Usage(_) => Some("see `grpcx --help`".to_string()),
            Error::Interrupted | Error::Runtime(_) => None,
        }
    }
}

/// How a command ended, when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    Success,
    /// The call ended with a non-OK gRPC status: data, not an error.
    Status(Box<Ended>),
}

/// A call that ended with a non-OK status.
#[derive(Debug)]
pub struct Ended {
    pub status: tonic::Status,
    /// The rich error details, decoded (see `schema::details`).
    pub details: Vec<serde_json::Value>,
    /// The status was already printed on stdout (`--format-error`); stderr stays quiet.
    pub on_stdout: bool,
}

impl Outcome {
    /// A non-OK status with no details known.
    pub fn status(status: tonic::Status) -> Outcome {
        Outcome::Status(Box::new(Ended {
            status,
            details: Vec::new(),
            on_stdout: false,
        }))
    }
}

/// Reports the result of a command on stderr and returns the exit code.
pub fn report(result: Result<Outcome, Error>) -> u8 {
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Status(ended)) => {
            let Ended {
                status,
                details,
                on_stdout,
            } = *ended;
            if !on_stdout {
                diagnostics::status(code_name(status.code()), status.message());
                for detail in &details {
                    diagnostics::detail(detail);
                }
                if let Some(hint) = status_hint(&status) {
                    diagnostics::hint(hint);
                }
            }
            status_exit_code(status.code())
        }
        // The reader of stdout is gone: a normal end for a pipeline, said nowhere.
        Err(Error::Output(OutputError::Closed)) => 0,
        Err(Error::Interrupted) => EXIT_INTERRUPTED,
        Err(err) => {
            diagnostics::error(&err.to_string(), err.hint().as_deref());
            err.exit_code()
        }
    }
}

/// The same, as a process exit code.
pub fn exit_code(result: Result<Outcome, Error>) -> ExitCode {
    ExitCode::from(report(result))
}

/// A hint for statuses whose fix is a grpcx flag.
fn status_hint(status: &tonic::Status) -> Option<&'static str> {
    match status.code() {
        Code::ResourceExhausted if status.message().contains("message length too large") => Some(
            "raise grpcx's limit on response size with --max-msg-sz, e.g. --max-msg-sz 16MiB (the default is 4MiB)",
        ),
        _ => None,
    }
}

pub fn status_exit_code(code: Code) -> u8 {
    EXIT_STATUS_BASE + code as u8
}

/// The canonical name of a status code, as the gRPC spec writes it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_64_plus_code() {
        assert_eq!(status_exit_code(Code::NotFound), 69);
        assert_eq!(status_exit_code(Code::DeadlineExceeded), 68);
        assert_eq!(status_exit_code(Code::Unauthenticated), 80);
    }
}
