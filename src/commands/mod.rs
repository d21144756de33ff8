//! One module per subcommand; the only layer that knows all the others.

pub mod call;
pub mod demo;
pub mod describe;
pub mod list;
pub mod serve_demo;

use tonic::transport::Channel;

use crate::cli::ExportArgs;
use crate::error::{Error, Outcome};
use crate::output::diagnostics;
use crate::schema::{self, Schema, SchemaError, Symbol};
use crate::settings::Settings;
use crate::transport::{self, Connection};

/// A connection to the server (when the command needs one) and the schema.
pub struct Session {
    pub connection: Option<Connection>,
    pub schema: Schema,
}

/// Whether a command talks to the server even when the schema comes from files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// `list` and `describe`: files alone answer them.
    SchemaOnly,
    /// `call`.
    Server,
}

impl Session {
    /// The channel to the server.
    pub fn channel(&self) -> Option<Channel> {
        self.connection.as_ref().map(|c| c.channel.clone())
    }

    /// Replaces a failure whose real cause lies below gRPC (a TLS alert, a plaintext server
    /// answering a TLS client) by that cause.
    pub fn explain(&self, result: Result<Outcome, Error>) -> Result<Outcome, Error> {
        let Some(connection) = &self.connection else {
            return result;
        };
        match result {
            Err(Error::Schema(SchemaError::Reflection { status })) => {
                match connection.diagnose(&status) {
                    Some(problem) => Err(problem.into()),
                    None => Err(SchemaError::Reflection { status }.into()),
                }
            }
            Ok(Outcome::Status(status)) => match connection.diagnose(&status) {
                Some(problem) => Err(problem.into()),
                None => Ok(Outcome::Status(status)),
            },
            other => other,
        }
    }
}

/// Writes the files of `symbols` where `--protoset-out` and `--proto-out-dir` say.
pub fn export(args: &ExportArgs, symbols: &[Symbol]) -> Result<(), Error> {
    if args.protoset_out.is_none() && args.proto_out_dir.is_none() {
        return Ok(());
    }
    let files = schema::export::files_of(symbols);
    if let Some(path) = &args.protoset_out {
        schema::export::write_protoset(path, &files).map_err(SchemaError::from)?;
    }
    if let Some(dir) = &args.proto_out_dir {
        schema::export::write_proto_sources(dir, &files)?;
    }
    Ok(())
}

/// Opens the schema the settings name (files, reflection, or both) and the connection to the
/// server when it is needed.
pub async fn open(settings: &Settings, needs: Needs) -> Result<Session, Error> {
    let files = if settings.files.is_empty() {
        None
    } else {
        Some(schema::files::load(&settings.files)?)
    };
    let use_reflection = files.is_none() || settings.use_reflection;
    if !use_reflection && needs == Needs::SchemaOnly {
        let files = files.unwrap_or_default();
        return Ok(Session {
            connection: None,
            schema: Schema::from_files(files),
        });
    }
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
    let schema = match (files, use_reflection) {
        (Some(files), false) => Schema::from_files(files),
        (files, _) => {
            let schema = Schema::from_reflection(
                connection.channel.clone(),
                settings.connect.target.host().to_string(),
                settings.reflect_headers.clone(),
                settings.connect.connect_timeout,
            );
            match files {
                Some(files) => schema.with_files(files),
                None => schema,
            }
        }
    };
    Ok(Session {
        connection: Some(connection),
        schema,
    })
}
