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
mod imports;
mod option_types;
mod reflection;
mod resolve;
pub mod source;
pub mod template;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use prost::Message as _;
use prost_reflect::{DescriptorPool, FileDescriptor};
use prost_types::FileDescriptorProto;
use tonic::Code;
use tonic::transport::Channel;

pub use resolve::{Symbol, method_path};

use crate::transport::Header;
use reflection::{Answer, RawFile, ReflectionClient};

/// A bound on how many files one schema may pull in, so that a hostile or broken server
/// cannot make grpcx fetch forever.
const MAX_FILES: usize = 10_000;

/// A bound on the bytes of descriptors one schema may pull in (the largest real schemas are a
/// few megabytes), so that a server cannot make grpcx hold gigabytes of them.
const MAX_SCHEMA_BYTES: usize = 64 << 20;

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
    #[error("the server stopped answering reflection requests (no answer within {0:?})")]
    ReflectionStalled(Duration),
    #[error("the server's schema is invalid: {0}")]
    BadDescriptor(String),
    #[error("the server's schema has more than {MAX_FILES} files")]
    TooManyFiles,
    #[error("the server's schema is larger than {} MiB", MAX_SCHEMA_BYTES >> 20)]
    TooLarge,
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
            SchemaError::Reflection { status }
                if status.message().contains("decoded message length too large") =>
            {
                Some("raise the limit with --max-msg-sz, e.g. --max-msg-sz 16MiB (the default is 4MiB)".to_string())
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
    /// The cached files not built into `pool` yet.
    unbuilt: Option<cache::Unbuilt>,
    /// The pool is for calls only, so it starts with stand-ins for the option types (see
    /// `option_types`).
    for_calls: bool,
    /// Something was fetched from the server in this run, so the cache is worth writing.
    fetched: bool,
    /// The bytes of the descriptors received from the server so far.
    received_bytes: usize,
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
    /// `answer_timeout` bounds the wait for each of the server's answers, so a server that
    /// accepts connections but never answers, or stops answering, fails within it; answers
    /// larger than `max_message_size` are refused, as responses of calls are (`--max-msg-sz`).
    pub fn from_reflection(
        channel: Channel,
        host: String,
        headers: Vec<Header>,
        answer_timeout: Duration,
        max_message_size: usize,
    ) -> Schema {
        Schema {
            pool: DescriptorPool::new(),
            reflection: Some(ReflectionClient::new(
                channel,
                host,
                headers,
                answer_timeout,
                max_message_size,
            )),
            files: None,
            services: None,
            reflection_missing: false,
            cache: None,
            from_cache: false,
            unbuilt: None,
            for_calls: false,
            fetched: false,
            received_bytes: 0,
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
            unbuilt: None,
            for_calls: false,
            fetched: false,
            received_bytes: 0,
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
        // An Any may pack descriptor.proto's own types, which the stand-ins would hide.
        if option_types::present(&self.pool) {
            self.pool = option_types::removed(&self.pool)
                .map_err(|err| SchemaError::BadDescriptor(err.to_string()))?;
        }
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

    /// Makes the schema one for calls only: its pool reads no options back, so building it
    /// needs none of prost-reflect's global pool (see `option_types`).
    pub fn for_calls(mut self) -> Schema {
        if self.pool.files().len() == 0 {
            self.pool = option_types::pool();
            self.for_calls = true;
        }
        if let Some(reflection) = self.reflection.as_mut() {
            reflection.drop_comments();
        }
        self
    }

    /// A pool with nothing loaded yet.
    fn empty_pool(&self) -> DescriptorPool {
        if self.for_calls {
            option_types::pool()
        } else {
            DescriptorPool::new()
        }
    }

    /// Keeps what reflection fetches in `cache`; with `read`, starts from what it holds. The
    /// cached files are built when a name needs them, as reflection would fetch them.
    pub fn with_cache(mut self, cache: cache::Cache, read: bool) -> Schema {
        if read && let Some(cached) = cache.load() {
            self.unbuilt = Some(cache::Unbuilt::new(cached.files));
            self.services = cached.services;
            self.from_cache = true;
        }
        self.cache = Some(cache);
        self
    }

    /// Builds the cached files that define `symbol` into the pool. False when the cache does
    /// not know the symbol; an entry that does not build is dropped, as good as none.
    fn load_cached(&mut self, symbol: &str) -> bool {
        let Some(unbuilt) = self.unbuilt.as_mut() else {
            return false;
        };
        let Some(files) = unbuilt.take_for(symbol, &self.pool) else {
            return false;
        };
        // Checked as they came from the server, before they were cached.
        let built = self.add_to_pool(files, |pool, files| {
            add_encoded(pool, files).map_err(|err| SchemaError::BadDescriptor(err.to_string()))
        });
        if built.is_err() {
            self.forget_cache();
            return false;
        }
        resolve::find_in_pool(&self.pool, symbol).is_some()
    }

    /// Adds `files` to the pool with `add`. The stand-ins for the option types make way when
    /// the files bring the real ones (or do not build beside them for another reason).
    fn add_to_pool(
        &mut self,
        files: Vec<Vec<u8>>,
        add: impl Fn(&mut DescriptorPool, Vec<Vec<u8>>) -> Result<(), SchemaError>,
    ) -> Result<(), SchemaError> {
        if option_types::present(&self.pool) {
            if add(&mut self.pool, files.clone()).is_ok() {
                return Ok(());
            }
            self.pool = option_types::removed(&self.pool)
                .map_err(|err| SchemaError::BadDescriptor(err.to_string()))?;
        }
        add(&mut self.pool, files)
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
            self.pool = self.empty_pool();
            self.services = None;
            self.unbuilt = None;
            self.from_cache = false;
        }
    }

    /// Writes what was fetched from the server to the cache, if anything was.
    pub fn save_cache(&self) {
        if let (Some(cache), true, Some(_)) = (&self.cache, self.fetched, &self.reflection) {
            cache.store(cache::Cached {
                services: self.services.clone(),
                files: self
                    .pool
                    .files()
                    .filter(|f| f.name() != option_types::FILE_NAME)
                    .map(|f| cache::CachedFile::of(&f))
                    .collect(),
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
        if resolve::find_in_pool(&self.pool, symbol).is_some() || self.load_cached(symbol) {
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
            let wanted = with_dependencies(&found.parent_file());
            self.add_to_pool(wanted, |pool, files| {
                add_encoded(pool, files).map_err(|err| SchemaError::Conflict(err.to_string()))
            })?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Adds `files` from the server and every dependency they lack, asking for each missing one.
    async fn add_files(&mut self, files: Vec<RawFile>) -> Result<(), SchemaError> {
        let mut fetched: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut imports: HashMap<String, Vec<String>> = HashMap::new();
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
                imports.insert(name.clone(), file.proto.dependency);
                self.received_bytes = self.received_bytes.saturating_add(file.sent);
                fetched.insert(name, file.bytes);
                if fetched.len() + self.pool.files().len() > MAX_FILES {
                    return Err(SchemaError::TooManyFiles);
                }
                if self.received_bytes > MAX_SCHEMA_BYTES {
                    return Err(SchemaError::TooLarge);
                }
            }
            // Every import still missing, asked for at once; a call takes grpcx's own copies of
            // the well-known types' files instead, a round trip fewer.
            let mut level: Vec<String> = Vec::new();
            for name in wanted.drain(..) {
                if self.pool.get_file_by_name(&name).is_some()
                    || fetched.contains_key(&name)
                    || !asked.insert(name.clone())
                {
                    continue;
                }
                let shipped = builtin::well_known_file(&name).filter(|_| self.for_calls);
                match shipped.map(|bytes| (bytes, FileDescriptorProto::decode(bytes))) {
                    Some((bytes, Ok(proto))) => pending.push(RawFile {
                        proto,
                        bytes: bytes.to_vec(),
                        sent: 0,
                    }),
                    _ => level.push(name),
                }
            }
            if level.is_empty() {
                if pending.is_empty() {
                    break;
                }
                continue;
            }
            // Every file of the level is needed: too many is too many before asking.
            if fetched.len() + self.pool.files().len() + level.len() > MAX_FILES {
                return Err(SchemaError::TooManyFiles);
            }
            let budget = MAX_SCHEMA_BYTES.saturating_sub(self.received_bytes);
            let answers = match self.reflection.as_mut() {
                Some(reflection) => reflection.files_by_filename(&level, budget).await?,
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
                                sent: 0,
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
        // prost-reflect builds files that import each other; protoc refuses them, and so
        // does grpcx, rather than print a schema that no compiler takes.
        if let Some(cycle) = import_cycle(&imports) {
            return Err(SchemaError::BadDescriptor(format!(
                "its files import each other in a cycle: {}",
                cycle.join(" -> ")
            )));
        }
        self.fetched = true;
        let before = self.pool.clone();
        imports::build_adding_missing(&before, fetched.into_values().collect(), |files| {
            self.add_to_pool(files, add_received)
        })
    }

    /// Loads the files of every listed service, for searches by short name.
    async fn load_all_services(&mut self) -> Result<(), SchemaError> {
        for service in self.services().await? {
            self.load_symbol(&service).await?;
        }
        Ok(())
    }
}

/// A cycle of imports among `imports` (file → the files it imports), as the files along it,
/// the first repeated at the end; None when there is none. Imports of files outside the map
/// (already in a pool) cannot close a cycle: those were built before.
fn import_cycle(imports: &HashMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    let mut names: Vec<&String> = imports.keys().collect();
    names.sort();
    for start in names {
        if marks.contains_key(start.as_str()) {
            continue;
        }
        // Depth-first, with an explicit stack: the files along the path and, for each, the
        // index of the next import to visit.
        let mut path: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        marks.insert(start.as_str(), Mark::Visiting);
        while let Some((file, next)) = path.last_mut() {
            let dependency = imports
                .get(*file)
                .and_then(|deps| deps.get(*next))
                .map(String::as_str);
            *next += 1;
            let Some(dependency) = dependency else {
                marks.insert(file, Mark::Done);
                path.pop();
                continue;
            };
            match marks.get(dependency) {
                Some(Mark::Done) => {}
                Some(Mark::Visiting) => {
                    let from = path.iter().position(|(f, _)| *f == dependency)?;
                    let mut cycle: Vec<String> =
                        path.iter().skip(from).map(|(f, _)| f.to_string()).collect();
                    cycle.push(dependency.to_string());
                    return Some(cycle);
                }
                None if imports.contains_key(dependency) => {
                    marks.insert(dependency, Mark::Visiting);
                    path.push((dependency, 0));
                }
                None => {}
            }
        }
    }
    None
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

/// Adds file descriptors that came from outside (a server, the cache) to `pool`, refusing
/// them, and leaving `pool` as it was, when they do not build or their options do not decode.
pub(crate) fn add_received(
    pool: &mut DescriptorPool,
    files: impl IntoIterator<Item = Vec<u8>>,
) -> Result<(), SchemaError> {
    let files: Vec<Vec<u8>> = files.into_iter().collect();
    for file in &files {
        check_syntax(file).map_err(SchemaError::BadDescriptor)?;
    }
    let mut candidate = pool.clone();
    let before = candidate.files().len();
    add_encoded(&mut candidate, files)
        .map_err(|err| SchemaError::BadDescriptor(err.to_string()))?;
    check_options(&candidate, before).map_err(SchemaError::BadDescriptor)?;
    *pool = candidate;
    Ok(())
}

/// Checks that a file's syntax is one prost-reflect reads: it panics on any other (0.16 does
/// not read editions yet).
fn check_syntax(file: &[u8]) -> Result<(), String> {
    let mut syntax = None;
    options::fields(file, &mut |number, value| {
        if number == 12 {
            syntax = Some(value);
        }
        Ok(())
    })?;
    match syntax.map(String::from_utf8_lossy) {
        None => Ok(()),
        Some(syntax) if syntax == "proto2" || syntax == "proto3" => Ok(()),
        Some(syntax) => Err(format!(
            "a file has syntax `{syntax}`; grpcx reads proto2 and proto3 (not editions yet)"
        )),
    }
}

/// Checks that every option of the files from index `from` on decodes as the pool declares
/// it. prost-reflect checks the standard options when it builds a pool, but decodes the
/// rest (custom options, or every option when the pool has its own descriptor.proto) only
/// when asked, and panics when they do not decode: a server could crash `describe`.
pub(crate) fn check_options(pool: &DescriptorPool, from: usize) -> Result<(), String> {
    // Options are decoded as the pool declares them when read, not when their file was added:
    // when the new files declare option types or extensions, the earlier files' options must
    // decode as those declare them too.
    let new: HashSet<String> = pool
        .files()
        .skip(from)
        .map(|f| f.name().to_string())
        .collect();
    let redeclared = pool
        .all_extensions()
        .any(|e| new.contains(e.parent_file().name()))
        || pool.all_messages().any(|m| {
            m.package_name() == "google.protobuf"
                && m.name().ends_with("Options")
                && new.contains(m.parent_file().name())
        });
    let from = if redeclared { 0 } else { from };
    for file in pool.files().skip(from) {
        let bytes = file.encode_to_vec();
        options::walk(&bytes, options::Element::File, &mut |type_name, options| {
            // Without a type of its own, the pool decodes options as prost-reflect's global
            // pool declares them: what building the pool checked already.
            let Some(descriptor) = pool.get_message_by_name(type_name) else {
                return Ok(());
            };
            prost_reflect::DynamicMessage::decode(descriptor, options)
                .map(drop)
                .map_err(|err| {
                    format!(
                        "`{}` holds {type_name} that do not decode as the schema declares them: {err}",
                        file.name()
                    )
                })
        })?;
    }
    Ok(())
}

/// Finding the options in an encoded FileDescriptorProto.
mod options {
    use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

    /// An element of a file that may have options.
    #[derive(Debug, Clone, Copy)]
    pub enum Element {
        File,
        Message,
        Field,
        Oneof,
        Enum,
        EnumValue,
        Service,
        Method,
    }

    impl Element {
        /// The field number of the element's options, and their type.
        fn options(self) -> (u32, &'static str) {
            match self {
                Element::File => (8, "google.protobuf.FileOptions"),
                Element::Message => (7, "google.protobuf.MessageOptions"),
                Element::Field => (8, "google.protobuf.FieldOptions"),
                Element::Oneof => (2, "google.protobuf.OneofOptions"),
                Element::Enum => (3, "google.protobuf.EnumOptions"),
                Element::EnumValue => (3, "google.protobuf.EnumValueOptions"),
                Element::Service => (3, "google.protobuf.ServiceOptions"),
                Element::Method => (4, "google.protobuf.MethodOptions"),
            }
        }

        /// The element that the field `number` of this one holds, if it has options.
        fn child(self, number: u32) -> Option<Element> {
            Some(match (self, number) {
                (Element::File, 4) | (Element::Message, 3) => Element::Message,
                (Element::File, 5) | (Element::Message, 4) => Element::Enum,
                (Element::File, 6) => Element::Service,
                (Element::File, 7) | (Element::Message, 2 | 6) => Element::Field,
                (Element::Message, 8) => Element::Oneof,
                (Element::Enum, 2) => Element::EnumValue,
                (Element::Service, 2) => Element::Method,
                _ => return None,
            })
        }
    }

    /// What `walk` calls with the type and the bytes of each options message it finds.
    pub type OptionsVisitor<'a> = dyn FnMut(&'static str, &[u8]) -> Result<(), String> + 'a;

    /// Calls `found` with the number and the contents of each length-delimited field of the
    /// encoded message `bytes`, in order.
    pub fn fields<'a>(
        mut bytes: &'a [u8],
        found: &mut dyn FnMut(u32, &'a [u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let malformed =
            |err: prost::DecodeError| format!("a file descriptor does not decode: {err}");
        while !bytes.is_empty() {
            let (number, wire_type) = decode_key(&mut bytes).map_err(malformed)?;
            if wire_type != WireType::LengthDelimited {
                skip_field(wire_type, number, &mut bytes, DecodeContext::default())
                    .map_err(malformed)?;
                continue;
            }
            let length = decode_varint(&mut bytes).map_err(malformed)?;
            let (inner, rest) = usize::try_from(length)
                .ok()
                .and_then(|length| bytes.split_at_checked(length))
                .ok_or_else(|| "a file descriptor is cut short".to_string())?;
            bytes = rest;
            found(number, inner)?;
        }
        Ok(())
    }

    /// Calls `found` with the type and the bytes of every element's options in `bytes`, an
    /// encoded `element`.
    pub fn walk(
        bytes: &[u8],
        element: Element,
        found: &mut OptionsVisitor<'_>,
    ) -> Result<(), String> {
        let (options_number, options_type) = element.options();
        fields(bytes, &mut |number, inner| match element.child(number) {
            Some(child) => walk(inner, child, found),
            None if number == options_number => found(options_type, inner),
            None => Ok(()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(file, deps)| {
                let deps = deps.iter().map(|d| d.to_string()).collect();
                (file.to_string(), deps)
            })
            .collect()
    }

    #[test]
    fn import_cycles_are_found_and_shown_along_the_cycle() {
        let acyclic = graph(&[("a", &["b", "c", "outside"]), ("b", &["c"]), ("c", &[])]);
        assert_eq!(import_cycle(&acyclic), None);
        let cyclic = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["b"])]);
        assert_eq!(
            import_cycle(&cyclic).unwrap(),
            ["b", "c", "b"].map(String::from)
        );
        let itself = graph(&[("a", &["a"])]);
        assert_eq!(import_cycle(&itself).unwrap(), ["a", "a"].map(String::from));
        // A long chain: no recursion to overflow.
        let chain: HashMap<String, Vec<String>> = (0..100_000)
            .map(|i| (i.to_string(), vec![(i + 1).to_string()]))
            .collect();
        assert_eq!(import_cycle(&chain), None);
    }
}
