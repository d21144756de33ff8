//! What a command that talks to a server opens first: the connection (when it needs one) and
//! the schema, from files, reflection (through the descriptor cache) or both.

use prost_reflect::DescriptorPool;

use crate::cli::ExportArgs;
use crate::error::Error;
use crate::output::Printer;
use crate::schema::{self, Schema, SchemaError, Symbol};
use crate::settings::Settings;
use crate::transport::{self, Connection};

/// What a command does with the schema, which decides what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// `list` and `describe`: the server as it is now (no cache read), or files alone.
    Inspect,
    /// Shell completion: the schema only, from the cache when it has it.
    Completion,
}

/// A connection to the server, when the command needs one, and the schema.
pub struct Session {
    pub connection: Option<Connection>,
    pub schema: Schema,
}

/// What a call opens: always a connection, and the schema.
pub struct CallSession {
    pub connection: Connection,
    pub schema: Schema,
}

/// Opens the schema the settings name for `list`, `describe` or completion: files alone need
/// no server.
pub async fn open(
    settings: &Settings,
    needs: Needs,
    printer: &mut Printer,
) -> Result<Session, Error> {
    let files = load_files(settings)?;
    if files.is_some() && !settings.use_reflection {
        return Ok(Session {
            connection: None,
            schema: Schema::from_files(files.unwrap_or_default()),
        });
    }
    let connection = connect(settings, printer).await?;
    let schema = reflected(
        settings,
        &connection,
        files,
        needs == Needs::Completion,
        false,
    );
    Ok(Session {
        connection: Some(connection),
        schema,
    })
}

/// Opens the connection and the schema for a call.
pub async fn open_for_call(
    settings: &Settings,
    printer: &mut Printer,
) -> Result<CallSession, Error> {
    let files = load_files(settings)?;
    let connection = connect(settings, printer).await?;
    let schema = match files {
        Some(files) if !settings.use_reflection => Schema::from_files(files),
        files => reflected(settings, &connection, files, true, true),
    };
    Ok(CallSession { connection, schema })
}

/// Opens the connection and the schema for `gateway`: the server's schema as it is now (no
/// cache read), or the files alone.
pub async fn open_for_gateway(
    settings: &Settings,
    printer: &mut Printer,
) -> Result<CallSession, Error> {
    let connection = connect(settings, printer).await?;
    let schema = fresh_schema(settings, &connection)?;
    Ok(CallSession { connection, schema })
}

/// The schema read again on `connection`, files included: for the gateway's reloads.
pub fn fresh_schema(settings: &Settings, connection: &Connection) -> Result<Schema, Error> {
    Ok(match load_files(settings)? {
        Some(files) if !settings.use_reflection => Schema::from_files(files),
        files => reflected(settings, connection, files, false, false),
    })
}

fn load_files(settings: &Settings) -> Result<Option<DescriptorPool>, Error> {
    if settings.files.is_empty() {
        return Ok(None);
    }
    Ok(Some(schema::files::load(&settings.files)?))
}

/// The connection alone, for commands that need no schema (`health`).
pub async fn connect(settings: &Settings, printer: &mut Printer) -> Result<Connection, Error> {
    if settings
        .connect
        .tls
        .as_ref()
        .is_some_and(|tls| tls.insecure)
    {
        printer.warning(
            "--insecure: the server's certificate is not verified, so the server is not authenticated",
        );
    }
    Ok(transport::connect(&settings.connect).await?)
}

/// The schema through reflection on `connection`, with `files` to fill in what it lacks.
/// Only calls and completion read the cache (`list` and `describe` are for looking at the
/// server as it is now); all of them write what they fetched.
fn reflected(
    settings: &Settings,
    connection: &Connection,
    files: Option<DescriptorPool>,
    read_cache: bool,
    for_calls: bool,
) -> Schema {
    let mut schema = Schema::from_reflection(
        connection.channel.clone(),
        settings.connect.target.host().to_string(),
        settings.reflect_headers.clone(),
        settings.connect.connect_timeout,
        settings.reflection_message_limit(),
    );
    if for_calls {
        schema = schema.for_calls();
    }
    if settings.cache
        && let Some(dir) = schema::cache::dir()
    {
        let key = schema::cache::key(&settings.connect, &settings.reflect_headers);
        let cache = schema::cache::Cache::new(&dir, key, settings.cache_ttl);
        schema = schema.with_cache(cache, read_cache);
    }
    match files {
        Some(files) => schema.with_files(files),
        None => schema,
    }
}

impl Session {
    /// `error` as its real cause when that lies below gRPC (see `explain`).
    pub async fn explain(&self, error: Error) -> Error {
        match &self.connection {
            Some(connection) => explain(connection, error).await,
            None => error,
        }
    }
}

/// Replaces a reflection failure whose real cause lies below gRPC (a TLS alert, a plaintext
/// server answering a TLS client) by that cause.
pub async fn explain(connection: &Connection, error: Error) -> Error {
    match error {
        Error::Schema(SchemaError::Reflection { status }) => {
            match connection.diagnose(&status).await {
                Some(problem) => problem.into(),
                None => SchemaError::Reflection { status }.into(),
            }
        }
        other => other,
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
