//! The descriptor cache: what reflection fetched from a server, kept on disk so that the next
//! call in a shell loop skips the reflection round trips.
//!
//! One file per server and reflection headers, in the user's cache directory
//! (`$GRPCX_CACHE_DIR`, else `grpcx/` under `$XDG_CACHE_HOME` or `~/.cache`). An entry is used
//! only while it is younger than the TTL. A symbol the entry lacks, or UNIMPLEMENTED for a
//! method it has, makes grpcx drop it and ask the server again (see `Schema`). Writes are
//! atomic (a temporary file renamed into place), so concurrent grpcx processes never read half
//! a file, and a file that does not decode is ignored and replaced. What a cache cannot see:
//! a server restarted with, say, a renumbered field under the same names, within the TTL;
//! `--no-cache` or `grpcx cache clear` are the answer then.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;

use super::reflection::Version;
use crate::transport::{ConnectOptions, Header};

/// Bumped when the entry format changes; older entries are then ignored.
const FORMAT: u32 = 2;

#[derive(Clone, PartialEq, Message)]
struct Entry {
    #[prost(uint32, tag = "1")]
    format: u32,
    /// What the entry is for, in words, to tell a hash collision from a hit.
    #[prost(string, tag = "2")]
    key: String,
    #[prost(uint64, tag = "3")]
    written_unix_millis: u64,
    #[prost(string, repeated, tag = "4")]
    services: Vec<String>,
    /// Encoded FileDescriptorProtos, custom options included.
    #[prost(bytes = "vec", repeated, tag = "5")]
    files: Vec<Vec<u8>>,
    /// Whether `services` is the server's list (a run that never listed leaves it empty).
    #[prost(bool, tag = "6")]
    services_listed: bool,
    /// What each of `files` defines and imports, in the same order, so that a call builds
    /// only the files it needs without decoding the others.
    #[prost(message, repeated, tag = "7")]
    index: Vec<FileIndex>,
    /// The reflection version the server answered: 0 unknown, 1 v1, 2 v1alpha.
    #[prost(uint32, tag = "8")]
    reflection_version: u32,
}

#[derive(Clone, PartialEq, Message)]
struct FileIndex {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, repeated, tag = "2")]
    dependencies: Vec<String>,
    #[prost(string, repeated, tag = "3")]
    symbols: Vec<String>,
}

/// One cached file: its encoded FileDescriptorProto and what it defines and imports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CachedFile {
    pub name: String,
    pub dependencies: Vec<String>,
    /// The fully-qualified names of its top-level messages, enums, services and extensions.
    pub symbols: Vec<String>,
    pub bytes: Vec<u8>,
}

impl CachedFile {
    /// The entry for `file`, without its comments and custom options: only calls (and
    /// completions) read the cache and they read neither, while comments are often the larger
    /// part of a file's descriptor, and decoding them a large part of building its schema.
    pub fn of(file: &prost_reflect::FileDescriptor) -> CachedFile {
        let mut proto = file.file_descriptor_proto().clone();
        proto.source_code_info = None;
        let symbols = file
            .messages()
            .map(|m| m.full_name().to_string())
            .chain(file.enums().map(|e| e.full_name().to_string()))
            .chain(file.services().map(|s| s.full_name().to_string()))
            .chain(file.extensions().map(|e| e.full_name().to_string()))
            .collect();
        CachedFile {
            name: file.name().to_string(),
            dependencies: file.dependencies().map(|d| d.name().to_string()).collect(),
            symbols,
            bytes: proto.encode_to_vec(),
        }
    }
}

/// A server's schema as cached.
#[derive(Debug, Clone, Default)]
pub struct Cached {
    /// The services the server listed, when it was asked.
    pub services: Option<Vec<String>>,
    pub files: Vec<CachedFile>,
    /// The reflection version the server answered, when known.
    pub version: Option<Version>,
}

/// The files of a cache entry not yet built into the schema's pool: a call builds only the
/// file that defines its method and that file's imports, as reflection would fetch them.
#[derive(Debug, Default)]
pub struct Unbuilt {
    files: std::collections::HashMap<String, CachedFile>,
    /// Top-level symbol → the file that defines it.
    definitions: std::collections::HashMap<String, String>,
}

impl Unbuilt {
    pub fn new(files: Vec<CachedFile>) -> Unbuilt {
        let mut unbuilt = Unbuilt::default();
        for file in files {
            for symbol in &file.symbols {
                unbuilt
                    .definitions
                    .insert(symbol.clone(), file.name.clone());
            }
            unbuilt.files.insert(file.name.clone(), file);
        }
        unbuilt
    }

    /// Takes out the file that defines `symbol` (or its parent: `pkg.Service.Method` is in the
    /// file of `pkg.Service`) and the imports of it that `built` lacks, imports first. None
    /// when the entry does not know the symbol, or lacks an import.
    pub fn take_for(
        &mut self,
        symbol: &str,
        built: &prost_reflect::DescriptorPool,
    ) -> Option<Vec<Vec<u8>>> {
        let mut scope = symbol;
        let file = loop {
            if let Some(file) = self.definitions.get(scope) {
                break file.clone();
            }
            scope = scope.rsplit_once('.')?.0;
        };
        let mut ordered = Vec::new();
        let mut seen = std::collections::HashSet::new();
        self.order(&file, built, &mut seen, &mut ordered)?;
        Some(
            ordered
                .iter()
                .filter_map(|name| self.files.remove(name))
                .map(|file| file.bytes)
                .collect(),
        )
    }

    /// Appends `name` and its imports that `built` lacks to `ordered`, imports first.
    fn order(
        &self,
        name: &str,
        built: &prost_reflect::DescriptorPool,
        seen: &mut std::collections::HashSet<String>,
        ordered: &mut Vec<String>,
    ) -> Option<()> {
        if built.get_file_by_name(name).is_some() || !seen.insert(name.to_string()) {
            return Some(());
        }
        let file = self.files.get(name)?;
        for dependency in &file.dependencies {
            self.order(dependency, built, seen, ordered)?;
        }
        ordered.push(name.to_string());
        Some(())
    }
}

/// The cache entry of one server.
#[derive(Debug, Clone)]
pub struct Cache {
    path: PathBuf,
    key: String,
    ttl: Duration,
}

/// What a cached schema depends on: the server, how it is reached, and the reflection
/// metadata (hashed, since it may hold secrets; the entry keeps the key in clear).
pub fn key(connect: &ConnectOptions, reflect_headers: &[Header]) -> String {
    let headers: Vec<u8> = reflect_headers
        .iter()
        .flat_map(|header| [header.to_string().into_bytes(), vec![b'\n']])
        .flatten()
        .collect();
    format!(
        "{} authority={} tls={} headers={:016x}",
        connect.target,
        connect.authority.as_deref().unwrap_or(""),
        connect.tls.is_some(),
        stable_hash(&headers)
    )
}

/// A 64-bit FNV-1a hash: the same for the same bytes on every build, as a file name that
/// other grpcx versions find again must be (std's `DefaultHasher` may change between Rust
/// releases).
fn stable_hash(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}

/// The cache directory.
pub fn dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GRPCX_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::cache_dir().map(|dir| dir.join("grpcx"))
}

/// Removes every entry; returns how many there were.
pub fn clear(dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "schema") {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

impl Cache {
    /// The entry for `key` (the server and what changes its answers) in `dir`.
    pub fn new(dir: &Path, key: String, ttl: Duration) -> Cache {
        Cache {
            path: dir.join(format!("{:016x}.schema", stable_hash(key.as_bytes()))),
            key,
            ttl,
        }
    }

    /// The entry, when there is a fresh and readable one.
    pub fn load(&self) -> Option<Cached> {
        let bytes = std::fs::read(&self.path).ok()?;
        let entry = Entry::decode(bytes.as_slice()).ok()?;
        let age = u128::from(now_millis().saturating_sub(entry.written_unix_millis));
        let expired = self.ttl.is_zero() || age > self.ttl.as_millis();
        if entry.format != FORMAT
            || entry.key != self.key
            || expired
            || entry.index.len() != entry.files.len()
        {
            return None;
        }
        let files = entry
            .index
            .into_iter()
            .zip(entry.files)
            .map(|(index, bytes)| CachedFile {
                name: index.name,
                dependencies: index.dependencies,
                symbols: index.symbols,
                bytes,
            })
            .collect();
        let version = match entry.reflection_version {
            1 => Some(Version::V1),
            2 => Some(Version::V1Alpha),
            _ => None,
        };
        Some(Cached {
            services: entry.services_listed.then_some(entry.services),
            files,
            version,
        })
    }

    /// Replaces the entry, atomically. Failing to cache is never an error for the command.
    pub fn store(&self, cached: Cached) {
        let entry = Entry {
            format: FORMAT,
            key: self.key.clone(),
            written_unix_millis: now_millis(),
            services_listed: cached.services.is_some(),
            reflection_version: match cached.version {
                None => 0,
                Some(Version::V1) => 1,
                Some(Version::V1Alpha) => 2,
            },
            services: cached.services.unwrap_or_default(),
            index: cached
                .files
                .iter()
                .map(|file| FileIndex {
                    name: file.name.clone(),
                    dependencies: file.dependencies.clone(),
                    symbols: file.symbols.clone(),
                })
                .collect(),
            files: cached.files.into_iter().map(|file| file.bytes).collect(),
        };
        let _ = super::write_atomically(&self.path, &entry.encode_to_vec(), false);
    }

    /// Drops the entry.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_of_a_key_never_changes() {
        // FNV-1a's published test vectors: file names stay the same across builds.
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn entries_round_trip_expire_and_survive_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), "127.0.0.1:1".into(), Duration::from_secs(60));
        assert!(cache.load().is_none());
        let file = CachedFile {
            name: "a.proto".into(),
            dependencies: vec!["b.proto".into()],
            symbols: vec!["a.B".into()],
            bytes: vec![1, 2, 3],
        };
        cache.store(Cached {
            services: Some(vec!["a.B".into()]),
            files: vec![file.clone()],
            version: Some(Version::V1Alpha),
        });
        let cached = cache.load().unwrap();
        assert_eq!(cached.services, Some(vec!["a.B".to_string()]));
        assert_eq!(cached.files, [file]);
        assert_eq!(cached.version, Some(Version::V1Alpha));

        let other = Cache::new(dir.path(), "127.0.0.1:2".into(), Duration::from_secs(60));
        assert!(other.load().is_none(), "another server has its own entry");

        let expired = Cache::new(dir.path(), "127.0.0.1:1".into(), Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        assert!(expired.load().is_none());
        let never = Cache::new(dir.path(), "127.0.0.1:1".into(), Duration::ZERO);
        assert!(never.load().is_none(), "a zero TTL never uses the cache");

        std::fs::write(&cache.path, b"\xff\xff\xff garbage").unwrap();
        assert!(cache.load().is_none(), "a corrupt entry is ignored");
        cache.store(Cached::default());
        assert_eq!(cache.load().unwrap().services, None, "and replaced");

        assert_eq!(clear(dir.path()).unwrap(), 1);
        assert!(cache.load().is_none());
    }
}
