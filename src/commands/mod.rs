//! One module per subcommand; the only layer that knows all the others.

pub mod call;
pub mod completions;
pub mod demo;
pub mod describe;
pub mod list;
pub mod serve_demo;

use tonic::transport::Channel;

use crate::cli::{CacheAction, ExportArgs};
use crate::error::{Error, Outcome};
use crate::output::Output;
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
    /// Shell completion: the schema only, from the cache when it has it.
    Completion,
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
            Ok(Outcome::Status(ended)) => match connection.diagnose(&ended.status) {
                Some(problem) => Err(problem.into()),
                None => Ok(Outcome::Status(ended)),
            },
            other => other,
        }
    }
}

/// What a cached schema depends on: the server, how it is reached, and the reflection
/// metadata (hashed, since it may hold secrets; the cache file keeps the key in clear).
fn cache_key(settings: &Settings) -> String {
    use std::hash::{Hash, Hasher};
    let mut headers = std::collections::hash_map::DefaultHasher::new();
    for header in &settings.reflect_headers {
        header.to_string().hash(&mut headers);
    }
    format!(
        "{} authority={} tls={} headers={:016x}",
        settings.connect.target,
        settings.connect.authority.as_deref().unwrap_or(""),
        settings.connect.tls.is_some(),
        headers.finish()
    )
}

/// `grpcx cache clear|path`.
pub fn cache(action: &CacheAction, out: &mut Output) -> Result<Outcome, Error> {
    let dir = schema::cache::dir().ok_or_else(|| {
        Error::Usage("there is no cache directory: set GRPCX_CACHE_DIR".to_string())
    })?;
    match action {
        CacheAction::Path => out.line(&dir.display().to_string())?,
        CacheAction::Clear => {
            let removed = schema::cache::clear(&dir).map_err(|source| SchemaError::ReadFile {
                path: dir.clone(),
                source,
            })?;
            diagnostics::note(&format!(
                "removed {removed} cached schemas from {}",
                dir.display()
            ));
        }
    }
    Ok(Outcome::Success)
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
    if !use_reflection && needs != Needs::Server {
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
            let mut schema = Schema::from_reflection(
                connection.channel.clone(),
                settings.connect.target.host().to_string(),
                settings.reflect_headers.clone(),
                settings.connect.connect_timeout,
                // --max-msg-sz may raise the bound on reflection's answers, never lower it:
                // a small limit is for testing responses, not the schema.
                settings
                    .max_message_size
                    .max(crate::settings::DEFAULT_MAX_MESSAGE_SIZE),
            );
            if needs == Needs::Server {
                schema = schema.for_calls();
            }
            // Only calls read the cache: `list` and `describe` are for looking at the server
            // as it is now; all of them write what they fetched.
            if settings.cache
                && let Some(dir) = schema::cache::dir()
            {
                let cache =
                    schema::cache::Cache::new(&dir, cache_key(settings), settings.cache_ttl);
                schema = schema.with_cache(cache, needs != Needs::SchemaOnly);
            }
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
