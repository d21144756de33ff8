//! Where grpcx learns a server's schema, and how names on the command line become descriptors.
//!
//! Everything fetched goes into ONE `DescriptorPool`, so cross-file references, `Any` and
//! error details resolve the same way everywhere. Only what a command needs is fetched: the
//! file that defines a symbol and its transitive dependencies, not the whole server's schema.
//! This module never prints; it returns descriptors or typed errors.
//!
//! The descriptor cache may be stale, and the policy for that is here, in one place (see
//! [`Schema::retry_if_stale`] and [`Schema::refresh_after_unimplemented`]): a name the cached
//! schema does not know, or UNIMPLEMENTED for a method it does, drops the entry and asks the
//! server again, once.

pub mod as_json;
pub mod builtin;
pub mod cache;
pub mod details;
mod error;
pub mod export;
mod fetch;
pub mod files;
mod imports;
mod option_types;
pub mod proto_text;
mod received;
mod reflection;
mod resolve;
pub mod template;

use std::collections::HashSet;
use std::time::Duration;

use prost_reflect::{DescriptorPool, FileDescriptor, MethodDescriptor};
use tonic::transport::Channel;

pub use error::SchemaError;
pub use received::add_received;
pub use resolve::{Symbol, method_path};

use crate::transport::Header;
use received::add_encoded;
use reflection::{Answer, ReflectionClient};

/// A server's schema, from reflection, from files, or both (files fill in what reflection
/// lacks).
pub struct Schema {
    /// Everything fetched or loaded so far that the command uses.
    pool: DescriptorPool,
    reflection: Option<reflection::Source>,
    /// Everything the files define; copied into `pool` as needed.
    files: Option<DescriptorPool>,
    services: Option<Vec<String>>,
    /// Reflection was asked for, but the server does not serve it.
    reflection_missing: bool,
    /// Where this server's schema is cached, when caching is on.
    cache: Option<cache::Cache>,
    /// The pool and services came from the cache, not from the server.
    from_cache: bool,
    /// The reflection version the cache entry was fetched with.
    cached_version: Option<reflection::Version>,
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
        Schema::with_reflection(reflection::Source::Server(ReflectionClient::new(
            channel,
            host,
            headers,
            answer_timeout,
            max_message_size,
        )))
    }

    /// A schema read through reflection answers held in memory (see `reflection::Memory`):
    /// the same loading path as a server's, for the fuzz targets and tests.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn from_memory(answers: Vec<Vec<Vec<u8>>>) -> Schema {
        Schema::with_reflection(reflection::Source::Memory(reflection::Memory::new(answers)))
    }

    /// Loads the `index`-th answer of a schema `from_memory`, as a lookup of a symbol would.
    #[cfg(any(test, fuzzing))]
    pub(crate) async fn load_answer(&mut self, index: usize) -> Result<bool, SchemaError> {
        self.load_symbol(&reflection::Memory::symbol(index)).await
    }

    fn with_reflection(source: reflection::Source) -> Schema {
        Schema {
            reflection: Some(source),
            ..Schema::empty()
        }
    }

    /// A schema from files only.
    pub fn from_files(files: DescriptorPool) -> Schema {
        Schema {
            files: Some(files),
            ..Schema::empty()
        }
    }

    fn empty() -> Schema {
        Schema {
            pool: DescriptorPool::new(),
            reflection: None,
            files: None,
            services: None,
            reflection_missing: false,
            cache: None,
            from_cache: false,
            cached_version: None,
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
        self.retry_if_stale(async |schema: &mut Schema| schema.prepare_call_once(method).await)
            .await
    }

    async fn prepare_call_once(
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
            self.cached_version = cached.version;
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

    /// The cache-retry policy for lookups: a schema served from the cache that lacks a symbol
    /// a lookup needs (`load_symbol` says so with `StaleCache`), or does not know a name, may
    /// be behind the server, so the entry is dropped and the whole `lookup` runs once more on
    /// what the server says now: never on a pool half from the cache and half from the server.
    /// (UNIMPLEMENTED for a cached method: see `refresh_after_unimplemented`.)
    pub(crate) async fn retry_if_stale<T>(
        &mut self,
        mut lookup: impl AsyncFnMut(&mut Schema) -> Result<T, SchemaError>,
    ) -> Result<T, SchemaError> {
        match lookup(self).await {
            Err(err) if self.from_cache && (err.is_unknown_name() || err.is_stale_cache()) => {
                self.forget_cache();
                lookup(self).await
            }
            result => result,
        }
    }

    /// The cache-retry policy for calls: UNIMPLEMENTED for `method`, when it came from the
    /// cache, may mean the server changed under it. The entry is dropped and the method read
    /// from the server again; returns the fresh method when it differs from `method` (the
    /// call may then be made again), `None` when it does not or the schema was not cached.
    pub async fn refresh_after_unimplemented(
        &mut self,
        reference: &str,
        method: &MethodDescriptor,
    ) -> Result<Option<MethodDescriptor>, SchemaError> {
        if !self.from_cache {
            return Ok(None);
        }
        self.forget_cache();
        let fresh = self.resolve_method(reference).await?;
        let fresh = self.prepare_call(&fresh).await?;
        let changed = fresh.parent_file().encode_to_vec() != method.parent_file().encode_to_vec()
            || method_path(&fresh) != method_path(method);
        Ok(changed.then_some(fresh))
    }

    /// Whether the schema in use came from the cache.
    pub fn served_from_cache(&self) -> bool {
        self.from_cache
    }

    /// Drops the cached schema (on disk too), so that what follows asks the server.
    fn forget_cache(&mut self) {
        if let Some(cache) = &self.cache {
            cache.remove();
        }
        if self.from_cache {
            self.pool = self.empty_pool();
            self.services = None;
            self.unbuilt = None;
            self.cached_version = None;
            self.from_cache = false;
        }
    }

    /// Writes what was fetched from the server to the cache, if anything was.
    pub fn save_cache(&self) {
        if let (Some(cache), true, Some(_)) = (&self.cache, self.fetched, &self.reflection) {
            cache.store(cache::Cached {
                version: self.reflection_version(),
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

    /// Where names are looked for, in words for "no such name" errors.
    fn place(&self) -> &'static str {
        match (&self.reflection, &self.files) {
            (Some(_), Some(_)) => "on the server or in the schema files",
            (Some(_), None) => "on the server",
            (None, _) => "in the schema files",
        }
    }

    /// Where the schema came from, in words for `-v`: the source, and whether from the cache.
    pub fn describe_source(&self) -> String {
        let source = self.source_kind().describe();
        if self.from_cache {
            format!("{source}, from the cache")
        } else {
            source.to_string()
        }
    }

    /// The reflection version the server answered, in this run or when it was cached.
    fn reflection_version(&self) -> Option<reflection::Version> {
        self.reflection
            .as_ref()
            .and_then(reflection::Source::version)
            .or(self.cached_version)
    }

    /// Where the schema came from, as far as is known now.
    pub fn source_kind(&self) -> SourceKind {
        match &self.reflection {
            Some(_) => match self.reflection_version() {
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
        // The cache lacks the symbol: the server may have changed, so the lookup starts over
        // from it (the cache-retry policy, see `retry_if_stale`).
        if self.from_cache {
            return Err(SchemaError::StaleCache);
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

/// Writes `bytes` to `path` atomically: into a temporary file beside it, then renamed into
/// place, so that a reader (another grpcx process, a build reading a protoset) never sees half
/// a file. Missing directories are made. A `shared` file gets the permissions any new file
/// gets (the umask decides), a private one (the cache) is the user's alone.
pub(crate) fn write_atomically(
    path: &std::path::Path,
    bytes: &[u8],
    shared: bool,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    if shared {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temporary = builder.tempfile_in(dir)?;
    temporary.write_all(bytes)?;
    temporary.persist(path).map_err(|err| err.error)?;
    Ok(())
}
