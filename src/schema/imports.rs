//! Imports that a server's files forget to declare.
//!
//! Some reflection services send files whose `dependency` lists are empty although their types
//! use names from other files. @grpc/reflection 1.0.4 (grpc-node) serves the files that
//! @grpc/proto-loader regroups one per package (`interop_v1.proto`, `google_protobuf.proto`):
//! `interop_v1.proto` uses `interop.v1.shared.Label` without importing `interop_v1_shared.proto`,
//! though the same answer carries that file (the interop suite's Node peer serves such files).
//! A strict pool refuses such a file with "name … is not defined", and so does grpcurl.
//!
//! When received files do not build, grpcx adds to each the import of the file, received or
//! already in the pool, that defines each name it uses and cannot see, then builds once more.
//! Nothing is invented: a name that no file defines still fails, with the first error.

use std::collections::HashMap;

use prost::Message as _;
use prost_reflect::DescriptorPool;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

/// Builds `files` with `build`; when that fails, adds the imports the files lack and builds
/// once more. The first error stands when nothing is missing or the second build fails too.
pub(crate) fn build_adding_missing<E>(
    pool: &DescriptorPool,
    files: Vec<Vec<u8>>,
    mut build: impl FnMut(Vec<Vec<u8>>) -> Result<(), E>,
) -> Result<(), E> {
    // Cheap: the files are a few kilobytes, and the copy is kept only for a second chance.
    let first = build(files.clone());
    match first {
        Err(err) => match add_missing(pool, &files) {
            Some(repaired) => build(repaired).map_err(|_| err),
            None => Err(err),
        },
        ok => ok,
    }
}

/// `files` with the imports they lack added, or `None` when none is missing or a file does not
/// decode.
pub(crate) fn add_missing(pool: &DescriptorPool, files: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    let mut protos = files
        .iter()
        .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).ok())
        .collect::<Option<Vec<_>>>()?;

    // Which file defines each message and enum, by full name without the leading dot.
    let mut defined: HashMap<String, String> = HashMap::new();
    for message in pool.all_messages() {
        defined.insert(
            message.full_name().to_string(),
            message.parent_file().name().to_string(),
        );
    }
    for enumeration in pool.all_enums() {
        defined.insert(
            enumeration.full_name().to_string(),
            enumeration.parent_file().name().to_string(),
        );
    }
    for file in &protos {
        let mut names = Vec::new();
        type_names(
            file.package(),
            &file.message_type,
            &file.enum_type,
            &mut names,
        );
        for name in names {
            defined.insert(name, file.name().to_string());
        }
    }

    let mut added = false;
    for file in &mut protos {
        let mut references = Vec::new();
        collect_references(file, &mut references);
        for (scope, reference) in references {
            let Some(defining) = resolve(&defined, &scope, &reference) else {
                continue;
            };
            if defining != file.name() && !file.dependency.iter().any(|d| d == defining) {
                file.dependency.push(defining.to_string());
                added = true;
            }
        }
    }
    added.then(|| protos.iter().map(|file| file.encode_to_vec()).collect())
}

/// The full names of the messages and enums declared in `scope`, nested ones included.
fn type_names(
    scope: &str,
    messages: &[DescriptorProto],
    enums: &[EnumDescriptorProto],
    out: &mut Vec<String>,
) {
    for enumeration in enums {
        out.push(join(scope, enumeration.name()));
    }
    for message in messages {
        let name = join(scope, message.name());
        type_names(&name, &message.nested_type, &message.enum_type, out);
        out.push(name);
    }
}

/// Every type name a file uses, with the scope it is written in.
fn collect_references(file: &FileDescriptorProto, out: &mut Vec<(String, String)>) {
    fn visit(scope: &str, message: &DescriptorProto, out: &mut Vec<(String, String)>) {
        let scope = join(scope, message.name());
        for field in message.field.iter().chain(&message.extension) {
            for name in [field.type_name(), field.extendee()] {
                if !name.is_empty() {
                    out.push((scope.clone(), name.to_string()));
                }
            }
        }
        for nested in &message.nested_type {
            visit(&scope, nested, out);
        }
    }
    let package = file.package();
    for m in &file.message_type {
        visit(package, m, out);
    }
    for field in &file.extension {
        for name in [field.type_name(), field.extendee()] {
            if !name.is_empty() {
                out.push((package.to_string(), name.to_string()));
            }
        }
    }
    for service in &file.service {
        let scope = join(package, service.name());
        for method in &service.method {
            for name in [method.input_type(), method.output_type()] {
                if !name.is_empty() {
                    out.push((scope.clone(), name.to_string()));
                }
            }
        }
    }
}

/// The file defining `reference` as written in `scope`: a leading dot means fully qualified,
/// anything else is looked up from the innermost scope outwards, as protoc does.
fn resolve<'a>(
    defined: &'a HashMap<String, String>,
    scope: &str,
    reference: &str,
) -> Option<&'a str> {
    if let Some(full) = reference.strip_prefix('.') {
        return defined.get(full).map(String::as_str);
    }
    let mut scope = scope;
    loop {
        if let Some(file) = defined.get(&join(scope, reference)) {
            return Some(file);
        }
        if scope.is_empty() {
            return None;
        }
        scope = scope.rfind('.').map_or("", |dot| &scope[..dot]);
    }
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use prost_types::field_descriptor_proto::Type;
    use prost_types::{FieldDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto};

    fn field(name: &str, number: i32, type_name: &str) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            r#type: Some(Type::Message as i32),
            type_name: Some(type_name.into()),
            ..Default::default()
        }
    }

    fn message(name: &str, fields: Vec<FieldDescriptorProto>) -> DescriptorProto {
        DescriptorProto {
            name: Some(name.into()),
            field: fields,
            ..Default::default()
        }
    }

    /// The shape @grpc/reflection 1.0.4 sends: one file a package, relative names, no imports.
    fn regrouped() -> Vec<FileDescriptorProto> {
        let shared = FileDescriptorProto {
            name: Some("app_v1_shared.proto".into()),
            package: Some("app.v1.shared".into()),
            message_type: vec![message("Label", vec![])],
            syntax: Some("proto3".into()),
            ..Default::default()
        };
        let service = FileDescriptorProto {
            name: Some("app_v1.proto".into()),
            package: Some("app.v1".into()),
            message_type: vec![
                message("Request", vec![field("label", 1, "shared.Label")]),
                message(
                    "Reply",
                    vec![field("stamp", 1, "google.protobuf.Timestamp")],
                ),
            ],
            service: vec![ServiceDescriptorProto {
                name: Some("Api".into()),
                method: vec![MethodDescriptorProto {
                    name: Some("Call".into()),
                    input_type: Some(".app.v1.Request".into()),
                    output_type: Some("Reply".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            syntax: Some("proto3".into()),
            ..Default::default()
        };
        vec![service, shared]
    }

    fn encoded(files: &[FileDescriptorProto]) -> Vec<Vec<u8>> {
        files.iter().map(|f| f.encode_to_vec()).collect()
    }

    fn build(pool: &DescriptorPool, files: Vec<Vec<u8>>) -> Result<DescriptorPool, String> {
        let mut pool = pool.clone();
        pool.decode_file_descriptor_set(super::super::encode_set(files).as_slice())
            .map_err(|err| err.to_string())?;
        Ok(pool)
    }

    #[test]
    fn files_without_their_imports_build_once_the_imports_are_added() {
        let mut pool = DescriptorPool::new();
        pool.add_file_descriptor_proto(prost_types::FileDescriptorProto {
            name: Some("google/protobuf/timestamp.proto".into()),
            package: Some("google.protobuf".into()),
            message_type: vec![message("Timestamp", vec![])],
            syntax: Some("proto3".into()),
            ..Default::default()
        })
        .unwrap();
        let files = encoded(&regrouped());
        let refused = build(&pool, files.clone()).unwrap_err();
        assert!(refused.contains("not defined"), "{refused}");

        let repaired = add_missing(&pool, &files).unwrap();
        let built = build(&pool, repaired).unwrap();
        let service = built.get_file_by_name("app_v1.proto").unwrap();
        let mut imports: Vec<String> = service.dependencies().map(|f| f.name().into()).collect();
        imports.sort();
        assert_eq!(
            imports,
            ["app_v1_shared.proto", "google/protobuf/timestamp.proto"]
        );
        let request = built.get_message_by_name("app.v1.Request").unwrap();
        let label = request.get_field_by_name("label").unwrap();
        assert_eq!(
            label.kind().as_message().unwrap().full_name(),
            "app.v1.shared.Label"
        );
    }

    #[test]
    fn a_name_no_file_defines_is_left_to_fail() {
        let mut files = regrouped();
        files.pop();
        let files = encoded(&files);
        // Timestamp is unknown too: nothing to add, nothing invented.
        assert!(add_missing(&DescriptorPool::new(), &files).is_none());
    }

    #[test]
    fn names_resolve_from_the_innermost_scope_outwards() {
        let defined: HashMap<String, String> = [
            ("a.b.T".to_string(), "inner.proto".to_string()),
            ("a.T".to_string(), "outer.proto".to_string()),
            ("T".to_string(), "root.proto".to_string()),
        ]
        .into();
        assert_eq!(resolve(&defined, "a.b.M", "T"), Some("inner.proto"));
        assert_eq!(resolve(&defined, "a.M", "T"), Some("outer.proto"));
        assert_eq!(resolve(&defined, "x", "T"), Some("root.proto"));
        assert_eq!(resolve(&defined, "a.b.M", ".a.T"), Some("outer.proto"));
        assert_eq!(resolve(&defined, "a.b.M", "b.T"), Some("inner.proto"));
        assert_eq!(resolve(&defined, "a.b.M", ".U"), None);
    }
}
