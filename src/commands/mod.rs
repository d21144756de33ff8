//! One module per subcommand; the only layer that knows all the others.

pub mod call;
pub mod demo;
pub mod describe;
pub mod list;
pub mod serve_demo;

use tonic::transport::Channel;

use crate::error::{Error, Outcome};
use crate::output::diagnostics;
use crate::schema::{Schema, SchemaError};
use crate::settings::Settings;
use crate::transport::{self, Connection};

/// A connection to the server and the schema read through it.
pub struct Session {
    pub connection: Connection,
    pub schema: Schema,
}

impl Session {
    pub fn channel(&self) -> Channel {
        self.connection.channel.clone()
    }

    /// Replaces a failure whose real cause lies below gRPC (a TLS alert, a plaintext server
    /// answering a TLS client) by that cause.
    pub fn explain(&self, result: Result<Outcome, Error>) -> Result<Outcome, Error> {
        match result {
            Err(Error::Schema(SchemaError::Reflection { status })) => {
                match self.connection.diagnose(&status) {
                    Some(problem) => Err(problem.into()),
                    None => Err(SchemaError::Reflection { status }.into()),
                }
            }
            Ok(Outcome::Status(status)) => match self.connection.diagnose(&status) {
                Some(problem) => Err(problem.into()),
                None => Ok(Outcome::Status(status)),
            },
            other => other,
        }
    }
}

/// Opens the connection and a reflection-backed schema on it.
pub async fn connect(settings: &Settings) -> Result<Session, Error> {
    if settings
        .connect
        .tls
        .as_ref()
        .is_some_and(|tls| tls.insecure)
    {
        diagnostics::warning(
            "--insecure: the server's certificate is not verified, so the server is not authenticated",
        );
    }
    let connection = transport::connect(&settings.connect).await?;
    let schema = Schema::from_reflection(
        connection.channel.clone(),
        settings.connect.target.host().to_string(),
        settings.reflect_headers.clone(),
        settings.connect.connect_timeout,
    );
    Ok(Session { connection, schema })
}
