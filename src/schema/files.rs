//! Schemas from files: `.proto` sources compiled at run time by protox (no `protoc` needed, and
//! the well-known types resolve without an import path), and protosets (binary
//! FileDescriptorSets).

use std::path::{Path, PathBuf};

use miette::Diagnostic as _;
use prost::Message as _;
use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorSet;

use super::SchemaError;

/// The files a command names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSources {
    /// `.proto` files (`--proto`).
    pub protos: Vec<PathBuf>,
    /// Where their imports are found (`--import-path`).
    pub import_paths: Vec<PathBuf>,
    /// FileDescriptorSets (`--protoset`).
    pub protosets: Vec<PathBuf>,
}

impl FileSources {
    pub fn is_empty(&self) -> bool {
        self.protos.is_empty() && self.protosets.is_empty()
    }
}

/// Everything the files define, in one pool.
pub fn load(sources: &FileSources) -> Result<DescriptorPool, SchemaError> {
    let mut pool = DescriptorPool::new();
    for path in &sources.protosets {
        add_protoset(&mut pool, path)?;
    }
    if !sources.protos.is_empty() {
        let compiled = compile(&sources.protos, &sources.import_paths)?;
        pool.decode_file_descriptor_set(compiled.as_slice())
            .map_err(|err| SchemaError::Conflict(err.to_string()))?;
    }
    Ok(pool)
}

/// Compiles `.proto` files into an encoded FileDescriptorSet (with custom options). Without
/// import paths, each file's own directory is one.
fn compile(protos: &[PathBuf], import_paths: &[PathBuf]) -> Result<Vec<u8>, SchemaError> {
    let includes: Vec<PathBuf> = if import_paths.is_empty() {
        let mut dirs: Vec<PathBuf> = protos
            .iter()
            .map(|proto| match proto.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            })
            .collect();
        dirs.dedup();
        dirs
    } else {
        import_paths.to_vec()
    };
    // A file that is nowhere is missing, not outside the import paths.
    for proto in protos {
        let found = proto.is_file() || includes.iter().any(|dir| dir.join(proto).is_file());
        if !found {
            return Err(SchemaError::ReadFile {
                path: proto.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
    }
    let failed = |err| compile_error(err, &includes);
    let mut compiler = protox::Compiler::new(&includes).map_err(failed)?;
    compiler.include_imports(true).include_source_info(true);
    for proto in protos {
        compiler.open_file(proto).map_err(failed)?;
    }
    Ok(compiler.encode_file_descriptor_set())
}

/// A compiler error as `file:line:column: message`, with the file's path as the user can
/// open it (the compiler knows it by its name under an import path).
fn compile_error(err: protox::Error, includes: &[PathBuf]) -> SchemaError {
    let mut location = err.file().map(|name| {
        includes
            .iter()
            .map(|include| include.join(name))
            .find(|path| path.is_file())
            .map(|path| path.display().to_string())
            .unwrap_or_else(|| name.to_string())
    });
    if let (Some(file), Some(source), Some(label)) = (
        location.as_ref(),
        err.source_code(),
        err.labels().and_then(|mut labels| labels.next()),
    ) && let Ok(span) = source.read_span(label.inner(), 0, 0)
    {
        location = Some(format!("{file}:{}:{}", span.line() + 1, span.column() + 1));
    }
    let message = err.to_string();
    SchemaError::Compile {
        location,
        not_found: err.is_file_not_found(),
        message,
    }
}

/// Adds a protoset, filling in well-known types it does not carry.
fn add_protoset(pool: &mut DescriptorPool, path: &Path) -> Result<(), SchemaError> {
    let bytes = std::fs::read(path).map_err(|source| SchemaError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let set =
        FileDescriptorSet::decode(bytes.as_slice()).map_err(|err| SchemaError::BadProtoset {
            path: path.to_path_buf(),
            reason: format!("it is not a FileDescriptorSet: {err}"),
        })?;
    let defined: std::collections::HashSet<&str> = set.file.iter().map(|f| f.name()).collect();
    let missing_well_known: Vec<String> = set
        .file
        .iter()
        .flat_map(|f| f.dependency.iter())
        .filter(|dep| !defined.contains(dep.as_str()) && dep.starts_with("google/protobuf/"))
        .filter(|dep| pool.get_file_by_name(dep).is_none())
        .cloned()
        .collect();
    if !missing_well_known.is_empty() {
        let failed = |err| compile_error(err, &[]);
        let mut compiler = protox::Compiler::new(Vec::<PathBuf>::new()).map_err(failed)?;
        compiler.include_imports(true);
        for name in &missing_well_known {
            compiler.open_file(name).map_err(failed)?;
        }
        pool.add_file_descriptor_set(compiler.file_descriptor_set())
            .map_err(|err| SchemaError::Conflict(err.to_string()))?;
    }
    // A protoset is checked as a server's answer is: a broken one must not panic later.
    let mut files = Vec::new();
    super::received::options::fields(&bytes, &mut |number, file| {
        if number == 1 {
            files.push(file.to_vec());
        }
        Ok(())
    })
    .map_err(|reason| SchemaError::BadProtoset {
        path: path.to_path_buf(),
        reason,
    })?;
    super::add_received(pool, files).map_err(|err| SchemaError::BadProtoset {
        path: path.to_path_buf(),
        reason: format!(
            "{} (a protoset must carry its imports: protoc --include_imports, or grpcx --protoset-out)",
            match err {
                SchemaError::BadDescriptor(reason) => reason,
                other => other.to_string(),
            }
        ),
    })
}
