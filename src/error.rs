//! The top error type: every way a command can fail, with its exit code and its hint, and the
//! one place that turns a command's result into what the user sees last and the exit code.
//!
//! Lower layers never import this module: each returns its own typed error, wrapped here. A
//! call that ends with a non-OK gRPC status is not an error but an [`Outcome`], shown by the
//! command that made the call; here it only becomes the exit code (see `status`).

use crate::bench::BenchError;
use crate::demo::DemoError;
use crate::http::GatewayError;
use crate::invoke::health::Health;
use crate::invoke::{InputError, InvokeError, Outcome};
use crate::output::{OutputError, Printer};
use crate::profiles::ProfileError;
use crate::schema::SchemaError;
use crate::settings::SettingsError;
use crate::status::{self, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::transport::TransportError;

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
    Demo(#[from] DemoError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// `health`: the server answered, with a health other than SERVING.
    #[error("{what} is {}, says the server", .health.name())]
    Unhealthy { what: String, health: Health },
    /// Something grpcx itself got wrong.
    #[error("grpcx failed inside: {0}")]
    Internal(String),
    #[error("interrupted")]
    Interrupted,
}

impl From<InputError> for Error {
    fn from(err: InputError) -> Self {
        Error::Invoke(InvokeError::Input(err))
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Settings(err) if err.is_usage() => EXIT_USAGE,
            Error::Unhealthy { health, .. } => match health {
                Health::NotServing => status::EXIT_NOT_SERVING,
                Health::ServiceUnknown => status::EXIT_SERVICE_UNKNOWN,
                Health::Unknown | Health::Serving => status::EXIT_HEALTH_UNKNOWN,
            },
            Error::Interrupted => EXIT_INTERRUPTED,
            Error::Bench(BenchError::SloBreached(_)) => status::EXIT_SLO_BREACHED,
            Error::Bench(BenchError::LoadNotHeld(_)) => status::EXIT_LOAD_NOT_HELD,
            Error::Bench(BenchError::Regression(_)) => status::EXIT_REGRESSION,
            _ => EXIT_FAILURE,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Transport(err) => err.hint(),
            Error::Schema(err) => err.hint(),
            Error::Invoke(
                InvokeError::Input(err) | InvokeError::StreamBroke { error: err, .. },
            ) => err.hint(),
            Error::Invoke(_) | Error::Output(_) => None,
            Error::Demo(err) => err.hint(),
            Error::Settings(err) => err.hint(),
            Error::Profile(err) => err.hint(),
            Error::Gateway(err) => err.hint(),
            Error::Bench(err) => err.hint(),
            Error::Internal(_) => Some("this is a bug in grpcx; please report it".to_string()),
            Error::Unhealthy { .. } => None,
            Error::Interrupted | Error::Runtime(_) => None,
        }
    }
}

/// Shows what is left to show of a command's result (an error, with its hint) and returns the
/// exit code. A non-OK status was shown by the command that met it.
pub fn report(result: Result<Outcome, Error>, printer: &mut Printer) -> u8 {
    match result {
        Ok(Outcome::Ok) => EXIT_OK,
        Ok(Outcome::Status(found)) => status::exit_code(found.code()),
        // The reader of stdout is gone: a normal end for a pipeline, said nowhere.
        Ok(Outcome::Stopped) | Err(Error::Output(OutputError::Closed)) => EXIT_OK,
        Err(Error::Interrupted) => EXIT_INTERRUPTED,
        Err(err) => {
            printer.error(&err.to_string(), err.hint().as_deref());
            err.exit_code()
        }
    }
}
