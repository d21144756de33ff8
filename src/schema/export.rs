//! Writing a schema out: `--protoset-out` (a FileDescriptorSet) and `--proto-out-dir` (proto
//! source files), each holding the chosen symbols' files and everything they import.
//!
//! Files are written atomically (see `schema::write_atomically`).

use std::path::{Component, Path, PathBuf};

use prost_reflect::FileDescriptor;

use super::{SchemaError, Symbol, encode_set, proto_text};

#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", .path.display())]
pub struct ExportError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The files defining `symbols` and all they import, dependencies first, each once.
pub fn files_of(symbols: &[Symbol]) -> Vec<FileDescriptor> {
    super::dependencies_first(symbols.iter().map(Symbol::parent_file))
}

/// Writes `files` as one FileDescriptorSet, custom options included.
pub fn write_protoset(path: &Path, files: &[FileDescriptor]) -> Result<(), ExportError> {
    let bytes = encode_set(files.iter().map(FileDescriptor::encode_to_vec));
    write_atomically(path, &bytes)
}

/// Writes each of `files` as proto source under `dir`, at its import path.
pub fn write_proto_sources(
    dir: &Path,
    files: &[FileDescriptor],
) -> Result<Vec<PathBuf>, SchemaError> {
    let mut written = Vec::new();
    for file in files {
        let relative = Path::new(file.name());
        // A file name from a server must not escape the directory.
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(SchemaError::BadDescriptor(format!(
                "the file name `{}` is not a relative import path",
                file.name()
            )));
        }
        let path = dir.join(relative);
        write_atomically(&path, proto_text::file(file).as_bytes()).map_err(SchemaError::Export)?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `bytes` to `path` atomically (a document such as `grpcx openapi --output`'s).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    write_atomically(path, bytes)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    super::write_atomically(path, bytes, true).map_err(|source| ExportError {
        path: path.to_path_buf(),
        source,
    })
}
