//! Bad input and unreachable servers: one clear line on stderr, a documented exit code,
//! nothing on stdout, never a panic or a hang.

use std::time::{Duration, Instant};

use crate::support::{LoopbackServer, TestServer, run};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn malformed_json_is_refused_before_anything_is_sent() {
    let server = TestServer::start();
    for bad in [r#"{"id": "#, "{id: 1}", "not json", r#"{"id": 1,}"#] {
        let run = server.grpcx(&["call", "ItemService/GetItem", bad]);
        run.fails(1, &["error: request message 1 is not valid JSON", "hint:"]);
        assert_eq!(run.stdout, "");
    }
    // The server saw reflection questions, and not one call of the method.
    let calls = server.log.calls();
    assert!(
        calls
            .iter()
            .any(|call| call.service.contains("ServerReflection")),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .all(|call| call.service != "grpcx.demo.v1.ItemService"),
        "a call was sent: {calls:?}"
    );
}

#[test]
fn malformed_json_in_a_stream_names_the_message_and_sends_nothing_half_parsed() {
    let server = TestServer::start();
    let run = server.grpcx_stdin(
        &["call", "ItemService/CreateItems"],
        "{\"name\": \"Fine\"}\n{\"name\": \n",
    );
    run.fails(1, &["request message 2 is not valid JSON"]);
    assert_eq!(run.stdout, "");
}

#[test]
fn an_unknown_field_names_the_field_and_the_message_type() {
    let server = TestServer::start();
    let run = server.grpcx(&["call", "ItemService/GetItem", r#"{"idd": 1}"#]);
    run.fails(1, &["idd", "grpcx.demo.v1.GetItemRequest"]);
    assert_eq!(run.stdout, "");
}

#[test]
fn a_wrong_type_is_refused() {
    let server = TestServer::start();
    server
        .grpcx(&["call", "ItemService/GetItem", r#"{"id": "one"}"#])
        .fails(1, &["does not fit grpcx.demo.v1.GetItemRequest"]);
}

#[test]
fn a_unary_method_refuses_several_requests() {
    let server = TestServer::start();
    server
        .grpcx(&["call", "ItemService/GetItem", r#"{"id": 1} {"id": 2}"#])
        .fails(1, &["takes one request message", "holds 2"]);
}

#[test]
fn an_unknown_method_suggests_the_closest() {
    let server = TestServer::start();
    server.grpcx(&["call", "ItemService/GetItm"]).fails(
        1,
        &[
            "no method `GetItm` in service grpcx.demo.v1.ItemService",
            "did you mean GetItem?",
        ],
    );
    server.grpcx(&["call", "ItemServic/GetItem"]).fails(
        1,
        &[
            "no service `ItemServic`",
            "did you mean grpcx.demo.v1.ItemService?",
        ],
    );
}

#[test]
fn an_ambiguous_method_lists_the_candidates() {
    let server = TestServer::start();
    server
        .grpcx(&["call", "ServerReflection/ServerReflectionInfo"])
        .fails(
            1,
            &[
                "`ServerReflection` is ambiguous",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ],
        );
    server.grpcx(&["call", "ServerReflectionInfo"]).fails(
        1,
        &[
            "ambiguous",
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        ],
    );
}

#[test]
fn a_missing_data_file_is_named() {
    let server = TestServer::start();
    server
        .grpcx(&["call", "ItemService/GetItem", "@/nonexistent/request.json"])
        .fails(1, &["cannot read /nonexistent/request.json"]);
}

#[test]
fn nothing_listening_is_connection_refused_quickly() {
    // Bind then drop a listener: the port is free and nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let run = run(
        &args(&["--addr", &format!("127.0.0.1:{port}"), "list"]),
        None,
    );
    run.fails(
        1,
        &[
            "cannot connect to 127.0.0.1:",
            "connection refused",
            "hint:",
        ],
    );
    assert_eq!(run.stdout, "");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_server_without_reflection_is_named_as_such() {
    let server = LoopbackServer::without_reflection();
    let run = run(&args(&["--addr", &server.addr.to_string(), "list"]), None);
    run.fails(1, &["does not support server reflection", "hint:"]);
}

#[test]
fn bad_flag_values_are_usage_errors() {
    run(&args(&["--addr", "localhost", "list"]), None).fails(2, &["--addr", "no port"]);
    run(&args(&["--max-time", "soon", "list"]), None).fails(2, &["--max-time"]);
    run(&args(&["-H", "grpc-x: 1", "list"]), None).fails(2, &["reserves"]);
    run(&args(&["call"]), None).fails(2, &["METHOD"]);
    run(&args(&["call", "A/B", "{}", "-d", "{}"]), None).fails(2, &["cannot be used with"]);
}

#[test]
fn version_and_help_work() {
    let version = run(&args(&["--version"]), None);
    assert!(version.ok().starts_with("grpcx "));
    for sub in ["list", "describe", "call", "serve-demo", "demo"] {
        let help = run(&args(&[sub, "--help"]), None);
        assert!(help.ok().contains("Example"), "{sub} --help shows examples");
    }
}

#[test]
fn a_service_where_a_method_goes_is_named_with_its_methods() {
    let server = TestServer::start();
    for name in ["ItemService", "grpcx.demo.v1.ItemService"] {
        server.grpcx(&["call", name]).fails(
            1,
            &[
                "`grpcx.demo.v1.ItemService` is a service, not a method",
                "GetItem, ListItems, CreateItems, SyncItems",
                "grpcx call grpcx.demo.v1.ItemService/GetItem",
            ],
        );
    }
}

#[test]
fn names_missing_from_schema_files_are_not_said_to_be_missing_on_the_server() {
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/proto/item_service.proto");
    let got = run(&["--proto", proto, "describe", "NoSuchThing"], None);
    got.fails(1, &["no symbol `NoSuchThing` in the schema files"]);
    assert!(!got.stderr.contains("on the server"), "{got:#?}");
}
