//! Where grpcx learns a server's schema, and how names on the command line become descriptors.
//!
//! Everything fetched goes into ONE `DescriptorPool`, so cross-file references (and, later,
//! `Any` and error details) resolve the same way everywhere. Only what a command needs is
//! fetched: the file that defines a symbol and its transitive dependencies, not the whole
//! server's schema. This module never prints; it returns descriptors or typed errors.

pub mod builtin;
pub mod cache;
pub mod details;
pub mod export;
pub mod files;
mod reflection;
mod resolve;
pub mod source;
pub mod template;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use prost_reflect::{DescriptorPool, FileDescriptor};
use tonic::Code;
use tonic::transport::Channel;

pub use resolve::{Symbol, method_path};

use crate::transport::Header;
use reflection::{Answer, RawFile, ReflectionClient};

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
    Export(#[from] export::ExportError),
    #[error("the server accepted the connection but did not answer within {0:?}")]
    NoAnswer(Duration),
    #[error("the server's schema is invalid: {0}")]
    BadDescriptor(String),
    #[error("the server's schema has more than {MAX_FILES} files")]
    TooManyFiles,
    #[error("`{0}` is not a message or a method, so it has no JSON template")]
    NotAMessage(String),
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
                "give the schema with --proto FILE (and --import-path DIR) or --protoset FILE, or enable server reflection"
                    .to_string(),
            ),
            SchemaError::Compile { not_found: true, .. } => {
                Some("add the directory that holds it with --import-path DIR".to_string())
            }
            SchemaError::Compile { .. } => Some("fix the .proto file".to_string()),
            SchemaError::ReadFile { .. } | SchemaError::Export(_) => None,
            SchemaError::BadProtoset { .. } | SchemaError::Conflict(_) => None,
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
            SchemaError::NotAMessage(_) => Some(
                "name a message, or a method for its request, e.g. --template ItemService/GetItem".to_string(),
            ),
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

/// A server's schema, from reflection, from files, or both (files fill in what reflection
/// lacks).
pub struct Schema {
    /// Everything fetched or loaded so far that the command uses.
    pool: DescriptorPool,
    reflection: Option<ReflectionClient>,
    /// Everything the files define; copied into `pool` as needed.
    files: Option<DescriptorPool>,
    services: Option<Vec<String>>,
    /// Reflection was asked for, but the server does not serve it.
    reflection_missing: bool,
    /// Where this server's schema is cached, when caching is on.
    cache: Option<cache::Cache>,
    /// The pool and services came from the cache, not from the server.
    from_cache: bool,
    /// Something was fetched from the server in this run, so the cache is worth writing.
    fetched: bool,
}

/// Where a schema comes from, for `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Files,
    ReflectionV1,
    ReflectionV1Alpha,
    /// Reflection was asked for but is not served; the files served instead.
    FilesWithoutReflection,
}

impl SourceKind {
    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::Files => "--proto / --protoset files",
            SourceKind::ReflectionV1 => "server reflection (grpc.reflection.v1)",
            SourceKind::ReflectionV1Alpha => {
                "server reflection (grpc.reflection.v1alpha: the server lacks v1)"
            }
            SourceKind::FilesWithoutReflection => {
                "--proto / --protoset files (the server lacks reflection)"
            }
        }
    }
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
            pool: DescriptorPool::new(),
            reflection: Some(ReflectionClient::new(
                channel,
                host,
                headers,
                first_answer_timeout,
            )),
            files: None,
            services: None,
            reflection_missing: false,
            cache: None,
            from_cache: false,
            fetched: false,
        }
    }

    /// A schema from files only.
    pub fn from_files(files: DescriptorPool) -> Schema {
        Schema {
            pool: DescriptorPool::new(),
            reflection: None,
            files: Some(files),
            services: None,
            reflection_missing: false,
            cache: None,
            from_cache: false,
            fetched: false,
        }
    }

    /// Readies the schema for a call of `method`: when an `Any` is reachable from its messages,
    /// every file the server's services use and the types grpcx ships, so that packed messages
    /// resolve (a descriptor keeps the pool it came from, so this must come before any message
    /// is built). Returns the method as the readied pool describes it.
    pub async fn prepare_call(
        &mut self,
        method: &prost_reflect::MethodDescriptor,
    ) -> Result<prost_reflect::MethodDescriptor, SchemaError> {
        if !(reaches_any(&method.input()) || reaches_any(&method.output())) {
            return Ok(method.clone());
        }
        self.load_all_services().await?;
        builtin::add_missing(&mut self.pool, true);
        let service = self
            .pool
            .get_service_by_name(method.parent_service().full_name())
            .ok_or_else(|| {
                SchemaError::BadDescriptor(format!("{} vanished", method.full_name()))
            })?;
        let found = service.methods().find(|m| m.name() == method.name());
        found.ok_or_else(|| SchemaError::BadDescriptor(format!("{} vanished", method.full_name())))
    }

    /// Keeps what reflection fetches in `cache`; with `read`, starts from what it holds.
    pub fn with_cache(mut self, cache: cache::Cache, read: bool) -> Schema {
        if read && let Some(cached) = cache.load() {
            let mut pool = DescriptorPool::new();
            // An entry that does not build is as good as none.
            if add_encoded(&mut pool, cached.files).is_ok() {
                self.pool = pool;
                self.services = cached.services;
                self.from_cache = true;
            }
        }
        self.cache = Some(cache);
        self
    }

    /// Whether the schema in use came from the cache.
    pub fn served_from_cache(&self) -> bool {
        self.from_cache
    }

    /// Drops the cached schema (on disk too), so that what follows asks the server.
    pub fn forget_cache(&mut self) {
        if let Some(cache) = &self.cache {
            cache.remove();
        }
        if self.from_cache {
            self.pool = DescriptorPool::new();
            self.services = None;
            self.from_cache = false;
        }
    }

    /// Writes what was fetched from the server to the cache, if anything was.
    pub fn save_cache(&self) {
        if let (Some(cache), true, Some(_)) = (&self.cache, self.fetched, &self.reflection) {
            cache.store(cache::Cached {
                services: self.services.clone(),
                files: self.pool.files().map(|f| f.encode_to_vec()).collect(),
            });
        }
    }

    /// Adds files that fill in what reflection lacks.
    pub fn with_files(mut self, files: DescriptorPool) -> Schema {
        self.files = Some(files);
        self
    }

    /// The pool of everything loaded so far.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// Where the schema came from, as far as is known now.
    pub fn source_kind(&self) -> SourceKind {
        match &self.reflection {
            Some(reflection) => match reflection.version() {
                Some(reflection::Version::V1Alpha) => SourceKind::ReflectionV1Alpha,
                Some(reflection::Version::V1) | None => SourceKind::ReflectionV1,
            },
            None if self.reflection_missing => SourceKind::FilesWithoutReflection,
            None => SourceKind::Files,
        }
    }

    /// The services the server lists (and the files define), sorted, found once.
    pub async fn services(&mut self) -> Result<Vec<String>, SchemaError> {
        if let Some(services) = &self.services {
            return Ok(services.clone());
        }
        let mut services = match self.reflection.as_mut() {
            Some(reflection) => match reflection.list_services().await {
                Ok(services) => {
                    self.fetched = true;
                    services
                }
                // With files to fall back on, a server without reflection is fine.
                Err(SchemaError::ReflectionUnsupported { .. }) if self.files.is_some() => {
                    self.reflection = None;
                    self.reflection_missing = true;
                    Vec::new()
                }
                Err(err) => return Err(err),
            },
            None => Vec::new(),
        };
        if let Some(files) = &self.files {
            services.extend(files.services().map(|s| s.full_name().to_string()));
        }
        services.sort();
        services.dedup();
        self.services = Some(services.clone());
        Ok(services)
    }

    /// Makes sure the file defining `symbol` and its dependencies are in the pool: from the
    /// server first, then from the files. Returns false when neither knows the symbol.
    async fn load_symbol(&mut self, symbol: &str) -> Result<bool, SchemaError> {
        if resolve::find_in_pool(&self.pool, symbol).is_some() {
            return Ok(true);
        }
        // The cache lacks the symbol: the server may have changed, so start over from it.
        if self.from_cache {
            self.forget_cache();
        }
        if let Some(reflection) = self.reflection.as_mut() {
            match reflection.file_containing_symbol(symbol).await {
                Ok(Answer::Files(files)) => {
                    self.add_files(files).await?;
                    return Ok(true);
                }
                Ok(Answer::NotFound) => {}
                Err(SchemaError::ReflectionUnsupported { .. }) if self.files.is_some() => {
                    self.reflection = None;
                    self.reflection_missing = true;
                }
                Err(err) => return Err(err),
            }
        }
        if let Some(files) = &self.files
            && let Some(found) = resolve::find_in_pool(files, symbol)
        {
            add_encoded(&mut self.pool, with_dependencies(&found.parent_file()))
                .map_err(|err| SchemaError::Conflict(err.to_string()))?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Adds `files` from the server and every dependency they lack, asking for each missing one.
    async fn add_files(&mut self, files: Vec<RawFile>) -> Result<(), SchemaError> {
        let mut fetched: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut wanted: Vec<String> = Vec::new();
        let mut asked: HashSet<String> = HashSet::new();
        let mut pending = files;
        loop {
            for file in pending.drain(..) {
                let name = file.proto.name().to_string();
                if self.pool.get_file_by_name(&name).is_some() || fetched.contains_key(&name) {
                    continue;
                }
                wanted.extend(file.proto.dependency.iter().cloned());
                fetched.insert(name, file.bytes);
                if fetched.len() > MAX_FILES {
                    return Err(SchemaError::TooManyFiles);
                }
            }
            // Every import still missing, asked for at once. (grpcx's own copies of the
            // well-known types would save this round trip, but building prost-reflect's global
            // pool costs more than the round trip: 0.7 ms against 0.15 ms here.)
            let mut level: Vec<String> = Vec::new();
            for name in wanted.drain(..) {
                if self.pool.get_file_by_name(&name).is_none()
                    && !fetched.contains_key(&name)
                    && asked.insert(name.clone())
                {
                    level.push(name);
                }
            }
            if level.is_empty() {
                break;
            }
            let answers = match self.reflection.as_mut() {
                Some(reflection) => reflection.files_by_filename(&level).await?,
                None => level.iter().map(|_| Answer::NotFound).collect(),
            };
            for (name, answer) in level.iter().zip(answers) {
                match answer {
                    Answer::Files(files) => pending.extend(files),
                    // The files given on the command line may hold what the server does not
                    // serve.
                    Answer::NotFound => {
                        match self.files.as_ref().and_then(|f| f.get_file_by_name(name)) {
                            Some(file) => pending.push(RawFile {
                                proto: file.file_descriptor_proto().clone(),
                                bytes: file.encode_to_vec(),
                            }),
                            None => {
                                return Err(SchemaError::BadDescriptor(format!(
                                    "the server does not serve `{name}`, which its schema imports"
                                )));
                            }
                        }
                    }
                }
            }
        }
        self.fetched = true;
        add_encoded(&mut self.pool, fetched.into_values())
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

/// Whether a message holds a `google.protobuf.Any` anywhere inside.
fn reaches_any(message: &prost_reflect::MessageDescriptor) -> bool {
    let mut seen = HashSet::new();
    let mut pending = vec![message.clone()];
    while let Some(next) = pending.pop() {
        if next.full_name() == "google.protobuf.Any" {
            return true;
        }
        if !seen.insert(next.full_name().to_string()) {
            continue;
        }
        for field in next.fields() {
            if let prost_reflect::Kind::Message(inner) = field.kind() {
                pending.push(inner);
            }
        }
    }
    false
}

/// A file and everything it imports, dependencies first, each encoded with its options.
pub fn with_dependencies(file: &FileDescriptor) -> Vec<Vec<u8>> {
    dependencies_first([file.clone()])
        .iter()
        .map(FileDescriptor::encode_to_vec)
        .collect()
}

/// `files` and everything they import, each once, every file after its imports.
pub fn dependencies_first(files: impl IntoIterator<Item = FileDescriptor>) -> Vec<FileDescriptor> {
    fn visit(file: FileDescriptor, seen: &mut HashSet<String>, ordered: &mut Vec<FileDescriptor>) {
        if !seen.insert(file.name().to_string()) {
            return;
        }
        for dependency in file.dependencies() {
            visit(dependency, seen, ordered);
        }
        ordered.push(file);
    }
    let mut seen = HashSet::new();
    let mut ordered = Vec::new();
    for file in files {
        visit(file, &mut seen, &mut ordered);
    }
    ordered
}

/// Encoded file descriptors as one encoded FileDescriptorSet.
pub fn encode_set(files: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut set = Vec::new();
    for file in files {
        prost::encoding::bytes::encode(1, &file, &mut set);
    }
    set
}

/// Adds encoded file descriptors (in any order) to `pool`, keeping their custom options.
fn add_encoded(
    pool: &mut DescriptorPool,
    files: impl IntoIterator<Item = Vec<u8>>,
) -> Result<(), prost_reflect::DescriptorError> {
    pool.decode_file_descriptor_set(encode_set(files).as_slice())
}
