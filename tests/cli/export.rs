//! Export round trips: the schema grpcx writes compiles back to what it read, and the JSON
//! template it prints is a request `call` accepts.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message as _;
use prost_types::{FileDescriptorProto, FileDescriptorSet};

use crate::support::{TestServer, run};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Files by name, without source info (comments and spans are not part of the schema), and
/// with empty options as no options (the two mean the same; protox's copies of the well-known
/// files carry empty option messages where their options use fields prost_types lacks).
fn normalized(set: FileDescriptorSet) -> BTreeMap<String, FileDescriptorProto> {
    fn clear<T: Default + PartialEq>(options: &mut Option<T>) {
        if options.as_ref() == Some(&T::default()) {
            *options = None;
        }
    }
    fn enumeration(e: &mut prost_types::EnumDescriptorProto) {
        clear(&mut e.options);
        e.value.iter_mut().for_each(|v| clear(&mut v.options));
    }
    fn message(m: &mut prost_types::DescriptorProto) {
        clear(&mut m.options);
        m.field
            .iter_mut()
            .chain(m.extension.iter_mut())
            .for_each(|f| clear(&mut f.options));
        m.oneof_decl.iter_mut().for_each(|o| clear(&mut o.options));
        m.extension_range
            .iter_mut()
            .for_each(|r| clear(&mut r.options));
        m.nested_type.iter_mut().for_each(message);
        m.enum_type.iter_mut().for_each(enumeration);
    }
    set.file
        .into_iter()
        .map(|mut file| {
            file.source_code_info = None;
            clear(&mut file.options);
            file.message_type.iter_mut().for_each(message);
            file.enum_type.iter_mut().for_each(enumeration);
            file.extension
                .iter_mut()
                .for_each(|f| clear(&mut f.options));
            for service in &mut file.service {
                clear(&mut service.options);
                service
                    .method
                    .iter_mut()
                    .for_each(|m| clear(&mut m.options));
            }
            (file.name().to_string(), file)
        })
        .collect()
}

fn compile(root: &Path, files: &[&str]) -> FileDescriptorSet {
    let mut compiler = protox::Compiler::new([root]).unwrap();
    compiler.include_imports(true);
    compiler.open_files(files).unwrap();
    compiler.file_descriptor_set()
}

#[test]
fn proto_sources_compile_back_to_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("schema");
    let protoset = dir.path().join("store.protoset");
    run(
        &args(&[
            "--proto",
            "acme/store/v1/store.proto",
            "--import-path",
            "fixtures/rich",
            "describe",
            "acme.store.v1.StoreService",
            "--proto-out-dir",
            &out.display().to_string(),
            "--protoset-out",
            &protoset.display().to_string(),
        ]),
        None,
    )
    .ok();

    let original = normalized(compile(
        Path::new("fixtures/rich"),
        &["acme/store/v1/store.proto"],
    ));
    let exported = std::fs::read(&protoset).unwrap();
    let exported = normalized(FileDescriptorSet::decode(exported.as_slice()).unwrap());
    assert_eq!(
        exported, original,
        "the protoset holds the files and all they import"
    );

    let names: Vec<&str> = original.keys().map(String::as_str).collect();
    let recompiled = normalized(compile(&out, &names));
    for (name, file) in &original {
        let again = recompiled
            .get(name)
            .unwrap_or_else(|| panic!("{name} is missing"));
        if again != file {
            let (a, b) = (format!("{file:#?}"), format!("{again:#?}"));
            let first = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            let context = |text: &str| {
                text.lines()
                    .skip(first.saturating_sub(12))
                    .take(16)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            panic!(
                "{name} compiles back differently; read:\n{}\nwritten back:\n{}",
                context(&a),
                context(&b)
            );
        }
    }

    // Custom options survive as source.
    let store = std::fs::read_to_string(out.join("acme/store/v1/store.proto")).unwrap();
    assert!(
        store.contains(r#"option (acme.options.route) = { get: "/v1/products/{id}" };"#),
        "{store}"
    );
    assert!(
        store.contains("string secret = 3 [(acme.options.sensitive) = true];"),
        "{store}"
    );
}

#[test]
fn a_protoset_from_reflection_serves_a_server_without_reflection() {
    let with_reflection = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let protoset = dir.path().join("demo.protoset").display().to_string();
    let out = dir.path().join("src").display().to_string();
    with_reflection
        .grpcx(&[
            "call",
            "ItemService/GetItem",
            r#"{"id":1}"#,
            "--protoset-out",
            &protoset,
            "--proto-out-dir",
            &out,
        ])
        .ok();

    let without = TestServer::start_options(grpcx::demo::ServeOptions {
        reflection: grpcx::demo::ReflectionVersions::None,
        ..Default::default()
    });
    let got = without.grpcx(&[
        "--protoset",
        &protoset,
        "call",
        "ItemService/GetItem",
        r#"{"id":2}"#,
    ]);
    got.ok();
    assert_eq!(got.json_lines()[0]["id"], "2");
    // The demo's file is item_service.proto at the root of its import path.
    let got = without.grpcx(&[
        "--proto",
        "item_service.proto",
        "--import-path",
        &out,
        "call",
        "ItemService/ListItems",
        r#"{"limit":1}"#,
    ]);
    got.ok();
    assert_eq!(got.json_lines().len(), 1);
}

#[test]
fn the_template_is_a_valid_request() {
    let server = TestServer::start();
    for method in [
        "ItemService/GetItem",
        "ItemService/ListItems",
        "ItemService/CreateItems",
        "ItemService/SyncItems",
    ] {
        let template = server.grpcx(&["describe", "--template", method]);
        let text = template.ok().to_string();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value.is_object(), "{text}");
        // Every field is there, in declaration order.
        if method.ends_with("CreateItems") {
            let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                [
                    "id",
                    "name",
                    "category",
                    "price",
                    "tags",
                    "attributes",
                    "createdAt",
                    "dimensions"
                ]
            );
        }
    }
    // The CreateItems template needs a name to be stored; everything else is accepted as is.
    let template = server.grpcx(&["describe", "--template", "ItemService/GetItem"]);
    let got = server.grpcx(&["call", "ItemService/GetItem", template.ok()]);
    got.fails(69, &["no item with id 0"]);
    let template = server.grpcx(&["describe", "--template", "ItemService/ListItems"]);
    server
        .grpcx(&["call", "ItemService/ListItems", template.ok()])
        .ok();
    let template = server.grpcx(&["describe", "--template", "grpcx.demo.v1.SyncRequest"]);
    let got = server.grpcx(&["call", "ItemService/SyncItems", template.ok()]);
    got.fails(67, &["INVALID_ARGUMENT", "has no name"]);

    server
        .grpcx(&["describe", "--template", "Category"])
        .fails(1, &["not a message or a method"]);
}

#[test]
fn list_long_shows_kinds_and_types() {
    let server = TestServer::start();
    let got = server.grpcx(&["list", "--long", "ItemService"]);
    let lines: Vec<String> = got
        .ok()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "grpcx.demo.v1.ItemService.GetItem unary grpcx.demo.v1.GetItemRequest -> grpcx.demo.v1.Item",
            "grpcx.demo.v1.ItemService.ListItems server streaming grpcx.demo.v1.ListItemsRequest -> grpcx.demo.v1.Item",
            "grpcx.demo.v1.ItemService.CreateItems client streaming grpcx.demo.v1.Item -> grpcx.demo.v1.CreateItemsSummary",
            "grpcx.demo.v1.ItemService.SyncItems bidirectional streaming grpcx.demo.v1.SyncRequest -> grpcx.demo.v1.SyncResponse",
        ]
    );
    let all = server.grpcx(&["list", "-l"]);
    assert!(
        all.ok().contains("grpc.health.v1.Health.Watch"),
        "{}",
        all.stdout
    );
    // One spelling: the names `list SERVICE` prints, as grpcurl prints them.
    let short = server.grpcx(&["list", "ItemService"]);
    let names: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(short.ok().lines().collect::<Vec<_>>(), names);
}

#[test]
fn exported_files_get_the_permissions_any_new_file_gets() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let protoset = dir.path().join("items.protoset");
    let sources = dir.path().join("sources");
    server
        .grpcx(&[
            "describe",
            "ItemService",
            "--protoset-out",
            protoset.to_str().unwrap(),
            "--proto-out-dir",
            sources.to_str().unwrap(),
        ])
        .ok();
    // What the umask gives a file made the usual way, beside them.
    let usual = dir.path().join("usual");
    std::fs::write(&usual, b"").unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&protoset), mode(&usual));
    assert_eq!(mode(&sources.join("item_service.proto")), mode(&usual));
}
