//! What can go wrong while learning a schema or resolving a name, and the hint for each.

use std::time::Duration;

use tonic::Code;

use super::export::ExportError;
use super::fetch::{MAX_FILES, MAX_SCHEMA_BYTES};
use crate::status::{self, code_name};

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the server at {host} does not support server reflection")]
    ReflectionUnsupported { host: String },
    #[error("server reflection failed: {}: {}", code_name(.status.code()), .status.message())]
    Reflection { status: tonic::Status },
    #[error("the server refused a reflection request: {}: {message}", code_name(*.code))]
    ReflectionRefused { code: Code, message: String },
    #[error("{}{message}", .location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
    Compile {
        location: Option<String>,
        not_found: bool,
        message: String,
    },
    #[error("cannot read {}: {source}", .path.display())]
    ReadFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the protoset {} is not usable: {reason}", .path.display())]
    BadProtoset {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("the schema files contradict each other: {0}")]
    Conflict(String),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("the server accepted the connection but did not answer within {0:?}")]
    NoAnswer(Duration),
    #[error("the server stopped answering reflection requests (no answer within {0:?})")]
    ReflectionStalled(Duration),
    #[error("the server's schema is invalid: {0}")]
    BadDescriptor(String),
    #[error("the server's schema has more than {MAX_FILES} files")]
    TooManyFiles,
    #[error("the server's schema is larger than {} MiB", MAX_SCHEMA_BYTES >> 20)]
    TooLarge,
    /// A lookup met a symbol the cached schema lacks; the cache-retry policy (`Schema::
    /// retry_if_stale`) catches it and asks the server, so users never see it.
    #[error("the cached schema lacks a symbol the server may have")]
    StaleCache,
    #[error("there is no cache directory: no home directory, and GRPCX_CACHE_DIR is not set")]
    NoCacheDir,
    #[error("`{0}` is not a message or a method, so it has no JSON template")]
    NotAMessage(String),
    #[error("`{service}` is a service, not a method; its methods: {}", .methods.join(", "))]
    NotAMethod {
        service: String,
        methods: Vec<String>,
    },
    #[error("`{0}` is not a method name")]
    BadMethodReference(String),
    #[error("no service `{name}` {place}")]
    UnknownService {
        /// Where it was looked for: on the server, in the schema files.
        place: &'static str,
        name: String,
        candidates: Vec<String>,
    },
    #[error("no method `{method}` in service {service}")]
    UnknownMethod {
        service: String,
        method: String,
        candidates: Vec<String>,
    },
    #[error("no symbol `{name}` {place}")]
    UnknownSymbol {
        place: &'static str,
        name: String,
        candidates: Vec<String>,
    },
    #[error("`{name}` is ambiguous: it matches {}", .candidates.join(", "))]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
}

impl SchemaError {
    /// Whether a lookup met a symbol the cached schema lacks.
    pub fn is_stale_cache(&self) -> bool {
        matches!(self, SchemaError::StaleCache)
    }

    /// Whether a failed lookup may be a stale cache's fault: a name it does not know.
    pub fn is_unknown_name(&self) -> bool {
        matches!(
            self,
            SchemaError::UnknownService { .. }
                | SchemaError::UnknownMethod { .. }
                | SchemaError::UnknownSymbol { .. }
                | SchemaError::Ambiguous { .. }
        )
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            SchemaError::ReflectionUnsupported { .. } => Some(
                "give the schema with --proto FILE (and --import-path DIR) or --protoset FILE, or enable server reflection"
                    .to_string(),
            ),
            SchemaError::Compile { not_found: true, .. } => {
                Some("add the directory that holds it with --import-path DIR".to_string())
            }
            SchemaError::Compile { .. } => Some("fix the .proto file".to_string()),
            SchemaError::ReadFile { .. } | SchemaError::Export(_) => None,
            SchemaError::StaleCache => Some("run it again with --no-cache".to_string()),
            SchemaError::NoCacheDir => {
                Some("set GRPCX_CACHE_DIR to the directory to keep schemas in".to_string())
            }
            SchemaError::BadProtoset { .. } | SchemaError::Conflict(_) => None,
            SchemaError::Reflection { status } if status.code() == Code::Unavailable => Some(
                "the connection to the server broke; check that it is still running".to_string(),
            ),
            SchemaError::Reflection { status } if status::is_message_too_large(status) => {
                Some(status::MESSAGE_TOO_LARGE_HINT.to_string())
            }
            SchemaError::Reflection { .. } | SchemaError::ReflectionRefused { .. } => None,
            SchemaError::NoAnswer(_) => Some(
                "is it a gRPC server, and is it busy? --connect-timeout sets how long to wait".to_string(),
            ),
            SchemaError::ReflectionStalled(_) => Some(
                "the server may be overloaded; --connect-timeout sets how long to wait for each answer".to_string(),
            ),
            SchemaError::BadDescriptor(_) | SchemaError::TooManyFiles | SchemaError::TooLarge => {
                Some("the server's reflection service sends a broken schema; report it to the server's owners".to_string())
            }
            SchemaError::NotAMessage(_) => Some(
                "name a message, or a method for its request, e.g. --template ItemService/GetItem".to_string(),
            ),
            SchemaError::NotAMethod { service, methods } => Some(format!(
                "name one of them, e.g. `grpcx call {service}/{}`",
                methods.first().map(String::as_str).unwrap_or("METHOD")
            )),
            SchemaError::BadMethodReference(_) => Some(
                "write the method as Service/Method, e.g. ItemService/GetItem (`grpcx list SERVICE` shows the methods)"
                    .to_string(),
            ),
            SchemaError::UnknownService { candidates, .. } => {
                Some(did_you_mean(candidates, "`grpcx list` shows every service"))
            }
            SchemaError::UnknownMethod {
                service,
                candidates,
                ..
            } => Some(did_you_mean(
                candidates,
                &format!("`grpcx list {service}` shows its methods"),
            )),
            SchemaError::UnknownSymbol { candidates, .. } => Some(did_you_mean(
                candidates,
                "`grpcx list` shows the services; `grpcx describe SERVICE` shows their types",
            )),
            SchemaError::Ambiguous { .. } => Some("use the fully-qualified name".to_string()),
        }
    }
}

fn did_you_mean(candidates: &[String], otherwise: &str) -> String {
    if candidates.is_empty() {
        otherwise.to_string()
    } else {
        format!("did you mean {}? ({otherwise})", candidates.join(", "))
    }
}
