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

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;

/// Bumped when the entry format changes; older entries are then ignored.
const FORMAT: u32 = 1;

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
}

/// A server's schema as cached.
#[derive(Debug, Clone, Default)]
pub struct Cached {
    /// The services the server listed, when it was asked.
    pub services: Option<Vec<String>>,
    pub files: Vec<Vec<u8>>,
}

/// The cache entry of one server.
#[derive(Debug, Clone)]
pub struct Cache {
    path: PathBuf,
    key: String,
    ttl: Duration,
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
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        Cache {
            path: dir.join(format!("{:016x}.schema", hasher.finish())),
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
        if entry.format != FORMAT || entry.key != self.key || expired {
            return None;
        }
        Some(Cached {
            services: entry.services_listed.then_some(entry.services),
            files: entry.files,
        })
    }

    /// Replaces the entry, atomically. Failing to cache is never an error for the command.
    pub fn store(&self, cached: Cached) {
        let entry = Entry {
            format: FORMAT,
            key: self.key.clone(),
            written_unix_millis: now_millis(),
            services_listed: cached.services.is_some(),
            services: cached.services.unwrap_or_default(),
            files: cached.files,
        };
        let Some(dir) = self.path.parent() else {
            return;
        };
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| tempfile::NamedTempFile::new_in(dir))
            .and_then(|mut file| {
                file.write_all(&entry.encode_to_vec())?;
                file.persist(&self.path).map_err(|err| err.error)?;
                Ok(())
            });
        let _ = written;
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
    fn entries_round_trip_expire_and_survive_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), "127.0.0.1:1".into(), Duration::from_secs(60));
        assert!(cache.load().is_none());
        cache.store(Cached {
            services: Some(vec!["a.B".into()]),
            files: vec![vec![1, 2, 3]],
        });
        let cached = cache.load().unwrap();
        assert_eq!(cached.services, Some(vec!["a.B".to_string()]));
        assert_eq!(cached.files, [vec![1, 2, 3]]);

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
