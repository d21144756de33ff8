//! Where grpcx learns a server's schema, and how names on the command line become descriptors.
//!
//! Everything fetched goes into ONE `DescriptorPool`, so cross-file references (and, later,
//! `Any` and error details) resolve the same way everywhere. Only what a command needs is
//! fetched: the file that defines a symbol and its transitive dependencies, not the whole
//! server's schema. This module never prints; it returns descriptors or typed errors.

mod reflection;
mod resolve;
pub mod source;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorProto;
use tonic::Code;
use tonic::transport::Channel;

pub use resolve::{Symbol, method_path};

use crate::transport::Header;
use reflection::{Answer, ReflectionClient};

/// A bound on how many files one schema may pull in, so that a hostile or broken server
/// cannot make grpcx fetch forever.
const MAX_FILES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the server at {host} does not support server reflection")]
    ReflectionUnsupported { host: String },
    #[error("server reflection failed: {}: {}", crate::error::code_name(.status.code()), .status.message())]
    Reflection { status: tonic::Status },
    #[error("the server refused a reflection request: {}: {message}", crate::error::code_name(*.code))]
    ReflectionRefused { code: Code, message: String },
    #[error("the server accepted the connection but did not answer within {0:?}")]
    NoAnswer(Duration),
    #[error("the server's schema is invalid: {0}")]
    BadDescriptor(String),
    #[error("the server's schema has more than {MAX_FILES} files")]
    TooManyFiles,
    #[error("`{0}` is not a method name")]
    BadMethodReference(String),
    #[error("no service `{name}` on the server")]
    UnknownService {
        name: String,
        candidates: Vec<String>,
    },
    #[error("no method `{method}` in service {service}")]
    UnknownMethod {
        service: String,
        method: String,
        candidates: Vec<String>,
    },
    #[error("no symbol `{name}` on the server")]
    UnknownSymbol {
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
    pub fn hint(&self) -> Option<String> {
        match self {
            SchemaError::ReflectionUnsupported { .. } => Some(
                "grpcx reads the schema through server reflection (grpc.reflection.v1 or v1alpha): enable it on the server"
                    .to_string(),
            ),
            SchemaError::Reflection { status } if status.code() == Code::Unavailable => Some(
                "the connection to the server broke; check that it is still running".to_string(),
            ),
            SchemaError::Reflection { .. } | SchemaError::ReflectionRefused { .. } => None,
            SchemaError::NoAnswer(_) => Some(
                "is it a gRPC server, and is it busy? --connect-timeout sets how long to wait".to_string(),
            ),
            SchemaError::BadDescriptor(_) | SchemaError::TooManyFiles => {
                Some("the server's reflection service sends a broken schema; report it to the server's owners".to_string())
            }
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

/// The schema of one server, fetched lazily through reflection.
pub struct Schema {
    reflection: ReflectionClient,
    pool: DescriptorPool,
    services: Option<Vec<String>>,
}

impl Schema {
    /// A schema read through server reflection on `channel`. `host` is the name sent in
    /// reflection requests; `headers` go on the reflection stream.
    /// `first_answer_timeout` bounds the wait for the server's first answer, so a server that
    /// accepts connections but never answers fails within the connect timeout.
    pub fn from_reflection(
        channel: Channel,
        host: String,
        headers: Vec<Header>,
        first_answer_timeout: Duration,
    ) -> Schema {
        Schema {
            reflection: ReflectionClient::new(channel, host, headers, first_answer_timeout),
            pool: DescriptorPool::new(),
            services: None,
        }
    }

    /// The pool of everything fetched so far.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The services the server lists, sorted, fetched once.
    pub async fn services(&mut self) -> Result<Vec<String>, SchemaError> {
        if let Some(services) = &self.services {
            return Ok(services.clone());
        }
        let mut services = self.reflection.list_services().await?;
        services.sort();
        services.dedup();
        self.services = Some(services.clone());
        Ok(services)
    }

    /// Makes sure the file defining `symbol` and its dependencies are in the pool.
    /// Returns false when the server does not know the symbol.
    async fn load_symbol(&mut self, symbol: &str) -> Result<bool, SchemaError> {
        if resolve::find_in_pool(&self.pool, symbol).is_some() {
            return Ok(true);
        }
        match self.reflection.file_containing_symbol(symbol).await? {
            Answer::NotFound => Ok(false),
            Answer::Files(files) => {
                self.add_files(files).await?;
                Ok(true)
            }
        }
    }

    /// Adds `files` and every dependency they lack, asking the server for each missing one.
    async fn add_files(&mut self, files: Vec<FileDescriptorProto>) -> Result<(), SchemaError> {
        let mut fetched: BTreeMap<String, FileDescriptorProto> = BTreeMap::new();
        let mut wanted: Vec<String> = Vec::new();
        let mut asked: HashSet<String> = HashSet::new();
        let mut pending = files;
        loop {
            for file in pending.drain(..) {
                let name = file.name().to_string();
                if self.pool.get_file_by_name(&name).is_some() || fetched.contains_key(&name) {
                    continue;
                }
                wanted.extend(file.dependency.iter().cloned());
                fetched.insert(name, file);
                if fetched.len() > MAX_FILES {
                    return Err(SchemaError::TooManyFiles);
                }
            }
            let Some(next) = wanted.pop() else { break };
            if self.pool.get_file_by_name(&next).is_some()
                || fetched.contains_key(&next)
                || !asked.insert(next.clone())
            {
                continue;
            }
            match self.reflection.file_by_filename(&next).await? {
                Answer::Files(files) => pending = files,
                Answer::NotFound => {
                    return Err(SchemaError::BadDescriptor(format!(
                        "the server does not serve `{next}`, which its schema imports"
                    )));
                }
            }
        }
        self.pool
            .add_file_descriptor_protos(fetched.into_values())
            .map_err(|err| SchemaError::BadDescriptor(err.to_string()))
    }

    /// Loads the files of every listed service, for searches by short name.
    async fn load_all_services(&mut self) -> Result<(), SchemaError> {
        for service in self.services().await? {
            self.load_symbol(&service).await?;
        }
        Ok(())
    }
}
