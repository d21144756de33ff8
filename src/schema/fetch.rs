//! Bringing a server's files into the pool: the files of an answer, then every import they
//! lack, a whole level of imports per round trip, bounded in count and bytes, checked for
//! import cycles, and built (with the imports some servers forget, see `imports`).

use std::collections::{BTreeMap, HashMap, HashSet};

use prost::Message as _;
use prost_types::FileDescriptorProto;

use super::reflection::{Answer, RawFile};
use super::{Schema, SchemaError, builtin, imports, received};

/// A bound on how many files one schema may pull in, so that a hostile or broken server
/// cannot make grpcx fetch forever.
pub const MAX_FILES: usize = 10_000;

/// A bound on the bytes of descriptors one schema may pull in (the largest real schemas are a
/// few megabytes), so that a server cannot make grpcx hold gigabytes of them.
pub const MAX_SCHEMA_BYTES: usize = 64 << 20;

/// The files of one lookup on their way from the server into the pool.
#[derive(Default)]
struct Fetched {
    /// Each file received, by name, as the server sent it (custom options included).
    files: BTreeMap<String, Vec<u8>>,
    /// What each received file imports.
    imports: HashMap<String, Vec<String>>,
    /// Imports seen but not looked at yet.
    wanted: Vec<String>,
    /// Imports already asked for.
    asked: HashSet<String>,
}

impl Schema {
    /// Adds `files` from the server and every dependency they lack, asking for each missing
    /// one.
    pub(super) async fn add_files(&mut self, files: Vec<RawFile>) -> Result<(), SchemaError> {
        let mut fetched = Fetched::default();
        let mut pending = files;
        loop {
            self.receive(&mut fetched, std::mem::take(&mut pending))?;
            let (level, shipped) = self.missing_imports(&mut fetched);
            pending = shipped;
            if !level.is_empty() {
                let answered = self.ask_for_level(&fetched, &level).await?;
                pending.extend(answered);
            } else if pending.is_empty() {
                break;
            }
        }
        // prost-reflect builds files that import each other; protoc refuses them, and so
        // does grpcx, rather than print a schema that no compiler takes.
        if let Some(cycle) = import_cycle(&fetched.imports) {
            return Err(SchemaError::BadDescriptor(format!(
                "its files import each other in a cycle: {}",
                cycle.join(" -> ")
            )));
        }
        self.fetched = true;
        let before = self.pool.clone();
        imports::build_adding_missing(&before, fetched.files.into_values().collect(), |files| {
            self.add_to_pool(files, received::add_received)
        })
    }

    /// Takes in the files received, each name once, within the bounds on a schema.
    fn receive(&mut self, fetched: &mut Fetched, files: Vec<RawFile>) -> Result<(), SchemaError> {
        for file in files {
            let name = file.proto.name().to_string();
            if self.pool.get_file_by_name(&name).is_some() || fetched.files.contains_key(&name) {
                continue;
            }
            fetched.wanted.extend(file.proto.dependency.iter().cloned());
            fetched.imports.insert(name.clone(), file.proto.dependency);
            self.received_bytes = self.received_bytes.saturating_add(file.sent);
            fetched.files.insert(name, file.bytes);
            if fetched.files.len() + self.pool.files().len() > MAX_FILES {
                return Err(SchemaError::TooManyFiles);
            }
            if self.received_bytes > MAX_SCHEMA_BYTES {
                return Err(SchemaError::TooLarge);
            }
        }
        Ok(())
    }

    /// The imports still missing, to be asked for at once, and grpcx's own copies of the
    /// well-known types' files, which a call takes instead of asking: a round trip fewer.
    fn missing_imports(&self, fetched: &mut Fetched) -> (Vec<String>, Vec<RawFile>) {
        let mut level = Vec::new();
        let mut shipped = Vec::new();
        for name in std::mem::take(&mut fetched.wanted) {
            if self.pool.get_file_by_name(&name).is_some()
                || fetched.files.contains_key(&name)
                || !fetched.asked.insert(name.clone())
            {
                continue;
            }
            let own = builtin::well_known_file(&name).filter(|_| self.for_calls);
            match own.map(|bytes| (bytes, FileDescriptorProto::decode(bytes))) {
                Some((bytes, Ok(proto))) => shipped.push(RawFile {
                    proto,
                    bytes: bytes.to_vec(),
                    sent: 0,
                }),
                _ => level.push(name),
            }
        }
        (level, shipped)
    }

    /// Asks the server for a level of imports in one round trip; what it does not serve may
    /// come from the files given on the command line.
    async fn ask_for_level(
        &mut self,
        fetched: &Fetched,
        level: &[String],
    ) -> Result<Vec<RawFile>, SchemaError> {
        // Every file of the level is needed: too many is too many before asking.
        if fetched.files.len() + self.pool.files().len() + level.len() > MAX_FILES {
            return Err(SchemaError::TooManyFiles);
        }
        let budget = MAX_SCHEMA_BYTES.saturating_sub(self.received_bytes);
        let answers = match self.reflection.as_mut() {
            Some(reflection) => reflection.files_by_filename(level, budget).await?,
            None => level.iter().map(|_| Answer::NotFound).collect(),
        };
        let mut received = Vec::new();
        for (name, answer) in level.iter().zip(answers) {
            match answer {
                Answer::Files(files) => received.extend(files),
                Answer::NotFound => received.push(self.import_from_files(name)?),
            }
        }
        Ok(received)
    }

    /// An import the server does not serve, from the files given on the command line.
    fn import_from_files(&self, name: &str) -> Result<RawFile, SchemaError> {
        match self.files.as_ref().and_then(|f| f.get_file_by_name(name)) {
            Some(file) => Ok(RawFile {
                proto: file.file_descriptor_proto().clone(),
                bytes: file.encode_to_vec(),
                sent: 0,
            }),
            None => Err(SchemaError::BadDescriptor(format!(
                "the server does not serve `{name}`, which its schema imports"
            ))),
        }
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
