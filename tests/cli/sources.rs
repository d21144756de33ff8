//! Every schema source against the demo server: reflection v1 and the v1alpha fallback,
//! `.proto` files with imports, protosets, and files combined with reflection.

use grpcx::demo::{ReflectionVersions, ServeOptions};
use prost::Message as _;

use crate::support::{TestServer, run};

const DEMO_PROTO: &str = "proto/item_service.proto";
const SPLIT_ROOT: &str = "fixtures/split";
const SPLIT_SERVICE: &str = "grpcx/demo/v1/service.proto";

fn server_without_reflection() -> TestServer {
    TestServer::start_options(ServeOptions {
        reflection: ReflectionVersions::None,
        ..ServeOptions::default()
    })
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A protoset of the split fixture, compiled by protox as `protoc --include_imports` would.
fn split_protoset(dir: &std::path::Path, include_imports: bool) -> String {
    let mut compiler = protox::Compiler::new([SPLIT_ROOT]).unwrap();
    compiler.include_imports(include_imports);
    compiler.open_file(SPLIT_SERVICE).unwrap();
    let path = dir.join(if include_imports {
        "split.protoset"
    } else {
        "bare.protoset"
    });
    std::fs::write(&path, compiler.file_descriptor_set().encode_to_vec()).unwrap();
    path.display().to_string()
}

#[test]
fn without_reflection_and_without_files_the_error_says_what_to_give() {
    let server = server_without_reflection();
    server.grpcx(&["list"]).fails(
        1,
        &[
            "does not support server reflection",
            "--proto",
            "--protoset",
        ],
    );
}

#[test]
fn proto_files_call_every_kind_on_a_server_without_reflection() {
    let server = server_without_reflection();
    let unary = server.grpcx(&[
        "--proto",
        DEMO_PROTO,
        "call",
        "ItemService/GetItem",
        r#"{"id":1}"#,
    ]);
    unary.ok();
    assert_eq!(unary.json_lines()[0]["name"], "Claw hammer");

    let stream = server.grpcx(&[
        "--proto",
        DEMO_PROTO,
        "call",
        "ItemService/ListItems",
        r#"{"limit":2}"#,
    ]);
    stream.ok();
    assert_eq!(stream.json_lines().len(), 2);

    let client = server.grpcx(&[
        "--proto",
        DEMO_PROTO,
        "call",
        "ItemService/CreateItems",
        r#"{"name":"a"} {"name":"b"}"#,
    ]);
    client.ok();
    assert_eq!(client.json_lines()[0]["count"], 2);

    let bidi = server.grpcx(&[
        "--proto",
        DEMO_PROTO,
        "call",
        "ItemService/SyncItems",
        r#"{"getId":1} {"getId":99}"#,
    ]);
    bidi.ok();
    let outcomes: Vec<_> = bidi
        .json_lines()
        .iter()
        .map(|v| v["outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["OUTCOME_FOUND", "OUTCOME_NOT_FOUND"]);

    assert!(
        server
            .log
            .calls()
            .iter()
            .all(|c| !c.service.contains("reflection")),
        "no reflection was attempted: {:?}",
        server.log.calls()
    );
}

#[test]
fn proto_trees_with_imports_and_an_import_path() {
    let server = server_without_reflection();
    let got = server.grpcx(&[
        "--proto",
        SPLIT_SERVICE,
        "--import-path",
        SPLIT_ROOT,
        "call",
        "grpcx.demo.v1.ItemService/GetItem",
        r#"{"id":2}"#,
    ]);
    got.ok();
    assert_eq!(
        got.json_lines()[0]["price"]["currencyCode"],
        "EUR",
        "Money from an imported file"
    );

    // list and describe need no server at all with files.
    let offline = run(
        &args(&[
            "--addr",
            "127.0.0.1:1",
            "--proto",
            SPLIT_SERVICE,
            "--import-path",
            SPLIT_ROOT,
            "describe",
            "Money",
        ]),
        None,
    );
    assert!(
        offline
            .ok()
            .contains("// grpcx.demo.v1.Money is a message in grpcx/demo/v1/money.proto"),
        "{offline:#?}"
    );
    let offline = run(
        &args(&[
            "--addr",
            "127.0.0.1:1",
            "--proto",
            SPLIT_SERVICE,
            "--import-path",
            SPLIT_ROOT,
            "list",
            "ItemService",
        ]),
        None,
    );
    assert_eq!(offline.ok().lines().count(), 4);
}

#[test]
fn compiler_errors_name_the_file_line_and_column() {
    run(
        &args(&["--proto", "fixtures/broken/syntax_error.proto", "list"]),
        None,
    )
    .fails(
        1,
        &["fixtures/broken/syntax_error.proto:7:3:", "expected ';'"],
    );
    run(
        &args(&["--proto", "fixtures/broken/missing_import.proto", "list"]),
        None,
    )
    .fails(
        1,
        &[
            "missing_import.proto:5:1:",
            "not/there.proto",
            "--import-path",
        ],
    );
    run(
        &args(&[
            "--proto",
            "fixtures/split/grpcx/demo/v1/service.proto",
            "list",
        ]),
        None,
    )
    .fails(
        1,
        &["grpcx/demo/v1/catalog.proto", "not found", "--import-path"],
    );
    run(
        &args(&["--proto", "fixtures/nothing_here.proto", "list"]),
        None,
    )
    .fails(1, &["nothing_here.proto"]);
}

#[test]
fn protosets_call_the_server_and_must_carry_their_imports() {
    let server = server_without_reflection();
    let dir = tempfile::tempdir().unwrap();
    let protoset = split_protoset(dir.path(), true);
    let got = server.grpcx(&[
        "--protoset",
        &protoset,
        "call",
        "ItemService/ListItems",
        r#"{"category":"CATEGORY_BOOK"}"#,
    ]);
    got.ok();
    assert_eq!(got.json_lines()[0]["name"], "The Rust Programming Language");

    let bare = split_protoset(dir.path(), false);
    server
        .grpcx(&["--protoset", &bare, "list"])
        .fails(1, &["not usable", "--include_imports"]);

    std::fs::write(
        dir.path().join("junk.protoset"),
        b"\xff\xff not a descriptor",
    )
    .unwrap();
    server
        .grpcx(&[
            "--protoset",
            &dir.path().join("junk.protoset").display().to_string(),
            "list",
        ])
        .fails(1, &["not a FileDescriptorSet"]);
}

#[test]
fn a_v1alpha_only_server_is_served_through_the_fallback() {
    let server = TestServer::start_options(ServeOptions {
        reflection: ReflectionVersions::V1alpha,
        ..ServeOptions::default()
    });
    let listed = server.grpcx(&["list"]);
    assert!(listed.ok().contains("grpcx.demo.v1.ItemService"));
    let got = server.grpcx(&["call", "ItemService/GetItem", r#"{"id":3}"#, "-v"]);
    got.ok();
    assert_eq!(got.json_lines()[0]["name"], "Espresso beans");
    assert!(
        got.stderr
            .contains("* schema: server reflection (grpc.reflection.v1alpha"),
        "{}",
        got.stderr
    );
    // From the cache, the version it was fetched with.
    let cached = server.grpcx(&["call", "ItemService/GetItem", r#"{"id":3}"#, "-v"]);
    cached.ok();
    assert!(
        cached
            .stderr
            .contains("(grpc.reflection.v1alpha: the server lacks v1), from the cache\n"),
        "{}",
        cached.stderr
    );

    let got = TestServer::start().grpcx(&["call", "ItemService/GetItem", r#"{"id":3}"#, "-v"]);
    assert!(
        got.stderr
            .contains("* schema: server reflection (grpc.reflection.v1)"),
        "{}",
        got.stderr
    );
}

#[test]
fn use_reflection_with_files_takes_either() {
    // Reflection answers, the files are there for what it lacks.
    let server = TestServer::start();
    let got = server.grpcx(&[
        "--proto",
        DEMO_PROTO,
        "--use-reflection",
        "call",
        "ItemService/GetItem",
        r#"{"id":1}"#,
        "-v",
    ]);
    got.ok();
    assert!(
        got.stderr.contains("* schema: server reflection"),
        "{}",
        got.stderr
    );

    // No reflection on the server: the files serve.
    let server = server_without_reflection();
    let got = server.grpcx(&[
        "--proto",
        DEMO_PROTO,
        "--use-reflection",
        "call",
        "ItemService/GetItem",
        r#"{"id":1}"#,
        "-v",
    ]);
    got.ok();
    assert!(
        got.stderr
            .contains("* schema: --proto / --protoset files (the server lacks reflection)"),
        "{}",
        got.stderr
    );
}

#[test]
fn a_broken_protoset_is_refused_like_a_broken_server_schema() {
    let dir = tempfile::tempdir().unwrap();
    // `describe odd.Thing` with a protoset of one file of this syntax.
    let describe = |syntax: &str| {
        let file = prost_types::FileDescriptorProto {
            name: Some("odd.proto".into()),
            package: Some("odd".into()),
            message_type: vec![prost_types::DescriptorProto {
                name: Some("Thing".into()),
                ..Default::default()
            }],
            syntax: Some(syntax.into()),
            ..Default::default()
        };
        let path = dir.path().join(format!("{syntax}.protoset"));
        let set = prost_types::FileDescriptorSet { file: vec![file] };
        std::fs::write(&path, set.encode_to_vec()).unwrap();
        let path = path.display().to_string();
        run(&args(&["--protoset", &path, "describe", "odd.Thing"]), None)
    };
    for syntax in ["editions", "proto4"] {
        let run = describe(syntax);
        run.fails(1, &["is not usable", &format!("syntax `{syntax}`")]);
        assert_eq!(run.stdout, "");
    }
    let run = describe("proto3");
    assert!(run.ok().contains("message Thing"), "{run:#?}");
}
